"""tar headers: ustar, GNU (long names, old sparse) and pax.

Sources: POSIX.1-1988 ustar and POSIX.1-2001 pax (``pax`` in IEEE Std 1003.1-2017, "pax
Interchange Format"); GNU tar manual, "Basic Tar Format" (``struct posix_header``,
``struct oldgnu_header``, ``struct sparse``, ``struct sparse_header``) and "Sparse
Formats" (GNU.sparse.* 0.0, 0.1, 1.0); number fields as GNU tar writes them (octal text,
or base-256 when the first byte is 0x80 or 0xFF). Where these leave room, the reading
matches CPython's ``tarfile`` (3.11), which keyscan used before.
"""

from __future__ import annotations

import struct
from enum import Enum

from construct import Array, Bytes, Int8ub, Padding, Struct

BLOCK = 512

# Type flags (byte 156).
REGULAR = b"0"
REGULAR_OLD = b"\0"  # V7: a regular file, or a folder when the name ends in '/'
HARD_LINK = b"1"
SYMLINK = b"2"
CHAR_DEVICE = b"3"
BLOCK_DEVICE = b"4"
DIRECTORY = b"5"
FIFO = b"6"
CONTIGUOUS = b"7"
GNU_LONG_NAME = b"L"
GNU_LONG_LINK = b"K"
GNU_SPARSE = b"S"  # old GNU sparse member: the map is in the header
PAX_LOCAL = b"x"
PAX_GLOBAL = b"g"
PAX_SOLARIS = b"X"

FILE_TYPES = (REGULAR, REGULAR_OLD, CONTIGUOUS, GNU_SPARSE)  # members that hold a file
KNOWN_TYPES = (
    *FILE_TYPES,
    HARD_LINK,
    SYMLINK,
    CHAR_DEVICE,
    BLOCK_DEVICE,
    DIRECTORY,
    FIFO,
    GNU_LONG_NAME,
    GNU_LONG_LINK,
)
GNU_TYPES = (GNU_LONG_NAME, GNU_LONG_LINK, GNU_SPARSE)  # their bytes 345.. are not a prefix

SparseEntry = Struct(
    "offset" / Bytes(12),  # where the data lies in the real file
    "numbytes" / Bytes(12),
)

Header = Struct(
    "name" / Bytes(100),
    "mode" / Bytes(8),
    "uid" / Bytes(8),
    "gid" / Bytes(8),
    "size" / Bytes(12),
    "mtime" / Bytes(12),
    "checksum" / Bytes(8),
    "typeflag" / Bytes(1),
    "linkname" / Bytes(100),
    "magic" / Bytes(6),  # "ustar\0" (POSIX) or "ustar " (old GNU)
    "version" / Bytes(2),
    "uname" / Bytes(32),
    "gname" / Bytes(32),
    "devmajor" / Bytes(8),
    "devminor" / Bytes(8),
    "prefix" / Bytes(155),  # ustar; old GNU headers put the fields of GnuTail here
    Padding(12),
)
"""A 512-byte header block; numbers are text (see ``number``)."""
HEADER = Header.compile()  # read once per member: the compiled parser is 4x faster

GnuTail = Struct(
    "atime" / Bytes(12),
    "ctime" / Bytes(12),
    "offset" / Bytes(12),
    "longnames" / Bytes(4),
    Padding(1),
    "sparse" / Array(4, SparseEntry),
    "isextended" / Int8ub,
    "realsize" / Bytes(12),
    Padding(17),
)
"""Bytes 345-511 of an old GNU header (``struct oldgnu_header``)."""
GNU_TAIL_AT = 345

SparseExtension = Struct(
    "sparse" / Array(21, SparseEntry),
    "isextended" / Int8ub,
    Padding(7),
)
"""A block after an old GNU sparse header when its 4 map entries were not enough."""


class Fault(Enum):
    """Why a block is not a member header (words as tarfile gave them)."""

    EMPTY = "empty header"  # nothing left to read
    CUT = "truncated header"  # less than a block left
    END = "end of file header"  # a block of zeros: the end-of-archive marker
    INVALID = "invalid header"  # a number field that is not a number
    CHECKSUM = "bad checksum"


class HeaderFault(Exception):
    def __init__(self, fault: Fault, nested: bool = False) -> None:
        super().__init__(fault.value)
        self.fault = fault
        self.nested = nested  # met reading the header that an extended header announced


def number(field: bytes) -> int:
    """A numeric field: base-256 after a 0x80 (positive) or 0xFF (negative) byte, else
    octal text up to the first NUL, blanks around it ignored."""
    if field[0] in (0x80, 0xFF):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    try:
        end = field.find(b"\0")
        text = (field if end < 0 else field[:end]).decode("ascii")
        return int(text.strip() or "0", 8)
    except ValueError as error:  # UnicodeError is a ValueError too
        raise HeaderFault(Fault.INVALID) from error


def text_field(field: bytes) -> str:
    """A NUL-terminated text field; bytes that are not UTF-8 kept as surrogates."""
    end = field.find(b"\0")
    return (field if end < 0 else field[:end]).decode("utf-8", "surrogateescape")


_SUMS_SIGNED = struct.Struct("148b8x356b")


def checksum_holds(block: bytes, stored: int) -> bool:
    """Whether ``stored`` is the header's sum, with the checksum field as blanks, over
    unsigned bytes or (as some old tars summed) signed ones; the first is the usual."""
    unsigned = 256 + sum(block) - sum(block[148:156])
    if stored == unsigned:
        return True
    return stored == 256 + sum(_SUMS_SIGNED.unpack_from(block))


def padded(size: int) -> int:
    """``size`` rounded up to whole blocks (as tarfile does, also for a negative size)."""
    blocks, rest = divmod(size, BLOCK)
    return (blocks + 1 if rest else blocks) * BLOCK
