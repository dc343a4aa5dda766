"""Deleted records inside a SQLite page: freelist pages, freeblocks and the unallocated
gap between the cell pointer array and the cell content area.

With secure_delete off (SQLite's own default), a deleted row stays in its page until
something overwrites it: btree.c turns its cell into a freeblock (overwriting its first
4 bytes), or the cell content start moves past it, or the whole page goes to the
freelist as it stood. Android's and Debian's builds turn secure_delete on, which zeroes
all that in the file; older page versions in the WAL (``sqlite_deleted``) survive it.

Cheap by design: a region is looked at only if a 32-hex run (an anchor) is in it, and
records are read only around anchors.

No key without a key field: a hex value counts only if the schema names its column
(a key column, the same in every table the record could belong to); otherwise only JSON
with a key field name in it is kept (``formats.json.walk``), never a bare 32-hex.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from scanner.extractors import patterns
from scanner.formats.sqlite.btree_layout import (
    LEAF_TABLE,
    PAGE1_BTREE_OFFSET,
    TABLE_PAGES,
)
from scanner.formats.sqlite.image import FileImage, Image
from scanner.formats.sqlite.pages import (
    Page,
    PageOwners,
    btree_page,
    free_regions,
    freelist_pages,
    is_utf8,
    table_owners,
    usable_size,
)
from scanner.formats.sqlite.records import (
    Buffer,
    Record,
    TableShape,
    records_with_value,
    table_leaf_cells,
)
from scanner.vocab.keys import is_key_field, vocabulary
from scanner.vocab.values import key_for_field

ANCHOR = re.compile(rb"[0-9a-fA-F]{32,}")
_KEY_SIZE = 32
_EDGE = 8  # places tried at each end of a long hex run (the key may touch hex neighbours)
_JSON_STARTS = 8  # "{" or "[" before an anchor tried as the start of a JSON value
_DECODER = json.JSONDecoder()
# A key field name shortly before a value inside JSON text (plain or escaped in a string).
_NAME_WINDOW = 48
_SPAN = 1 << 20  # bytes of an image in a file that the carver holds at a time


def _names_a_key(buf: Buffer, lo: int, hi: int) -> bool:
    vocab = vocabulary()
    # Literal spellings of the names' endings first (fast), then the pattern.
    if not any(buf.find(hint, lo, hi) >= 0 for hint in vocab.ending_spellings):
        return False
    return vocab.name_regex.search(buf, lo, hi) is not None


@dataclass(frozen=True)
class Carved:
    """A record recovered from one page: where, and how it was found."""

    page: int
    offset: int  # of the record in the page
    kind: str  # "freelist", "freeblock", "unallocated", or "cell" (an intact cell)
    record: Record


def resolve(
    values: Sequence[object], shapes: Sequence[TableShape], owner: TableShape | None
) -> TableShape | None:
    """The table an intact record belongs to: its page's owner if it fits, else the one
    table with as many columns (ties: the one whose key column holds a key)."""

    def fits(shape: TableShape) -> bool:
        return shape.ipk is None or shape.ipk >= len(values) or values[shape.ipk] is None

    if owner is not None and len(values) <= len(owner.columns) and fits(owner):
        return owner
    same = [s for s in shapes if len(s.columns) == len(values) and fits(s)]
    if len({s.columns for s in same}) > 1:
        same = [
            s for s in same
            if any(key_for_field(s.columns[i], values[i]) for i in s.key_columns)
        ]  # fmt: skip
    return same[0] if len({s.columns for s in same}) == 1 else None


@lru_cache(maxsize=8)
def _readings(shapes: tuple[TableShape, ...]) -> list[tuple[TableShape, list[int]]]:
    """Every column a text value can be read in (the rowid alias holds none)."""
    return [(s, [i for i in range(len(s.columns)) if i != s.ipk]) for s in shapes]


class _Carver:
    """Reads records around anchors in the regions of one page."""

    def __init__(self, buf: Buffer, shapes: Sequence[TableShape], owner: TableShape | None) -> None:
        self.buf = buf
        self.every = _readings(tuple(shapes))
        self.keyed = [(s, s.key_columns) for s in shapes if s.key_columns]
        self.owned = [pair for pair in self.every if pair[0] == owner]
        # A live page's free space holds its own table's old rows: if that table has no
        # key column, a bare hex value there is no key (this keeps hash-heavy tables cheap).
        self.hex_keys = owner is None or bool(owner.key_columns)
        self.covered: list[tuple[int, int]] = []

    def region(self, lo: int, hi: int) -> Iterator[Record]:
        for match in ANCHOR.finditer(self.buf, lo, hi):
            if any(start <= match.start() < end for start, end in self.covered):
                continue
            record = self._around(lo, hi, match.start(), match.end())
            if record is not None:
                self.covered.append((record.start, max(record.end, match.end())))
                yield record

    def _around(self, lo: int, hi: int, first: int, last: int) -> Record | None:
        final = last - _KEY_SIZE  # the last place a 32-hex value can start in this run
        head = range(first, min(first + _EDGE, final) + 1)
        starts = sorted({*head, *range(max(first, final - _EDGE), final + 1)})
        for start in starts if self.hex_keys else ():
            places = [(start, _KEY_SIZE)]
            if start - 2 >= lo and self.buf[start - 2 : start] in (b"0x", b"0X"):
                places.insert(0, (start - 2, _KEY_SIZE + 2))
            for value, length in places:
                record = self._search(lo, hi, value, length, key_only=True)
                if record is not None:
                    return record
        if not vocabulary().name_regex.search(self.buf, max(lo, first - _NAME_WINDOW), first):
            return None  # JSON only counts with a key field name just before the value
        return self._json(lo, hi, first)

    def _search(self, lo: int, hi: int, value: int, length: int, key_only: bool) -> Record | None:
        """The record holding buf[value:value+length] as a whole column value, if its
        column can be named: the page owner's reading first, else one that every table's
        reading agrees on. ``key_only``: and that column is a key field."""
        found = records_with_value(self.buf, lo, hi, value, length, self.owned)
        if not found:
            if key_only and not records_with_value(self.buf, lo, hi, value, length, self.keyed):
                return None  # the cheap test first: no key column could hold it
            found = records_with_value(self.buf, lo, hi, value, length, self.every)
        best = [r for r in found if r.confirmed] or found
        names = {r.table.columns[r.column] for r in best if r.table and r.column is not None}
        if len(names) != 1 or (key_only and not is_key_field(names.pop())):
            return None
        return best[0]

    def _json(self, lo: int, hi: int, anchor: int) -> Record | None:
        """A JSON value around the anchor: as a column of a record if one can be named,
        else as bare text (its column unknown). Whether it names a key field is the
        caller's test, the same as for a live row."""
        end = anchor
        for _ in range(_JSON_STARTS):
            start = max(self.buf.rfind(b"{", lo, end), self.buf.rfind(b"[", lo, end))
            if start < 0:
                return None
            end = start
            text = bytes(self.buf[start:hi]).decode("utf-8", "replace")
            try:
                parsed, stop = _DECODER.raw_decode(text)
            except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
                continue
            body = text[:stop]
            if "\ufffd" in body or not isinstance(parsed, (dict, list)):
                continue
            length = len(body.encode("utf-8"))
            if start + length < anchor + _KEY_SIZE:
                continue  # a JSON value that ends before the anchor
            record = self._search(lo, hi, start, length, key_only=False)
            return record or Record(start, start + length, None, None, (body,))
        return None


