"""SQLite layouts and the WAL / journal readers: real SQLite files, and damaged ones."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.common import fake_key, fake_mac
from corpus.sqlite_files import (
    Database,
    changed_pages,
    commit_frames,
    hot_journal,
    wal_file,
    wal_mode,
)
from scanner.artifacts import Artifact
from scanner.errors import Corrupt, ScanError, Truncated
from scanner.formats.sqlite import extractor as sqlite
from scanner.formats.sqlite.headers import wal_checksum
from scanner.formats.sqlite.layout import (
    DATABASE_HEADER,
    JOURNAL_HEADER,
    WAL_FRAME_HEADER,
    WAL_HEADER,
    WAL_MAGIC_LE,
)
from scanner.formats.sqlite.wal import (
    apply_wal,
    prepare_main,
    read_journal,
    read_wal,
    roll_back,
)
from tests.helpers import scan_context

SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);"
KEYS = (fake_key("fuzz-old"), fake_key("fuzz-new"))
JSON_KEY = fake_key("fuzz-json")
MAC = fake_mac("fuzz")


def test_layout_sizes() -> None:
    assert DATABASE_HEADER.sizeof() == 100
    assert WAL_HEADER.sizeof() == 32
    assert WAL_FRAME_HEADER.sizeof() == 24
    assert JOURNAL_HEADER.sizeof() == 28


def test_database_header_fields() -> None:
    db = Database(SCHEMA, page_size=1024)
    db.run("INSERT INTO t (body) VALUES (?)", [("x" * 300,)] * 10)
    image = db.image()
    header = DATABASE_HEADER.parse(image[:100])
    assert (header.page_size, header.write_version, header.read_version) == (1024, 1, 1)
    assert (header.max_payload_fraction, header.min_payload_fraction) == (64, 32)
    assert header.page_count * 1024 == len(image)
    assert header.text_encoding == 1
    assert header.reserved == bytes(20)


@pytest.fixture
def real_wal(tmp_path: Path) -> tuple[bytes, bytes, bytes]:
    """(main file, -wal, the main file after SQLite checkpointed that WAL)."""
    path = tmp_path / "live.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.executescript(SCHEMA)
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("a" * 700,)] * 20)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for n in range(5):  # five transactions: growth, updates, a delete
        connection.executemany("INSERT INTO t (body) VALUES (?)", [(f"{n}" * 900,)] * 4)
        connection.execute("UPDATE t SET body = ? WHERE id = ?", ("changed", n + 1))
    connection.execute("DELETE FROM t WHERE id > 30")
    main, wal = path.read_bytes(), Path(f"{path}-wal").read_bytes()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpointed = path.read_bytes()
    connection.close()
    return main, wal, checkpointed


def test_real_wal_header_and_frames(real_wal: tuple[bytes, bytes, bytes]) -> None:
    main, wal, checkpointed = real_wal
    header = WAL_HEADER.parse(wal[:32])
    assert header.format_version == 3007000
    assert header.page_size == 4096
    big_endian = header.magic != WAL_MAGIC_LE
    assert wal_checksum(wal, 0, 24, big_endian) == (header.checksum1, header.checksum2)
    log = read_wal(wal)
    assert log.valid_frames == log.total_frames == len(log.frames) == (len(wal) - 32) // 4120
    assert log.db_pages * 4096 == len(checkpointed)
    image = apply_wal(prepare_main(main, 1 << 30).image, wal, log)
    assert image is not None
    assert bytes(image) == checkpointed[:18] + b"\x01\x01" + checkpointed[20:]


def test_damaged_frame_keeps_the_commits_before_it(real_wal: tuple[bytes, bytes, bytes]) -> None:
    _, wal, _ = real_wal
    whole = read_wal(wal)
    commits = [i for i, frame in enumerate(whole.frames) if frame.commit_size]
    damaged = bytearray(wal)
    cut = commits[2] + 1  # the first frame of the fourth transaction
    damaged[32 + cut * 4120 + 24 + 10] ^= 0x40
    log = read_wal(bytes(damaged))
    assert (log.valid_frames, len(log.frames)) == (cut, cut)
    assert log.frames == whole.frames[:cut]
    assert log.db_pages == whole.frames[commits[2]].commit_size


def test_stale_salts_and_uncommitted_frames() -> None:
    db = Database(SCHEMA)
    first = db.image()
    db.run("INSERT INTO t (body) VALUES ('x')")
    second = db.image()
    db.run("INSERT INTO t (body) VALUES ('y')")
    third = db.image()
    committed = commit_frames(first, second)
    uncommitted = [(n, 0, page) for n, _, page in commit_frames(second, third)]
    log = read_wal(wal_file(committed + uncommitted))
    assert (log.valid_frames, len(log.frames)) == (len(committed + uncommitted), len(committed))
    stale = wal_file(commit_frames(second, third), salts=(1, 2))[32:]
    log = read_wal(wal_file(committed) + stale)
    assert (log.valid_frames, log.total_frames) == (len(committed), len(committed) * 2)


def test_wal_header_errors() -> None:
    with pytest.raises(Truncated, match="shorter than the 32-byte WAL header"):
        read_wal(b"\x37\x7f\x06\x82" + bytes(20))
    good = wal_file([])
    bad_version = good[:4] + (3007001).to_bytes(4, "big") + good[8:]
    with pytest.raises(Corrupt, match="unknown WAL format version 3007001"):
        read_wal(bad_version)
    with pytest.raises(Corrupt, match="fails its checksum"):
        read_wal(good[:20] + b"\x00\x00\x00\x09" + good[24:])


@pytest.fixture
def real_journal(tmp_path: Path) -> tuple[bytes, bytes, bytes]:
    """(main file mid-transaction, its hot journal, the file before the transaction)."""
    path = tmp_path / "live.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript(SCHEMA)
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("a" * 300,)] * 200)
    before = path.read_bytes()
    connection.execute("PRAGMA cache_size = 10")  # forces the transaction to spill
    connection.execute("BEGIN")
    connection.execute("UPDATE t SET body = 'changed' WHERE id % 7 = 0")
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("b" * 300,)] * 400)
    main, journal = path.read_bytes(), Path(f"{path}-journal").read_bytes()
    connection.execute("ROLLBACK")
    connection.close()
    assert main != before
    return main, journal, before


def test_real_journal_rolls_back_to_the_old_file(real_journal: tuple[bytes, bytes, bytes]) -> None:
    main, journal_bytes, before = real_journal
    journal = read_journal(journal_bytes)
    assert journal.page_size == 4096
    assert journal.initial_pages * 4096 == len(before)
    image = roll_back(prepare_main(main, 1 << 30).image, journal)
    assert image is not None and bytes(image) == before


def test_journal_stops_at_a_bad_record() -> None:
    db = Database(SCHEMA)
    db.run("INSERT INTO t (body) VALUES (?)", [("a" * 3000,)] * 4)
    old = db.image()
    db.run("UPDATE t SET body = 'b'")
    new = db.image()
    changed = changed_pages(old, new, 4096)
    journal = bytearray(hot_journal(old, new))
    pages = read_journal(bytes(journal)).pages
    assert sorted(pages) == changed and len(changed) == 4
    assert all(pages[n] == old[(n - 1) * 4096 : n * 4096] for n in changed)
    journal[512 + 4104 + 4 + 4096 - 200] ^= 1  # a byte the checksum covers, in record 2
    assert sorted(read_journal(bytes(journal)).pages) == changed[:1]


def test_prepare_main_pads_patches_and_refuses() -> None:
    db = Database(SCHEMA, page_size=1024)
    db.run("INSERT INTO t (body) VALUES (?)", [("x" * 300,)] * 10)
    image = wal_mode(db.image())
    prepared = prepare_main(image, 1 << 30)
    assert (prepared.page_size, prepared.truncated) == (1024, None)
    assert bytes(prepared.image) == image[:18] + b"\x01\x01" + image[20:]
    cut = prepare_main(image[:2500], 1 << 30)
    assert len(cut.image) == len(image)
    assert cut.truncated == (
        f"the database ends early: 2,500 of {len(image):,} bytes;"
        " the missing part was read as empty pages"
    )
    huge = image[:28] + (10**9).to_bytes(4, "big") + image[32:]  # a damaged page count
    capped = prepare_main(huge, 1 << 20)
    assert len(capped.image) == len(image)
    assert capped.image[28:32] == (len(image) // 1024).to_bytes(4, "big")
    with pytest.raises(Corrupt, match=r"payload fractions are damaged"):
        prepare_main(image[:21] + b"\x00" + image[22:], 1 << 30)
    with pytest.raises(Truncated, match="shorter than the 100-byte SQLite header"):
        prepare_main(image[:99], 1 << 30)
    # A rollback-mode file of whole pages needs no patch: its own bytes, not a copy.
    rollback = db.image()
    assert rollback[18:20] == b"\x01\x01"
    assert prepare_main(rollback, 1 << 30).image is rollback
    assert image[18:20] == b"\x02\x02"  # the WAL-mode input was left as it was


def test_wal_reader_agrees_with_the_corpus_writer() -> None:
    db = Database(SCHEMA)
    old = db.image()
    db.run("INSERT INTO t (body) VALUES (?)", [("z" * 2000,)] * 6)
    new = db.image()
    for big_endian in (False, True):
        wal = wal_file(commit_frames(old, new), big_endian=big_endian)
        log = read_wal(wal)
        image = apply_wal(bytearray(old), wal, log)
        assert image is not None and bytes(image) == new


def test_journal_segments_keep_the_first_pre_image() -> None:
    db = Database(SCHEMA)
    db.run("INSERT INTO t (body) VALUES (?)", [("a" * 3000,)] * 4)
    original = db.image()
    db.run("UPDATE t SET body = 'b' WHERE id = 1")
    middle = db.image()
    db.run("UPDATE t SET body = 'c' WHERE id = 1")
    first = hot_journal(original, middle)
    first += bytes(-len(first) % 512)  # the next segment starts on a sector boundary
    second = hot_journal(middle, db.image())
    journal = read_journal(first + second)
    again = set(changed_pages(original, middle, 4096)) & set(
        changed_pages(middle, db.image(), 4096)
    )
    assert again  # a page journaled in both segments
    assert all(journal.pages[n] == original[(n - 1) * 4096 : n * 4096] for n in again)


@pytest.fixture(scope="module")
def two_commits() -> bytes:
    """A WAL of two transactions."""
    db = Database(SCHEMA)
    first = db.image()
    db.run("INSERT INTO t (body) VALUES (?)", [("p" * 900,)] * 8)
    second = db.image()
    db.run("UPDATE t SET body = 'q' WHERE id < 5")
    frames = commit_frames(first, second) + commit_frames(second, db.image())
    return wal_file(frames)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_damaged_frame_leaves_a_valid_prefix(
    two_commits: bytes, position: int, flip: int
) -> None:
    wal = two_commits
    position = 32 + position % (len(wal) - 32)
    whole = read_wal(wal)
    damaged = bytearray(wal)
    damaged[position] ^= flip
    log = read_wal(bytes(damaged))
    hit = (position - 32) // 4120  # the frame the damage fell in
    assert log.valid_frames == hit
    commits = [i + 1 for i, frame in enumerate(whole.frames[:hit]) if frame.commit_size]
    assert log.frames == whole.frames[: max(commits, default=0)]


@settings(max_examples=150, deadline=None)
def _digits_apart(one: str, other: str) -> int:
    return sum(a != b for a, b in zip(one, other, strict=True))


@given(
    target=st.sampled_from(["db", "wal", "journal"]),
    damage=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_damaged_family_gives_known_keys_and_plain_problems(
    target: str, damage: list[tuple[int, int]], cut: int | None
) -> None:
    db = Database("CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, AUTHKEY TEXT, J TEXT);")
    row = (MAC, KEYS[0], json.dumps({"auth_key": JSON_KEY}))
    db.run("INSERT INTO DEVICE VALUES (1, ?, ?, ?)", [row])
    old = db.image()
    db.run("UPDATE DEVICE SET AUTHKEY = ?", [(KEYS[1],)])
    new = db.image()
    files = {
        "db": bytearray(wal_mode(old) if target != "journal" else new),
        "wal": bytearray(wal_file(commit_frames(old, new))),
        "journal": bytearray(hot_journal(old, new)),
    }
    data = files[target]
    for position, flip in damage:
        data[position % len(data)] ^= flip
    if cut is not None:
        del data[cut % len(data) :]
    companion = "journal" if target == "journal" else "wal"

    def member(name: str) -> sqlite.Member:
        artifact = Artifact(chain=("in", name), opener=io.BytesIO)
        return sqlite.Member(artifact, io.BytesIO(bytes(files[name])))

    family = sqlite.Family(db=member("db"), **{companion: member(companion)})
    ctx = scan_context()
    try:
        # Frames after the last commit may be torn writes: listed as low, never chosen.
        keys = {c.key for c in sqlite.extract_family(family, ctx) if c.confidence != "low"}
    except ScanError as error:
        assert error.kind in ("corrupt", "truncated")
    else:
        assert all(len(key) == 32 and key == key.lower() for key in keys)
        # A journal's checksum samples only every 200th byte of a page (SQLite's design), so
        # a flipped byte inside a key can pass it. The main file has no checksum at all: a
        # flipped byte inside a stored key changes one of its digits, which nothing can
        # tell. WAL frames are checksummed: there, damage cannot forge keys.
        known = {*KEYS, JSON_KEY}
        if target == "wal":
            assert keys <= known
        elif target == "db":
            for key in keys - known:
                assert min(_digits_apart(key, k) for k in known) <= len(damage), key
    assert {p.kind for p in ctx.problems} <= {"corrupt", "truncated"}
