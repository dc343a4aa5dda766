"""XML shared_prefs and Gadgetbridge's legacy XML preference exports.

Shapes (where-keys-live.md): Android ``<map><string name="authkey">0x…</string></map>``,
Gadgetbridge ``devicesettings_<MAC>.xml`` and the legacy export
``Export_preference_<MAC with _>`` (``<preferences><String name="authkey">…``). Any
element whose ``name`` attribute, or else its tag, is a key field counts; JSON kept in a
string value is walked like a JSON document.

Documents with a DTD or entity declarations are never parsed (entity expansion bombs);
their text is searched line by line and they are reported as unsupported. A document
that does not parse, or is over ``limits.max_text_bytes``, is searched line by line. One
that no key can come from (``prefilter.may_hold_key``) is not parsed at all.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.errors import Unsupported
from scanner.extractors.base import (
    Extractor,
    engine_for,
    looks_like_text,
    make_candidate,
    read_document,
)
from scanner.extractors.text_keys import keys_in_text
from scanner.formats.json.walk import parse_json_text, walk_json
from scanner.formats.logs.extractor import may_hold_tool_output, scan_lines
from scanner.model import Candidate, DeviceInfo, Method
from scanner.vocab.keys import fold_name, is_key_field, vocabulary
from scanner.vocab.prefilter import Markup, may_hold_key
from scanner.vocab.values import (
    epoch_to_datetime,
    key_for_field,
    looks_like_model,
    mac_in_file_name,
    normalise_mac,
)

_BOM = b"\xef\xbb\xbf"
_START = re.compile(rb"<(?:\?xml|[A-Za-z_])")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_NAME_FIELDS = frozenset({"name", "devicename", "alias"})


def _tag(element: ET.Element) -> str:
    return str(element.tag).rpartition("}")[2]  # drop a namespace


def _field(element: ET.Element) -> str:
    return element.get("name") or _tag(element)


def _value(element: ET.Element) -> str | None:
    """A preference's value: its text (``<string>``), else its ``value`` attribute."""
    text = element.text
    if text is not None and text.strip():
        return text
    return element.get("value")


class _Context:
    """What the siblings of a preference say about its device, and their newest time."""

    def __init__(self, parent: ET.Element, named: str | None) -> None:
        mac = model = name = None
        self.timestamp: datetime | None = None
        self.timestamp_field: str | None = None
        for child in parent:
            field, value = _field(child), _value(child)
            if value is None:
                continue
            folded = fold_name(field)
            if mac is None and any(word in folded for word in ("mac", "address", "identifier")):
                mac = normalise_mac(value)
            if model is None and "model" in folded and looks_like_model(value):
                model = value.strip()
            if name is None and folded in _NAME_FIELDS and value.strip():
                name = value.strip()
            if any(word in folded for word in ("time", "date")):
                moment = epoch_to_datetime(value)
                if moment and (self.timestamp is None or moment > self.timestamp):
                    self.timestamp, self.timestamp_field = moment, field
        # The file name is the device's own (devicesettings_<MAC>.xml): it wins.
        self.device = DeviceInfo(mac=named or mac, name=name, model=model)


class _Siblings:
    """A parent's ``_Context``, worked out on first use: only above a key."""

    def __init__(self, parent: ET.Element, named: str | None) -> None:
        self._parent, self._named = parent, named
        self._context: _Context | None = None

    def get(self) -> _Context:
        if self._context is None:
            self._context = _Context(self._parent, self._named)
        return self._context


def _step(element: ET.Element, index: int | None) -> str:
    name = element.get("name")
    if name is not None:
        return f"{_tag(element)}[@name='{name}']"
    return f"{_tag(element)}[{index}]" if index is not None else _tag(element)