def _pages_rows(
    buf: Buffer, page: Page, usable: int, shapes: Sequence[TableShape], owner: TableShape | None
) -> Iterator[Record]:
    for record in table_leaf_cells(buf[page.base : page.base + usable], page.header - page.base,
                                   page.cell_count, usable):  # fmt: skip
        shape = resolve(record.values, shapes, owner)
        yield replace(record, start=record.start + page.base, end=record.end + page.base,
                      table=shape)  # fmt: skip


def _worth_reading(
    buf: Buffer, regions: list[tuple[str, int, int]], owner: TableShape | None
) -> list[tuple[str, int, int]]:
    """Free regions with an anchor; in a page of a table that has no key column, also
    with a key field name (only JSON can hold a key there): hash-heavy tables stay cheap."""
    keep = [region for region in regions if ANCHOR.search(buf, region[1], region[2])]
    if owner is not None and not owner.key_columns:
        keep = [region for region in keep if _names_a_key(buf, region[1], region[2])]
    return keep


def carve_page(
    buf: Buffer,
    base: int,
    number: int,
    usable: int,
    shapes: Sequence[TableShape],
    owner: TableShape | None,
    mode: str,
    skip: int = 0,
    cells: bool = True,
) -> Iterator[Carved]:
    """Records of the page at ``buf[base:]`` (page ``number``) that hold an anchor.

    mode "live": a page of the database as it is: only its free regions are deleted data.
    mode "freelist": a freed page (its first ``skip`` bytes are a trunk's list): its
    cells, if it was a table leaf, and anything else in it.
    mode "version": an older or newer version of a page (a WAL frame, a journal
    pre-image): its cells (unless ``cells`` is false), its free regions, or the whole
    page if it is no b-tree page.
    """
    end = min(base + usable, len(buf))
    if mode != "live" and not ANCHOR.search(buf, base + skip, end):
        return
    page = btree_page(buf, base, number, usable)
    carver = _Carver(buf, shapes, owner)
    if mode != "live" and cells and page is not None and page.page_type == LEAF_TABLE:
        kind = "freelist" if mode == "freelist" else "cell"
        for record in _pages_rows(buf, page, usable, shapes, owner):
            if ANCHOR.search(buf, record.start, record.end):
                carver.covered.append((record.start, record.end))
                yield Carved(number, record.start - base, kind, record)
    if mode == "freelist":
        regions = [("freelist", base + skip, end)]
    elif page is not None and page.page_type in TABLE_PAGES:
        regions = _worth_reading(buf, free_regions(buf, page, usable), owner)
    elif page is None and mode == "version":
        regions = [("unallocated", base, end)]
    else:
        return  # an index page, or a live page that is no table page
    for kind, lo, hi in regions:
        for record in carver.region(lo, hi):
            yield Carved(number, record.start - base, kind, record)


