"""SQLite records read without SQLite: varints, serial types, table-leaf cells, and
records found from one of their values (for carving deleted space).

Layouts: ``btree_layout.py`` (fileformat2.html 1.6 and 2.1). Everything
here takes a page's bytes and offsets and never raises on bad bytes: a record that does
not hold together is simply not one (garbage is what deleted space mostly holds).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from scanner.formats.sqlite.btree_layout import (
    CELL_POINTER_SIZE,
    FLOAT_TYPE,
    INTEGER_SIZES,
    LEAF_HEADER_SIZE,
    MAX_VARINT_SIZE,
    RESERVED_TYPES,
)
from scanner.vocab.keys import is_key_field

Buffer = bytes | bytearray  # a page, a WAL or a database image
_MAX_VALUE = 1 << 31  # no value in a page (or its overflow chain) is longer
# How many places of a value's serial type byte(s) are tried before one value's search
# gives up: the real header is normally among the first few found going backwards.
_MAX_TYPE_HITS = 16


@dataclass(frozen=True)
class TableShape:
    """One rowid table of the schema, as the carver needs it."""

    name: str
    root: int  # root page number
    columns: tuple[str, ...]
    ipk: int | None  # the INTEGER PRIMARY KEY column: an alias of the rowid, stored as NULL
    affinities: tuple[str, ...] = ()  # per column (datatype3.html 3.1); () if not known

    @cached_property
    def key_columns(self) -> tuple[int, ...]:
        return tuple(i for i, name in enumerate(self.columns) if is_key_field(name))

    def accepts(self, types: Sequence[int]) -> bool:
        """Whether these serial types are what this table's columns store. Strict on
        purpose (a carved record must look like the app's own rows): an INTEGER or REAL
        column holds numbers, a TEXT column text; only key columns may hold blobs."""
        if self.ipk is not None and self.ipk < len(types) and types[self.ipk] != 0:
            return False
        for index, (serial, kind) in enumerate(zip(types, self.affinities, strict=False)):
            if serial == 0 or kind == "BLOB":
                continue
            text, blob = serial >= 13 and serial % 2 == 1, serial >= 12 and serial % 2 == 0
            if kind in ("INTEGER", "REAL") and serial > 9:
                return False
            if kind == "TEXT" and not (text or (blob and is_key_field(self.columns[index]))):
                return False
            if kind == "NUMERIC" and blob:
                return False
        return True


def affinity(declared: str) -> str:
    """A column's type affinity from its declared type (datatype3.html 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


@dataclass(frozen=True)
class Record:
    """One record read from page bytes; values past the readable end are None."""

    start: int  # offset of the record header (or of the text, for bare text) in the page
    end: int  # offset just past the record's last byte
    table: TableShape | None  # None: which table it belongs to is not known
    rowid: int | None  # known only for intact cells
    values: tuple[object, ...]
    confirmed: bool = True  # the header length byte agrees (intact header)
    column: int | None = None  # the column whose value the record was found by


def read_varint(buf: Buffer, pos: int, end: int) -> tuple[int, int] | None:
    """(value, next offset) of the varint at ``pos``, or None if it runs past ``end``."""
    value = 0
    for index in range(MAX_VARINT_SIZE):
        if pos + index >= end:
            return None
        byte = buf[pos + index]
        if index == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + index + 1
    return None  # pragma: no cover - the loop always returns


@cache
def encode_varint(value: int) -> bytes:
    """The varint SQLite writes for ``value`` (values below 2**56 only: serial types)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def content_size(serial: int) -> int | None:
    """Bytes a value of this serial type takes in the body; None for a reserved type."""
    if serial in RESERVED_TYPES or serial < 0:
        return None
    if serial >= 12:
        size = (serial - 12) // 2
        return size if size < _MAX_VALUE else None
    if serial == FLOAT_TYPE:
        return 8
    return INTEGER_SIZES.get(serial, 0)


def decode_value(buf: Buffer, pos: int, serial: int, end: int) -> object:
    """The value of ``serial`` at ``pos``; None if it does not fit before ``end`` or is
    text that is not UTF-8 (a damaged or overwritten part of a deleted record)."""
    size = content_size(serial) or 0
    if pos + size > end:
        return None
    if serial in INTEGER_SIZES:
        return int.from_bytes(buf[pos : pos + size], "big", signed=True)
    if serial == FLOAT_TYPE:
        return struct.unpack_from(">d", buf, pos)[0]
    if serial in (8, 9):
        return serial - 8
    if serial < 12:
        return None
    raw = bytes(buf[pos : pos + size])
    if serial % 2 == 0:
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _values(
    buf: Buffer, body: int, types: Sequence[int], end: int
) -> tuple[tuple[object, ...], int]:
    values = []
    pos = body
    for serial in types:
        values.append(decode_value(buf, pos, serial, end))
        pos += content_size(serial) or 0
    return tuple(values), pos


def parse_record(buf: Buffer, start: int, end: int) -> tuple[list[int], int] | None:
    """(serial types, body offset) of a record whose header starts at ``start``."""
    head = read_varint(buf, start, end)
    if head is None:
        return None
    header_size, pos = head
    header_end = start + header_size
    if header_size < 1 or header_end > end:
        return None
    types = []
    while pos < header_end:
        item = read_varint(buf, pos, header_end)
        if item is None or content_size(item[0]) is None:
            return None
        types.append(item[0])
        pos = item[1]
    return types, header_end


def local_payload(payload: int, usable: int) -> int:
    """How much of a table-leaf cell's payload is on its page (fileformat2.html 1.6)."""
    most = usable - 35
    if payload <= most:
        return payload
    least = (usable - 12) * 32 // 255 - 23
    local = least + (payload - least) % (usable - 4)
    return local if local <= most else least


def table_leaf_cells(page: Buffer, header: int, count: int, usable: int) -> Iterator[Record]:
    """The intact cells of a table-leaf page (or of one that was freed as it stood).

    Values in overflow pages are not followed: they come back as None.
    """
    usable = min(usable, len(page))
    pointers = header + LEAF_HEADER_SIZE
    count = min(count, max(0, (usable - pointers) // CELL_POINTER_SIZE))
    for index in range(count):
        at = pointers + index * CELL_POINTER_SIZE
        cell = int.from_bytes(page[at : at + CELL_POINTER_SIZE], "big")
        if not pointers + CELL_POINTER_SIZE * count <= cell < usable:
            continue
        payload = read_varint(page, cell, usable)
        rowid = payload and read_varint(page, payload[1], usable)
        if not payload or not rowid:
            continue
        start = rowid[1]
        end = min(usable, start + local_payload(payload[0], usable))
        parsed = parse_record(page, start, end)
        if parsed is None:
            continue
        types, body = parsed
        values, stop = _values(page, body, types, end)
        rowid_value = rowid[0] - (1 << 64) if rowid[0] >= 1 << 63 else rowid[0]
        yield Record(cell, min(stop, end), None, rowid_value, values)


def _back(
    buf: Buffer, pos: int, top: int, bottom: int, ipk: int | None, lo: int, types: list[int]
) -> int | None:
    """Read the serial types of columns ``top`` down to ``bottom`` backwards from ``pos``:
    a varint's last byte has the high bit clear, its earlier bytes have it set. Returns
    where the first of them starts. The rowid alias is type 0, one byte."""
    for index in range(top, bottom - 1, -1):
        if index == ipk:
            pos -= 1
            if pos < lo:
                return None
            continue
        last = pos - 1
        if last < lo or buf[last] & 0x80:
            return None
        first = last
        while first > lo and buf[first - 1] & 0x80 and last - first < MAX_VARINT_SIZE - 2:
            first -= 1
        item = read_varint(buf, first, last + 1)
        if item is None or item[1] != last + 1 or content_size(item[0]) is None:
            return None
        types[index] = item[0]
        pos = first
    return pos


def _types_before(
    buf: Buffer, at: int, count: int, ipk: int | None, lo: int
) -> Iterator[tuple[list[int], int]]:
    """Every reading of the ``count`` serial types that end just before ``at``, with
    where they start. One byte is special: the rowid alias's type, which a freeblock
    header may have overwritten with a byte that has its high bit set, so the column
    after it is read at every length it may have."""
    types = [0] * count
    if ipk is None or ipk >= count - 1:
        pos = _back(buf, at, count - 1, 0, ipk, lo, types)
        if pos is not None:
            yield types, pos
        return
    after = ipk + 1
    pos = _back(buf, at, count - 1, after + 1, ipk, lo, types)
    if pos is None:
        return
    last = pos - 1
    if last < lo or buf[last] & 0x80:
        return
    first = last
    while first > lo and buf[first - 1] & 0x80 and last - first < MAX_VARINT_SIZE - 2:
        first -= 1
    for start in range(first, last + 1):
        item = read_varint(buf, start, last + 1)
        if item is None or item[1] != last + 1 or content_size(item[0]) is None:
            continue
        reading = types.copy()
        reading[after] = item[0]
        begin = _back(buf, start, ipk, 0, ipk, lo, reading)
        if begin is not None:
            yield reading, begin


def _freeblock_cell(buf: Buffer, lo: int, hi: int, types_at: int, end: int) -> int | None:
    """Where the cell starts if a freeblock header overwrote its first 4 bytes (payload
    length, rowid, header length): the header's size must cover the whole record."""
    for cell in (types_at - 4, types_at - 3):
        if lo <= cell and cell + 4 <= hi:
            size = int.from_bytes(buf[cell + 2 : cell + 4], "big")
            if end - cell <= size <= hi - cell:
                return cell
    return None


def _attempt(
    buf: Buffer, lo: int, hi: int, at: int, serial: int, shape: TableShape, column: int, value: int
) -> Record | None:
    """The record of ``shape`` whose ``column`` has type ``serial`` at ``at`` and its value
    at ``value``, if every length adds up and every value is what its column holds;
    else None. Its header must be intact, or overwritten by a freeblock header."""
    after: list[int] = []
    pos = at + len(encode_varint(serial))
    for _ in range(column + 1, len(shape.columns)):
        item = read_varint(buf, pos, hi)
        if item is None or content_size(item[0]) is None:
            return None
        after.append(item[0])
        pos = item[1]
    body = pos
    for before, start in _types_before(buf, at, column, shape.ipk, lo):
        if body + sum(content_size(t) or 0 for t in before) != value:
            continue
        record = _checked(buf, lo, hi, shape, [*before, serial, *after], start, body, column)
        if record is not None:
            return record
    return None


def _checked(
    buf: Buffer,
    lo: int,
    hi: int,
    shape: TableShape,
    types: list[int],
    start: int,
    body: int,
    column: int,
) -> Record | None:
    """The record if its values are what the table stores and its header is explained."""
    if not shape.accepts(types):
        return None
    values, stop = _values(buf, body, types, hi)
    at_value = body
    for serial_type, item in zip(types, values, strict=True):
        size = content_size(serial_type) or 0
        if item is None and serial_type >= 12 and at_value + size <= hi:
            return None  # text that is not UTF-8: not this record
        at_value += size
    header_size = body - start + 1  # with a 1-byte header length; 2 bytes past 127
    length = encode_varint(header_size if header_size < 128 else header_size + 1)
    head = start - len(length)
    if head >= lo and buf[head:start] == length:
        return Record(head, stop, shape, None, values, True, column)
    cell = _freeblock_cell(buf, lo, hi, start, stop)
    if cell is None:
        return None
    return Record(cell, stop, shape, None, values, False, column)


def records_with_value(
    buf: Buffer,
    lo: int,
    hi: int,
    value: int,
    length: int,
    shapes: Sequence[tuple[TableShape, Sequence[int]]],
) -> list[Record]:
    """Records in ``buf[lo:hi]`` in which a column of one of ``shapes`` (each with the
    columns worth trying) holds the text or blob ``buf[value : value + length]``.

    The cell's first bytes (payload length, rowid, header length) may be overwritten, so
    the header is found from the value: its serial type is known from its length, and
    the types before it, read backwards, must add up to exactly where the value starts.
    The nearest place that gives any record wins; all its readings are returned.
    """
    hits: list[tuple[int, int]] = []
    for serial in (2 * length + 13, 2 * length + 12):
        encoded = encode_varint(serial)
        at = value
        for _ in range(_MAX_TYPE_HITS):
            at = buf.rfind(encoded, lo, at + len(encoded) - 1)
            if at < 0:
                break
            hits.append((at, serial))
    for at, serial in sorted(hits, reverse=True)[:_MAX_TYPE_HITS]:
        found = [
            record
            for shape, columns in shapes
            for column in columns
            if (record := _attempt(buf, lo, hi, at, serial, shape, column, value)) is not None
        ]
        if found:
            return found
    return []
