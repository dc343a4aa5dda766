"""Text lines: Mi Fitness / Zepp logs, huami-token and freemyband output, any text file.

Streams line by line, so a multi-gigabyte log costs one line of memory (an over-long line
is read in overlapping windows). A 32-hex value counts only right after a key field name
(where-keys-live.md: logs are full of md5 digests and request ids). Each key takes the MAC,
model and name of its own part of the line (the ``DeviceInfo(...)`` around it), so a line
listing two devices gives each key its own MAC.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.extractors.base import Extractor, looks_like_text, make_candidate
from scanner.extractors.fields import (
    KEY_FIELD_PATTERN,
    is_weak_field,
    is_wearable_model,
    looks_like_model,
    mac_in_file_name,
    normalise_key,
    normalise_mac,
)
from scanner.extractors.patterns import TOOL_AT_START, Engine, default_engine
from scanner.extractors.tool_output import TOOL_STARTS, ToolOutput, in_freemyband_folder
from scanner.model import Candidate, DeviceInfo

_MAX_WINDOW = 1 << 20  # bytes of one line examined at once
_OVERLAP = 4096  # carried into the next window of the same line: > any match and its context
_MARGIN = 128  # a match ending this close to a cut is left to the next window
_HEAD = 256  # bytes kept of the last timed line: its time and the next three fields
_BLOCK = 1 << 20  # bytes read from the stream at once
# A line of Mi Fitness shape (see _is_timed), after the line end before it.
_TIMED = re.compile(rb"\n[^\n]{4}-[^\n]{18}\|")

# A key field name, separators (JSON quotes, escaped quotes, =, :, the > of an XML tag),
# then exactly 32 hex that are not part of a longer hex run.
_KEY = re.compile(
    rb"(?<![A-Za-z0-9_])(" + KEY_FIELD_PATTERN.encode() + rb")[\\\"':=\t >]{1,16}"
    rb"(?:0[xX])?([0-9a-fA-F]{32})(?![0-9a-fA-F])",
    re.IGNORECASE,
)
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
_OWN_TIME = "log line time (local, no zone)"
# A line without a time continues the entry above it (a multi-line message or dump).
_ENTRY_TIME = "log line time of the entry above (local, no zone)"


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
        for m in _KEY.finditer(text)
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


class _Reader:
    """The stream in blocks of whole lines, and single lines (over-long ones) on demand."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.buffer = b""
        self.eof = False

    def fill(self) -> None:
        """Make the buffer hold more than one window, unless the stream has ended."""
        while not self.eof and len(self.buffer) <= _MAX_WINDOW:
            more = self._stream.read(_BLOCK)
            if more:
                self.buffer = self.buffer + more if self.buffer else more
            else:
                self.eof = True

    def block(self) -> bytes | None:
        """Whole lines, each at most one window long (b"" when an over-long line is next);
        None at the end."""
        self.fill()
        if not self.buffer:
            return None
        if self.eof and len(self.buffer) <= _MAX_WINDOW:
            block, self.buffer = self.buffer, b""
            return block
        cut = self.buffer.rfind(b"\n", 0, _MAX_WINDOW) + 1
        block, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return block

    def readline(self, limit: int) -> bytes:
        """What ``readline(limit)`` of the stream would return."""
        while True:
            end = self.buffer.find(b"\n", 0, limit)
            if end >= 0 or len(self.buffer) >= limit or self.eof:
                cut = end + 1 if end >= 0 else min(limit, len(self.buffer))
                line, self.buffer = self.buffer[:cut], self.buffer[cut:]
                return line
            self.fill()


def _long_line(reader: _Reader) -> Iterator[tuple[bytes, int, bool]]:
    """One line longer than a window: (window, bytes carried from the previous one, final)."""
    carry = b""
    piece = reader.readline(_MAX_WINDOW)
    while piece:
        ends = piece.endswith(b"\n")
        following = b"" if ends else reader.readline(_MAX_WINDOW)
        final = ends or not following
        window = carry + piece
        yield window, len(carry), final
        if final:
            return
        carry = window[-_OVERLAP:]
        piece = following


def _is_timed(text: bytes, at: int = 0) -> bool:
    """A Mi Fitness line shape at ``at`` (cheap; the time is parsed only when a key needs it)."""
    return text[at + 4 : at + 5] == b"-" and text[at + 23 : at + 24] == b"|"


def _last_timed(block: bytes, low: int, high: int) -> int | None:
    """The start of the last line of Mi Fitness shape starting in [low, high), or None."""
    if high <= low:
        return None
    if block.find(b"|", low, high + 24) < 0:  # memchr: other logs never pay for the search
        return None
    start = high
    for _ in range(8):  # Mi Fitness logs: nearly every line is timed
        start = max(block.rfind(b"\n", low, start - 1) + 1, low)
        if _is_timed(block, start):
            return start
        if start <= low:
            return None
    last = None
    for match in _TIMED.finditer(block, max(low - 1, 0), min(start + 24, len(block))):
        if match.start() + 1 < start:
            last = match.start() + 1
    if last is None and low == 0 and _is_timed(block, 0):
        last = 0
    return last


