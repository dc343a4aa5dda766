"""Files on disk that count the bytes read from them: the progress line's "read of size",
and hand them to taps as they are read (``--report`` hashes every input in the scan's own
read pass: scanner/inputs/hashing.py).

Only when someone watches (``ScanContext.on_open`` set: stderr is a terminal, or a report is
written); otherwise files are opened plainly. The count is a plain int, read by the progress
thread.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from os import SEEK_SET
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from scanner.errors import Unsupported

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class MeteredFile(io.FileIO):
    """A raw file that counts what it hands out (``io.BufferedReader`` reads through it)."""

    consumed = 0
    position = 0  # where the next read starts (kept here: a tell() per read is a syscall)
    # Each hears (offset, bytes) of every read, in the order the scan reads.
    taps: tuple[Callable[[int, memoryview], None], ...] = ()

    def seek(self, offset: int, whence: int = SEEK_SET, /) -> int:
        self.position = super().seek(offset, whence)
        return self.position

    def _heard(self, data: memoryview) -> None:
        for tap in self.taps:
            tap(self.position, data)
        self.consumed += len(data)
        self.position += len(data)

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        count = super().readinto(buffer)
        if count:
            with memoryview(buffer) as view, view.cast("B")[:count] as data:
                self._heard(data)
        return count

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if data:
            self._heard(memoryview(data))
        return data

    def readall(self) -> bytes:
        data = super().readall()
        self._heard(memoryview(data))
        return data


# (provenance, size, the open file) when a file on disk is opened for reading.
OnOpen = Callable[[tuple[str, ...], int, MeteredFile], None]


def _without_blocking(path: str, flags: int) -> int:
    # A FIFO put in a file's place since it was listed would block open() itself.
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))


def _checked(handle: io.IOBase, identity: tuple[int, int] | None) -> None:
    """Read only if still the regular file listed (``identity``: its st_dev, st_ino)."""
    st = os.fstat(handle.fileno())
    if not stat.S_ISREG(st.st_mode) or identity not in (None, (st.st_dev, st.st_ino)):
        handle.close()
        raise Unsupported("no longer the regular file it was when listed: not read")


def open_regular(path: Path, identity: tuple[int, int] | None = None) -> BinaryIO:
    """``path`` opened for reading, never a FIFO, device or socket put in its place."""
    handle = open(path, "rb", opener=_without_blocking)  # noqa: SIM115 (the caller closes it)
    _checked(handle, identity)
    return handle


def open_file(
    path: Path,
    chain: tuple[str, ...],
    size: int,
    block: int,
    on_open: OnOpen | None,
    identity: tuple[int, int] | None = None,
) -> BinaryIO:
    if on_open is None:
        return open_regular(path, identity)
    raw = MeteredFile(path, "rb", opener=_without_blocking)
    _checked(raw, identity)
    on_open(chain, size, raw)
    # The buffer open() would choose: the file system's block size.
    return io.BufferedReader(raw, buffer_size=block if block > 1 else io.DEFAULT_BUFFER_SIZE)
