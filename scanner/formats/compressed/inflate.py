"""Inflate (zlib, raw deflate, gzip) by the fastest library installed.

python-isal (``isal.isal_zlib``) and zlib-ng (``zlib_ng.zlib_ng``) decode the same streams
as the standard ``zlib`` to the same bytes, faster (docs/performance.md); they are the
optional extra ``keyscan[fast]``. ``fast=False`` (``ScanOptions.fast_inflate``) forces
``zlib``, to compare or to rule the library out.

gzip is read by ``GzipChunks`` over the chosen library, not by a ``GzipFile``: the
library checks the header and CRC itself, and every byte decoded before a cut is handed
on. The fast libraries' exceptions are not ``zlib.error``: catch ``ERRORS``.
"""

from __future__ import annotations

import gzip
import zlib
from functools import cache
from types import ModuleType
from typing import Any, BinaryIO


def _installed() -> list[tuple[str, ModuleType]]:
    """(name, zlib-compatible module) of every library here, fastest first."""
    found = []
    try:
        from isal import isal_zlib

        found.append(("isal", isal_zlib))
    except ImportError:
        pass
    try:
        from zlib_ng import zlib_ng

        found.append(("zlib-ng", zlib_ng))
    except ImportError:
        pass
    return [*found, ("zlib", zlib)]


_INSTALLED = _installed()
ERRORS: tuple[type[Exception], ...] = tuple(dict.fromkeys(lib.error for _, lib in _INSTALLED))


@cache
def library(fast: bool = True) -> tuple[str, ModuleType]:
    """(name, module): the fastest library installed, or ``zlib`` when not ``fast``."""
    return _INSTALLED[0] if fast else _INSTALLED[-1]


def decompressobj(wbits: int = zlib.MAX_WBITS, *, fast: bool = True) -> Any:
    """``zlib.decompressobj`` of the chosen library (same methods and attributes)."""
    return library(fast)[1].decompressobj(wbits)


GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20  # compressed bytes read at once, and most bytes decoded at once


class GzipChunks:
    """gzip members one after the other (pigz, rotated logs), decoded chunk by chunk by
    the library itself: it parses each header and checks its CRC-32 and size (``wbits``
    31), so no Python runs per byte. Zeros after a member are padding, as gzip(1) allows.

    ``next()`` gives every byte decoded before a cut, then raises ``EOFError``; other
    errors: ``gzip.BadGzipFile`` (no gzip member where one must start) or ``ERRORS``
    (bad data, CRC). isal's own gzip reader is as fast, but drops the bytes it decoded in
    the call that meets a cut; ``gzip.GzipFile``'s runs Python per read.
    """

    def __init__(self, source: BinaryIO, limit: int = CHUNK, *, fast: bool = True) -> None:
        self._source = source
        self._limit = limit
        self._lib = library(fast)[1]
        self._inflater = self._lib.decompressobj(31)
        self._input = memoryview(b"")  # compressed bytes not yet given to the inflater
        self._ended = False

    def next(self) -> bytes:
        """The next decoded bytes (at most ``limit``); b"" at the end."""
        while not self._ended:
            inflater = self._inflater
            if inflater.eof:
                self._next_member(inflater.unused_data + self._input)
                continue
            if inflater.unconsumed_tail:
                data = inflater.decompress(inflater.unconsumed_tail, self._limit)
            else:
                if not self._input:
                    self._input = memoryview(self._source.read(CHUNK))
                    if not self._input:
                        if rest := inflater.flush():  # isal may hold decoded bytes back
                            return rest
                        raise EOFError("the data stops before the end-of-stream marker")
                # All of it: decoding stops at max_length and keeps the rest as
                # unconsumed_tail, a copy, so a compressed chunk is copied about once.
                data = inflater.decompress(self._input, self._limit)
                self._input = memoryview(b"")
            if data:
                return data
        return b""

    def _next_member(self, rest: bytes) -> None:
        """After a member: more members, zero padding, or the end."""
        self._input = memoryview(b"")
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= 2 or not (more := self._source.read(CHUNK)):
                break
            rest += more
        if not rest:
            self._ended = True
        elif not rest.startswith(GZIP_MAGIC):
            raise gzip.BadGzipFile(f"not a gzip member after the last one ({rest[:2]!r})")
        else:
            self._inflater = self._lib.decompressobj(31)
            self._input = memoryview(rest)


__all__ = ["CHUNK", "ERRORS", "GzipChunks", "decompressobj", "library"]
