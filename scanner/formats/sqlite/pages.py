"""Where deleted bytes can be in a SQLite image: each b-tree page's header, its freeblocks
and the unallocated gap before its cells, the freelist's pages, and which table owns each
live page. Read by the carver (``carve.py``); offsets and formats from ``btree_layout.py``
(https://www.sqlite.org/fileformat2.html, 1.6 and 1.5).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.formats.sqlite.btree_layout import (
    BTREE_PAGE_HEADER_FORMAT,
    CELL_POINTER_SIZE,
    FREEBLOCK_FORMAT,
    FREEBLOCK_HEADER_SIZE,
    FREELIST_LEAF_NUMBER_SIZE,
    FREELIST_TRUNK_FORMAT,
    FREELIST_TRUNK_HEADER_SIZE,
    HEADER_FREELIST_OFFSET,
    HEADER_RESERVED_SPACE_OFFSET,
    HEADER_TEXT_ENCODING_OFFSET,
    INTERIOR_HEADER_SIZE,
    INTERIOR_TABLE,
    LEAF_HEADER_SIZE,
    LEAF_INDEX,
    LEAF_TABLE,
    PAGE1_BTREE_OFFSET,
    PAGE_TYPES,
    RIGHT_CHILD_OFFSET,
    TABLE_PAGES,
    TEXT_UTF8,
)
from scanner.formats.sqlite.image import Image
from scanner.formats.sqlite.records import Buffer, TableShape

SMALLEST_REGION = 32  # a key's 32 hex digits: a smaller free region cannot hold one


@dataclass(frozen=True)
class Page:
    """A b-tree page's header, read where the page sits in a buffer."""

    base: int  # where the page starts in the buffer
    header: int  # where its b-tree header starts in the buffer
    page_type: int
    first_freeblock: int
    cell_count: int
    content_start: int


def usable_size(image: Image, page_size: int) -> int:
    return page_size - image[HEADER_RESERVED_SPACE_OFFSET]


def is_utf8(image: Image) -> bool:
    """Anchors and text are searched as UTF-8; a UTF-16 database is not carved."""
    at = HEADER_TEXT_ENCODING_OFFSET
    return len(image) >= at + 4 and int.from_bytes(image[at : at + 4], "big") in (0, TEXT_UTF8)


def btree_page(buf: Buffer, base: int, number: int, usable: int) -> Page | None:
    header = base + (PAGE1_BTREE_OFFSET if number == 1 else 0)
    end = header + INTERIOR_HEADER_SIZE
    if end > base + usable or end > len(buf):
        return None
    kind, free, count, content, _ = struct.unpack_from(BTREE_PAGE_HEADER_FORMAT, buf, header)
    if kind not in PAGE_TYPES:
        return None
    return Page(base, header, kind, free, count, content or 65536)


def pointers_end(page: Page) -> int:
    size = LEAF_HEADER_SIZE if page.page_type in (LEAF_TABLE, LEAF_INDEX) else INTERIOR_HEADER_SIZE
    return page.header + size + CELL_POINTER_SIZE * page.cell_count


def free_regions(buf: Buffer, page: Page, usable: int) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the gap and of every freeblock, in buffer offsets."""
    end = min(page.base + usable, len(buf))
    regions = []
    gap = (pointers_end(page), min(page.base + page.content_start, end))
    if gap[1] - gap[0] >= SMALLEST_REGION:
        regions.append(("unallocated", *gap))
    at, steps = page.first_freeblock, 0
    while at and steps < usable // FREEBLOCK_HEADER_SIZE:
        start = page.base + at
        if start < gap[0] or start + FREEBLOCK_HEADER_SIZE > end:
            break
        following, size = struct.unpack_from(FREEBLOCK_FORMAT, buf, start)
        if size < FREEBLOCK_HEADER_SIZE or start + size > end:
            break
        if size >= FREEBLOCK_HEADER_SIZE + SMALLEST_REGION:
            regions.append(("freeblock", start, start + size))
        if following and following <= at:
            break  # the chain ascends; anything else is damage (or a loop)
        at, steps = following, steps + 1
    return regions


def freelist_pages(image: Image, page_size: int) -> dict[int, int]:
    """Freelist page number -> where its old bytes start (after a trunk's own list)."""
    pages = len(image) // page_size
    trunk = struct.unpack(">I", image[HEADER_FREELIST_OFFSET : HEADER_FREELIST_OFFSET + 4])[0]
    usable = usable_size(image, page_size)
    found: dict[int, int] = {}
    while 1 <= trunk <= pages and trunk not in found:
        page = image[(trunk - 1) * page_size : trunk * page_size]  # a slice of a file image
        following, count = struct.unpack_from(FREELIST_TRUNK_FORMAT, page, 0)
        count = min(count, (usable - FREELIST_TRUNK_HEADER_SIZE) // FREELIST_LEAF_NUMBER_SIZE)
        found[trunk] = FREELIST_TRUNK_HEADER_SIZE + FREELIST_LEAF_NUMBER_SIZE * count
        for index in range(count):
            at = FREELIST_TRUNK_HEADER_SIZE + FREELIST_LEAF_NUMBER_SIZE * index
            leaf = struct.unpack_from(">I", page, at)[0]
            if 1 <= leaf <= pages:
                found.setdefault(leaf, 0)
        trunk = following
    return found


class PageOwners:
    """The table each page belongs to, one small number a page (a dict per page would weigh
    more than the page numbers of a large database)."""

    def __init__(self, pages: int, shapes: Sequence[TableShape]) -> None:
        self.shapes = list(shapes)
        self._of = array("H" if len(self.shapes) < 0xFFFF else "I", [0]) * (pages + 1)

    def __contains__(self, number: int) -> bool:
        return self._of[number] != 0

    def set(self, number: int, shape: int) -> None:
        self._of[number] = shape + 1

    def get(self, number: int) -> TableShape | None:
        if not 0 <= number < len(self._of):
            return None
        at = self._of[number]
        return self.shapes[at - 1] if at else None


def table_owners(image: Image, page_size: int, shapes: Sequence[TableShape]) -> PageOwners:
    """Which table each page of a live table b-tree belongs to (interior pages read)."""
    pages, usable = len(image) // page_size, usable_size(image, page_size)
    owners = PageOwners(pages, shapes)
    for which, shape in enumerate(shapes):
        stack = [shape.root]
        while stack:
            number = stack.pop()
            if not 1 <= number <= pages or number in owners:
                continue
            base = (number - 1) * page_size
            head = image[base : base + PAGE1_BTREE_OFFSET + INTERIOR_HEADER_SIZE]
            page = btree_page(head, 0, number, usable)  # offsets below: from the page's start
            if page is None or page.page_type not in TABLE_PAGES:
                continue
            owners.set(number, which)
            if page.page_type != INTERIOR_TABLE:
                continue
            count = min(page.cell_count, (usable - 12) // CELL_POINTER_SIZE)
            first = page.header + INTERIOR_HEADER_SIZE
            # The pointers of page 1 may run past its usable bytes: read as far as they go.
            raw = image[base : base + max(usable, first + CELL_POINTER_SIZE * count)]
            stack.append(struct.unpack_from(">I", raw, page.header + RIGHT_CHILD_OFFSET)[0])
            for index in range(count):
                cell = struct.unpack_from(">H", raw, first + index * CELL_POINTER_SIZE)[0]
                if cell + 4 <= usable:
                    stack.append(struct.unpack_from(">I", raw, cell)[0])
    return owners
