"""SQLite b-tree pages, freeblocks and freelist trunk pages.

Source: "Database File Format", https://www.sqlite.org/fileformat2.html, sections 1.4
"The Freelist", 1.6 "B-tree Pages" (page header, cell pointer array, freeblocks, cell
formats) and 2.1 "Record Format" (varints and serial types), checked against btree.c of
SQLite 3.40 (freeSpace, dropCell, freePage2). Every integer is big-endian.

The carver reads thousands of page headers, so the hot path uses the ``struct`` formats
below; ``tests/test_sqlite_carve.py`` checks that they agree with the construct structs.
"""

from __future__ import annotations

from construct import Int8ub, Int16ub, Int32ub, Struct

# fileformat2.html 1.6: the page type byte, first of the b-tree page header.
INTERIOR_INDEX = 0x02
INTERIOR_TABLE = 0x05
LEAF_INDEX = 0x0A
LEAF_TABLE = 0x0D
TABLE_PAGES = (INTERIOR_TABLE, LEAF_TABLE)
PAGE_TYPES = (INTERIOR_INDEX, INTERIOR_TABLE, LEAF_INDEX, LEAF_TABLE)

# The b-tree page header: 8 bytes on leaf pages, 12 on interior pages (right-most child
# pointer). On page 1 it starts after the 100-byte database header.
BTREE_PAGE_HEADER = Struct(
    "page_type" / Int8ub,
    "first_freeblock" / Int16ub,  # offset of the first freeblock; 0 if none
    "cell_count" / Int16ub,
    "content_start" / Int16ub,  # start of the cell content area; 0 means 65536
    "fragmented_bytes" / Int8ub,  # free bytes in fragments of 1-3 bytes
)
BTREE_PAGE_HEADER_FORMAT = ">BHHHB"
LEAF_HEADER_SIZE = 8
INTERIOR_HEADER_SIZE = 12
RIGHT_CHILD = Struct("right_child" / Int32ub)  # bytes 8-11 of an interior page header
RIGHT_CHILD_OFFSET = 8
CELL_POINTER_SIZE = 2  # the cell pointer array: one u16 offset per cell

# A freeblock: a deleted cell's space, chained in ascending order from the header. Its
# first 4 bytes overwrite the start of the cell (payload length, rowid, record header
# length); the rest of the deleted record is left as it was unless secure_delete is on.
FREEBLOCK = Struct(
    "next" / Int16ub,  # offset of the next freeblock; 0 at the end of the chain
    "size" / Int16ub,  # including these 4 bytes
)
FREEBLOCK_FORMAT = ">HH"
FREEBLOCK_HEADER_SIZE = 4

# fileformat2.html 1.4: a freelist trunk page starts with the next trunk and the number
# of leaf page numbers that follow (u32 each). Freelist leaf pages keep their old bytes.
FREELIST_TRUNK_HEADER = Struct(
    "next_trunk" / Int32ub,  # 0 at the end of the chain
    "leaf_count" / Int32ub,
)
FREELIST_TRUNK_FORMAT = ">II"
FREELIST_TRUNK_HEADER_SIZE = 8
FREELIST_LEAF_NUMBER_SIZE = 4

# Database header fields the carver needs (the whole header: layout.py).
HEADER_RESERVED_SPACE_OFFSET = 20  # unused bytes at the end of each page
HEADER_FREELIST_OFFSET = 32  # first freelist trunk page, then the freelist page count
HEADER_TEXT_ENCODING_OFFSET = 56  # 1 UTF-8, 2 UTF-16le, 3 UTF-16be
TEXT_UTF8 = 1
PAGE1_BTREE_OFFSET = 100  # page 1's b-tree header follows the database header

# 2.1: serial types 10 and 11 are reserved; 0 NULL; 1-6 integers of these sizes; 7 a
# float; 8 and 9 the integers 0 and 1; N >= 12 even a blob, odd a text of (N-12)//2 or
# (N-13)//2 bytes.
INTEGER_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}
FLOAT_TYPE = 7
RESERVED_TYPES = (10, 11)
MAX_VARINT_SIZE = 9