class XmlPrefs(Extractor):
    name = "xml_prefs"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return bool(_START.match(head.removeprefix(_BOM).lstrip())) and looks_like_text(head)

    def extract(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]:
        data, rest = read_document(artifact, stream, ctx, "XML")
        if data is None:  # too big to parse whole: its lines are still searched
            yield from scan_lines(artifact, rest, Method.TEXT, engine_for(ctx))
            return
        if _DTD.search(data):
            yield from scan_lines(artifact, io.BytesIO(data), Method.TEXT, engine_for(ctx))
            raise Unsupported(
                "XML with a DTD or entity declarations is not parsed (entity expansion); "
                "its text was searched line by line"
            )
        keyed = may_hold_key(data, Markup.XML)
        if not keyed and not may_hold_tool_output(artifact, data):
            return  # neither a walk nor (if it does not parse) the line search finds a key
        try:
            root = ET.fromstring(data)
        except (ET.ParseError, ValueError, LookupError):
            # Cut off or not XML after all (HTML, a log starting with "<"): search its lines.
            yield from scan_lines(artifact, io.BytesIO(data), Method.TEXT, engine_for(ctx))
            return
        if keyed:
            yield from self._walk(artifact, root)

    @staticmethod
    def _walk(artifact: Artifact, root: ET.Element) -> Iterator[Candidate]:
        named = mac_in_file_name(artifact.path)
        if len(root) == 0:  # a document that is one element: <authKey>…</authKey>
            yield from _candidates(artifact, root, _tag(root), _Siblings(root, named))
        stack: list[tuple[ET.Element, str]] = [(root, "")]
        while stack:  # iterative: deep nesting must not exhaust the Python stack
            parent, path = stack.pop()
            children = list(parent)
            if not children:
                continue
            context = _Siblings(parent, named)
            counts: dict[str, int] = {}
            for child in children:
                counts[_tag(child)] = counts.get(_tag(child), 0) + 1
            seen: dict[str, int] = {}
            below: list[tuple[ET.Element, str]] = []
            for child in children:
                tag = _tag(child)
                seen[tag] = seen.get(tag, 0) + 1
                where = path + _step(child, seen[tag] if counts[tag] > 1 else None)
                yield from _candidates(artifact, child, where, context)
                below.append((child, where + "/"))
            stack.extend(reversed(below))  # document order


def _candidates(
    artifact: Artifact, element: ET.Element, where: str, siblings: _Siblings
) -> Iterator[Candidate]:
    field, value = _field(element), _value(element)
    if value is None:
        return

    def candidate(
        key: str, name: str, at: str, device: DeviceInfo, wearable: bool
    ) -> Candidate | None:
        context = siblings.get()
        time_source = f"xml field {context.timestamp_field}" if context.timestamp else None
        return make_candidate(
            artifact,
            key=key,
            field=name,
            where=at,
            method=Method.XML,
            device=device,
            timestamp=context.timestamp,
            timestamp_source=time_source,
            wearable_context=wearable,
        )

    if is_key_field(field):
        key = key_for_field(field, value)
        if key is not None:
            found = candidate(key, field, where, siblings.get().device, False)
            if found is not None:
                yield found
            return
    nested = parse_json_text(value)
    if nested is not None:  # a JSON string kept as a preference
        if not may_hold_key(value.encode("utf-8", "surrogatepass"), Markup.JSON):
            return  # the walk below would find nothing
        try:
            hits = list(walk_json(nested, outer=siblings.get().device))
        except RecursionError:  # absurdly deep JSON: not an app's data
            hits = []
        for hit in hits:
            at = f"{where}/{hit.path}"
            found = candidate(hit.key, hit.field, at, hit.device, hit.wearable_context)
            if found is not None:
                yield found
        return
    lowered = value.lower()
    if any(word in lowered for word in vocabulary().ending_texts):  # a log line kept so
        for text_hit in keys_in_text(value.encode("utf-8", "replace")):
            device = text_hit.device.merged(siblings.get().device)
            found = candidate(
                text_hit.key, text_hit.field, where, device, text_hit.wearable_context
            )
            if found is not None:
                yield found
