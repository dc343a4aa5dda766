"""Raw partition images and unknown blobs: carve what a file system walk would miss.

``userdata.img``, TWRP ``.emmc.win`` and any large binary file no other reader claimed
are read once, front to back (``carving.Carver``), and every SQLite database, WAL and
key-bearing text fragment found in them becomes a child artifact named by its byte
offset: ``offset 0x0001f000 (carved sqlite, 12 pages)``. The SQLite, log, JSON and XML
extractors then read those like files; ``extra["carved"]`` makes their method "carve".

Deleted or not: in an ext4 image, the block bitmap of the block holding a database
header or a key says whether a live file owns it ("no") or it is free space ("yes").
Elsewhere it is "unknown" (only "yes" counts as deleted).
"""

from __future__ import annotations

import io
import tempfile
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from typing import BinaryIO

from construct import ConstructError
from construct import Container as Parsed

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import is_seekable, read_up_to, sniff
from scanner.carving import carver as carving
from scanner.carving.carved import Carve
from scanner.carving.carver import Carver
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import LimitExceeded
from scanner.extractors.base import looks_like_text
from scanner.formats.ext4.layout import (
    BG_BLOCK_UNINIT,
    EXT4_MAGIC,
    GROUP_DESCRIPTOR,
    GROUP_DESCRIPTOR_HI,
    GROUP_DESCRIPTOR_SIZE,
    INCOMPAT_64BIT,
    INCOMPAT_META_BG,
    MAGIC_OFFSET,
    RO_COMPAT_BIGALLOC,
    SUPERBLOCK,
    SUPERBLOCK_OFFSET,
    SUPERBLOCK_SIZE,
)

MIN_UNCLAIMED = 64 << 10  # smaller unknown binaries are not worth a pass
# Inside an archive, unclaimed binaries are mostly app blobs and media; only big ones can
# be partition images. (A decompressed or decrypted stream has no size: it is carved.)
MIN_UNCLAIMED_MEMBER = 64 << 20
MAX_DESCRIPTOR_BYTES = 16 << 20  # a group descriptor table larger than this is not read
# Known formats that hold no databases or key text of their own: media, executables.
_NOT_IMAGES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"OggS", b"ID3", b"fLaC",
               b"\x7fELF", b"dex\n", b"\x1a\x45\xdf\xa3", b"%PDF")  # fmt: skip
# Streams that can be read again at any offset cheaply (not a decompressor restarting).
_CHEAP_SEEK = (io.BufferedReader, io.BufferedRandom, io.FileIO, io.BytesIO,
               tempfile.SpooledTemporaryFile)  # fmt: skip


def is_ext4(head: bytes) -> bool:
    at = SUPERBLOCK_OFFSET + MAGIC_OFFSET
    if int.from_bytes(head[at : at + 2], "little") != EXT4_MAGIC:
        return False
    at = SUPERBLOCK_OFFSET + 0x18  # s_log_block_size
    return int.from_bytes(head[at : at + 4], "little") <= 6  # 1 KiB .. 64 KiB blocks


