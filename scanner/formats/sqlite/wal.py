"""Database images built in memory: the main file made readable, a WAL applied, a hot
journal rolled back. Nothing here opens or writes a file.

Rules follow SQLite's own recovery (fileformat2.html 4.1 and 4.3, wal.c, pager.c): a WAL
frame counts only if its salts match the header and its cumulative checksum holds, and
only frames up to the last such commit frame are applied; a journal record counts only
while its checksum holds, and the first pre-image of a page is the original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from construct import ConstructError

from scanner.artifacts import HEAD_SIZE
from scanner.errors import Corrupt, Truncated
from scanner.formats.sqlite.frames import PreImages, WalFrames
from scanner.formats.sqlite.headers import (
    database_header,
    persisted_journal_sector,
    sqlite_extent,
    valid_page_size,
    wal_checksum,
)
from scanner.formats.sqlite.layout import (
    DATABASE_HEADER_SIZE,
    JOURNAL_ALL_RECORDS,
    JOURNAL_HEADER,
    JOURNAL_HEADER_SIZE,
    JOURNAL_MAGIC,
    JOURNAL_RECORD,
    SQLITE_MAGIC,
    WAL_FORMAT_VERSION,
    WAL_FRAME_HEADER,
    WAL_FRAME_HEADER_SIZE,
    WAL_HEADER,
    WAL_HEADER_SIZE,
    WAL_MAGIC_BE,
    WAL_MAGIC_LE,
    WRITE_VERSION_OFFSET,
)
from scanner.vocab.prefilter import ByteView

_U32 = 0xFFFFFFFF
Page = bytes | bytearray
# Pages written over an image, (offset, bytes), later ones replacing earlier ones: read
# again for each try (a WAL's frames from its file when it is in one).
Pages = Callable[[], Iterator[tuple[int, Page]]]
Overlay = tuple[int, Pages]  # the image's size, its pages
_PAGE_COUNT_OFFSET = 28


def _padding_allowance(present: int) -> int:
    """How many empty bytes a cut file may be padded with: as much as it holds, 16 MiB at
    least. Beyond that a claimed size is damage, not a cut."""
    return max(present, 16 << 20)


def _bounded_size(claimed: int, present: int, what: str) -> int:
    """``claimed`` bytes, unless that is far more than the evidence holds (then Corrupt)."""
    if claimed > present + _padding_allowance(present):
        raise Corrupt(f"{what} claims {claimed:,} bytes of database; the files hold {present:,}")
    return claimed


def make_readable(image: bytearray) -> None:
    """``deserialize()`` refuses a WAL-mode image (bytes 18-19 = 2): mark it rollback mode."""
    for offset in (WRITE_VERSION_OFFSET, WRITE_VERSION_OFFSET + 1):
        if len(image) > offset and image[offset] == 2:
            image[offset] = 1


@dataclass(frozen=True)
class MainImage:
    image: bytes | bytearray  # the file's own bytes when nothing had to change
    page_size: int
    truncated: str | None  # plain words when the file ended early


@dataclass(frozen=True)
class MainPlan:
    """How a main file of ``length`` bytes becomes an image SQLite will read."""

    page_size: int
    size: int  # bytes of the image: the file, padded with empty pages
    page_count: int | None  # written into the header when its own count cannot be used
    truncated: str | None  # plain words when the file ended early


def plan_main(head: bytes, length: int, cap: int) -> MainPlan:
    """Checks the header (``head``: the file's first 100 bytes, fewer if it has fewer) of a
    file of ``length`` bytes; Truncated or Corrupt when SQLite could not read it."""
    if length < DATABASE_HEADER_SIZE:
        raise Truncated(f"only {length} bytes: shorter than the 100-byte SQLite header")
    if not head.startswith(SQLITE_MAGIC):
        raise Corrupt("does not start with the SQLite header")
    header = database_header(bytes(head[:DATABASE_HEADER_SIZE]))
    page_size = 65536 if header.page_size == 1 else header.page_size
    if not valid_page_size(page_size):
        raise Corrupt(f"the header gives a page size of {page_size}, which SQLite never writes")
    fractions = (
        header.max_payload_fraction,
        header.min_payload_fraction,
        header.leaf_payload_fraction,
    )
    if fractions != (64, 32, 32):
        raise Corrupt("the header's payload fractions are damaged (not 64/32/32)")
    if header.read_version not in (1, 2):
        raise Corrupt(f"the header's read version is {header.read_version}, not 1 or 2")
    whole_pages = -(-length // page_size) * page_size
    # The header's page count is trusted only when SQLite marked it valid (fileformat2 1.3.7).
    declared = header.page_count if header.change_counter == header.version_valid_for else 0
    want = max(whole_pages, declared * page_size)
    page_count: int | None = None
    if want > min(cap, whole_pages + _padding_allowance(length)):
        # A damaged count, or a file cut to a sliver: tell SQLite the real size instead of
        # padding (a header claiming 2^31 pages must not allocate them).
        truncated: str | None = (
            f"the header claims {declared:,} pages ({want:,} bytes), the file holds "
            f"{length:,} bytes; read as what is there"
        )
        want, page_count = whole_pages, whole_pages // page_size
    else:
        truncated = None
    if want > length:
        truncated = (
            f"the database ends early: {length:,} of {want:,} bytes;"
            " the missing part was read as empty pages"
        )
    return MainPlan(page_size, want, page_count, truncated)


def prepare_main(raw: bytes, cap: int) -> MainImage:
    """The main database file as an image SQLite will read: checked, padded, patched."""
    plan = plan_main(raw[:DATABASE_HEADER_SIZE], len(raw), cap)
    if (
        plan.page_count is None
        and plan.size == len(raw)
        and 2 not in raw[WRITE_VERSION_OFFSET : WRITE_VERSION_OFFSET + 2]
    ):
        return MainImage(raw, plan.page_size, plan.truncated)  # nothing to change: no copy
    image = bytearray(raw)
    if plan.page_count is not None:
        image[_PAGE_COUNT_OFFSET : _PAGE_COUNT_OFFSET + 4] = plan.page_count.to_bytes(4, "big")
    image.extend(bytes(plan.size - len(raw)))  # missing pages read as empty ones
    make_readable(image)
    return MainImage(image, plan.page_size, plan.truncated)


# --- write-ahead log -------------------------------------------------------------------


@dataclass(frozen=True)
class WalLog:
    page_size: int
    frames: WalFrames  # valid frames up to and including the last commit
    db_pages: int  # database size after that commit; 0 if there is none
    valid_frames: int  # frames whose salts and checksums hold (committed or not)
    total_frames: int  # whole frames in the file


def read_wal(data: ByteView) -> WalLog:
    """The committed frames of a WAL (in memory or in a file of ours: read a frame at a
    time); Corrupt if its header cannot be trusted."""
    if len(data) < WAL_HEADER_SIZE:
        raise Truncated(f"only {len(data)} bytes: shorter than the 32-byte WAL header")
    head = data[:WAL_HEADER_SIZE]
    header = WAL_HEADER.parse(head)
    if header.magic not in (WAL_MAGIC_LE, WAL_MAGIC_BE):
        raise Corrupt("not a SQLite WAL (wrong magic number)")
    if header.format_version != WAL_FORMAT_VERSION:
        raise Corrupt(f"unknown WAL format version {header.format_version}")
    if not valid_page_size(header.page_size):
        raise Corrupt(f"the WAL header gives a page size of {header.page_size}")
    big_endian = header.magic == WAL_MAGIC_BE  # magic's low bit: checksum word order
    sums = wal_checksum(head, 0, 24, big_endian)
    if sums != (header.checksum1, header.checksum2):
        raise Corrupt("the WAL header fails its checksum, so SQLite would ignore every frame")
    page_size = header.page_size
    frame_size = WAL_FRAME_HEADER_SIZE + page_size
    total = (len(data) - WAL_HEADER_SIZE) // frame_size
    frames = WalFrames(page_size)
    committed = db_pages = 0
    for index in range(total):
        offset = WAL_HEADER_SIZE + index * frame_size
        raw = data[offset : offset + frame_size]
        frame = WAL_FRAME_HEADER.parse(raw[:WAL_FRAME_HEADER_SIZE])
        # Salts from an earlier WAL generation: old frames left after a reset, not ours.
        if (frame.salt1, frame.salt2) != (header.salt1, header.salt2) or frame.page_number == 0:
            break
        sums = wal_checksum(raw, 0, 8, big_endian, *sums)
        sums = wal_checksum(raw, WAL_FRAME_HEADER_SIZE, page_size, big_endian, *sums)
        if sums != (frame.checksum1, frame.checksum2):
            break  # a torn or damaged write: SQLite stops here too
        frames.append(frame.page_number, frame.commit_size)
        if frame.commit_size:
            committed, db_pages = len(frames), frame.commit_size
    return WalLog(page_size, frames[:committed], db_pages, len(frames), total)


@dataclass(frozen=True, slots=True)
class FrameVersion:
    """One frame of a WAL, whatever its state: a version of one page."""

    number: int  # 1-based position in the file
    page_number: int
    offset: int  # where the page's bytes start in the WAL
    status: str  # "committed", "uncommitted" (after the last valid commit) or "stale"
    latest: bool  # the committed state's version of its page (what the WAL view shows)


def wal_versions(data: ByteView, log: WalLog) -> Iterator[FrameVersion]:
    """Every whole frame of the WAL. Frames past the valid prefix that carry the header's
    salts were never committed (or were torn); other salts are an earlier generation's,
    left after a checkpoint restarted the log (wal.c walRestartHdr)."""
    salts = data[16:24]
    size = WAL_FRAME_HEADER_SIZE + log.page_size
    committed = len(log.frames)
    latest = log.frames.latest(log.db_pages)
    for index in range(log.total_frames):
        offset = WAL_HEADER_SIZE + index * size
        page_number = int.from_bytes(data[offset : offset + 4], "big")
        if page_number == 0:
            continue
        if index < committed:
            status = "committed"
        else:
            status = "uncommitted" if data[offset + 8 : offset + 16] == salts else "stale"
        yield FrameVersion(
            index + 1,
            page_number,
            offset + WAL_FRAME_HEADER_SIZE,
            status,
            index < committed and latest[index] == 1,
        )


def wal_overlay(base_size: int | None, data: ByteView, log: WalLog) -> Overlay | None:
    """(image size, [(offset, page)]) of the committed frames over a main file of
    ``base_size`` bytes (None: no main file); None when there is nothing to build.

    Without a main file the image is built from the frames alone, if page 1 is among them.
    """
    if not log.frames:
        return None
    present = max(max(log.frames.pages) * log.page_size, base_size or 0)
    size = _bounded_size(log.db_pages * log.page_size, present, "the last commit frame")
    if base_size is None and 1 not in log.frames.pages:
        return None

    def pages() -> Iterator[tuple[int, Page]]:
        for frame in log.frames:  # later frames of a page replace earlier ones
            if frame.page_number <= log.db_pages:  # else cut off by the commit's size
                start = (frame.page_number - 1) * log.page_size
                yield start, data[frame.offset : frame.offset + log.page_size]

    return size, pages


def apply_wal(base: bytes | bytearray | None, data: bytes, log: WalLog) -> bytearray | None:
    """``base`` with the committed frames applied; None when there is nothing to build."""
    overlay = wal_overlay(None if base is None else len(base), data, log)
    return None if overlay is None else overlaid_in_memory(base, *overlay)


def overlaid_in_memory(base: bytes | bytearray | None, size: int, pages: Pages) -> bytearray:
    """``base`` (None: empty pages) cut or padded to ``size`` bytes, ``pages`` written over it."""
    image = bytearray(size) if base is None else bytearray(base[:size])
    image.extend(bytes(size - len(image)))
    for start, page in pages():
        image[start : start + len(page)] = page
    make_readable(image)
    return image


# --- rollback journal ------------------------------------------------------------------


def journal_checksum(page: bytes, nonce: int) -> int:
    """pager.c pager_cksum(): the nonce plus every 200th byte, from the end of the page."""
    total = nonce
    for index in range(len(page) - 200, 0, -200):
        total += page[index]
    return total & _U32


@dataclass(frozen=True)
class Journal:
    page_size: int
    initial_pages: int  # database size before the interrupted transaction
    pages: Mapping[int, bytes]  # page number -> its first (original) pre-image
    committed: bool = False  # PERSIST mode: the transaction committed, its pre-images are history


def read_journal(data: ByteView, page_size: int | None = None) -> Journal:
    """The valid pre-images of a hot or persisted journal; Corrupt if a hot journal's first
    header is unusable. ``page_size`` (the database's, if known) is tried first on a
    persisted journal, whose header no longer says."""
    if len(data) < JOURNAL_HEADER_SIZE:
        raise Truncated(f"only {len(data)} bytes: shorter than the 28-byte journal header")
    sector = persisted_journal_sector(bytes(data[:HEAD_SIZE]))
    if sector is not None:
        return _read_persisted(data, sector, page_size)
    if data[: len(JOURNAL_MAGIC)] != JOURNAL_MAGIC:
        raise Corrupt("not a SQLite rollback journal (wrong magic number)")
    first = JOURNAL_HEADER.parse(data[:JOURNAL_HEADER_SIZE])
    if not valid_page_size(first.page_size):
        raise Corrupt(f"the journal header gives a page size of {first.page_size}")
    if not (32 <= first.sector_size <= 65536 and first.sector_size & (first.sector_size - 1) == 0):
        raise Corrupt(f"the journal header gives a sector size of {first.sector_size}")
    page_size, record_size = first.page_size, first.page_size + 8
    pages = PreImages(data, page_size)
    offset = 0
    # A transaction may append several header+records segments, each sector-aligned.
    while (
        offset + JOURNAL_HEADER_SIZE <= len(data)
        and data[offset : offset + len(JOURNAL_MAGIC)] == JOURNAL_MAGIC
    ):
        try:
            header = JOURNAL_HEADER.parse(data[offset : offset + JOURNAL_HEADER_SIZE])
        except ConstructError:
            break
        if header.page_size != page_size or header.sector_size != first.sector_size:
            break
        offset += header.sector_size
        count = header.record_count
        if count in (0, JOURNAL_ALL_RECORDS):
            # 0xffffffff: written without syncs; 0: header not yet updated. Either way the
            # records run to the end of the file; their checksums tell which are real.
            count = (len(data) - offset) // record_size
        for _ in range(count):
            if offset + record_size > len(data):
                return Journal(page_size, first.initial_pages, pages)
            record = JOURNAL_RECORD.parse(data[offset : offset + record_size], page_size=page_size)
            valid = journal_checksum(record.data, header.nonce) == record.checksum
            if record.page_number == 0 or not valid:
                return Journal(page_size, first.initial_pages, pages)
            pages.add(record.page_number, offset + 4)  # after the page number
            offset += record_size
        offset = -(-offset // header.sector_size) * header.sector_size
    return Journal(page_size, first.initial_pages, pages)


def _read_persisted(data: ByteView, sector: int, hint: int | None) -> Journal:
    """The pre-images of the last committed transaction of a PERSIST-mode journal.

    Its header (page size, nonce, page count) was zeroed, so the page size is the one
    under which the records starting at ``sector`` share one checksum nonce and hold a
    page 1 that gives that page size; the old page count is that page 1's. Records with
    another nonce after them belong to an earlier transaction and are left alone.
    """
    sizes = [size for size in (hint, *(512 << shift for shift in range(8))) if size]
    for size in dict.fromkeys(sizes):
        pages = _same_nonce_records(data, sector, size)
        first = pages.get(1, b"")
        extent = sqlite_extent(first) if first.startswith(SQLITE_MAGIC) else None
        if extent is not None and extent[0] == size:
            return Journal(size, extent[1] or max(pages), pages, committed=True)
    return Journal(hint or 0, 0, {}, committed=True)


def _same_nonce_records(data: ByteView, offset: int, page_size: int) -> PreImages:
    pages = PreImages(data, page_size)
    nonce: int | None = None
    record_size = page_size + 8
    while offset + record_size <= len(data):
        record = JOURNAL_RECORD.parse(data[offset : offset + record_size], page_size=page_size)
        own = (record.checksum - journal_checksum(record.data, 0)) & _U32
        if not 0 < record.page_number < 1 << 31 or own != (nonce if nonce is not None else own):
            break
        nonce = own
        pages.add(record.page_number, offset + 4)  # after the page number
        offset += record_size
    return pages


def journal_overlay(base_size: int | None, journal: Journal) -> Overlay | None:
    """(image size, [(offset, page)]) of the database before the interrupted transaction,
    over a main file of ``base_size`` bytes (None: no main file); None if not buildable."""
    if journal.initial_pages == 0 or not journal.pages:
        return None
    present = max(max(journal.pages) * journal.page_size, base_size or 0)
    size = _bounded_size(journal.initial_pages * journal.page_size, present, "the journal")
    if base_size is None and 1 not in journal.pages:
        return None

    def pages() -> Iterator[tuple[int, Page]]:
        for number, page in journal.pages.items():
            if number <= journal.initial_pages:  # pages past the old end were new: dropped
                yield (number - 1) * journal.page_size, page

    return size, pages


def roll_back(base: bytes | bytearray | None, journal: Journal) -> bytearray | None:
    """The database as it was before the interrupted transaction; None if not buildable."""
    overlay = journal_overlay(None if base is None else len(base), journal)
    return None if overlay is None else overlaid_in_memory(base, *overlay)
