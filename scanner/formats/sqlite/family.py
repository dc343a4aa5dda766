"""SQLite files grouped into families: a database with the ``-wal`` and ``-journal`` beside it.

The pipeline hands every SQLite file of one container level to ``SqliteFamilies`` (a
``Grouper``); a family is read as soon as it has a database and a companion, else when
its directory is done. Forward-only members are spooled: the pending ones share a memory
budget (``Limits.spool_memory``), and whatever does not fit goes to a private temporary
file, as does any member over ``image.SMALL_IMAGE`` (a large database or WAL is read from
a file). Re-openable members are simply reopened when the family is read.
"""

from __future__ import annotations

import io
import posixpath
import sqlite3
import struct
from collections.abc import Callable, Iterator
from contextlib import closing, nullcontext
from typing import BinaryIO, ClassVar

from scanner.artifacts import Artifact, spool
from scanner.containers.grouped import Grouper, Guard
from scanner.context import ScanContext
from scanner.errors import Corrupt, LibraryErrors
from scanner.formats.sqlite import image
from scanner.formats.sqlite.extractor import Family, Member, extract_family
from scanner.formats.sqlite.headers import (
    WAL_MAGICS,
    persisted_journal_sector,
    valid_page_size,
)
from scanner.formats.sqlite.layout import JOURNAL_MAGIC, SQLITE_MAGIC, WAL_FORMAT_VERSION
from scanner.model import Candidate


def role(head: bytes) -> str | None:
    """ "db", "wal" or "journal" by its first bytes; None for anything else."""
    if head.startswith(SQLITE_MAGIC):
        return "db"
    if len(head) >= 12 and head[:4] in WAL_MAGICS:
        version, page_size = struct.unpack_from(">II", head, 4)
        if version == WAL_FORMAT_VERSION and valid_page_size(page_size):
            return "wal"
        return None
    if head.startswith(JOURNAL_MAGIC) or persisted_journal_sector(head) is not None:
        return "journal"
    return None


class SqliteFamilies(Grouper):
    """SQLite files of one container level, held until their family is complete."""

    name = "sqlite"
    raises: ClassVar[LibraryErrors] = {
        sqlite3.DatabaseError: Corrupt
    }  # SQLite's own reading of a damaged file

    def __init__(self, ctx: ScanContext, guard: Guard) -> None:
        super().__init__(ctx, guard)
        self.directory: str | None = None
        self.families: dict[str, Family] = {}

    @classmethod
    def member_kind(cls, head: bytes) -> str | None:
        return role(head)

    @classmethod
    def companions(cls, name: str, head: bytes) -> tuple[str, ...]:
        """sqlite3 opening a database reads the -journal or -wal beside it. Not the -shm:
        the first connection truncates it and rebuilds it from the WAL (os_unix.c
        unixLockSharedMemory), so it adds nothing. In a folder's order."""
        return (f"{name}-journal", f"{name}-wal") if role(head) == "db" else ()

    def add(self, kind: str, artifact: Artifact, stream_source: Callable[[], BinaryIO]) -> None:
        base = artifact.path
        for suffix in ("-wal", "-journal"):
            if kind != "db" and base.endswith(suffix):
                base = base[: -len(suffix)]
        stream = None
        held = 0
        if not artifact.reopenable:  # spooled first: a cut member must not leave a family
            pending = self._held()
            memory = max(1, self.ctx.limits.spool_memory - pending)
            # A larger database or WAL is read from a file (``image``): not held here.
            memory = min(memory, image.SMALL_IMAGE)
            cap = self.ctx.limits.max_sqlite_bytes
            # With no temporary folder that has room, the pending members may stay in
            # memory up to one database's budget: a database is read in memory anyway.
            fallback = max(0, cap - pending)
            source = stream_source()
            stream = spool(source, memory, cap, size_hint=artifact.size, memory_fallback=fallback)
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
            held = size if isinstance(stream, io.BytesIO) else 0
        if base in self.families and getattr(self.families[base], kind) is not None:
            self._read(base)  # the same file twice (an appended tar): read the first one now
        family = self.families.setdefault(base, Family())
        setattr(family, kind, Member(artifact, stream, held))
        if family.db is not None and (family.wal is not None or family.journal is not None):
            self._read(base)
        if artifact.origin.carved:
            self.flush()  # carved databases have no companions to wait for

    def _held(self) -> int:
        """Bytes of pending members spooled in memory."""
        return sum(
            member.held
            for family in self.families.values()
            for member in (family.db, family.wal, family.journal)
            if member is not None
        )

    def next_artifact(self, artifact: Artifact) -> None:
        directory = posixpath.dirname(artifact.path)
        if directory != self.directory:
            self.flush()
            self.directory = directory

    def _read(self, base: str) -> None:
        family = self.families.pop(base)
        main = family.db or family.wal or family.journal
        assert main is not None
        alone = family.wal is None and family.journal is None
        try:
            with self.guard(main.artifact.chain):
                if alone and family.db is not None and self._sent(family.db):
                    return
                for candidate in extract_family(family, self.ctx):
                    self.ctx.add(candidate)
        finally:
            for member in (family.db, family.wal, family.journal):
                if member is not None and member.stream is not None:
                    member.stream.close()

    def _sent(self, db: Member) -> bool:
        """Whether a worker reads this database alone (``scanner/pool.py``: when the scan
        has workers, for a small one); its findings come back in this place's order."""
        later = self.ctx.later
        if later is None:
            return False
        spooled = db.stream
        if spooled is None:
            return later.send_whole(self.name, db.artifact, lambda: closing(db.artifact.open()))
        spooled.seek(0)  # read here again from its start if it is not sent
        return later.send_whole(self.name, db.artifact, lambda: nullcontext(spooled))

    @classmethod
    def extract_alone(
        cls, artifact: Artifact, stream: BinaryIO, ctx: ScanContext
    ) -> Iterator[Candidate]:
        return extract_family(Family(db=Member(artifact, stream)), ctx)

    def flush(self) -> None:
        for base in sorted(self.families):
            self._read(base)
