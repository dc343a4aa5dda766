"""What every container format provides: a content test and a walk over its members."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.errors import LimitExceeded


class Container(ABC):
    """A format that holds files: detect it by its first bytes, then yield its members.

    ``walk`` yields child artifacts one by one; a forward-only child's stream is valid only
    until the next one is asked for. A child marked ``reopenable`` must stay openable after
    ``walk`` has ended (SQLite families are read when their directory is complete): only
    files on the examiner's disk qualify; archive members are ``reopenable=False``.
    Raise a ``ScanError`` for what stops the walk; the pipeline reports it and keeps every
    member already yielded.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool: ...

    @abstractmethod
    def walk(
        self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Artifact]: ...


class LimitedStream(io.RawIOBase):
    """Counts what a decompressor yields and stops it past a limit (decompression bombs)."""

    def __init__(self, inner: BinaryIO, limit: int, what: str) -> None:
        self._inner = inner
        self._limit = limit
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self.count += len(data)
        if self.count > self._limit:
            raise LimitExceeded(f"{self._what} decompresses to more than {self._limit:,} bytes")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def limited(inner: BinaryIO, limit: int, what: str) -> BinaryIO:
    return io.BufferedReader(LimitedStream(inner, limit, what), buffer_size=1 << 16)
