"""Keys that survive only as deleted or older data inside a database family.

Three sources, each read from page bytes (never by building an image per version):
- the database file: freelist pages and the free regions of live table pages (method
  "carve");
- the WAL: every frame that is not the committed state's version of its page: earlier
  commits (superseded), frames after the last commit (uncommitted) and frames of an
  earlier generation (stale salts) (method "wal");
- the hot journal's pre-images: their free regions (method "journal"; the rollback view
  already reads their rows).

Everything found here is ``deleted``, and is reported once per table column and key: a
copy of a key that a live view (or an earlier source) already gave adds nothing.
Timestamps are the record's own time columns, like a live row's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from scanner.artifacts import Artifact
from scanner.extractors.patterns import Engine
from scanner.formats.sqlite.btree_layout import HEADER_RESERVED_SPACE_OFFSET
from scanner.formats.sqlite.carve import Carved, carve_image, carve_page
from scanner.formats.sqlite.image import Image
from scanner.formats.sqlite.pages import PageOwners, freelist_pages, is_utf8, table_owners
from scanner.formats.sqlite.records import TableShape
from scanner.formats.sqlite.rows import Finding, finding_candidate, row_findings
from scanner.formats.sqlite.wal import Journal, WalLog, wal_versions
from scanner.model import Candidate, Confidence, Method

UNKNOWN_TABLE = "(unknown table)"
_TEXT_COLUMN = "(text)"  # JSON text whose record could not be read


def _findings(carved: Carved, prefix: str) -> list[Finding]:
    record = carved.record
    if record.table is not None:
        table, names = record.table.name, record.table.columns
    elif record.rowid is None and len(record.values) == 1:
        table, names = UNKNOWN_TABLE, (_TEXT_COLUMN,)
    else:  # an intact record of no known table: only JSON in it can count
        table, names = UNKNOWN_TABLE, tuple(f"#{i + 1}" for i in range(len(record.values)))
    values = (*record.values, *[None] * (len(names) - len(record.values)))
    row = f"rowid {record.rowid}" if record.rowid is not None else ""
    place = prefix if carved.kind == "cell" else f"{prefix} offset {carved.offset} {carved.kind}"
    try:
        found = row_findings(table, row, names, values)
    except RecursionError:  # a damaged text column that nests JSON past Python's stack
        return []
    return [replace(f, place=place) for f in found]


class Recovery:
    """The deleted-data pass of one family, after its live views were read."""

    def __init__(
        self, known: set[tuple[str, str, str | None, str]], engine: Engine | None = None
    ) -> None:
        self.known = known  # slots already reported (live views first)
        self.engine = engine

    def _candidates(
        self,
        artifact: Artifact,
        carved: Iterable[Carved],
        method: Method,
        prefix: str | None = None,
        unsure: bool = False,
    ) -> Iterator[Candidate]:
        """``unsure``: bytes no checksum vouches for (a frame after the last commit may be a
        torn write); their keys are listed with low confidence, never chosen."""
        for item in carved:
            for finding in _findings(item, prefix or f"page {item.page}"):
                if finding.slot in self.known:
                    continue
                self.known.add(finding.slot)
                candidate = finding_candidate(artifact, finding, method, deleted=True)
                if candidate is not None:
                    yield replace(candidate, confidence=Confidence.LOW) if unsure else candidate

    def database(
        self, artifact: Artifact, image: Image, page_size: int, shapes: Sequence[TableShape]
    ) -> Iterator[Candidate]:
        """Deleted rows of the database file itself."""
        carved = carve_image(image, page_size, shapes, self.engine)
        yield from self._candidates(artifact, carved, Method.CARVE)

    def wal(
        self,
        artifact: Artifact,
        data: Image,
        log: WalLog,
        shapes: Sequence[TableShape],
        current: Image | None,
    ) -> Iterator[Candidate]:
        """Page versions of the WAL other than the committed state's. ``current`` (the
        committed image, or the main file) tells which table a page belongs to."""
        if current is not None and not is_utf8(current):
            return
        owners, freed = PageOwners(0, shapes), {}
        if current is not None and len(current) >= log.page_size:
            owners = table_owners(current, log.page_size, shapes)
            freed = freelist_pages(current, log.page_size)
        usable = log.page_size - (current[HEADER_RESERVED_SPACE_OFFSET] if current else 0)
        for frame in wal_versions(data, log):
            label = "" if frame.status == "committed" else f"{frame.status} "
            prefix = f"{label}frame {frame.number} page {frame.page_number}"
            # The committed state's own version of a page was read live: only its free
            # space (or all of it, if it is a freelist page now) is deleted data.
            mode, skip = "version", 0
            if frame.latest:
                mode = "freelist" if frame.page_number in freed else "live"
                skip = freed.get(frame.page_number, 0)
            owner = owners.get(frame.page_number)
            page = data[frame.offset : frame.offset + log.page_size]  # a WAL in a file: a read
            carved = carve_page(page, 0, frame.page_number, usable, shapes, owner, mode, skip)
            unsure = frame.status == "uncommitted"
            yield from self._candidates(artifact, carved, Method.WAL, prefix, unsure)

    def journal(
        self, artifact: Artifact, journal: Journal, shapes: Sequence[TableShape], reserved: int
    ) -> Iterator[Candidate]:
        """Free space in the journal's pre-images (their rows: the rollback view)."""
        usable = journal.page_size - reserved
        for number in sorted(journal.pages):
            page = journal.pages[number]
            carved = carve_page(page, 0, number, usable, shapes, None, "version", cells=False)
            yield from self._candidates(artifact, carved, Method.JOURNAL)
