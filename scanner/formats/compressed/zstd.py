"""Zstandard streams (``.zst``, ``.tar.zst``: Neo Backup's default, phone exports).

Frame magic 28 B5 2F FD (RFC 8878, section 3.1.1). Read by the ``zstandard`` package, a
core dependency: without it a ``.tar.zst`` would be skipped as an unknown blob.

Decoded by ``stream_reader`` in steps of at most ``inflate.CHUNK`` bytes: a
``decompressobj`` gives all that its input decodes to at once (6 KB of zstd made 200 MiB
in one call), which no memory bound survives. ``stream_reader`` ends quietly where the
data stops inside a frame, so ``FrameEnds`` follows the frame and block headers of the
bytes it reads (``zstd_layout.py``) to tell a cut from the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, cast

import zstandard

from scanner.artifacts import Artifact
from scanner.context import ScanOptions
from scanner.errors import Corrupt, Truncated
from scanner.formats.compressed import inflate
from scanner.formats.compressed.container import Compressed
from scanner.formats.compressed.zstd_layout import (
    BLOCK_HEADER_SIZE,
    CHECKSUM_SIZE,
    CONTENT_SIZE_SIZES,
    DICTIONARY_ID_SIZES,
    FRAME_MAGIC,
    RESERVED_BLOCK,
    RLE_BLOCK,
    SKIPPABLE_MAGIC_LOW,
    SKIPPABLE_MAGIC_MASK,
    BlockHeader,
    FrameHeaderDescriptor,
)

MAGIC = FRAME_MAGIC
# Bytes of each header FrameEnds reads, by what it expects next.
_HEADER_SIZES = {"magic": 4, "descriptor": 1, "skip size": 4, "block": BLOCK_HEADER_SIZE}


class FrameEnds:
    """Where the frames of a zstd stream end, from its headers alone, fed in any pieces.

    ``between_frames``: the bytes so far end exactly after a frame (or are empty). Past
    anything it cannot follow (an unknown magic, a reserved block type) it stops and
    leaves the verdict to the decoder (``lost``).
    """

    def __init__(self) -> None:
        self._want = "magic"  # the header read next: magic, descriptor, skip size, block
        self._pending = b""  # bytes of that header so far
        self._skip = 0  # bytes to pass over before it (header fields, block data)
        self._checksum = False  # the current frame ends with a Content_Checksum
        self.lost = False

    @property
    def between_frames(self) -> bool:
        return self._want == "magic" and not self._pending and not self._skip

    def feed(self, data: bytes | memoryview) -> None:
        at = 0
        while at < len(data) and not self.lost:
            if self._skip:
                step = min(self._skip, len(data) - at)
                self._skip -= step
                at += step
                continue
            take = _HEADER_SIZES[self._want] - len(self._pending)
            self._pending += bytes(data[at : at + take])
            at += take
            if len(self._pending) == _HEADER_SIZES[self._want]:
                header, self._pending = self._pending, b""
                self._read(header)

    def _read(self, header: bytes) -> None:
        if self._want == "magic":
            if header == FRAME_MAGIC:
                self._want = "descriptor"
            elif int.from_bytes(header, "little") & SKIPPABLE_MAGIC_MASK == SKIPPABLE_MAGIC_LOW:
                self._want = "skip size"
            else:
                self.lost = True
        elif self._want == "skip size":
            self._skip, self._want = int.from_bytes(header, "little"), "magic"
        elif self._want == "descriptor":
            self._skip, self._checksum = _header_rest(header[0])
            self._want = "block"
        else:
            block = BlockHeader.parse(header)
            if block.type == RESERVED_BLOCK:
                self.lost = True
                return
            self._skip = 1 if block.type == RLE_BLOCK else block.size
            if block.last:
                self._skip += CHECKSUM_SIZE if self._checksum else 0
                self._want = "magic"


def _header_rest(descriptor: int) -> tuple[int, bool]:
    """Bytes of a frame header after its descriptor, and whether a checksum ends the frame."""
    fields = FrameHeaderDescriptor.parse(bytes([descriptor]))
    content_size = CONTENT_SIZE_SIZES[fields.content_size_flag]
    if fields.single_segment and fields.content_size_flag == 0:
        content_size = 1
    window = 0 if fields.single_segment else 1
    dictionary = DICTIONARY_ID_SIZES[fields.dictionary_id_flag]
    return window + dictionary + content_size, bool(fields.checksum)


class _Watched:
    """The compressed bytes, shown to ``FrameEnds`` as the decoder reads them."""

    def __init__(self, source: BinaryIO, frames: FrameEnds) -> None:
        self._source = source
        self._frames = frames

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._frames.feed(data)
        return data


class _ZstdChunks:
    """The decoded bytes, at most ``inflate.CHUNK`` at a time; a stop inside a frame is a cut."""

    def __init__(self, source: BinaryIO) -> None:
        self._frames = FrameEnds()
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast("BinaryIO", _Watched(source, self._frames)),  # it only read()s
            read_across_frames=True,
            closefd=False,
        )

    def next(self) -> bytes:
        """The next decoded bytes; b"" at the end."""
        try:
            data = self._reader.read(inflate.CHUNK)
        except zstandard.ZstdError as error:
            raise Corrupt(f"zstd stream is damaged: {error}") from error
        if not data and not self._frames.lost and not self._frames.between_frames:
            raise Truncated("zstd stream ends inside a frame")
        return data


class Zstd(Compressed):
    name = "zstd"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:4] == MAGIC

    @staticmethod
    def decompress(stream: BinaryIO, options: ScanOptions) -> Callable[[], bytes]:
        return _ZstdChunks(stream).next
