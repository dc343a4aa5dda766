"""Inflate (zlib, raw deflate, gzip) by the fastest library installed.

python-isal (``isal.isal_zlib``) and zlib-ng (``zlib_ng.zlib_ng``) decode the same streams
as the standard ``zlib`` to the same bytes, 2-3 times faster (docs/performance.md); they
are the optional extra ``keyscan[fast]``. ``KEYSCAN_NO_FAST_INFLATE=1`` forces ``zlib``
(to compare, or to rule the library out).

Their exceptions are not ``zlib.error``: catch ``ERRORS``.
"""

from __future__ import annotations

import gzip
import os
import zlib
from types import ModuleType
from typing import Any, BinaryIO


def _choose() -> tuple[str, ModuleType, Any]:
    """(name, zlib-compatible module, GzipFile class)."""
    if os.environ.get("KEYSCAN_NO_FAST_INFLATE", "").strip() not in ("", "0"):
        return "zlib", zlib, gzip.GzipFile
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
    return "zlib", zlib, gzip.GzipFile


NAME, _LIB, _GZIP_FILE = _choose()
ERRORS: tuple[type[Exception], ...] = tuple({zlib.error, _LIB.error})


def decompressobj(wbits: int = zlib.MAX_WBITS) -> Any:
    """``zlib.decompressobj`` of the chosen library (same methods and attributes)."""
    return _LIB.decompressobj(wbits)


def gzip_reader(fileobj: BinaryIO) -> BinaryIO:
    """A ``gzip.GzipFile`` reading ``fileobj`` (concatenated members too) with the chosen
    library; its errors are ``EOFError``, ``OSError`` (``BadGzipFile``) or ``ERRORS``."""
    return _GZIP_FILE(fileobj=fileobj, mode="rb")  # type: ignore[no-any-return]


__all__ = ["ERRORS", "NAME", "decompressobj", "gzip_reader"]
