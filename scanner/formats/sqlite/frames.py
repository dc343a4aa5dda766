"""What a large WAL or journal leaves in memory: the valid frames of a WAL, two 4-byte
numbers a frame (not an object each: a large WAL has tens of thousands of frames), and a
journal's pre-images as offsets into its bytes."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from scanner.formats.sqlite.layout import WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE
from scanner.vocab.prefilter import ByteView

_U32 = "I"  # 4 bytes wherever CPython runs
assert array(_U32).itemsize == 4


@dataclass(frozen=True, slots=True)
class WalFrame:
    page_number: int
    commit_size: int  # database pages after this commit; 0 if not a commit frame
    offset: int  # where the page's bytes start in the WAL


class WalFrames(Sequence[WalFrame]):
    """Frames 1 to n of a WAL (valid ones start at its first frame, one after another)."""

    def __init__(self, page_size: int, pages: array[int] | None = None,
                 commits: array[int] | None = None) -> None:  # fmt: skip
        self.page_size = page_size
        self.pages = pages if pages is not None else array(_U32)
        self.commits = commits if commits is not None else array(_U32)

    def append(self, page_number: int, commit_size: int) -> None:
        self.pages.append(page_number)
        self.commits.append(commit_size)

    def __len__(self) -> int:
        return len(self.pages)

    @overload
    def __getitem__(self, index: int) -> WalFrame: ...
    @overload
    def __getitem__(self, index: slice) -> WalFrames: ...
    def __getitem__(self, index: int | slice) -> WalFrame | WalFrames:
        if isinstance(index, slice):
            return WalFrames(self.page_size, self.pages[index], self.commits[index])
        at = range(len(self.pages))[index]  # IndexError as a list's
        offset = WAL_HEADER_SIZE + at * (WAL_FRAME_HEADER_SIZE + self.page_size)
        return WalFrame(self.pages[at], self.commits[at], offset + WAL_FRAME_HEADER_SIZE)

    def __iter__(self) -> Iterator[WalFrame]:
        return (self[index] for index in range(len(self.pages)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WalFrames):
            return (self.page_size, self.pages, self.commits) == (
                other.page_size, other.pages, other.commits
            )  # fmt: skip
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable while read, as a list

    def latest(self, db_pages: int) -> bytearray:
        """Per frame, 1 if it is the last version of its page (a page within ``db_pages``):
        what the committed state shows."""
        flags = bytearray(len(self.pages))
        highest = max(self.pages, default=0)
        # Pages seen from the end: a bitmap when the page numbers are dense, else a set
        # (a damaged frame may name page 2**31).
        bitmap = bytearray(highest // 8 + 1) if highest <= 64 * len(self.pages) + 65536 else None
        seen: set[int] = set()
        for index in range(len(self.pages) - 1, -1, -1):
            page = self.pages[index]
            if page > db_pages:
                continue
            if bitmap is not None:
                if not bitmap[page >> 3] & (1 << (page & 7)):
                    bitmap[page >> 3] |= 1 << (page & 7)
                    flags[index] = 1
            elif page not in seen:
                seen.add(page)
                flags[index] = 1
        return flags


class PreImages(Mapping[int, bytes]):
    """Page number -> its first pre-image in a rollback journal, read from the journal's
    bytes (in memory, or in a file of ours) when asked: an offset a page is kept, not the
    page, in the order the pages were first met."""

    def __init__(self, data: ByteView, page_size: int) -> None:
        self._data, self._page_size = data, page_size
        self._at: dict[int, int] = {}

    def add(self, number: int, offset: int) -> None:
        """The page whose bytes start at ``offset``, unless an earlier one was added."""
        self._at.setdefault(number, offset)

    def __getitem__(self, number: int) -> bytes:
        at = self._at[number]
        return bytes(self._data[at : at + self._page_size])

    def __iter__(self) -> Iterator[int]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)
