"""What the carver cuts out: the ``Carve`` record, the text ``Fragment`` around a key,
and the ``Capture`` that follows a database or WAL while the stream passes over it.

The header checks that decide where a database or WAL starts are
``scanner.formats.sqlite.headers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

MAX_GAP = 4 << 20  # other files' blocks skipped inside one database, at most


class Allocation(Protocol):
    """What the carver asks of a file system's allocation map (see formats.ext4.reader.Ext4Map)."""

    block_size: int

    def status(self, offset: int) -> str: ...

    def span(self, offset: int, low: int, high: int) -> tuple[int, int]: ...

    def observe(self, offset: int, data: memoryview) -> None: ...


@dataclass
class Carve:
    """One carved piece: a database, a WAL or a text fragment, by its place in the source."""

    kind: str  # "sqlite", "wal" or "text"
    offset: int
    length: int
    label: str  # "12 pages", "3 frames"; "" for text
    anchor: int  # the byte whose block decides whether it is deleted
    data: bytes | None = None  # the text of a fragment
    spool: BinaryIO | None = None  # the bytes, when the source cannot be read again
    note: str | None = None  # a limit met while carving it, in plain words
    runs: list[tuple[int, int]] = field(default_factory=list)  # [start, end) pieces, in order


@dataclass
class Fragment:
    """Key-bearing text around a hit, grown as nearby hits merge into it."""

    start: int
    end: int
    anchor: int
    data: bytearray = field(default_factory=bytearray)

    def carve(self) -> Carve:
        # Edges cut inside a multi-byte character or binary junk: keep whole ASCII there.
        text = bytes(self.data)
        head = len(text) - len(text.lstrip(bytes(range(0x80, 0x100))))
        text = text[head:].rstrip(bytes(range(0x80, 0x100)))
        return Carve("text", self.start + head, len(text), "", self.anchor, text)


class Capture:
    """A database or WAL followed while the stream passes over it.

    With ``status`` (ext4) only blocks of that allocation status are taken: a deleted
    file's blocks are all free now, so the blocks of live files or metadata between its
    pieces are skipped (and the other way round for a live file).
    """

    def __init__(self, kind: str, start: int, need: int, spool: BinaryIO | None) -> None:
        self.kind, self.start, self.need, self.spool = kind, start, need, spool
        self.seen, self.got, self.skipped = start, 0, 0  # looked at up to; taken; skipped
        self.runs: list[list[int]] = []  # [start, end) pieces taken
        self.closed = False  # the extent is known; done once it was all taken
        self.status: str | None = None  # ext4: take only blocks with this status
        self.label = ""
        self.note: str | None = None
        self.frames, self.frame_size, self.salts = 0, 0, b""  # WAL: frames with its salts
        self.order = 0  # how many captures the carver opened before this one

    def feed(self, buf: bytearray, delta: int, hi: int, cap: int, alloc: Allocation | None) -> None:
        """Take what ``buf`` holds of this capture (``buf`` index + delta = offset)."""
        top = hi + delta
        while self.frame_size and not self.closed and self.start + self.need + 24 <= top:
            at = self.start + self.need - delta  # the next frame's header (WALs are taken whole)
            if buf[at + 8 : at + 16] != self.salts or buf[at : at + 4] == b"\0\0\0\0":
                self.closed = True  # another WAL generation, or none: the carve ends here
            elif self.need + self.frame_size > cap:
                self.closed = True
                self.note = f"WAL larger than the {cap:,}-byte limit: carved the first part"
            else:
                self.need += self.frame_size
                self.frames += 1
                self.label = f"{self.frames} frames"
        while self.seen < top and self.got < self.need:
            stop = top
            if self.status is not None and alloc is not None:
                stop = alloc.span(self.seen, self.seen, top)[1]
                if alloc.status(self.seen) != self.status:  # another file's blocks
                    self.skipped += stop - self.seen
                    self.seen = stop
                    if self.skipped > MAX_GAP:  # the rest is not near: carve what was taken
                        self.closed, self.need = True, self.got
                    continue
            stop = min(stop, self.seen + self.need - self.got)
            if self.runs and self.runs[-1][1] == self.seen:
                self.runs[-1][1] = stop
            else:
                self.runs.append([self.seen, stop])
            if self.spool is not None:
                self.spool.write(buf[self.seen - delta : stop - delta])
            self.got += stop - self.seen
            self.seen = stop

    @property
    def done(self) -> bool:
        return self.closed and self.got >= self.need

    def carve(self) -> Carve:
        if self.spool is not None:
            self.spool.seek(0)
        label = self.label + (f", in {len(self.runs)} pieces" if len(self.runs) > 1 else "")
        runs = [(a, b) for a, b in self.runs]
        return Carve(self.kind, self.start, self.got, label, self.start, None, self.spool,
                     self.note, runs)  # fmt: skip
