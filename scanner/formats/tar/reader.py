"""tar member headers read from a forward-only stream, with their extended headers.

A member may be announced by extended headers: GNU long names ('L', 'K') and pax records
('x' for the next member, 'g' for all that follow). They are read in a loop, not by
recursion, and applied innermost first, as tarfile applies them, so that names, sizes and
times are the ones tarfile gave. Sparse maps of every GNU flavour (old 'S' headers and
their extension blocks, pax 0.0, 0.1 and 1.0) are read into ``Member.sparse``.

What is read here is read through the source's own limits: a record claiming more bytes
than the source allows for headers ends in its ``LimitExceeded``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from construct import ConstructError

from scanner.errors import Corrupt, LimitExceeded, Truncated
from scanner.formats.tar import layout
from scanner.formats.tar.layout import BLOCK, Fault, HeaderFault, number, padded, text_field

MAX_SPARSE_ENTRIES = 100_000  # data pieces of one sparse member: its map is held in memory


class HeaderSource(Protocol):
    def read(self, size: int = -1) -> bytes: ...

    def tell(self) -> int: ...


@dataclass
class Member:
    name: str
    type: bytes
    size: int  # the file's size (for a sparse member: with its holes)
    mtime: float
    offset: int  # where its first header (extended or not) starts
    data_offset: int  # where its data starts
    next_offset: int  # where the next member's header starts
    linkname: str = ""
    pax_headers: dict[str, str] = field(default_factory=dict)
    sparse: list[tuple[int, int]] | None = None  # (offset in the file, bytes) of each piece

    @property
    def is_file(self) -> bool:
        return self.type in layout.FILE_TYPES

    @property
    def is_dir(self) -> bool:
        return self.type == layout.DIRECTORY


@dataclass
class _Extension:
    """An extended header, kept until the member it announces has been read."""

    type: bytes
    offset: int
    data: bytes  # the long name, or the pax record block
    pax: dict[str, str] | None = None


class HeaderReader:
    """Reads one member's headers at a time; the caller moves the source to
    ``next_offset`` between calls."""

    def __init__(self, source: HeaderSource) -> None:
        self._source = source
        self._global_pax: dict[str, str] = {}

    def next(self) -> Member:
        """The next member; ``HeaderFault`` when the next block is not a header (its
        ``nested`` flag set when an extended header announced that block)."""
        chain: list[_Extension] = []
        while True:
            try:
                member, extension = self._one_header()
            except HeaderFault as fault:
                fault.nested = bool(chain)
                raise
            if extension is None:
                break
            chain.append(extension)
            if extension.type in (layout.PAX_LOCAL, layout.PAX_GLOBAL, layout.PAX_SOLARIS):
                self._read_pax(extension, nested=len(chain) > 1)
        assert member is not None
        for extension in reversed(chain):
            member = self._apply(extension, member)
        return member

    def _one_header(self) -> tuple[Member | None, _Extension | None]:
        offset = self._source.tell()
        block = self._source.read(BLOCK)
        member = _parse_block(block, offset)
        if member.type in (layout.GNU_LONG_NAME, layout.GNU_LONG_LINK):
            return None, _Extension(member.type, offset, self._source.read(padded(member.size)))
        if member.type in (layout.PAX_LOCAL, layout.PAX_GLOBAL, layout.PAX_SOLARIS):
            return None, _Extension(member.type, offset, self._source.read(padded(member.size)))
        member.data_offset = self._source.tell()
        if member.type == layout.GNU_SPARSE:
            stored = member.size
            member.size, member.sparse = self._old_gnu_sparse(block)
            member.next_offset = member.data_offset + padded(stored)
            return member, None
        member.next_offset = member.data_offset + _data_blocks(member)
        _apply_pax(member, self._global_pax)
        if member.is_dir:
            member.name = member.name.rstrip("/")
        return member, None

    def _old_gnu_sparse(self, block: bytes) -> tuple[int, list[tuple[int, int]]]:
        tail = layout.GnuTail.parse(block[layout.GNU_TAIL_AT :])
        pieces = [(number(e.offset), number(e.numbytes)) for e in tail.sparse]
        real_size = number(tail.realsize)
        extended = tail.isextended
        while extended:
            more = self._source.read(BLOCK)
            if len(more) < BLOCK:
                raise Truncated("tar stream ends inside a GNU sparse map")
            extension = layout.SparseExtension.parse(more)
            for entry in extension.sparse:
                offset, size = number(entry.offset), number(entry.numbytes)
                if offset and size:  # tarfile skips a piece at offset 0 here
                    pieces.append((offset, size))
            _check_sparse_count(len(pieces))
            extended = extension.isextended
        return real_size, pieces

    def _read_pax(self, extension: _Extension, nested: bool) -> None:
        records = self._global_pax if extension.type == layout.PAX_GLOBAL else {}
        if extension.type != layout.PAX_GLOBAL:
            records.update(self._global_pax)
        try:
            records.update(parse_pax(extension.data))
        except HeaderFault as fault:
            fault.nested = nested
            raise
        extension.pax = records

    def _apply(self, extension: _Extension, member: Member) -> Member:
        member.offset = extension.offset
        if extension.pax is None:  # a GNU long name or link
            text = text_field(extension.data)
            if extension.type == layout.GNU_LONG_NAME:
                member.name = text
            else:
                member.linkname = text
            if member.is_dir:
                member.name = member.name.removesuffix("/")
            return member
        pax = extension.pax
        if "GNU.sparse.map" in pax:  # GNU sparse 0.1
            member.sparse = _pairs(_numbers(pax["GNU.sparse.map"].split(",")))
        elif "GNU.sparse.size" in pax:  # GNU sparse 0.0: one record per number
            member.sparse = _sparse_00(repair_pax(extension.data))
        elif pax.get("GNU.sparse.major") == "1" and pax.get("GNU.sparse.minor") == "0":
            member.sparse = self._sparse_10()
            member.data_offset = self._source.tell()
        if extension.type != layout.PAX_GLOBAL:
            _apply_pax(member, pax)
            if "size" in pax:  # the next header moves with the size
                member.next_offset = member.data_offset + _data_blocks(member)
        return member

    def _sparse_10(self) -> list[tuple[int, int]]:
        """GNU sparse 1.0: the map is decimal lines at the start of the member's data."""
        buffer = b""

        def line() -> int:
            nonlocal buffer
            while b"\n" not in buffer:
                more = self._source.read(BLOCK)
                if not more:
                    raise Truncated("tar stream ends inside a GNU sparse map")
                buffer += more
            text, buffer = buffer.split(b"\n", 1)
            return _numbers([text])[0]

        count = line()
        _check_sparse_count(count)
        return _pairs([line() for _ in range(2 * count)])


