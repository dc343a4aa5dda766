"""JSON documents: saved server answers, Gadgetbridge preference exports, any JSON with a key field.

A document up to ``limits.max_text_bytes`` is parsed whole and walked by ``json.walk``
(nested JSON strings, Gadgetbridge's ``{"type": "String", "value": "0x…"}``, account ids).
Text inside string values (a log line kept in JSON) is searched like a log line. A larger
document, or one that does not parse (JSON Lines, a cut-off file, a log that starts with
``[``), is searched line by line instead: its keys are still found. A document whose text
that no key can come from (``prefilter.may_hold_key``) is not parsed at all.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.extractors.base import (
    Extractor,
    engine_for,
    looks_like_text,
    make_candidate,
    read_document,
)
from scanner.extractors.text_keys import keys_in_text, line_time
from scanner.formats.json.walk import JsonPath, parse_json_text, spelled, walk_json
from scanner.formats.logs.extractor import may_hold_tool_output, scan_lines
from scanner.model import Candidate, DeviceInfo, Method
from scanner.vocab.keys import vocabulary
from scanner.vocab.prefilter import Markup, may_hold_key
from scanner.vocab.values import mac_in_file_name

_BOM = b"\xef\xbb\xbf"
_MAX_NESTED = 8  # JSON-in-string levels followed when searching string values as text


def first_char(head: bytes) -> bytes:
    """The first non-blank byte after an optional UTF-8 byte order mark."""
    return head.removeprefix(_BOM).lstrip()[:1]


def _text_values(value: object, path: str = "$", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, string) for string values that may hold a log line; iterative over nesting."""
    stack: list[tuple[object, JsonPath, int]] = [(value, path, depth)]
    endings = vocabulary().ending_texts
    while stack:
        item, where, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, (where, k), level) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            stack.extend((v, (where, i), level) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, str):
            lowered = item.lower()
            if not any(word in lowered for word in endings):
                continue
            nested = parse_json_text(item) if level < _MAX_NESTED else None
            if nested is not None:
                stack.append((nested, where, level + 1))
            else:
                yield spelled(where), item


class JsonDocument(Extractor):
    name = "json_doc"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return first_char(head) in (b"{", b"[") and looks_like_text(head)

    def extract(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]:
        data, rest = read_document(artifact, stream, ctx, "JSON")
        if data is None:  # too big to parse whole: its lines are still searched
            yield from scan_lines(artifact, rest, Method.TEXT, engine_for(ctx))
            return
        keyed = may_hold_key(data, Markup.JSON)
        if not keyed and not may_hold_tool_output(artifact, data):
            return  # neither a walk nor (if it does not parse) the line search finds a key
        try:
            document = json.loads(data.removeprefix(_BOM).decode("utf-8", "replace"))
            found = list(self._walk(artifact, document)) if keyed else []
        except (ValueError, RecursionError):
            # Not one JSON document (JSON Lines, cut off, a log starting with "["): the
            # line search still finds "auth_key":"…" fragments.
            yield from scan_lines(artifact, io.BytesIO(data), Method.TEXT, engine_for(ctx))
            return
        yield from found

    @staticmethod
    def _walk(artifact: Artifact, document: object) -> Iterator[Candidate]:
        # device_<MAC>.json: the MAC is in the name
        named = DeviceInfo(mac=mac_in_file_name(artifact.path))
        for hit in walk_json(document, outer=named):
            candidate = make_candidate(
                artifact,
                key=hit.key,
                field=hit.field,
                where=hit.path,
                method=Method.JSON,
                device=hit.device,
                timestamp=hit.timestamp,
                timestamp_source=f"json field {hit.timestamp_field}" if hit.timestamp else None,
                wearable_context=hit.wearable_context,
            )
            if candidate is not None:
                yield candidate
        for path, text in _text_values(document):
            raw = text.encode("utf-8", "replace")
            stamp = line_time(raw)
            for found in keys_in_text(raw):
                candidate = make_candidate(
                    artifact,
                    key=found.key,
                    field=found.field,
                    where=path,
                    method=Method.JSON,
                    device=found.device.merged(named),
                    timestamp=stamp,
                    timestamp_source="log line time (local, no zone)" if stamp else None,
                    wearable_context=found.wearable_context,
                )
                if candidate is not None:
                    yield candidate
