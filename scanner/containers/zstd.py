"""Zstandard streams (``.zst``, ``.tar.zst``): only when the ``zstandard`` package is there.

Frame magic 28 B5 2F FD (RFC 8878, section 3.1.1). Without the package nothing is
detected, and such a file is reported like any other unread binary.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.compressed import _Compressed
from scanner.errors import Corrupt, Truncated

try:
    import zstandard
except ImportError:  # optional: pip install 'keyscan[fast]'
    zstandard = None

MAGIC = b"\x28\xb5\x2f\xfd"


class _ZstdStream(io.RawIOBase):
    """Frames decompressed one chunk at a time; input that stops inside a frame is a cut.

    (``stream_reader`` would end quietly there, and the cut would go unreported.)
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _feed(self, data: bytes) -> None:
        try:
            self._pending = memoryview(self._frame.decompress(data))
        except zstandard.ZstdError as error:
            raise Corrupt(f"zstd stream is damaged: {error}") from error
        self._in_frame = not self._frame.eof

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self._frame.eof:  # a zstd file may hold several frames
                leftover = self._frame.unused_data
                self._frame = zstandard.ZstdDecompressor().decompressobj()
                if leftover:
                    self._feed(leftover)
                    continue
            chunk = self._source.read(1 << 16)
            if not chunk:
                if self._in_frame:
                    raise Truncated("zstd stream ends inside a frame")
                return 0
            self._feed(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]  # a view: no copy of the rest
        return count

    def close(self) -> None:
        self._source.close()
        super().close()


class Zstd(_Compressed):
    name = "zstd"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return zstandard is not None and head[:4] == MAGIC

    @staticmethod
    def decompress(stream: BinaryIO) -> BinaryIO:
        return _ZstdStream(stream)  # type: ignore[return-value]
