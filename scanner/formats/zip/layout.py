"""zip structures that keyscan reads itself (pyzipper reads the rest).

Source: PKWARE APPNOTE.TXT 6.3.10: 4.3.7 local file header; 4.4.28 / 4.5 extra fields,
4.5.5 NTFS extra field (0x000a: tag 0x0001 holds mtime, atime, ctime as Windows
FILETIMEs, 100 ns units since 1601-01-01 UTC); Info-ZIP's ``proginfo/extrafld.txt``
for the extended timestamp (0x5455, "UT": a flags byte, then 32-bit Unix times in UTC,
mtime first when flag bit 0 is set; the central directory's copy holds mtime only).
"""

from __future__ import annotations

from construct import (
    Bytes,
    Const,
    GreedyRange,
    If,
    Int8ul,
    Int16ul,
    Int32sl,
    Int32ul,
    Int64ul,
    Struct,
    this,
)

LOCAL_HEADER_SIZE = 30

LocalFileHeader = Struct(
    "signature" / Const(b"PK\x03\x04"),
    "version" / Int16ul,
    "flags" / Int16ul,
    "method" / Int16ul,
    "dos_time" / Int16ul,
    "dos_date" / Int16ul,
    "crc32" / Int32ul,
    "compressed_size" / Int32ul,
    "size" / Int32ul,
    "name_length" / Int16ul,
    "extra_length" / Int16ul,
)
"""The fixed part of a local header; the name and the extra field follow it."""

ExtraField = Struct(
    "id" / Int16ul,
    "size" / Int16ul,
    "data" / Bytes(this.size),
)
ExtraFields = GreedyRange(ExtraField)

EXTENDED_TIMESTAMP = 0x5455  # "UT"
NTFS = 0x000A

ExtendedTimestamp = Struct(
    "flags" / Int8ul,
    "mtime" / If(this.flags & 1, Int32sl),
)

NtfsAttribute = Struct(
    "tag" / Int16ul,
    "size" / Int16ul,
    "data" / Bytes(this.size),
)
NtfsExtra = Struct(
    "reserved" / Bytes(4),
    "attributes" / GreedyRange(NtfsAttribute),
)
NTFS_TIMES_TAG = 0x0001
NtfsTimes = Struct(
    "mtime" / Int64ul,
    "atime" / Int64ul,
    "ctime" / Int64ul,
)
FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 1970-01-01 in 100 ns units since 1601