def _parse_block(block: bytes, offset: int) -> Member:
    """One header block, checked as tarfile checks it."""
    if not block:
        raise HeaderFault(Fault.EMPTY)
    if len(block) != BLOCK:
        raise HeaderFault(Fault.CUT)
    if block.count(0) == BLOCK:
        raise HeaderFault(Fault.END)
    if not layout.checksum_holds(block, number(block[148:156])):
        raise HeaderFault(Fault.CHECKSUM)
    try:
        header = layout.HEADER.parse(block)
    except ConstructError as error:  # cannot happen on 512 bytes; kept typed all the same
        raise HeaderFault(Fault.INVALID) from error
    for numeric in (header.mode, header.uid, header.gid, header.devmajor, header.devminor):
        number(numeric)  # not used, but a header whose numbers are not numbers is damaged
    member = Member(
        name=text_field(header.name),
        type=header.typeflag,
        size=number(header.size),
        mtime=number(header.mtime),
        offset=offset,
        data_offset=offset + BLOCK,
        next_offset=offset + BLOCK,
        linkname=text_field(header.linkname),
    )
    if member.type == layout.REGULAR_OLD and member.name.endswith("/"):
        member.type = layout.DIRECTORY
    if member.is_dir:
        member.name = member.name.rstrip("/")
    prefix = text_field(header.prefix)
    if prefix and member.type not in layout.GNU_TYPES:
        member.name = prefix + "/" + member.name
    return member