class _Source:
    """The image's stream read in order by the carver and, if cheap, again by children."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.rereadable = is_seekable(stream) and isinstance(stream, _CHEAP_SEEK)
        self.base = stream.tell() if self.rereadable else 0
        self.offset = 0  # of the next sequential read
        self.lock = threading.Lock()  # the carver reads ahead in a thread

    def read_next(self, view: memoryview) -> int:
        with self.lock:
            if self.rereadable:
                self.stream.seek(self.base + self.offset)
            readinto = getattr(self.stream, "readinto", None)
            if readinto is not None:
                got = readinto(view) or 0
            else:
                data = self.stream.read(len(view))
                got = len(data)
                view[:got] = data
        self.offset += got
        return got

    def read_at(self, offset: int, size: int) -> bytes:
        with self.lock:
            self.stream.seek(self.base + offset)
            return read_up_to(self.stream, size)


class _Slice(io.RawIOBase):
    """A bounded, seekable view of carved pieces of the source: no copy of a database."""

    def __init__(self, source: _Source, runs: list[tuple[int, int]]) -> None:
        self._source, self._runs, self._pos = source, runs, 0
        self._length = sum(end - start for start, end in runs)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        want = max(0, self._length - self._pos)
        if size is not None and size >= 0:
            want = min(want, size)
        parts: list[bytes] = []
        skip = self._pos  # logical offset: find the piece holding it
        for start, end in self._runs:
            if want <= 0:
                break
            if skip >= end - start:
                skip -= end - start
                continue
            data = self._source.read_at(start + skip, min(want, end - start - skip))
            if not data:
                break
            parts.append(data)
            want -= len(data)
            self._pos += len(data)
            skip = 0
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Ext4Map:
    """Allocated or free, per block, from an ext4 image's block bitmaps.

    With a re-readable source the few blocks needed (descriptor table, one bitmap per
    group asked about) are read on demand; otherwise they are kept as the stream passes
    them (bitmaps always come before the blocks they describe).
    """

    def __init__(self, sb: Parsed, read_at: Callable[[int, int], bytes] | None) -> None:
        self.block_size: int = 1024 << sb.log_block_size
        wide = bool(sb.feature_incompat & INCOMPAT_64BIT)
        self.blocks: int = sb.blocks_count_lo | (sb.blocks_count_hi << 32 if wide else 0)
        self.first: int = sb.first_data_block
        bigalloc = sb.feature_ro_compat & RO_COMPAT_BIGALLOC
        self.cluster_bits: int = sb.log_cluster_size - sb.log_block_size if bigalloc else 0
        self.per_group: int = sb.clusters_per_group if bigalloc else sb.blocks_per_group
        self.desc_size: int = sb.desc_size if wide and sb.desc_size >= 64 else GROUP_DESCRIPTOR_SIZE
        clusters = ((self.blocks - self.first) >> self.cluster_bits) or 1
        self.groups = -(-clusters // self.per_group)
        self.table_at = (self.first + 1) * self.block_size  # right after the superblock
        self.read_at = read_at
        self._table: bytes | None = None
        self._table_part = bytearray()  # streaming: the table as it passes
        self._bitmaps: dict[int, bytes | None] = {}  # group -> bitmap (b"" never written)
        self._wanted: list[tuple[int, int]] = []  # streaming: (offset, group) still to keep

    @classmethod
    def from_head(cls, head: bytes, read_at: Callable[[int, int], bytes] | None) -> Ext4Map | None:
        if not is_ext4(head):
            return None
        try:
            sb = SUPERBLOCK.parse(head[SUPERBLOCK_OFFSET : SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE])
        except ConstructError:
            return None
        groups_ok = sb.blocks_per_group > 0 and sb.clusters_per_group > 0
        if not groups_ok or sb.feature_incompat & INCOMPAT_META_BG or sb.log_cluster_size > 16:
            return None  # meta_bg scatters the descriptors: not read, so "unknown"
        found = cls(sb, read_at)
        if found.groups * found.desc_size > MAX_DESCRIPTOR_BYTES:
            return None
        return found

    def _descriptors(self) -> bytes | None:
        if self._table is None and self.read_at is not None:
            self._table = self.read_at(self.table_at, self.groups * self.desc_size)
        return self._table

    def _bitmap_place(self, group: int) -> int | None:
        """Byte offset of a group's bitmap; -1 if never written (all free); None unknown."""
        table = self._descriptors()
        at = group * self.desc_size
        if table is None or len(table) < at + self.desc_size:
            return None
        desc = GROUP_DESCRIPTOR.parse(table[at : at + GROUP_DESCRIPTOR_SIZE])
        if desc.flags & BG_BLOCK_UNINIT:
            return -1
        block = desc.block_bitmap_lo
        if self.desc_size >= 64:
            block |= GROUP_DESCRIPTOR_HI.parse(table[at + 32 : at + 36]).block_bitmap_hi << 32
        return block * self.block_size if 0 < block < self.blocks else None

    def _bitmap(self, group: int) -> bytes | None:
        if group not in self._bitmaps and self.read_at is not None:
            place = self._bitmap_place(group)
            size = -(-self.per_group // 8)
            bitmap: bytes | None = None
            if place is not None and place < 0:
                bitmap = b""
            elif place is not None:
                bitmap = self.read_at(place, size)
                bitmap = bitmap if len(bitmap) == size else None  # the image ends first
            self._bitmaps[group] = bitmap
        return self._bitmaps.get(group)

    def status(self, offset: int) -> str:
        """Deleted? "yes" (a free block), "no" (a live file's block) or "unknown"."""
        block = offset // self.block_size
        if not self.first <= block < self.blocks:
            return "unknown"
        group, bit = divmod((block - self.first) >> self.cluster_bits, self.per_group)
        bitmap = self._bitmap(group)
        if bitmap is None:
            return "unknown"
        if not bitmap or not (bitmap[bit >> 3] >> (bit & 7)) & 1:
            return "yes"
        return "no"

    def span(self, offset: int, low: int, high: int) -> tuple[int, int]:
        """``[low, high)`` narrowed to the blocks around ``offset`` of the same status."""
        size, status = self.block_size, self.status(offset)
        start = offset - offset % size
        while start > low and self.status(start - 1) == status:
            start -= size
        stop = offset - offset % size + size
        while stop < high and self.status(stop) == status:
            stop += size
        return max(low, start), min(high, stop)

    def observe(self, offset: int, data: memoryview) -> None:
        """Keep the descriptor table and the bitmaps as a forward-only stream passes."""
        end = offset + len(data)
        if self._table is None:
            want = self.groups * self.desc_size
            have = self.table_at + len(self._table_part)
            if offset <= have < end:
                self._table_part += data[have - offset : min(end, self.table_at + want) - offset]
            if len(self._table_part) < want:
                return
            self._table = bytes(self._table_part)
            places = ((self._bitmap_place(g), g) for g in range(self.groups))
            for place, group in places:
                if place is not None and place >= 0:
                    self._wanted.append((place, group))
                else:
                    self._bitmaps[group] = b"" if place == -1 else None
            self._wanted.sort()
        size = -(-self.per_group // 8)
        first = bisect_left(self._wanted, (offset, -1))
        last = bisect_right(self._wanted, (end - size, self.groups))
        for place, group in self._wanted[first:last]:
            self._bitmaps[group] = bytes(data[place - offset : place - offset + size])
        del self._wanted[first:last]


class RawImage(Container):
    name = "raw image"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return is_ext4(head)

    @classmethod
    def wants_unclaimed(cls, head: bytes, artifact: Artifact) -> bool:
        """A file no container or extractor claimed: is it worth carving?"""
        if not head or looks_like_text(head) or head.startswith(_NOT_IMAGES):
            return False
        if head[4:8] == b"ftyp":  # MP4, MOV, HEIC, 3GP
            return False
        if artifact.size is None:
            return True
        floor = MIN_UNCLAIMED if artifact.depth == 0 else MIN_UNCLAIMED_MEMBER
        return artifact.size >= floor

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        head, stream = sniff(stream)
        source = _Source(stream)
        ext4 = Ext4Map.from_head(head, source.read_at if source.rereadable else None)
        carver = Carver(
            source.read_next,
            reread=source.rereadable,
            max_bytes=ctx.limits.max_sqlite_bytes,
            allocation=ext4,
            chunk_size=carving.CHUNK_SIZE,  # looked up now: tests shrink it
        )
        for count, carve in enumerate(carver.run()):
            for note in carver.notes:
                ctx.problem("limit", artifact.chain, note)
            carver.notes.clear()
            if count >= ctx.limits.max_entries:
                if carve.spool is not None:
                    carve.spool.close()
                raise LimitExceeded(
                    f"more than {ctx.limits.max_entries:,} carved pieces: the rest was not carved"
                )
            child = _child(artifact, carve, source, ext4)
            if carve.note:
                ctx.problem("limit", child.chain, carve.note)
            try:
                yield child
            finally:
                if carve.spool is not None:
                    carve.spool.close()
        if carver.error is not None and (artifact.reopenable or artifact.size is None):
            raise carver.error
        # Else a member of a sized, forward-only container (tar): the container meets the
        # same cut or limit as it reads on, and reports it naming this member.


def _child(artifact: Artifact, carve: Carve, source: _Source, ext4: Ext4Map | None) -> Artifact:
    detail = f"carved {carve.kind}" + (f", {carve.label}" if carve.label else "")
    opener: Callable[[], BinaryIO]
    reopenable = True
    if carve.data is not None:
        text = carve.data
        opener = lambda: io.BytesIO(text)  # noqa: E731
    elif carve.spool is not None:  # kept while the source passed: read once, now
        spool = carve.spool
        opener = lambda: spool  # noqa: E731
        reopenable = False
    else:
        runs = carve.runs
        opener = lambda: _Slice(source, runs)  # type: ignore[return-value]  # noqa: E731
    child = artifact.child(
        f"offset 0x{carve.offset:08x} ({detail})",
        opener,
        size=carve.length,
        mtime=artifact.mtime,
        mtime_source=f"{artifact.mtime_source} of the carved image",
        reopenable=reopenable,
    )
    child.extra.update(
        carved="1",
        deleted=ext4.status(carve.anchor) if ext4 is not None else "unknown",
        offset=str(carve.offset),
    )
    return child
