"""Checks on SQLite headers, shared by the reader (``wal``, ``family``) and the carver.

Rules follow the SQLite file-format document (fileformat2.html 1.3 "The Database Header",
1.6 "B-tree Pages", 4.1 "Rollback Journals", 4.3 "The WAL File Format"), wal.c
walChecksumBytes and pager.c zeroJournalHdr; the layouts are ``layout``.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any

from scanner.formats.sqlite.layout import (
    DATABASE_HEADER,
    DATABASE_HEADER_SIZE,
    SQLITE_MAGIC,
    WAL_FORMAT_VERSION,
    WAL_HEADER,
    WAL_HEADER_SIZE,
    WAL_MAGIC_BE,
    WAL_MAGIC_LE,
)

_U32 = 0xFFFFFFFF

# The first four bytes of a WAL, as they sit in the file.
WAL_MAGICS = (struct.pack(">I", WAL_MAGIC_LE), struct.pack(">I", WAL_MAGIC_BE))


@lru_cache(maxsize=64)
def database_header(head: bytes) -> Any:
    """``DATABASE_HEADER`` parsed from a file's first 100 bytes (only read, never changed:
    the reader and the name count each check one database's header, parsed once)."""
    return DATABASE_HEADER.parse(head[:DATABASE_HEADER_SIZE])


def valid_page_size(size: int) -> bool:
    """A page size SQLite writes: a power of two from 512 to 65536."""
    return 512 <= size <= 65536 and size & (size - 1) == 0


def wal_checksum(
    data: bytes | bytearray, offset: int, length: int, big_endian: bool, s0: int = 0, s1: int = 0
) -> tuple[int, int]:
    """SQLite's WAL checksum (wal.c walChecksumBytes) continued from (s0, s1)."""
    words = struct.unpack_from(f"{'>' if big_endian else '<'}{length // 4}I", data, offset)
    for first, second in zip(words[0::2], words[1::2], strict=True):
        s0 = (s0 + first + s1) & _U32
        s1 = (s1 + second + s0) & _U32
    return s0, s1


def sqlite_extent(header: bytes) -> tuple[int, int] | None:
    """(page size, page count) of a plausible database header; count 0 when not valid."""
    if len(header) < DATABASE_HEADER_SIZE:
        return None
    h = database_header(bytes(header[:DATABASE_HEADER_SIZE]))
    page_size = 65536 if h.page_size == 1 else h.page_size
    sane = (
        valid_page_size(page_size)
        and h.write_version in (1, 2)
        and h.read_version in (1, 2)
        and (h.max_payload_fraction, h.min_payload_fraction, h.leaf_payload_fraction)
        == (64, 32, 32)
        and 1 <= h.schema_format <= 4
        and 1 <= h.text_encoding <= 3
    )
    if not sane:
        return None
    # fileformat2 1.3.7: the count is valid only when the version-valid-for number matches.
    valid = h.change_counter == h.version_valid_for and h.page_count > 0
    return page_size, h.page_count if valid else 0


def wal_header(header: bytes) -> tuple[int, bytes] | None:
    """(page size, salts) of a WAL header whose checksum holds (fileformat2.html 4.3)."""
    if len(header) < WAL_HEADER_SIZE or header[:4] not in WAL_MAGICS:
        return None
    h = WAL_HEADER.parse(header[:WAL_HEADER_SIZE])
    if h.format_version != WAL_FORMAT_VERSION or not valid_page_size(h.page_size):
        return None
    if wal_checksum(header, 0, 24, h.magic == WAL_MAGIC_BE) != (h.checksum1, h.checksum2):
        return None
    return h.page_size, header[16:24]


_BTREE_PAGE_TYPES = {2: 12, 5: 12, 10: 8, 13: 8}  # page type flag -> b-tree header size
_MIN_SECTOR = 512  # pager.c: the journal header fills at least one 512-byte sector
_ZERO_SECTOR = bytes(_MIN_SECTOR)


def persisted_journal_sector(head: bytes) -> int | None:
    """The sector size of a PERSIST-mode journal whose header was zeroed after a commit.

    pager.c zeroJournalHdr() overwrites the header with zeros (the rest of its sector is
    zero padding) and leaves the records: ``[page number][page][checksum]`` from the next
    sector on. The first record must hold page 1 or a b-tree page (fileformat2.html 1.6),
    so a file that merely starts with zeros is not taken for a journal.
    """
    if not head.startswith(_ZERO_SECTOR):  # most files: one comparison
        return None
    body = head.lstrip(b"\x00")
    first = len(head) - len(body)  # the first nonzero byte: inside the first page number
    if not body or first < _MIN_SECTOR:
        return None
    sector = 1 << (first.bit_length() - 1)
    if first - sector >= 4 or sector > 65536:
        return None
    number = int.from_bytes(head[sector : sector + 4], "big")
    page = head[sector + 4 :]
    if not 0 < number < 1 << 31:
        return None
    if page.startswith(SQLITE_MAGIC):
        return sector if sqlite_extent(page) is not None else None
    return sector if _looks_like_btree_page(page) else None


def _looks_like_btree_page(page: bytes) -> bool:
    """The b-tree page header (fileformat2.html 1.6) of a page at the start of ``page``."""
    size = _BTREE_PAGE_TYPES.get(page[0]) if page else None
    if size is None or len(page) < size:
        return False
    freeblock, cells, content = struct.unpack_from(">HHH", page, 1)
    content = content or 65536
    if page[7] > 60 or content < size + 2 * cells:  # at most 60 fragmented bytes
        return False
    if freeblock and freeblock < content:  # free blocks lie in the cell content area
        return False
    shown = min(cells, (len(page) - size) // 2)  # the pointers the head holds
    return all(content <= p for p in struct.unpack_from(f">{shown}H", page, size))
