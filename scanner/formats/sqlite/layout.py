"""SQLite on-disk headers: the database file, the write-ahead log and the rollback journal.

Source: "Database File Format", https://www.sqlite.org/fileformat2.html (sections 1.3
"The Database Header", 4.1 "Rollback Journals", 4.3 "The WAL File Format"), and
src/pager.c / src/wal.c of SQLite 3.40 for the journal header and checksum details.
Every integer is big-endian; only the WAL *checksum words* may be little-endian (magic
0x377f0682), which is logic for the parser, not a layout.
"""

from __future__ import annotations

from construct import Bytes, Const, Int8ub, Int16ub, Int32ub, Struct, this

SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_MAGIC_LE = 0x377F0682  # checksum words little-endian
WAL_MAGIC_BE = 0x377F0683  # checksum words big-endian
WAL_FORMAT_VERSION = 3007000
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")

# fileformat2.html 1.3: the first 100 bytes of page 1.
DATABASE_HEADER = Struct(
    "magic" / Const(SQLITE_MAGIC),
    "page_size" / Int16ub,  # power of two 512..32768, or 1 meaning 65536
    "write_version" / Int8ub,  # 1 legacy (rollback journal), 2 WAL
    "read_version" / Int8ub,  # 1 legacy, 2 WAL
    "reserved_space" / Int8ub,  # unused bytes at the end of each page
    "max_payload_fraction" / Int8ub,  # must be 64
    "min_payload_fraction" / Int8ub,  # must be 32
    "leaf_payload_fraction" / Int8ub,  # must be 32
    "change_counter" / Int32ub,
    "page_count" / Int32ub,  # valid only if change_counter == version_valid_for
    "freelist_trunk" / Int32ub,
    "freelist_count" / Int32ub,
    "schema_cookie" / Int32ub,
    "schema_format" / Int32ub,  # 1..4
    "default_cache_size" / Int32ub,
    "largest_root_page" / Int32ub,  # auto-vacuum only
    "text_encoding" / Int32ub,  # 1 UTF-8, 2 UTF-16le, 3 UTF-16be
    "user_version" / Int32ub,
    "incremental_vacuum" / Int32ub,
    "application_id" / Int32ub,
    "reserved" / Bytes(20),
    "version_valid_for" / Int32ub,
    "sqlite_version" / Int32ub,  # SQLITE_VERSION_NUMBER of the last writer
).compile()  # read once per database: the compiled parser is about 5x faster
DATABASE_HEADER_SIZE = 100
WRITE_VERSION_OFFSET = 18  # bytes 18-19: write/read version (2 = WAL mode)

# fileformat2.html 4.3: the 32-byte WAL header.
WAL_HEADER = Struct(
    "magic" / Int32ub,  # WAL_MAGIC_LE or WAL_MAGIC_BE
    "format_version" / Int32ub,  # 3007000
    "page_size" / Int32ub,
    "checkpoint_sequence" / Int32ub,
    "salt1" / Int32ub,  # incremented at each checkpoint
    "salt2" / Int32ub,  # a fresh random number at each checkpoint
    "checksum1" / Int32ub,  # over the first 24 bytes of this header
    "checksum2" / Int32ub,
)
WAL_HEADER_SIZE = 32

# fileformat2.html 4.3: each frame is this 24-byte header followed by one page.
WAL_FRAME_HEADER = Struct(
    "page_number" / Int32ub,
    "commit_size" / Int32ub,  # database size in pages after a commit frame; 0 otherwise
    "salt1" / Int32ub,  # must equal the WAL header's salts
    "salt2" / Int32ub,
    "checksum1" / Int32ub,  # cumulative: header, every earlier frame, and this one
    "checksum2" / Int32ub,
)
WAL_FRAME_HEADER_SIZE = 24

# fileformat2.html 4.1 and pager.c writeJournalHdr(): the header fills one sector.
JOURNAL_HEADER = Struct(
    "magic" / Const(JOURNAL_MAGIC),
    "record_count" / Int32ub,  # 0xffffffff: up to the end of the file (no-sync mode)
    "nonce" / Int32ub,  # seeds each record's checksum
    "initial_pages" / Int32ub,  # database size in pages before the transaction
    "sector_size" / Int32ub,  # the header is padded to this size
    "page_size" / Int32ub,
)
JOURNAL_HEADER_SIZE = 28
JOURNAL_ALL_RECORDS = 0xFFFFFFFF

# One journal record: the page as it was before the transaction (parse with page_size=).
JOURNAL_RECORD = Struct(
    "page_number" / Int32ub,
    "data" / Bytes(this._params.page_size),
    "checksum" / Int32ub,  # nonce + every 200th byte of data, from the end (pager_cksum)
)
