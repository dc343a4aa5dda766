"""A virtual file: a path chain, a size, a time and a stream, wherever it really lives.

Streams of tar members are forward-only and valid only until the next member, so
the pipeline processes each artifact as soon as its container yields it.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

HEAD_SIZE = 4096  # enough for every magic and text sniff we do


@dataclass(frozen=True)
class Origin:
    """What a container knows of a file's bytes beyond its path: the app a MIUI backup's
    header names, or the raw-image offset they were carved from."""

    package: str | None = None  # the app a MIUI backup's header names
    label: str | None = None  # that app's label in the header
    carved_at: int | None = None  # byte offset in the raw image; None: a real file
    # Carved from blocks the file system marks free (True) or in use (False); None: unknown.
    deleted: bool | None = None

    @property
    def carved(self) -> bool:
        """Bytes recovered from a raw image, not a file: their candidates' method is carve."""
        return self.carved_at is not None


@dataclass
class Artifact:
    """One file found in an input, at any nesting depth."""

    chain: tuple[str, ...]  # provenance: the input path, then one name per container level
    opener: Callable[[], BinaryIO]  # a fresh stream of the bytes (see ``reopenable``)
    size: int | None = None
    mtime: float | None = None  # seconds since the epoch, UTC
    mtime_source: str = "file mtime"  # "file mtime", "tar member mtime", "zip member time …"
    # False: ``mtime`` is a local time of unknown zone (a zip's DOS time), given as if UTC.
    mtime_utc: bool = True
    device_path: str | None = None  # where the file lived on the phone, when known
    reopenable: bool = True  # False for forward-only members (tar streams)
    depth: int = 0  # container nesting depth
    origin: Origin = Origin()

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def path(self) -> str:
        """The best path we know: the device path, else the innermost member name."""
        return self.device_path or self.chain[-1]

    @property
    def app(self) -> str | None:
        """The package this file belongs to, from its device path or any level of its chain."""
        from scanner.artifacts.device_paths import app_of

        return app_of(self.device_path, "/".join(self.chain))

    def open(self) -> BinaryIO:
        return self.opener()

    def child(
        self,
        member: str,
        opener: Callable[[], BinaryIO],
        *,
        size: int | None = None,
        mtime: float | None = None,
        mtime_source: str = "file mtime",
        mtime_utc: bool = True,
        device_path: str | None = None,
        reopenable: bool = True,
        origin: Origin = Origin(),
    ) -> Artifact:
        """An artifact one container level below this one."""
        return Artifact(
            chain=(*self.chain, member),
            opener=opener,
            size=size,
            mtime=mtime if mtime is not None else self.mtime,
            mtime_source=mtime_source if mtime is not None else self.mtime_source,
            mtime_utc=mtime_utc if mtime is not None else self.mtime_utc,
            device_path=device_path,
            reopenable=reopenable,
            depth=self.depth + 1,
            origin=origin,
        )


class PrefixedStream(io.RawIOBase):
    """Serves bytes already read (the sniffed head) before the rest of a stream.

    If reading the head failed part-way (a stream cut inside its first KiB), the bytes
    that did arrive are served, then the failure is raised again: the extractors still
    see what there was, and the pipeline still reports the cut.
    """

    def __init__(self, head: bytes, rest: BinaryIO, error: BaseException | None = None) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        readinto = getattr(self._rest, "readinto", None)
        if readinto is not None:
            return readinto(buffer)
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


_READ_PIECE = 1 << 20


def read_up_to(stream: BinaryIO, size: int, parts: list[bytes] | None = None) -> bytes:
    """Read ``size`` bytes, or fewer only at the end of the stream.

    ``parts`` collects what was read, for a caller that wants it even if a read fails.
    Reads at most 1 MiB at a time: a buffered stream asked for ``size`` at once allocates
    all of it first (2 GiB for the database cap), however small the file is.
    """
    if parts is None:
        first = stream.read(min(size, _READ_PIECE))
        if len(first) >= size or not first:
            return first
        # BytesIO grows in place and hands its buffer over: about 1x the data at the peak.
        out = io.BytesIO()
        out.write(first)
        want = size - len(first)
        while want > 0 and (chunk := stream.read(min(want, _READ_PIECE))):
            out.write(chunk)
            want -= len(chunk)
        return out.getvalue()
    want = size
    while want > 0:
        chunk = stream.read(min(want, _READ_PIECE))
        if not chunk:
            break
        parts.append(chunk)
        want -= len(chunk)
    return b"".join(parts)


def pending_error(stream: BinaryIO) -> BaseException | None:
    """The read failure ``sniff`` met in the head and nobody has met again yet, if any."""
    raw = getattr(stream, "raw", None)
    return raw._error if isinstance(raw, PrefixedStream) else None


def is_seekable(stream: BinaryIO) -> bool:
    """``seekable()`` that never raises (tar members of a stream-mode tarfile do)."""
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def sniff(stream: BinaryIO, size: int = HEAD_SIZE) -> tuple[bytes, BinaryIO]:
    """Return the first bytes of a stream and a stream that still starts at them."""
    if is_seekable(stream):
        start = stream.tell()
        head = read_up_to(stream, size)
        stream.seek(start)
        return head, stream
    parts: list[bytes] = []
    error: Exception | None = None
    try:
        read_up_to(stream, size, parts)
    except Exception as failure:
        error = failure
    head = b"".join(parts)
    if error is not None and not head:
        raise error
    return head, io.BufferedReader(PrefixedStream(head, stream, error), buffer_size=1 << 16)


def as_binary(stream: IO[bytes] | io.RawIOBase) -> BinaryIO:
    """``stream`` as the ``BinaryIO`` that artifacts hand on: a raw stream or a spooled
    temporary file reads like one, but typeshed does not call it one."""
    return cast("BinaryIO", stream)
