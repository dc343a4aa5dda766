"""Inflate (zlib, raw deflate, gzip) by the fastest library installed.

python-isal (``isal.isal_zlib``) and zlib-ng (``zlib_ng.zlib_ng``) decode the same streams
as the standard ``zlib`` to the same bytes, 2-3 times faster (docs/performance.md); they
are the optional extra ``keyscan[fast]``. ``KEYSCAN_NO_FAST_INFLATE=1`` forces ``zlib``
(to compare, or to rule the library out).

gzip is read by the fast library's own C reader, else by ``GzipStream`` over ``zlib``
(``gzip.GzipFile``'s reader runs Python per read and computes the CRC apart: 10 % slower
on a TWRP backup). Their exceptions are not ``zlib.error``: catch ``ERRORS``.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from types import ModuleType
from typing import Any, BinaryIO


def _choose() -> tuple[str, ModuleType, Any]:
    """(name, zlib-compatible module, its C gzip reader class or None)."""
    if os.environ.get("KEYSCAN_NO_FAST_INFLATE", "").strip() not in ("", "0"):
        return "zlib", zlib, None
    try:
        from isal import igzip, isal_zlib

        return "isal", isal_zlib, igzip.GzipFile
    except ImportError:
        pass
    try:
        from zlib_ng import gzip_ng, zlib_ng

        return "zlib-ng", zlib_ng, gzip_ng.GzipFile
    except ImportError:
        pass
    return "zlib", zlib, None  # gzip.GzipFile's reader is Python: GzipStream is faster


NAME, _LIB, _GZIP_FILE = _choose()
ERRORS: tuple[type[Exception], ...] = tuple({zlib.error, _LIB.error})


def decompressobj(wbits: int = zlib.MAX_WBITS) -> Any:
    """``zlib.decompressobj`` of the chosen library (same methods and attributes)."""
    return _LIB.decompressobj(wbits)


GZIP_MAGIC = b"\x1f\x8b"
_SOURCE_CHUNK = 256 * 1024
# Input is fed in pieces: past ``max_length`` the library copies what it did not use
# (``unconsumed_tail``) on every call, so a big piece would be copied over and over.
_PIECE = 64 * 1024


class GzipStream(io.RawIOBase):
    """gzip members one after the other (pigz, rotated logs), inflated by the library
    itself: it parses each header and checks its CRC-32 and size (``wbits`` 31), so no
    Python runs per byte, unlike ``gzip.GzipFile``'s reader. Zeros after a member are
    padding, as gzip(1) allows.

    Errors: ``EOFError`` (cut), ``gzip.BadGzipFile`` (no gzip member where one must
    start) or ``ERRORS`` (bad data, CRC).
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._inflater = _LIB.decompressobj(31)
        self._input = memoryview(b"")  # compressed bytes not yet given to the inflater
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fills ``buffer`` at least half (fewer Python steps per byte), or to the end."""
        filled, size = 0, len(buffer)
        while not self._ended and filled < size // 2 + 1:
            inflater = self._inflater
            if inflater.eof:
                self._next_member(inflater.unused_data + self._input)
                continue
            if inflater.unconsumed_tail:
                data = inflater.decompress(inflater.unconsumed_tail, size - filled)
            else:
                if not self._input:
                    self._input = memoryview(self._source.read(_SOURCE_CHUNK))
                    if not self._input:
                        if filled:
                            break  # the cut is raised by the next read
                        raise EOFError("the gzip stream ends before its end-of-stream marker")
                piece, self._input = self._input[:_PIECE], self._input[_PIECE:]
                data = inflater.decompress(piece, size - filled)
            buffer[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _next_member(self, rest: bytes) -> None:
        """After a member: more members, zero padding, or the end."""
        self._input = memoryview(b"")
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= 2 or not (more := self._source.read(_SOURCE_CHUNK)):
                break
            rest += more
        if not rest:
            self._ended = True
        elif not rest.startswith(GZIP_MAGIC):
            raise gzip.BadGzipFile(f"not a gzip member after the last one ({rest[:2]!r})")
        else:
            self._inflater = _LIB.decompressobj(31)
            self._input = memoryview(rest)

    def close(self) -> None:
        self._source.close()
        super().close()


def gzip_reader(fileobj: BinaryIO) -> BinaryIO:
    """The decompressed bytes of ``fileobj`` (concatenated members too): the fast
    library's own gzip reader (C), else ``GzipStream`` (docs/performance.md)."""
    if _GZIP_FILE is not None:
        return _GZIP_FILE(fileobj=fileobj, mode="rb")  # type: ignore[no-any-return]
    return GzipStream(fileobj)  # type: ignore[return-value]


__all__ = ["ERRORS", "NAME", "decompressobj", "gzip_reader"]