def _spans(image: Image, page_size: int) -> Iterator[tuple[int, Buffer]]:
    """(number of the first page, bytes of whole pages from it): an image in memory whole,
    one in a file ``_SPAN`` bytes at a time. A free region lies inside its page, so no
    anchor or record read from a free region crosses a cut."""
    if not isinstance(image, FileImage):
        yield 1, image
        return
    step = max(page_size, _SPAN // page_size * page_size)
    end = len(image) // page_size * page_size
    for at in range(0, end, step):
        yield at // page_size + 1, image[at : min(at + step, end)]


def carve_image(
    image: Image,
    page_size: int,
    shapes: Sequence[TableShape],
    engine: patterns.Engine | None = None,
) -> Iterator[Carved]:
    """Deleted records of a whole database image: its freelist pages, and the free
    regions of its live table pages. Page headers are read, not pages: a live page is
    looked at only if an anchor lies in its free space."""
    if not is_utf8(image):
        return
    usable = usable_size(image, page_size)
    freed = freelist_pages(image, page_size)
    owners: PageOwners | None = None
    engine = engine or patterns.default_engine()
    for first, buf in _spans(image, page_size):
        last = first + len(buf) // page_size - 1
        numbers: Iterable[int] = range(first, last + 1)
        # Pages with a hex run anywhere, when an engine finds them at GB/s: a free region
        # lies inside its page, so other live pages hold no anchor in their free space.
        ends = engine.hex_run_ends(buf)
        if ends is not None:
            hex_pages = {(end - 1) // page_size + first for end in ends}
            numbers = sorted(n for n in hex_pages | freed.keys() if first <= n <= last)
        for number in numbers:
            base = (number - first) * page_size
            if number in freed:
                skip = freed[number]
                yield from carve_page(buf, base, number, usable, shapes, None, "freelist", skip)
                continue
            if buf[base + (PAGE1_BTREE_OFFSET if number == 1 else 0)] not in TABLE_PAGES:
                continue
            page = btree_page(buf, base, number, usable)
            if page is None:
                continue
            regions = free_regions(buf, page, usable)
            if not any(ANCHOR.search(buf, lo, hi) for _, lo, hi in regions):
                continue
            if owners is None:  # needed only once some free space holds an anchor
                owners = table_owners(image, page_size, shapes)
            owner = owners.get(number)
            if _worth_reading(buf, regions, owner):
                yield from carve_page(buf, base, number, usable, shapes, owner, "live")
