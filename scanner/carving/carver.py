"""The carver's one streaming pass: a literal search for anchors, then local parsing.

The bytes are read once, in chunks (read ahead in a thread), each with the tail of the
previous one in front so that an anchor across a chunk border is seen whole. No regex
runs over every byte:

- ``SQLite format 3\\0`` anywhere (``bytearray.find``): a header that passes the checks of
  fileformat2.html 1.3 is carved as page size x page count (what is there, if cut short);
- the WAL magic at 512-byte boundaries (a WAL starts a file, and files start on sector
  boundaries in file systems and tar): frames are carved while their salts match;
- a 32-hex value: every 4th byte is mapped to "hex digit or not" (``translate``) and
  eight hex samples in a row (``find``) mark a long hex run. A run of exactly 32 with a
  key field name right before it (``authKey=``, ``"auth_key": "``, ``name="authkey">0x``;
  or ``"value": "`` with a field name shortly before, as Gadgetbridge's JSON) is a
  key-bearing fragment: the text around it is cut out for the log / JSON / XML
  extractors. (Searching a dozen case variants of the field names one by one costs a
  dozen passes; this costs about one.)

With the optional ``fast`` extra, hyperscan proposes the same places in one pass (faster
on text full of digests); the checks that decide are the same.
"""

from __future__ import annotations

import heapq
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from scanner.artifacts.artifact import as_binary
from scanner.carving.carved import Allocation, Capture, Carve, Fragment
from scanner.carving.engine import fast_engine
from scanner.formats.sqlite.headers import WAL_MAGICS, sqlite_extent, wal_header
from scanner.formats.sqlite.layout import (
    DATABASE_HEADER_SIZE,
    JOURNAL_MAGIC,
    SQLITE_MAGIC,
    WAL_FRAME_HEADER_SIZE,
    WAL_HEADER_SIZE,
)
from scanner.vocab.keys import vocabulary

CHUNK_SIZE = 8 << 20  # bytes searched at a time (ScanOptions.carve_chunk_size)
PIECE = 16 << 10  # bytes asked of a forward-only source at a time (lost at a cut)
REACH = 4096  # text kept on either side of a key, at most
GATE = 256  # a key field name must start this close before a "value" holding the key
NEAR = 28  # or end this close before the key: 16 separators, "0x", the sample's phase
MAX_FRAGMENT = 64 << 10  # overlapping fragments merge up to this size
MARGIN = REACH + 512  # context kept before and after the part of a chunk searched
WAL_ALIGN = 512
UNKNOWN_DB_BYTES = 16 << 20  # carved for a header whose page count is not valid
MAX_OPEN = 16  # databases / WALs overlapping at one offset, at most
CAPTURE_MEMORY = 8 << 20  # of each, kept in memory (then a temp file) when not re-readable

_HEX_DIGITS = b"0123456789abcdefABCDEF"
_HEX_BYTES = frozenset(_HEX_DIGITS)
_HEX_CLASS = bytes(0x68 if b in _HEX_BYTES else 0x2E for b in range(256))  # "h" or "."
_RUN8 = b"h" * 8  # 8 samples 4 apart: a hex run of at least 29 digits
_HEX_TAIL = re.compile(rb"[0-9A-Fa-f]*")
# Bytes never seen in UTF-8 text: C0 controls but \t \n \r, DEL, and bytes no UTF-8 uses.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xc0\xc1\xf5-\xff]")
_PAGE1_RECORD = b"\x00\x00\x00\x01"  # a journal record of page 1 starts so
_SECTORS = (512, 1024, 2048, 4096)


