"""Deterministic SQLite files for the corpus: database images, a WAL, hot and persisted
journals.

SQLite itself puts random salts in a WAL and a random nonce in a journal, so builds would
differ byte for byte. Instead the database is built in memory (``serialize()`` is
deterministic for one SQLite version) and the companions are written here, with the
checksums computed from the SQLite file-format document (fileformat2.html 4.1, 4.3).
This writer is independent of the scanner's reader on purpose; tests check both against
files made by the real SQLite library.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable, Sequence

PAGE_SIZE = 4096
WAL_MAGIC_LE = 0x377F0682
WAL_MAGIC_BE = 0x377F0683
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


class Database:
    """An in-memory database whose file image can be taken at any moment."""

    def __init__(self, schema: str, page_size: int = PAGE_SIZE) -> None:
        self.connection = sqlite3.connect(":memory:")
        self.connection.execute(f"PRAGMA page_size = {page_size}")
        self.connection.executescript(schema)
        self.page_size = page_size

    def run(self, sql: str, rows: Iterable[Sequence[object]] = ((),)) -> None:
        with self.connection:
            self.connection.executemany(sql, rows)

    def image(self) -> bytes:
        return self.connection.serialize()

    def close(self) -> None:
        self.connection.close()


def wal_mode(image: bytes) -> bytes:
    """The image as a WAL-mode database file has it (header bytes 18-19 = 2)."""
    return image[:18] + b"\x02\x02" + image[20:]


def next_change(image: bytes) -> bytes:
    """The image after a rollback-mode commit: SQLite bumps the change counter (offset 24)
    and its copy (92) on page 1, so page 1 is always journaled. ``serialize()`` of an
    in-memory database leaves them alone."""
    counter = (int.from_bytes(image[24:28], "big") + 1) % 2**32
    raw = counter.to_bytes(4, "big")
    return image[:24] + raw + image[28:92] + raw + image[96:]


def pages(image: bytes, page_size: int) -> list[bytes]:
    return [image[i : i + page_size] for i in range(0, len(image), page_size)]


def changed_pages(old: bytes, new: bytes, page_size: int) -> list[int]:
    """1-based numbers of the pages of ``new`` that differ from ``old`` (or are new)."""
    before, after = pages(old, page_size), pages(new, page_size)
    return [n for n, page in enumerate(after, 1) if n > len(before) or before[n - 1] != page]


def _wal_sums(data: bytes, big_endian: bool, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(("<", ">")[big_endian] + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) % 2**32
        s1 = (s1 + words[i + 1] + s0) % 2**32
    return s0, s1


def wal_file(
    frames: Sequence[tuple[int, int, bytes]],
    page_size: int = PAGE_SIZE,
    salts: tuple[int, int] = (0x1D2C3B4A, 0x59687786),
    big_endian: bool = False,
    checkpoint: int = 0,
) -> bytes:
    """A WAL holding ``frames`` of (page number, commit size or 0, page bytes)."""
    magic = WAL_MAGIC_BE if big_endian else WAL_MAGIC_LE
    head = struct.pack(">IIIIII", magic, 3007000, page_size, checkpoint, *salts)
    sums = _wal_sums(head, big_endian, 0, 0)
    out = [head, struct.pack(">II", *sums)]
    for number, commit, page in frames:
        assert len(page) == page_size
        first = struct.pack(">II", number, commit)
        sums = _wal_sums(first + page, big_endian, *sums)
        out += [first, struct.pack(">IIII", *salts, *sums), page]
    return b"".join(out)


def commit_frames(
    old: bytes, new: bytes, page_size: int = PAGE_SIZE
) -> list[tuple[int, int, bytes]]:
    """The frames of one transaction turning ``old`` into ``new``, as a WAL-mode writer
    would append them: changed pages, the last one marked with the new size."""
    after = pages(wal_mode(new), page_size)
    numbers = changed_pages(old, new, page_size)
    return [
        (n, len(after) if i == len(numbers) - 1 else 0, after[n - 1]) for i, n in enumerate(numbers)
    ]


def _journal_sum(page: bytes, nonce: int) -> int:
    return (nonce + sum(page[i] for i in range(len(page) - 200, 0, -200))) % 2**32


def hot_journal(
    old: bytes, new: bytes, page_size: int = PAGE_SIZE, nonce: int = 0x5EED1234, sector: int = 512
) -> bytes:
    """The journal of an interrupted transaction from ``old`` to ``new``: pre-images of
    every page it changed that existed before (pages past the old end are not journaled)."""
    before = pages(old, page_size)
    numbers = [n for n in changed_pages(old, new, page_size) if n <= len(before)]
    head = JOURNAL_MAGIC + struct.pack(
        ">IIIII", len(numbers), nonce, len(before), sector, page_size
    )
    out = [head.ljust(sector, b"\x00")]
    for n in numbers:
        page = before[n - 1]
        out.append(struct.pack(">I", n) + page + struct.pack(">I", _journal_sum(page, nonce)))
    return b"".join(out)


def persisted_journal(
    old: bytes,
    new: bytes,
    page_size: int = PAGE_SIZE,
    nonce: int = 0x0DDBA11,
    sector: int = 512,
    earlier: bytes = b"",
) -> bytes:
    """The journal a PERSIST-mode commit from ``old`` to ``new`` leaves behind: the records
    of that transaction with the header zeroed (pager.c zeroJournalHdr writes 28 zero
    bytes over it; the rest of the header sector is zero padding), then whatever lies past
    them of ``earlier``, the journal of a longer transaction before it."""
    current = bytes(28) + hot_journal(old, new, page_size, nonce, sector)[28:]
    return current + earlier[len(current) :]
