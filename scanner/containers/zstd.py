"""Zstandard streams (``.zst``, ``.tar.zst``): only when the ``zstandard`` package is there.

Frame magic 28 B5 2F FD (RFC 8878, section 3.1.1). Without the package nothing is
detected, and such a file is reported like any other unread binary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.compressed import _Compressed
from scanner.errors import Corrupt, Truncated

try:
    import zstandard
except ImportError:  # optional: pip install 'keyscan[fast]'
    zstandard = None

MAGIC = b"\x28\xb5\x2f\xfd"


class _ZstdChunks:
    """Frames decompressed one chunk at a time; input that stops inside a frame is a cut.

    (``stream_reader`` would end quietly there, and the cut would go unreported.)
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False

    def _feed(self, data: bytes) -> bytes:
        try:
            out = self._frame.decompress(data)
        except zstandard.ZstdError as error:
            raise Corrupt(f"zstd stream is damaged: {error}") from error
        self._in_frame = not self._frame.eof
        return out  # type: ignore[no-any-return]

    def next(self) -> bytes:
        """The next decoded bytes; b"" at the end."""
        while True:
            if self._frame.eof:  # a zstd file may hold several frames
                leftover = self._frame.unused_data
                self._frame = zstandard.ZstdDecompressor().decompressobj()
                if leftover:
                    if out := self._feed(leftover):
                        return out
                    continue
            chunk = self._source.read(1 << 16)
            if not chunk:
                if self._in_frame:
                    raise Truncated("zstd stream ends inside a frame")
                return b""
            if out := self._feed(chunk):
                return out


class Zstd(_Compressed):
    name = "zstd"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return zstandard is not None and head[:4] == MAGIC

    @staticmethod
    def decompress(stream: BinaryIO) -> Callable[[], bytes]:
        return _ZstdChunks(stream).next
