"""Keys in one line of text, each with the device context of its own part of the line.

A 32-hex value counts only right after a key field name (where-keys-live.md: logs are
full of md5 digests and request ids). Each key takes the MAC, model and name of its own
bracket group (the ``DeviceInfo(...)`` around it), else of the stretch between it and its
neighbouring keys, so a line listing two devices gives each key its own MAC.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime

from scanner.model import DeviceInfo
from scanner.vocab.keys import is_weak_field, is_wearable_model, vocabulary
from scanner.vocab.values import looks_like_model, normalise_key, normalise_mac

# MAC not inside a longer colon-hex run; "mac:C8:..." still counts (the "c" belongs to a word).
_MAC = re.compile(
    rb"(?<![0-9A-Za-z])(?<!(?<![0-9A-Za-z])[0-9A-Fa-f]{2}[:-])"
    rb"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z]|[:-][0-9A-Fa-f])"
)
_MODEL = re.compile(
    rb"(?<![A-Za-z0-9_])[A-Za-z_]*model[\"']?\s*[:=]\s*[\"']?([a-z][a-z0-9]*(?:\.[a-z0-9_]+){2,})",
    re.IGNORECASE,
)
_NAME = re.compile(
    rb"(?<![A-Za-z0-9_])(?:device_?)?name[\"']?\s*[:=]\s*[\"']?([^,;'\"()\[\]{}|=\r\n]{1,64})",
    re.IGNORECASE,
)
_BRACKET = re.compile(rb"[()\[\]{}]")
_OPENER = {b")": b"(", b"]": b"[", b"}": b"{"}
# Mi Fitness: "2024-02-28 21:14:03.512|3.26.0i|I|DeviceManager_1873_2|message"
_MI_LINE = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\|[^|\r\n]*\|[^|\r\n]*\|[^|\r\n]*\|"
)


@dataclass(frozen=True)
class TextKey:
    """One key found in a piece of text, with the device context of its own segment."""

    field: str
    key: str
    start: int  # byte offsets of field name .. end of the hex
    end: int
    device: DeviceInfo
    wearable_context: bool


def line_time(text: bytes) -> datetime | None:
    """The local time at the start of a Mi Fitness log line (naive: the log has no zone)."""
    if text[4:5] != b"-" or text[10:11] != b" ":
        return None
    match = _MI_LINE.match(text)
    if not match:
        return None
    y, mo, d, h, mi, s, ms = (int(part) for part in match.groups())
    try:
        return datetime(y, mo, d, h, mi, s, ms * 1000)
    except ValueError:
        return None


def _brackets(text: bytes) -> list[tuple[int, int]]:
    """Balanced (), [] and {} spans as (open, close + 1); stray closers are ignored."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[bytes, int]] = []
    for match in _BRACKET.finditer(text):
        char = match.group()
        if char in b"([{":
            stack.append((char, match.start()))
        elif stack and stack[-1][0] == _OPENER[char]:
            spans.append((stack.pop()[1], match.end()))
    return spans


class _Items:
    """Context values found on a line (MACs, models, names), sorted by position."""

    def __init__(self, items: list[tuple[int, int, str]]) -> None:
        self.items = items  # finditer order: already sorted by start
        self.starts = [item[0] for item in items]

    def pick(self, scopes: list[tuple[int, int]], start: int, end: int) -> str | None:
        """The value nearest the key within the tightest scope that has one."""
        if not self.items:
            return None
        after = bisect_left(self.starts, end)  # first item starting after the key
        for low, high in scopes:
            best: tuple[int, str] | None = None
            if after > 0:
                item_start, item_end, value = self.items[after - 1]
                if item_start >= low and item_end <= start:
                    best = (start - item_end, value)
            if after < len(self.items):
                item_start, item_end, value = self.items[after]
                if item_end <= high and (best is None or item_start - end < best[0]):
                    best = (item_start - end, value)
            if best is not None:
                return best[1]
        return None


def _own_spans(
    spans: list[tuple[int, int]], matches: list[tuple[int, int]]
) -> dict[int, list[tuple[int, int]]]:
    """Bracket spans holding exactly one key match, by that match's index, innermost first."""
    starts = [start for start, _ in matches]
    own: dict[int, list[tuple[int, int]]] = {}
    for low, high in spans:
        first = bisect_left(starts, low)
        inside = bisect_left(starts, high) - first
        if inside == 1 and matches[first][1] <= high:
            own.setdefault(first, []).append((low, high))
    for found in own.values():
        found.sort(key=lambda span: span[1] - span[0])
    return own


def _name_item(text: bytes, match: re.Match[bytes]) -> tuple[int, int, str] | None:
    start, end = match.span(1)
    if text[end : end + 1] == b"=":  # ran into the next field: "name=Band 8 authKey=…"
        end = text.rfind(b" ", start, end)
    name = text[start:end].decode("utf-8", "replace").strip() if end > start else ""
    return (start, end, name) if name and name.lower() != "null" else None


def keys_in_text(text: bytes, start_after: int = 0, end_before: int | None = None) -> list[TextKey]:
    """Every key beside a key field name in ``text`` (one line), with its segment's device.

    Matches ending at or before ``start_after`` or after ``end_before`` are left out (they
    belong to the neighbouring window of an over-long line).
    """
    matches = [
        m
        for m in vocabulary().text_key.finditer(text)
        if m.end() > start_after and (end_before is None or m.end() <= end_before)
    ]
    if not matches:
        return []
    macs = [(m.start(), m.end(), normalise_mac(m.group().decode())) for m in _MAC.finditer(text)]
    mac_items = _Items([(s, e, mac) for s, e, mac in macs if mac])
    models = [(m.start(1), m.end(1), m.group(1).decode()) for m in _MODEL.finditer(text)]
    model_items = _Items([item for item in models if looks_like_model(item[2])])
    name_items = _Items([item for m in _NAME.finditer(text) if (item := _name_item(text, m))])
    # A wearable near: a DeviceInfo(...), a strong key field on the line, a wearable model.
    wearable = (
        b"deviceinfo(" in text.lower()
        or any(not is_weak_field(m.group(1).decode()) for m in matches)
        or any(is_wearable_model(item[2]) for item in model_items.items)
    )
    # Scopes of each key, tightest first: the brackets around it that hold no other key
    # (its own DeviceInfo(...)), then the stretch between the neighbouring keys.
    own = _own_spans(_brackets(text), [m.span() for m in matches]) if len(matches) > 1 else {}
    found: list[TextKey] = []
    for index, match in enumerate(matches):
        key = normalise_key(match.group(2))
        if key is None:
            continue
        start, end = match.start(), match.end()
        low = matches[index - 1].end() if index else 0
        high = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        scopes = [*own.get(index, []), (low, high)]
        device = DeviceInfo(
            mac=mac_items.pick(scopes, start, end),
            name=name_items.pick(scopes, start, end),
            model=model_items.pick(scopes, start, end),
        )
        found.append(TextKey(match.group(1).decode(), key, start, end, device, wearable))
    return found
