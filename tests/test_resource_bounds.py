"""Resource bounds that tests/test_limits.py does not cover: huge page-count claims in a
database, its WAL and its journal, and the peak memory of hostile inputs.

Problem kinds of the zip bomb, the 64-level nest, the symlink loop and the 1 TB tar size
field are checked in test_limits.py; here each is scanned again under ``tracemalloc`` to
show that memory stays bounded (Python's heap: bytes, bytearrays, buffers). Time is
bounded by construction (small files, no loops over claimed sizes), so nothing is timed.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import struct
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from corpus.common import Expected, fake_key, fake_mac
from corpus.samples import twrp
from corpus.sqlite_files import hot_journal, next_change, pages, wal_file
from scanner.artifacts.artifact import read_up_to
from scanner.context import ScanOptions
from scanner.model import ScanResult
from scanner.pipeline import scan

Corpus = tuple[Path, dict[str, Expected]]
MiB = 1 << 20
PEAK_LIMIT = 64 * MiB
CLAIM = 1 << 31  # pages: 1 TiB at 512 bytes a page, 8 TiB at 4096
PAGE = 512  # small pages keep the moderate claims below cheap to test
MAC, KEY = fake_mac("bounds"), fake_key("bounds")
APP_DB = "com.xiaomi.hm.health/databases/origin_db"

# Where the fields of a huge claim live (fileformat2.html 1.3, 4.1, 4.3).
PAGE_COUNT, CHANGE_COUNTER, VALID_FOR = 28, 24, 92
JOURNAL_INITIAL_PAGES = 16


def _traced(run: Callable[[], ScanResult]) -> tuple[ScanResult, int]:
    """The result and the peak of Python's heap while it was made."""
    tracemalloc.start()
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def origin_db() -> bytes:
    """A Zepp Life DEVICE table with one key, in 512-byte pages."""
    con = sqlite3.connect(":memory:")
    con.execute(f"PRAGMA page_size = {PAGE}")
    con.execute("CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT)")
    con.execute("INSERT INTO DEVICE VALUES (1, ?, 'Mi Smart Band 6', ?)", (MAC, KEY))
    con.commit()
    image = con.serialize()
    con.close()
    return image


def claiming(kind: str, claim: int) -> dict[str, bytes]:
    """A database family whose ``kind`` file claims ``claim`` pages; the rest is sound."""
    db = origin_db()
    if kind == "db":  # the header's page count, marked valid (version-valid-for = counter)
        image = bytearray(db)
        image[PAGE_COUNT : PAGE_COUNT + 4] = struct.pack(">I", claim)
        image[VALID_FOR : VALID_FOR + 4] = image[CHANGE_COUNTER : CHANGE_COUNTER + 4]
        return {APP_DB: bytes(image)}
    if kind == "wal":  # a committed frame (checksums hold) whose commit size is the claim
        wal = wal_file([(1, claim, pages(db, PAGE)[0])], PAGE)
        return {APP_DB: db, APP_DB + "-wal": wal}
    journal = bytearray(hot_journal(db, next_change(db), PAGE))  # "pages before it began"
    journal[JOURNAL_INITIAL_PAGES : JOURNAL_INITIAL_PAGES + 4] = struct.pack(">I", claim)
    return {APP_DB: db, APP_DB + "-journal": bytes(journal)}


def _scan_family(root: Path, files: dict[str, bytes]) -> tuple[ScanResult, int]:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return _traced(lambda: scan([root], ScanOptions()))


@pytest.mark.parametrize("kind", ["db", "wal", "journal"])
def test_a_true_claim_scans_clean(tmp_path: Path, kind: str) -> None:
    # The baseline the claims below damage: the same family, claiming what it holds.
    result, peak = _scan_family(tmp_path, claiming(kind, len(origin_db()) // PAGE))
    assert result.problems == []
    assert {c.key for c in result.candidates} == {KEY}
    assert peak < PEAK_LIMIT


@pytest.mark.parametrize("kind", ["db", "wal", "journal"])
def test_a_claim_of_2_31_pages_is_a_problem_in_bounded_memory(tmp_path: Path, kind: str) -> None:
    result, peak = _scan_family(tmp_path, claiming(kind, CLAIM))
    kinds = {p.kind for p in result.problems}
    assert kinds and kinds <= {"limit", "corrupt", "truncated"}
    assert KEY in {c.key for c in result.candidates}  # the main file is still read
    assert peak < PEAK_LIMIT


@pytest.mark.parametrize("kind", ["db", "wal", "journal"])
def test_a_claim_of_more_pages_than_the_file_holds_costs_no_memory(
    tmp_path: Path, kind: str
) -> None:
    # 2^17 pages of 512 bytes: 64 MiB claimed by a file of about a kilobyte.
    result, peak = _scan_family(tmp_path, claiming(kind, 1 << 17))
    assert {p.kind for p in result.problems} <= {"limit", "corrupt", "truncated"}
    assert result.problems
    assert peak < PEAK_LIMIT


# --- peak memory of the hostile inputs of test_limits.py --------------------------------


def _huge_pax_header(tmp_path: Path) -> Path:
    """A pax header claiming 1 TiB over 16 MiB of records, gzip'd (as in test_limits)."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 1 << 40
    body = info.tobuf(tarfile.GNU_FORMAT) + b"9 a=bcde\n" * ((16 << 20) // 9)
    path = tmp_path / "header.tar.gz"
    path.write_bytes(gzip.compress(body, 1, mtime=0))
    return path


def _symlink_loop(tmp_path: Path) -> Path:
    root = tmp_path / "phone"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "XiaomiFit.device.log").write_text(twrp.device_log(MAC, KEY))
    os.symlink("..", root / "logs" / "loop")
    return root


HOSTILE: dict[str, Callable[[Path, Path], Path]] = {
    "zip bomb": lambda root, tmp: root / "archives" / "zip-bomb.zip",
    "gzip bomb": lambda root, tmp: root / "archives" / "bomb.tar.gz",
    "64-level nest": lambda root, tmp: root / "archives" / "deep-nest.zip",
    "1 TB tar size field": lambda root, tmp: root / "archives" / "terabyte.tar",
    "1 TB pax header": lambda root, tmp: _huge_pax_header(tmp),
    "symlink loop": lambda root, tmp: _symlink_loop(tmp),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_end_in_a_limit_in_bounded_memory(
    corpus: Corpus, tmp_path: Path, name: str
) -> None:
    root, _ = corpus
    path = HOSTILE[name](root, tmp_path)
    result, peak = _traced(lambda: scan([path], ScanOptions(follow_links=True)))
    assert "limit" in {p.kind for p in result.problems}
    assert peak < PEAK_LIMIT, f"{name}: {peak / MiB:.1f} MiB"


def test_reading_a_small_file_against_a_large_cap_allocates_little(tmp_path: Path) -> None:
    # Asked for cap + 1 bytes at once, a buffered file allocates all of them first: every
    # database (2 GiB cap) and JSON / XML document (64 MiB) cost that much before the fix.
    path = tmp_path / "origin_db"
    path.write_bytes(origin_db())
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            data = read_up_to(handle, 2 << 30)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == path.read_bytes()
    assert peak < 2 * MiB  # one 1 MiB piece at a time, not 2 GiB
