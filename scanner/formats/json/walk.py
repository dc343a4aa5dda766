"""Find key fields anywhere in a parsed JSON value, with the device context around them.

Shared by the JSON extractor and by SQLite (JSON text columns). JSON may be nested as a
string inside JSON (the Zepp server's ``additionalInfo``); such strings are parsed and
walked with the context of the object that holds them. Field names are checked first:
the context of an object and the path to a value are worked out only for a hit.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from scanner.model import DeviceInfo
from scanner.vocab.keys import WRAPPED_VALUE, fold_name, is_key_field, is_wearable_model
from scanner.vocab.values import epoch_to_datetime, key_for_field, looks_like_model, normalise_mac

_NAME_FIELDS = frozenset({"name", "devicename", "alias", "displayname", "productname"})
_MODEL_FIELDS = frozenset({"model", "devicemodel", "productmodel"})
_MAX_NESTED = 8  # JSON-in-string levels; deeper is not a real app's data
_MAX_DEPTH = 200  # objects and arrays; deeper is hostile, and would exhaust the stack


@dataclass(frozen=True)
class JsonHit:
    field: str  # the key field name as found
    key: str  # normalised: 32 lowercase hex or a decimal account id
    path: str  # where in the document: $.items[0].additionalInfo.auth_key
    device: DeviceInfo
    timestamp: datetime | None
    timestamp_field: str | None
    wearable_context: bool


@dataclass(frozen=True)
class _Context:
    device: DeviceInfo = dataclasses.field(default_factory=DeviceInfo)
    timestamp: datetime | None = None
    timestamp_field: str | None = None
    wearable: bool = False


def parse_json_text(text: str) -> object | None:
    """The value of a string that holds JSON (an object or array), else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):  # hostile nesting exhausts the parser's stack
        return None


# A path as a chain of steps, spelled out only for a hit: "$", or (parent, step) with a
# field name (".name") or a list index ("[3]").
JsonPath = str | tuple["JsonPath", str | int]


def spelled(path: JsonPath) -> str:
    """``$.items[0].additionalInfo.auth_key``."""
    steps: list[str] = []
    while isinstance(path, tuple):
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return path + "".join(reversed(steps))


class _LazyContext:
    """The context of one object, worked out on first use (most objects hold no key)."""

    def __init__(self, obj: dict[str, object] | None, outer: _LazyContext | _Context) -> None:
        self._obj, self._outer = obj, outer
        self._value: _Context | None = None

    def get(self) -> _Context:
        if self._value is None:
            outer = self._outer if isinstance(self._outer, _Context) else self._outer.get()
            self._value = outer if self._obj is None else _context_of(self._obj, outer)
        return self._value


def _context_of(obj: dict[str, object], outer: _Context) -> _Context:
    """What this object says about its device, on top of what enclosing objects said."""
    mac = name = model = None
    newest: tuple[datetime, str] | None = None
    wearable = outer.wearable
    for field, value in obj.items():
        folded = fold_name(str(field))
        if isinstance(value, str):
            mac = mac or normalise_mac(value)
            if folded in _MODEL_FIELDS or (looks_like_model(value) and "model" in folded):
                model = model or value
            elif folded in _NAME_FIELDS and value.strip():
                name = name or value.strip()
            if is_wearable_model(value):
                wearable = True
        if any(word in folded for word in ("time", "date", "timestamp")):
            moment = epoch_to_datetime(value)
            if moment and (newest is None or moment > newest[0]):
                newest = (moment, str(field))
    device = DeviceInfo(mac=mac, name=name, model=model).merged(outer.device)
    if newest is None:
        return _Context(device, outer.timestamp, outer.timestamp_field, wearable)
    return _Context(device, newest[0], newest[1], wearable)


def _key_value(field: str, value: object) -> str | None:
    if isinstance(value, dict):  # Gadgetbridge: {"authkey": {"type": "String", "value": "0x.."}}
        value = value.get(WRAPPED_VALUE)
    return key_for_field(field, value)


def walk_json(
    value: object, path: str = "$", outer: DeviceInfo | None = None, depth: int = 0
) -> Iterator[JsonHit]:
    """Every key field with a key-shaped value below ``value``, outermost first."""
    start = _LazyContext(None, _Context(device=outer or DeviceInfo()))
    yield from _walk(value, path, start, depth)


def _walk(
    value: object, path: JsonPath, ctx: _LazyContext, depth: int, level: int = 0
) -> Iterator[JsonHit]:
    if level > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (path, index), ctx, depth, level + 1)
        return
    if isinstance(value, str):
        if depth < _MAX_NESTED:
            nested = parse_json_text(value)
            if nested is not None:
                yield from _walk(nested, path, ctx, depth + 1, level + 1)
        return
    if not isinstance(value, dict):
        return
    here = _LazyContext(value, ctx)
    for field, item in value.items():
        field = str(field)
        if is_key_field(field):
            key = _key_value(field, item)
            if key is not None:
                found = here.get()
                yield JsonHit(
                    field=field,
                    key=key,
                    path=spelled((path, field)),
                    device=found.device,
                    timestamp=found.timestamp,
                    timestamp_field=found.timestamp_field,
                    wearable_context=found.wearable,
                )
                continue
        if isinstance(item, (dict, list, str)):  # nothing else can hold a key field
            yield from _walk(item, (path, field), here, depth, level + 1)
