"""Text lines: Mi Fitness / Zepp logs, logcat, huami-token, freemyband and Amazfish output.

Streams line by line, so a multi-gigabyte log costs one line of memory (an over-long line
is read in overlapping windows). A 32-hex value counts only right after a key field name
(where-keys-live.md: logs are full of md5 digests and request ids). Each key takes the MAC,
model and name of its own part of the line (the ``DeviceInfo(...)`` around it), so a line
listing two devices gives each key its own MAC.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.extractors.base import Extractor, engine_for, looks_like_text, make_candidate
from scanner.extractors.patterns import TOOL_AT_START, TOOL_LINE, Engine, default_engine
from scanner.extractors.text_keys import TextKey, keys_in_text, line_time
from scanner.formats.logs.line_times import dumpstate_time, own_line_time
from scanner.formats.logs.tool_output import (
    TOOL_STARTS,
    ToolHit,
    ToolOutput,
    amazfish_secret,
    freemyband_line,
    in_freemyband_folder,
)
from scanner.model import Candidate, Confidence, DeviceInfo, Method
from scanner.vocab.keys import vocabulary
from scanner.vocab.values import mac_in_file_name

_MAX_WINDOW = 1 << 20  # bytes of one line examined at once
_OVERLAP = 4096  # carried into the next window of the same line: > any match and its context
_MARGIN = 128  # a match ending this close to a cut is left to the next window
_HEAD = 256  # bytes kept of the last timed line: its time and the next three fields
_BLOCK = 1 << 20  # bytes read from the stream at once
# A line of Mi Fitness shape (see _is_timed), after the line end before it.
_TIMED = re.compile(rb"\n[^\n]{4}-[^\n]{18}\|")

_OWN_TIME = "log line time (local, no zone)"
# A line without a time continues the entry above it (a multi-line message or dump).
_ENTRY_TIME = "log line time of the entry above (local, no zone)"


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


@dataclass(frozen=True)
class _Found:
    key: str
    field: str
    device: DeviceInfo
    wearable: bool
    method: Method
    note: str | None = None
    incomplete: bool = False


def _from_tool(hit: ToolHit) -> _Found:
    device = DeviceInfo(mac=hit.mac, name=hit.name)
    return _Found(hit.key, hit.field, device, True, Method.TEXT, hit.note, hit.incomplete)


def _first_line(block: bytes) -> bytes:
    return block[: block.find(b"\n") + 1 or len(block)]


def _may_be_freemyband(line: bytes) -> bool:
    """Cheap: a short line with a ";" (the full test is ``freemyband_line``)."""
    return len(line) < 128 and b";" in line


def _loguru_shaped(line: bytes) -> bool:
    return line[23:26] == b" | " and line[4:5] == b"-"


class _Lines:
    """The state ``scan_lines`` carries from line to line, and one line's findings."""

    def __init__(self, artifact: Artifact, method: Method) -> None:
        self.artifact = artifact
        self.method = method
        self.named = DeviceInfo(mac=mac_in_file_name(artifact.path))
        self.tool = ToolOutput(freemyband=in_freemyband_folder(artifact))
        self.entry_head = b""  # start of the last line shaped like a Mi Fitness line
        self.entry_times: dict[bytes, datetime | None] = {}  # parsed lazily: lines with keys
        self.own_time = False
        self.seen: set[str] = set()
        self.reference: datetime | None = None  # an adb bugreport's dumpstate time

    def window(self, line_no: int, window: bytes, carried: int, final: bool) -> Iterator[Candidate]:
        """Candidates of one line, or one window of an over-long line."""
        if not carried:
            self.seen = set()  # the same key twice on one line is one sighting
            self.own_time = _is_timed(window)
            if self.own_time:
                self.entry_head = window[:_HEAD]
        found: list[_Found] = []
        lower = window.lower()
        if any(word in lower for word in vocabulary().endings):  # most lines have none
            end_before = None if final else len(window) - _MARGIN
            start_after = carried - _MARGIN if carried else 0
            for hit in keys_in_text(window, start_after, end_before):
                device, context = hit.device, hit.wearable_context
                found.append(_Found(hit.key, hit.field, device, context, self.method))
        if not carried:
            found += self._tool_hits(line_no, window)
        if not found:
            return
        moment, source = self._time(window, carried)
        for item in found:
            if item.key in self.seen:
                continue
            self.seen.add(item.key)
            candidate = make_candidate(
                self.artifact,
                key=item.key,
                field=item.field,
                where=f"line {line_no}",
                method=item.method,
                device=item.device.merged(self.named),
                timestamp=moment,
                timestamp_source=source,
                wearable_context=item.wearable,
            )
            if candidate is not None and (item.note or item.incomplete):
                # A key cut short is evidence to show, never a device's key.
                confidence = Confidence.LOW if item.incomplete else candidate.confidence
                candidate = dataclasses.replace(
                    candidate, note=item.note, incomplete=item.incomplete, confidence=confidence
                )
            if candidate is not None:
                yield candidate

    def _tool_hits(self, line_no: int, line: bytes) -> list[_Found]:
        """Keys in the shapes other tools print (``tool_output``)."""
        hits: list[_Found] = []
        first = line.lstrip()[:1] if line[:1] in (b" ", b"\t") else line[:1]
        if self.tool.active or first in TOOL_STARTS or _loguru_shaped(line):
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            hits += [_from_tool(hit) for hit in self.tool.feed(text)]
        if line_no == 1 and _may_be_freemyband(line):
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            hit = freemyband_line(text, self.artifact.path)
            hits += [_from_tool(hit)] if hit else []
        if b"Secret Key:" in line:
            hit = amazfish_secret(line.decode("utf-8", "replace"))
            hits += [_from_tool(hit)] if hit else []
        return hits

    def _time(self, line: bytes, carried: int) -> tuple[datetime | None, str | None]:
        """The line's own time, else the time of the Mi Fitness entry it continues."""
        if not self.own_time and not carried:
            own = own_line_time(line, self.reference)
            if own is not None:
                return own
        if self.entry_head not in self.entry_times:
            head = self.entry_head
            self.entry_times = {head: line_time(head) if head else None}
        entry = self.entry_times[self.entry_head]
        if entry is None:
            return None, None
        return entry, _OWN_TIME if self.own_time else _ENTRY_TIME

    def block(self, line_no: int, block: bytes, engine: Engine) -> Iterator[Candidate]:
        """Whole lines (each within one window): only the lines the engine points at, and
        every line while huami-token output is open, are looked at; the others could
        only have moved ``entry_head``, which is caught up before it is used."""
        key_ends, tool_starts = engine.scan(block)
        starts = {block.rfind(b"\n", 0, end) + 1 for end in key_ends}
        # huami-token 2025 logs "Device N:" and "MAC: …" on the two lines before "Key: 0x…"
        for start in [s for s in starts if _loguru_shaped(block[s : s + 26])]:
            for _ in range(2):
                start = block.rfind(b"\n", 0, max(start - 1, 0)) + 1
                starts.add(start)
        starts.update(tool_starts)
        if TOOL_AT_START.match(block):
            starts.add(0)
        if line_no == 1:
            self.reference = dumpstate_time(block)
            if _may_be_freemyband(_first_line(block)):
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


_TOOL_LINE = re.compile(TOOL_LINE)
_TOOL_WORDS = (b"Device", b"|", b"+", b"\xe2")  # what TOOL_LINE needs, one of


def may_hold_tool_output(artifact: Artifact, data: bytes) -> bool:
    """Whether ``scan_lines`` could find a key printed by another tool in ``data``: a key
    without a key field name (huami-token's ``Key:`` lines and tables, freemyband files)."""
    if in_freemyband_folder(artifact):
        return True
    if not any(start in data for start in _TOOL_WORDS):
        return False  # most documents
    return TOOL_AT_START.match(data) is not None or _TOOL_LINE.search(data) is not None


def scan_lines(
    artifact: Artifact, stream: BinaryIO, method: Method = Method.LOG, engine: Engine | None = None
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
        return scan_lines(artifact, stream, Method.LOG, engine_for(ctx))


__all__ = [
    "LogLines",
    "TextKey",
    "keys_in_text",
    "line_time",
    "scan_lines",
]