def _head(block: bytes, start: int) -> bytes:
    """What the line-by-line reader kept of the line at ``start``: its first bytes."""
    end = block.find(b"\n", start) + 1 or len(block)
    return block[start : min(start + _HEAD, end)]


class _Lines:
    """The state ``scan_lines`` carries from line to line, and one line's findings."""

    def __init__(self, artifact: Artifact, method: str) -> None:
        self.artifact = artifact
        self.method = method
        self.named = DeviceInfo(mac=mac_in_file_name(artifact.path))
        self.tool = ToolOutput(freemyband=in_freemyband_folder(artifact))
        self.entry_head = b""  # start of the last line shaped like a Mi Fitness line
        self.entry_times: dict[bytes, datetime | None] = {}  # parsed lazily: lines with keys
        self.own_time = False
        self.seen: set[str] = set()

    def window(self, line_no: int, window: bytes, carried: int, final: bool) -> Iterator[Candidate]:
        """Candidates of one line, or one window of an over-long line."""
        if not carried:
            self.seen = set()  # the same key twice on one line is one sighting
            self.own_time = _is_timed(window)
            if self.own_time:
                self.entry_head = window[:_HEAD]
        found: list[tuple[str, str, DeviceInfo, bool, str]] = []
        lower = window.lower()
        if b"key" in lower or b"token" in lower:  # the cheap filter: most lines have neither
            end_before = None if final else len(window) - _MARGIN
            start_after = carried - _MARGIN if carried else 0
            for hit in keys_in_text(window, start_after, end_before):
                found.append((hit.key, hit.field, hit.device, hit.wearable_context, self.method))
        first = window.lstrip()[:1] if window[:1] in (b" ", b"\t") else window[:1]
        if not carried and (self.tool.active or first in TOOL_STARTS):
            for tool_hit in self.tool.feed(window.decode("utf-8", "replace").rstrip("\r\n")):
                found.append(
                    (tool_hit.key, tool_hit.field, DeviceInfo(mac=tool_hit.mac), True, "text")
                )
        if not found:
            return
        if self.entry_head not in self.entry_times:
            head = self.entry_head
            self.entry_times = {head: line_time(head) if head else None}
        entry = self.entry_times[self.entry_head]
        for key, field, device, wearable, how in found:
            if key in self.seen:
                continue
            self.seen.add(key)
            candidate = make_candidate(
                self.artifact,
                key=key,
                field=field,
                where=f"line {line_no}",
                method=how,
                device=device.merged(self.named),
                timestamp=entry,
                timestamp_source=(_OWN_TIME if self.own_time else _ENTRY_TIME) if entry else None,
                wearable_context=wearable,
            )
            if candidate is not None:
                yield candidate

    def block(self, line_no: int, block: bytes, engine: Engine) -> Iterator[Candidate]:
        """Whole lines (each within one window): only the lines the engine points at, and
        every line while huami-token output is open, are looked at; the others could
        only have moved ``entry_head``, which is caught up before it is used."""
        key_ends, tool_starts = engine.scan(block)
        starts = {block.rfind(b"\n", 0, end) + 1 for end in key_ends}
        starts.update(tool_starts)
        if TOOL_AT_START.match(block):
            starts.add(0)
        todo = sorted(starts)
        done = 0  # lines before this offset are dealt with (entry_head included)
        counted = 0  # line_no is the number of the line starting here
        index = 0
        while done < len(block):
            if self.tool.active:
                start = done  # open huami-token output: every line is fed
            else:
                while index < len(todo) and todo[index] < done:
                    index += 1
                if index == len(todo):
                    break
                start = todo[index]
            end = block.find(b"\n", start) + 1 or len(block)
            timed = _last_timed(block, done, start)
            if timed is not None:
                self.entry_head = _head(block, timed)
            line_no += block.count(b"\n", counted, start)
            counted = start
            yield from self.window(line_no, block[start:end], 0, True)
            done = end
        timed = _last_timed(block, done, len(block))
        if timed is not None:
            self.entry_head = _head(block, timed)


def scan_lines(
    artifact: Artifact, stream: BinaryIO, method: str = "log", engine: Engine | None = None
) -> Iterator[Candidate]:
    """Candidates from every line of a text stream (logs, tool output, unparsable JSON/XML).

    ``engine`` (default: the fastest installed, ``patterns.default_engine``) only chooses
    which lines are looked at; the candidates are the same with every engine.
    """
    engine = engine or default_engine()
    lines = _Lines(artifact, method)
    reader = _Reader(stream)
    line_no = 1
    while (block := reader.block()) is not None:
        if block:
            yield from lines.block(line_no, block, engine)
            line_no += block.count(b"\n") + (not block.endswith(b"\n"))
        else:
            for window, carried, final in _long_line(reader):
                yield from lines.window(line_no, window, carried, final)
            line_no += 1


class LogLines(Extractor):
    """Any text file: searched line by line (JSON and XML take theirs first)."""

    name = "log"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return looks_like_text(head)

    def extract(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]:
        return scan_lines(artifact, stream, "log")


__all__ = [
    "LogLines",
    "TextKey",
    "keys_in_text",
    "line_time",
    "scan_lines",
]
