"""SQLite databases with their -wal and -journal companions.

Not yet implemented: ``role`` answers None so the pipeline can already call it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.model import Candidate

SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


def role(head: bytes) -> str | None:
    """"db", "wal" or "journal" by the first bytes; None for anything else."""
    return None


@dataclass
class Member:
    """One file of a database family."""

    artifact: Artifact
    stream: BinaryIO | None  # spooled bytes of a forward-only member; None: reopen the artifact

    def read_all(self, cap: int) -> bytes:
        """The whole file (one database is held in memory at a time); LimitExceeded past cap."""
        from scanner.artifacts.artifact import read_up_to
        from scanner.errors import LimitExceeded

        if self.stream is not None:
            self.stream.seek(0)
            data = read_up_to(self.stream, cap + 1)
        else:
            with self.artifact.open() as handle:
                data = read_up_to(handle, cap + 1)
        if len(data) > cap:
            raise LimitExceeded(f"database is larger than the {cap:,}-byte limit")
        return data


@dataclass
class Family:
    """A database and the companions found beside it (same directory, same base name)."""

    db: Member | None = None
    wal: Member | None = None
    journal: Member | None = None


def extract_family(family: Family, ctx: ScanContext) -> Iterator[Candidate]:
    return iter(())
