"""SQLite databases with their -wal and -journal companions.

A family (a database and the companions beside it) is read as up to three views, each a
database image built in memory and opened with ``Connection.deserialize()``, or, when
large, written into a private temporary file of ours that SQLite opens read-only
(``image``); never the evidence path (opening it would write -shm/-wal files beside it):

- the main file as it is: method "sqlite";
- the main file with the WAL's committed frames applied: what the app last saw; values
  not in the main view (a changed key, a new row) have method "wal";
- the main file with a hot journal rolled back: the state before the interrupted
  transaction; values not in the main view have method "journal". A PERSIST-mode
  journal (header zeroed after its commit) is rolled back the same way, but what only
  it holds is older than the main file: "journal" and ``deleted``.

Then the deleted data of the family (``sqlite_deleted``): older WAL frames, freelist
pages and free space of the main file, free space of the journal's pre-images; each
such key is ``deleted`` and is not reported again if a view already gave it.

Rows are read by ``rows``; images are built by ``wal`` and ``image``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.errors import Corrupt, ScanError, Truncated
from scanner.extractors.base import engine_for
from scanner.formats.sqlite.btree_layout import HEADER_RESERVED_SPACE_OFFSET
from scanner.formats.sqlite.deleted import Recovery
from scanner.formats.sqlite.image import (
    Image,
    close_image,
    image_rolled_back,
    image_with_wal,
    load_bytes,
    load_main,
)
from scanner.formats.sqlite.rows import (
    SQLITE_ERRORS,
    ImageReport,
    finding_candidate,
    read_image,
)
from scanner.formats.sqlite.wal import Journal, WalLog, read_journal, read_wal
from scanner.model import Candidate, DeviceHints, Method

log = logging.getLogger("keyscan")


@dataclass
class Member:
    """One file of a database family."""

    artifact: Artifact
    stream: BinaryIO | None  # spooled bytes of a forward-only member; None: reopen the artifact
    held: int = 0  # bytes of ``stream`` kept in memory (the rest of the spools share a budget)

    def read_all(self, cap: int) -> bytes:
        """The whole file (one database is held in memory at a time); LimitExceeded past cap."""
        from scanner.artifacts.artifact import read_up_to
        from scanner.errors import LimitExceeded

        if self.stream is not None:  # a spool: its size is known, read in one piece
            size = self.stream.seek(0, io.SEEK_END)
            if size > cap:
                raise LimitExceeded(f"database is larger than the {cap:,}-byte limit")
            self.stream.seek(0)
            data = self.stream.read(size)
        else:
            with self.artifact.open() as handle:
                data = read_up_to(handle, cap + 1)
        if len(data) > cap:
            raise LimitExceeded(f"database is larger than the {cap:,}-byte limit")
        return data

    @property
    def size(self) -> int | None:
        """Its size if known (a spool's is exact)."""
        if self.stream is not None:
            size = self.stream.seek(0, io.SEEK_END)
            self.stream.seek(0)
            return size
        return self.artifact.size

    @contextmanager
    def reading(self) -> Iterator[BinaryIO]:
        """Its bytes from the start (a spool stays open: the family closes it)."""
        if self.stream is not None:
            self.stream.seek(0)
            yield self.stream
        else:
            with self.artifact.open() as handle:
                yield handle


@dataclass
class Family:
    """A database and the companions found beside it (same directory, same base name)."""

    db: Member | None = None
    wal: Member | None = None
    journal: Member | None = None


class _FamilyReader:
    """The state shared by the views of one family."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.seen: set[tuple[str, str]] = set()  # identities found in the main view
        self.known: set[tuple[str, str, str | None, str]] = set()  # slots of every view

    def report(self) -> ImageReport:
        """For one view: its hints folded as read, bounded as the scan's are."""
        return ImageReport(hints=DeviceHints(self.ctx.limits.max_device_hints))

    def view(
        self,
        artifact: Artifact,
        image: Image,
        method: Method,
        report: ImageReport,
        history: bool = False,
        alone: bool = False,
    ) -> Iterator[Candidate]:
        """Candidates of one image; a companion view reports only what the main one lacks.
        ``history``: the image is an older state than the main file (``deleted``);
        ``alone``: a database without companions (``read_image``)."""
        for finding in read_image(image, report, alone):
            self.known.add(finding.slot)
            if method == Method.SQLITE:
                self.seen.add(finding.identity)
            elif finding.identity in self.seen:
                continue
            candidate = finding_candidate(artifact, finding, method, deleted=history)
            if candidate is not None:
                yield candidate
        self.ctx.hint(report.hints)  # a view's hints repeated by the next change nothing


def _unread_tables(report: ImageReport) -> str:
    shown = "; ".join(report.failures[:3])
    more = f" (and {len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
    return f"some tables could not be read to the end: {shown}{more}"


def extract_family(family: Family, ctx: ScanContext) -> Iterator[Candidate]:
    """Candidates of a database family, main view first; see the module docstring.

    Trouble with a companion is reported on the companion and the rest goes on; trouble
    with the main file is raised at the end, after the companions were read.
    """
    images: list[Image | None] = []  # every image built: files of ours go when closed
    try:
        yield from _extract(family, ctx, images)
    finally:
        for image in images:
            close_image(image)


def _extract(family: Family, ctx: ScanContext, images: list[Image | None]) -> Iterator[Candidate]:
    reader = _FamilyReader(ctx)
    cap = ctx.limits.max_sqlite_bytes
    base: Image | None = None
    page_size: int | None = None
    main_error: ScanError | None = None
    main_report = reader.report()
    alone = family.wal is None and family.journal is None
    if (db := family.db) is not None:
        try:
            main = load_main(db.reading, db.size, lambda: db.read_all(cap), cap)
            images.append(main.image)
            base, page_size = main.image, main.page_size
            yield from reader.view(db.artifact, base, Method.SQLITE, main_report, alone=alone)
            if main.truncated:
                main_error = Truncated(main.truncated)
            elif main_report.failures:
                main_error = Corrupt(_unread_tables(main_report))
        except ScanError as error:  # the companions may still be readable
            main_error = error
        except SQLITE_ERRORS as error:
            main_error = Corrupt(f"SQLite cannot read it: {error}")
    wal: tuple[Image, WalLog] | None = None
    journal: Journal | None = None
    wal_view: tuple[Image | None, ImageReport] = (None, ImageReport())
    if family.wal is not None:

        def with_wal(member: Member) -> tuple[Image | None, bool]:
            nonlocal wal
            data = load_bytes(member.reading, member.size, lambda: member.read_all(cap), cap)
            images.append(data)
            log = read_wal(data)
            _check_page_size(log.page_size, page_size)
            wal = (data, log)
            images.append(image := image_with_wal(base, data, log))
            return image, False

        wal_view = yield from _companion(family.wal, Method.WAL, with_wal, base is not None, reader)
    if family.journal is not None:

        def rolled_back(member: Member) -> tuple[Image | None, bool]:
            nonlocal journal
            data = load_bytes(member.reading, member.size, lambda: member.read_all(cap), cap)
            images.append(data)  # its pre-images are read from it until the family is done
            journal = read_journal(data, page_size)
            if journal.pages:
                _check_page_size(journal.page_size, page_size)
            images.append(image := image_rolled_back(base, journal))
            # A persisted journal's transaction committed: its pre-images are history.
            return image, journal.committed

        yield from _companion(family.journal, Method.JOURNAL, rolled_back, base is not None, reader)
    # Deleted data, once every live view has said what it holds.
    recovery = Recovery(reader.known, engine_for(ctx))
    shapes = wal_view[1].tables or main_report.tables
    if wal is not None and family.wal is not None:
        current = wal_view[0] if wal_view[0] is not None else base
        steps = recovery.wal(family.wal.artifact, *wal, shapes, current)
        yield from _deleted(steps, family.wal.artifact, ctx)
    # Alone, a database whose bytes can give the carver no key is not carved (read_image
    # worked that out, and then left its tables' shapes out).
    carve = main_report.carvable or not alone
    if base is not None and page_size is not None and family.db is not None and carve:
        own = main_report.tables or shapes  # a damaged schema: the WAL's may still be read
        steps = recovery.database(family.db.artifact, base, page_size, own)
        yield from _deleted(steps, family.db.artifact, ctx)
    if journal is not None and family.journal is not None:
        reserved = base[HEADER_RESERVED_SPACE_OFFSET] if base is not None else 0
        steps = recovery.journal(family.journal.artifact, journal, shapes, reserved)
        yield from _deleted(steps, family.journal.artifact, ctx)
    if main_error is not None:
        raise main_error


def _deleted(
    candidates: Iterator[Candidate], artifact: Artifact, ctx: ScanContext
) -> Iterator[Candidate]:
    """Deleted data is a bonus: trouble reading it is reported and the family goes on."""
    try:
        yield from candidates
    except ScanError as error:
        ctx.report(error, artifact.chain)


def _check_page_size(companion: int, database: int | None) -> None:
    if database is not None and companion != database:
        raise Corrupt(
            f"its page size ({companion}) is not the database's ({database}):"
            " it belongs to another database"
        )


def _companion(
    member: Member,
    method: Method,
    build: Callable[[Member], tuple[Image | None, bool]],
    has_main: bool,
    reader: _FamilyReader,
) -> Generator[Candidate, None, tuple[Image | None, ImageReport]]:
    """One companion's view. Its own damage is a problem on its own provenance; a view
    built without a main file is best effort and fails quietly. Returns the image and
    what reading it found (its schema is the newest, for the deleted-data pass)."""
    ctx, chain = reader.ctx, member.artifact.chain
    report = reader.report()
    try:
        image, history = build(member)
    except ScanError as error:
        ctx.report(error, chain)
        return None, report
    if image is None:
        log.debug("%s: nothing committed to apply", " > ".join(chain))
        return None, report
    try:
        yield from reader.view(member.artifact, image, method, report, history)
    except (ScanError, *SQLITE_ERRORS) as error:
        if not has_main:
            log.debug("%s: no usable image from it alone: %s", " > ".join(chain), error)
            return None, report
        ctx.report(error if isinstance(error, ScanError) else Corrupt(str(error)), chain)
        return None, report
    if report.failures and has_main:
        ctx.report(Corrupt(_unread_tables(report)), chain)
    return image, report
