"""Single-stream compression: gzip (rotated logs, TWRP, .tar.gz), bzip2, xz.

Each holds exactly one file; its name is the outer name without the suffix (``x.tgz``
-> ``x.tar``), else the outer name + ``.decompressed`` (TWRP keeps ``data.ext4.win``).
Decompression is streamed and watched: past ``max_member_bytes``, or past ``max_ratio``
once more than ``RATIO_FLOOR`` bytes came out, it stops with a ``limit`` problem.
"""

from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, ClassVar, cast

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.containers.readahead import ReadAhead
from scanner.context import Limits, ScanContext, ScanOptions
from scanner.errors import Corrupt, LibraryErrors, LimitExceeded, ScanError, Truncated, Unreadable
from scanner.formats.compressed import inflate

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_SUFFIXES = (".gz", ".tgz", ".bz2", ".tbz2", ".tbz", ".xz", ".txz", ".zst", ".tzst")
# Small files may compress far better than max_ratio (an empty database, a log of one
# repeated line); the ratio only counts once this much came out.
RATIO_FLOOR = 64 << 20
# What a decompressor raises for bad data: BadGzipFile, bz2's "Invalid data stream", lzma's
# "Corrupt input data", the fast inflate libraries' errors.
_DAMAGE: tuple[type[Exception], ...] = (OSError, zlib.error, lzma.LZMAError, *inflate.ERRORS)


def inner_name(artifact: Artifact) -> str:
    base = artifact.name
    for suffix in _SUFFIXES:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") else stem
    return base + ".decompressed"


class _CountingReader:
    """The compressed bytes, counted as the decompressor pulls them."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size)
        except OSError as error:  # the disk, not the data: keep it apart from "damaged"
            raise Unreadable(f"cannot read: {error.strerror or error}") from error
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()


class Decompressed(io.RawIOBase):
    """A decompressor's output with the size and ratio limits, and its errors in our words.

    ``produce()`` gives the next decoded bytes (b"" at the end). After ``thread_after``
    bytes it runs ahead in a worker thread (``readahead``; None: never); its errors are
    raised here, in the reader's thread, where a plain loop would have met them.
    """

    def __init__(
        self,
        produce: Callable[[], bytes],
        source: _CountingReader,
        limits: Limits,
        what: str,
        charge: Callable[[int], None] | None = None,
        thread_after: int | None = None,
    ) -> None:
        self._charge = charge
        # The compressed bytes used so far go with each chunk, for the ratio limit.
        self._ahead = ReadAhead(produce, lambda: source.count, thread_after=thread_after)
        self._source = source
        self._limits = limits
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._check()  # once tripped, every later read fails too
        try:
            n = self._ahead.readinto(buffer)
        except ScanError:
            raise
        except EOFError as error:
            raise Truncated(f"{self._what} ends early: {error}") from error
        except _DAMAGE as error:
            raise Corrupt(f"{self._what} is damaged: {error}") from error
        self.count += n
        self._check()
        if self._charge is not None:
            self._charge(n)
        return n

    def _check(self) -> None:
        limit = self._limits.max_member_bytes
        if self.count > limit:
            raise LimitExceeded(f"{self._what} decompresses to more than {limit:,} bytes")
        ratio = self.count / max(self._ahead.observed, 1)
        if self.count > RATIO_FLOOR and ratio > self._limits.max_ratio:
            raise LimitExceeded(
                f"{self._what} expands {ratio:,.0f} times, over the {self._limits.max_ratio}:1 "
                "limit (decompression bomb?)"
            )

    def close(self) -> None:
        try:
            self._ahead.close()  # the thread first: it may be inside the decompressor
        finally:
            self._source.close()
            super().close()


def _in_steps(reader: bz2.BZ2File | lzma.LZMAFile) -> Callable[[], bytes]:
    # read1: one step of the decompressor. Its read(n) loops, and a cut met in the loop
    # raises and drops the bytes it had already decoded in that call; read1 keeps them.
    return lambda: reader.read1(inflate.CHUNK)


class Compressed(Container):
    """A compressed stream: one child, its decoded bytes. Subclasses say how to decode."""

    raises: ClassVar[LibraryErrors] = {
        **dict.fromkeys(inflate.ERRORS, Corrupt),
        lzma.LZMAError: Corrupt,
    }

    @staticmethod
    def decompress(stream: BinaryIO, options: ScanOptions) -> Callable[[], bytes]:
        """The decoded bytes of ``stream``, one chunk per call (b"" at the end)."""
        raise NotImplementedError

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        name = inner_name(artifact)
        device_path = (
            posixpath.join(posixpath.dirname(artifact.device_path), name)
            if artifact.device_path
            else None
        )
        source = _CountingReader(stream)
        raw = Decompressed(
            self.decompress(cast("BinaryIO", source), ctx.options),  # they only read()
            source,
            ctx.limits,
            f"{self.name} stream {name}",
            ctx.charge,
            thread_after=ctx.read_ahead_after(),
        )
        inner = io.BufferedReader(raw, buffer_size=1 << 16)
        with ctx.charging():  # reading the child decompresses: it charges the budget
            yield artifact.child(name, lambda: inner, device_path=device_path, reopenable=False)


class Gzip(Compressed):
    name = "gzip"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:3] == b"\x1f\x8b\x08"  # magic + deflate, the only method gzip defines

    @staticmethod
    def decompress(stream: BinaryIO, options: ScanOptions) -> Callable[[], bytes]:
        # Reads concatenated gzip members (pigz, rotated logs) one after the other; by
        # isal or zlib-ng when installed and allowed (same bytes, faster: inflate.py).
        return inflate.GzipChunks(stream, fast=options.fast_inflate).next


class Bzip2(Compressed):
    name = "bzip2"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        # "BZh" + block size 1-9 + the first block's magic (or the end magic if empty).
        return (
            head[:3] == b"BZh"
            and len(head) >= 10
            and head[3] in b"123456789"
            and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
        )

    @staticmethod
    def decompress(stream: BinaryIO, options: ScanOptions) -> Callable[[], bytes]:
        return _in_steps(bz2.BZ2File(stream))


class Xz(Compressed):
    name = "xz"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:6] == b"\xfd7zXZ\x00"

    @staticmethod
    def decompress(stream: BinaryIO, options: ScanOptions) -> Callable[[], bytes]:
        return _in_steps(lzma.LZMAFile(stream))