class Carver:
    """Yields ``Carve``s from one sequential read of a source.

    ``read(view)`` fills ``view`` with the next bytes (0 at the end). With ``reread`` the
    source can be read again later, so databases are not copied; otherwise their bytes
    are kept (memory up to a cap, then a private temp file).
    """

    def __init__(
        self,
        read: Callable[[memoryview], int],
        *,
        reread: bool,
        max_bytes: int,
        allocation: Allocation | None = None,
        chunk_size: int = CHUNK_SIZE,
        engine: str | None = None,
    ) -> None:
        self.read, self.reread, self.max_bytes = read, reread, max_bytes
        self.allocation, self.chunk_size = allocation, chunk_size
        self.engine = engine  # ScanOptions.pattern_engine: hyperscan (the default) or not
        self.notes: list[str] = []  # limits met, for the container to report
        self._done = 0  # offsets below this were searched
        self._captures: list[Capture] = []  # still taking bytes
        self._finished: list[Capture] = []  # taken whole in this window, not yet handed out
        self._ends: list[int] = []  # heap: where finished captures end (for the overlap bound)
        self._opened = 0  # captures opened so far
        self._wals: list[Capture] = []  # WALs carved lately: their frames hold page copies
        self._pending: Fragment | None = None
        self._out: list[Carve] = []
        self.error: Exception | None = None  # the source failed (cut short, damaged)

    def run(self) -> Iterator[Carve]:
        keep = 2 * MARGIN
        buffers = [bytearray(keep + self.chunk_size), bytearray(keep + self.chunk_size)]
        tail, offset = 0, 0  # bytes carried in front; offset of the first of them
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:  # read ahead while searching
                ahead = pool.submit(self._fill, buffers[0], keep)
                while True:
                    buf, spare = buffers
                    got = ahead.result()
                    eof = got < self.chunk_size or self.error is not None
                    if not eof:
                        ahead = pool.submit(self._fill, spare, keep)
                    lo, hi = keep - tail, keep + got
                    yield from self._window(buf, lo, hi, offset - lo, eof)
                    if eof:  # the end, or the source failed (``error``) after what came before
                        return
                    start = max(lo, min(self._done - (offset - lo), hi - MARGIN) - MARGIN)
                    tail, offset = hi - start, offset + start - lo
                    spare[keep - tail : keep] = buf[start:hi]
                    buffers.reverse()
        finally:
            for capture in self._captures + self._finished:
                if capture.spool is not None:
                    capture.spool.close()

    def _fill(self, buf: bytearray, at: int) -> int:
        view = memoryview(buf)[at : at + self.chunk_size]
        got = 0
        # A decompressor that meets the cut raises, losing what that read decompressed:
        # ask a forward-only source for little at a time.
        piece = len(view) if self.reread else PIECE
        with view:
            try:
                while got < len(view):
                    n = self.read(view[got : got + piece])
                    if not n:
                        break
                    got += n
            except Exception as error:  # for the caller, once the bytes before it are carved
                self.error = error
        return got

    def _window(self, buf: bytearray, lo: int, hi: int, delta: int, eof: bool) -> Iterator[Carve]:
        """Search ``buf[lo:hi]`` (``delta`` turns an index into an offset); what starts in
        the last MARGIN bytes waits for the next window, which will hold it whole."""
        if self.allocation is not None and not self.reread:
            with memoryview(buf) as view:
                self.allocation.observe(lo + delta, view[lo:hi])
        for capture in self._captures:
            capture.feed(buf, delta, hi, self.max_bytes, self.allocation)
        first = self._done - delta
        ready = hi if eof else hi - MARGIN
        if ready > first:
            self._search(buf, lo, first, ready, hi, delta, eof)
            self._done = ready + delta
        pending = self._pending
        if pending is not None and (eof or pending.end < self._done - REACH):
            self._out.append(pending.carve())
            self._pending = None
        for capture in list(self._captures):
            if eof:  # cut short: carve what is there (the extractor reports the cut)
                capture.closed, capture.need = True, capture.got
            if capture.done:
                self._captures.remove(capture)
                self._finished.append(capture)
                heapq.heappush(self._ends, capture.start + capture.got)
        finished, self._finished = self._finished, []
        for capture in sorted(finished, key=lambda c: c.order):  # in the order they were found
            self._hand_out(capture)
        self._wals = [w for w in self._wals if not w.done or w.start + w.need > self._done]
        out, self._out = self._out, []
        yield from out

    def _hand_out(self, capture: Capture) -> None:
        if capture.got >= DATABASE_HEADER_SIZE and capture.label:
            self._out.append(capture.carve())
        elif capture.spool is not None:
            capture.spool.close()

    def _finish_if_done(self, capture: Capture) -> None:
        """A capture the window held whole stops counting as open: packed databases are
        each taken whole as they are found, however many a window holds."""
        if capture.done:
            self._captures.remove(capture)
            self._finished.append(capture)
            heapq.heappush(self._ends, capture.start + capture.got)

    def _overlapping(self, start: int) -> int:
        """Captures that hold ``start``: the open ones, and finished ones ending past it."""
        while self._ends and self._ends[0] <= start:
            heapq.heappop(self._ends)
        return len(self._captures) + len(self._ends)

    def _open(self, kind: str, start: int, need: int) -> Capture | None:
        if self._overlapping(start) >= MAX_OPEN:
            self.notes.append(
                f"more than {MAX_OPEN} databases overlap at offset 0x{start:08x}: not carved"
            )
            return None
        spool = None
        if not self.reread:
            spool = as_binary(
                tempfile.SpooledTemporaryFile(max_size=CAPTURE_MEMORY, prefix="keyscan-")  # noqa: SIM115
            )
        capture = Capture(kind, start, need, spool)
        capture.order, self._opened = self._opened, self._opened + 1
        self._captures.append(capture)
        return capture

    def _search(
        self, buf: bytearray, lo: int, first: int, ready: int, hi: int, delta: int, eof: bool
    ) -> None:
        """Every anchor starting in ``buf[first:ready]``, by the fastest engine here."""
        engine = fast_engine(self.engine)
        keys: list[int] | None = None  # key-shaped text the engine found; None: sample
        if engine is None:
            at = first + (-(first + delta)) % WAL_ALIGN
            samples = buf[at:ready:WAL_ALIGN]  # one byte per sector: cheap
            wals = [at + j * WAL_ALIGN for j in _all(samples, WAL_MAGICS[0][:1], 0, len(samples))]
            dbs = _all(buf, SQLITE_MAGIC, first, ready + len(SQLITE_MAGIC) - 1)
        else:
            low = max(lo, first - 64)
            with memoryview(buf) as view:
                ends = engine.scan(view[low : min(hi, ready + 64)])
            wals = [low + end - 8 for end in ends[0]]  # magic and version: 8 bytes
            wals = [i for i in wals if first <= i < ready and not (i + delta) % WAL_ALIGN]
            dbs = [i for i in (low + end - 16 for end in ends[1]) if first <= i < ready]
            keys = sorted({low + end - 32 for end in ends[2]})
        for i in wals:
            self._wal_at(buf, i, hi, delta)
        for i in dbs:
            self._sqlite_at(buf, lo, i, hi, delta)
        if keys is None:
            self._text_hits(buf, lo, first, ready, hi, delta, eof)
            return
        for start in keys:  # taken by the window that holds its first sample, as sampling would
            if first <= start + (-(start + delta)) % 4 < ready:
                self._text_hit(buf, lo, first, start, hi, delta, eof)

    def _wal_at(self, buf: bytearray, i: int, hi: int, delta: int) -> None:
        found = wal_header(bytes(buf[i : i + WAL_HEADER_SIZE]))
        if found is None:
            return
        page_size, salts = found
        capture = self._open("wal", i + delta, WAL_HEADER_SIZE)
        if capture is not None:
            capture.frame_size = WAL_FRAME_HEADER_SIZE + page_size
            capture.salts = salts
            capture.feed(buf, delta, hi, self.max_bytes, None)
            self._wals.append(capture)
            self._finish_if_done(capture)

    def _page_one_copy(self, buf: bytearray, lo: int, i: int, delta: int) -> bool:
        """A database header that is page 1 inside a WAL frame or a journal record."""
        offset = i + delta
        for wal in self._wals:
            frames = wal.start + WAL_HEADER_SIZE
            if frames <= offset < wal.start + wal.need and (offset - frames) % wal.frame_size == 24:
                return True
        if i - 4 < lo or buf[i - 4 : i] != _PAGE1_RECORD:
            return False
        return any(
            i - 4 - s >= lo and buf[i - 4 - s : i + 4 - s] == JOURNAL_MAGIC for s in _SECTORS
        )

    def _sqlite_at(self, buf: bytearray, lo: int, i: int, hi: int, delta: int) -> None:
        extent = sqlite_extent(bytes(buf[i : i + DATABASE_HEADER_SIZE]))
        if extent is None or self._page_one_copy(buf, lo, i, delta):
            return
        page_size, pages = extent
        length = page_size * pages if pages else UNKNOWN_DB_BYTES
        note = None
        if length > self.max_bytes:
            length = self.max_bytes - self.max_bytes % page_size
            note = f"database larger than the {self.max_bytes:,}-byte limit: cut there"
        capture = self._open("sqlite", i + delta, length)
        if capture is not None:
            capture.closed, capture.note = True, note
            capture.label = f"{pages} pages" if pages else "size unknown"
            if self.allocation is not None:
                status = self.allocation.status(i + delta)
                capture.status = None if status == "unknown" else status
            capture.feed(buf, delta, hi, self.max_bytes, self.allocation)
            self._finish_if_done(capture)

    def _text_hits(
        self, buf: bytearray, lo: int, first: int, ready: int, hi: int, delta: int, eof: bool
    ) -> None:
        at = first + (-(first + delta)) % 4  # sample the same bytes whatever the chunking
        samples = buf[at : min(hi, ready + 32) : 4].translate(_HEX_CLASS)
        j = samples.find(_RUN8)
        while j >= 0:
            i = at + 4 * j
            if i >= ready:
                break
            # Cheap tests first. Eight hex samples need not be one run ("token=" puts a hex
            # "e" 4 bytes before one): 29 hex bytes from here, or look at the next sample.
            if buf[i : i + 29].translate(None, _HEX_DIGITS):
                j = samples.find(_RUN8, j + 1)
                continue
            # A run: logs are full of digests, so a field name must end close before it.
            near = buf[i - NEAR if i - NEAR > lo else lo : i].lower()
            if any(word in near for word in vocabulary().carving_words):
                end = self._text_hit(buf, lo, first, i, hi, delta, eof)
                j = samples.find(_RUN8, max(j + 8, (end - at + 3) // 4))
            else:
                j = samples.find(_RUN8, j + 8)  # past this run: the next starts after it

    def _text_hit(
        self, buf: bytearray, lo: int, first: int, i: int, hi: int, delta: int, eof: bool
    ) -> int:
        """Cut out the text around the hex run holding ``i`` if it is a key; return its end."""
        start = i
        while start > lo and buf[start - 1] in _HEX_BYTES:
            start -= 1
        match = _HEX_TAIL.match(buf, i, hi)
        end = match.end() if match else i + 1
        if start + (-(start + delta)) % 4 < first:
            return end  # its first sample was in the last window, which took it
        pending = self._pending
        if end - start != 32 or (pending is not None and start + delta < pending.end):
            return end  # not a key's length, or already inside the last fragment
        # Read backwards from the value: separators, then a key field name ("authKey=…",
        # "auth_key": "…", <string name="authkey">0x…) or Gadgetbridge's wrapper "value"
        # with a field name shortly before.
        vocab = vocabulary()
        before = buf[max(lo, start - 40) : start][::-1]
        if not vocab.named_reversed.match(before) and not (
            vocab.wrapped_reversed.match(before)
            and vocab.name_regex.search(buf, max(lo, start - GATE), start)
        ):
            return end  # a bare 32-hex value (digest, id): never a candidate
        low = _text_start(buf, lo, start, delta)
        high = _text_end(buf, end, hi, eof)
        if self.allocation is not None:  # never mix allocated and free blocks in one piece
            a, b = self.allocation.span(start + delta, low + delta, high + delta)
            low, high = a - delta, b - delta
            # Files start on a block: a first line that begins in the block before is
            # another file's tail (e.g. a directory block's checksum); start at the file.
            block = self.allocation.block_size
            boundary = low + (-(low + delta)) % block
            newline = buf.find(b"\n", low, start)
            if low < boundary <= newline:
                low = boundary
            if not vocab.name_regex.search(buf, max(low, start - GATE), start):
                return end
        self._add_fragment(buf, low, high, start + delta, delta)
        return end

    def _add_fragment(self, buf: bytearray, low: int, high: int, anchor: int, delta: int) -> None:
        pending = self._pending
        if pending is not None and low + delta <= pending.end:
            if high + delta <= pending.end:
                return
            if high + delta - pending.start <= MAX_FRAGMENT:
                pending.data += buf[pending.end - delta : high]
                pending.end = high + delta
                return
            low = pending.end - delta  # too big to merge: go on where it stops
        if pending is not None:
            self._out.append(pending.carve())
        self._pending = Fragment(low + delta, high + delta, anchor, bytearray(buf[low:high]))


def _text_start(buf: bytearray, lo: int, start: int, delta: int) -> int:
    """Where the text holding ``start`` begins: after a binary byte, else a line start."""
    low = max(lo, start - REACH)
    binary = _BINARY.search(buf[low:start][::-1])
    if binary is not None:
        return start - binary.start()
    if low + delta == 0:
        return low
    newline = buf.find(b"\n", low, start)
    return newline + 1 if newline >= 0 else low


def _text_end(buf: bytearray, end: int, hi: int, eof: bool) -> int:
    """Where the text holding ``end`` stops: at a binary byte, else after a whole line."""
    high = min(hi, end + REACH)
    binary = _BINARY.search(buf, end, high)
    if binary is not None:
        return binary.start()
    if eof and high == hi:
        return hi
    newline = buf.rfind(b"\n", end, high)
    return newline + 1 if newline >= 0 else high


def _all(buf: bytearray, needle: bytes, start: int, end: int) -> list[int]:
    """Every place ``needle`` starts in ``buf[start:end]``."""
    found = []
    at = buf.find(needle, start, end)
    while at >= 0:
        found.append(at)
        at = buf.find(needle, at + 1, end)
    return found
