"""A sparse tar member read as the file it stands for: its stored pieces where the map
puts them, zeros in the holes between (never held in memory, made as they are read)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from scanner.errors import Corrupt, Truncated

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_ZEROS = bytes(1 << 16)


class DataSource(Protocol):
    def readinto(self, buffer: memoryview) -> int: ...


def checked_map(pieces: list[tuple[int, int]], size: int, stored: int) -> list[tuple[int, int]]:
    """The map's pieces with data, in file order; ``Corrupt`` for a map that no tar writes
    (pieces that go back, overlap, pass the file's end, or hold more than is stored)."""
    kept: list[tuple[int, int]] = []
    end = 0
    for offset, length in pieces:
        if length == 0:
            continue  # GNU tar ends its maps with an empty piece at the file's end
        if offset < end or length < 0 or offset + length > size:
            raise Corrupt(
                f"its sparse map places {length:,} bytes at {offset:,} in a file of "
                f"{size:,} bytes, after a piece that ends at {end:,}"
            )
        kept.append((offset, length))
        end = offset + length
    held = sum(length for _, length in kept)
    if held > stored:
        raise Corrupt(f"its sparse map holds {held:,} bytes where the tar stores {stored:,}")
    return kept


class SparseData(io.RawIOBase):
    """Reads the stored pieces forward from ``source``; ``on_hole`` is told of every run
    of zeros made for a hole, before it is handed out."""

    def __init__(
        self,
        source: DataSource,
        pieces: list[tuple[int, int]],
        size: int,
        on_hole: Callable[[int], None],
    ) -> None:
        self._source = source
        self._pieces = pieces
        self._size = size
        self._on_hole = on_hole
        self._index = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while self._index < len(self._pieces) and sum(self._pieces[self._index]) <= self._position:
            self._index += 1
        if self._position >= self._size or not view:
            return 0
        if self._index < len(self._pieces) and self._pieces[self._index][0] <= self._position:
            count = min(len(view), sum(self._pieces[self._index]) - self._position)
            count = self._source.readinto(view[:count])
            if not count:
                raise Truncated("ends early: unexpected end of data")
        else:
            more = self._index < len(self._pieces)
            hole_end = self._pieces[self._index][0] if more else self._size
            count = min(len(view), len(_ZEROS), hole_end - self._position)
            self._on_hole(count)
            view[:count] = _ZEROS[:count]
        self._position += count
        return count