def _data_blocks(member: Member) -> int:
    """Bytes of data blocks after the header: files and unknown types have data."""
    if member.is_file or member.type not in layout.KNOWN_TYPES:
        return padded(member.size)
    return 0


def _apply_pax(member: Member, pax: dict[str, str]) -> None:
    for keyword, value in pax.items():
        if keyword == "GNU.sparse.name":
            member.name = value
        elif keyword in ("GNU.sparse.size", "GNU.sparse.realsize"):
            member.size = _numbers([value.encode()])[0]
        elif keyword == "path":
            member.name = value.rstrip("/")
        elif keyword == "linkpath":
            member.linkname = value
        elif keyword == "size":
            member.size = _int_or_zero(value)
        elif keyword == "mtime":
            member.mtime = _float_or_zero(value)
    member.pax_headers = dict(pax)


def _int_or_zero(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _float_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0


def _numbers(texts: list[bytes] | list[str]) -> list[int]:
    try:
        return [int(text) for text in texts]
    except ValueError as error:
        raise Corrupt(f"a GNU sparse record is not a number: {error}") from error


def _pairs(values: list[int]) -> list[tuple[int, int]]:
    pieces = list(zip(values[::2], values[1::2], strict=False))
    _check_sparse_count(len(pieces))
    return pieces


def _check_sparse_count(count: int) -> None:
    if count > MAX_SPARSE_ENTRIES:
        raise LimitExceeded(f"a sparse map of more than {MAX_SPARSE_ENTRIES:,} pieces")


_SPARSE_OFFSET = re.compile(rb"\d+ GNU.sparse.offset=(\d+)\n")
_SPARSE_NUMBYTES = re.compile(rb"\d+ GNU.sparse.numbytes=(\d+)\n")


def _sparse_00(records: bytes) -> list[tuple[int, int]]:
    offsets = [int(m.group(1)) for m in _SPARSE_OFFSET.finditer(records)]
    sizes = [int(m.group(1)) for m in _SPARSE_NUMBYTES.finditer(records)]
    pieces = list(zip(offsets, sizes, strict=False))
    _check_sparse_count(len(pieces))
    return pieces


# --- pax records -------------------------------------------------------------------------

_PAX_LENGTH = re.compile(rb"(\d{1,20}) ")
_PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")


def _pax_record(body: bytes) -> bytes:
    """``<length> <body>\n`` where the length counts its own digits."""
    size = len(body) + 2
    digits = len(str(size))
    while len(str(size + digits)) != digits:
        digits += 1
    return b"%d %s\n" % (size + digits, body)


def repair_pax(buf: bytes) -> bytes:
    """Give TWRP's flag records an ``=``, so that they read as records with no value.

    TWRP's libtar writes ``ANDROID.user.default``, ``.inode_cache`` and
    ``.inode_code_cache`` as bare ``<len> <keyword>\n`` records (newer tarfile rejects the
    whole header for it, older versions garble the next keyword). Other records are
    rewritten byte for byte; what does not parse is left as it is.
    """
    out: list[bytes] = []
    pos = 0
    while match := _PAX_LENGTH.match(buf, pos):
        end = pos + int(match.group(1))
        if end <= match.end() or end > len(buf) or buf[end - 1] != 0x0A:
            break
        body = buf[match.end() : end - 1]
        out.append(_pax_record(body if b"=" in body else body + b"="))
        pos = end
    return b"".join(out) + buf[pos:]


def parse_pax(buf: bytes) -> dict[str, str]:
    """pax records ``<length> <keyword>=<value>\n``, values UTF-8 (other bytes kept as
    surrogates); parsing stops at the first thing that is not a record."""
    buf = repair_pax(buf)
    records: dict[str, str] = {}
    pos = 0
    while match := _PAX_RECORD.match(buf, pos):
        length = int(match.group(1))
        if length == 0:
            raise HeaderFault(Fault.INVALID)
        value = buf[match.end(2) + 1 : match.start(1) + length - 1]
        keyword = match.group(2).decode("utf-8", "surrogateescape")
        records[keyword] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records
