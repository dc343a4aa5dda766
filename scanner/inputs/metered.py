"""Files on disk that count the bytes read from them: the progress line's "read of size".

Only when someone watches (``ScanContext.on_open`` set: stderr is a terminal); otherwise
files are opened plainly. The count is a plain int, read by the progress thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class MeteredFile(io.FileIO):
    """A raw file that counts what it hands out (``io.BufferedReader`` reads through it)."""

    consumed = 0

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        count = super().readinto(buffer)
        if count:
            self.consumed += count
        return count

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.consumed += len(data or b"")
        return data

    def readall(self) -> bytes:
        data = super().readall()
        self.consumed += len(data)
        return data


# (provenance, size, the open file) when a file on disk is opened for reading.
OnOpen = Callable[[tuple[str, ...], int, MeteredFile], None]


def open_file(
    path: Path, chain: tuple[str, ...], size: int, block: int, on_open: OnOpen | None
) -> BinaryIO:
    if on_open is None:
        return open(path, "rb")
    raw = MeteredFile(path, "rb")
    on_open(chain, size, raw)
    # The buffer open() would choose: the file system's block size.
    return io.BufferedReader(raw, buffer_size=block if block > 1 else io.DEFAULT_BUFFER_SIZE)
