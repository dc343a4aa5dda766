"""Deleted and superseded SQLite data: freelist pages, freeblocks, WAL history, journals."""

from __future__ import annotations

import io
import itertools
import json
import re
import sqlite3
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples import deleted_records
from corpus.sqlite_files import Database, commit_frames, hot_journal, wal_file, wal_mode
from scanner.artifacts import Artifact
from scanner.errors import ScanError
from scanner.formats.sqlite import extractor as sqlite
from scanner.formats.sqlite.btree_layout import (
    BTREE_PAGE_HEADER,
    BTREE_PAGE_HEADER_FORMAT,
    FREEBLOCK,
    FREEBLOCK_FORMAT,
    FREELIST_TRUNK_FORMAT,
    FREELIST_TRUNK_HEADER,
)
from scanner.formats.sqlite.carve import carve_image, carve_page
from scanner.formats.sqlite.pages import freelist_pages
from scanner.formats.sqlite.records import (
    TableShape,
    content_size,
    encode_varint,
    read_varint,
    records_with_value,
    table_leaf_cells,
)
from scanner.formats.sqlite.rows import ImageReport, read_image
from scanner.model import ScanResult
from scanner.pipeline import scan
from tests.helpers import scan_context

DEVICE_SCHEMA = (
    "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT,"
    " BIND_TIME INTEGER);"
    "CREATE TABLE FILLER (_id INTEGER PRIMARY KEY, BODY TEXT);"
)
MAC = fake_mac("carve-band")
KEYS = [fake_key(f"carve-{n}") for n in range(6)]
ROW = "DEVICE rowid 1 column AUTHKEY"
FIXTURE = [HealthCheck.function_scoped_fixture]  # the fixtures are module-scoped: safe


def found(result: ScanResult) -> set[tuple[str, str, bool, str]]:
    return {(c.key, c.method, c.deleted, c.provenance[-1]) for c in result.candidates}


def shapes_of(image: bytes) -> list[TableShape]:
    report = ImageReport()
    list(read_image(image, report))
    return report.tables


def device_db(rows: int = 1) -> Database:
    db = Database(DEVICE_SCHEMA)
    db.connection.execute("PRAGMA secure_delete = 0")
    db.run(
        "INSERT INTO DEVICE VALUES (?, ?, 'Band', ?, ?)",
        [(n + 1, MAC, KEYS[n], epoch(2023, 1, 1 + n)) for n in range(rows)],
    )
    return db


def rekey(db: Database, key: str, year: int) -> bytes:
    db.run("UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ? WHERE _id = 1", [(key, epoch(year, 1, 1))])
    return db.image()


# --- layouts and records ------------------------------------------------------------


def test_struct_formats_agree_with_the_layouts() -> None:
    raw = bytes(range(1, 13))
    parsed = BTREE_PAGE_HEADER.parse(raw)
    assert tuple(v for k, v in parsed.items() if k != "_io") == struct.unpack_from(
        BTREE_PAGE_HEADER_FORMAT, raw
    )
    assert BTREE_PAGE_HEADER.sizeof() == struct.calcsize(BTREE_PAGE_HEADER_FORMAT) == 8
    assert (FREEBLOCK.sizeof(), FREELIST_TRUNK_HEADER.sizeof()) == (4, 8)
    assert struct.calcsize(FREEBLOCK_FORMAT) == 4
    assert struct.calcsize(FREELIST_TRUNK_FORMAT) == 8


@pytest.mark.parametrize(
    "value", [0, 1, 127, 128, 240, 2287, 16383, 16384, 2**21, 2**35, 2**56 - 1]
)
def test_varints_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert read_varint(encoded, 0, len(encoded)) == (value, len(encoded))
    assert read_varint(encoded, 0, len(encoded) - 1) is None


def test_nine_byte_varint_and_serial_types() -> None:
    assert read_varint(b"\xff" * 9, 0, 9) == (2**64 - 1, 9)
    sizes = [content_size(t) for t in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 77, 76)]
    assert sizes == [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, None, None, 0, 0, 32, 32]


def test_intact_cells_match_sqlite() -> None:
    db = device_db(rows=3)
    image = db.image()
    page = image[4096:8192]  # DEVICE is page 2
    records = list(table_leaf_cells(page, 0, page[3] << 8 | page[4], 4096))
    assert [(r.rowid, r.values) for r in records] == [
        (n + 1, (None, MAC, "Band", KEYS[n], epoch(2023, 1, 1 + n))) for n in range(3)
    ]


def test_record_found_from_its_value_with_its_header_overwritten() -> None:
    """A freeblock header overwrote payload length, rowid and the header length."""
    db = device_db(rows=2)
    db.run("DELETE FROM DEVICE WHERE _id = 1")
    page = db.image()[4096:8192]
    first_free = struct.unpack_from(">H", page, 1)[0]
    assert first_free  # the deleted cell is a freeblock
    shape = next(s for s in shapes_of(db.image()) if s.name == "DEVICE")
    value = page.index(KEYS[0].encode())
    size = struct.unpack_from(">H", page, first_free + 2)[0]
    hits = records_with_value(page, first_free, first_free + size, value, 32, [(shape, [3])])
    assert [(r.start, r.confirmed, r.values) for r in hits] == [
        (first_free, False, (None, MAC, "Band", KEYS[0], epoch(2023, 1, 1)))
    ]


def test_adjacent_deleted_rows_in_one_freeblock(tmp_path: Path) -> None:
    """Two neighbouring rows deleted: each cell got a freeblock header (payload length,
    rowid, header length and the rowid alias's type byte lost), then the two merged into
    one freeblock, whose size's low byte (0x80 or more) sits where a type byte was."""
    db = device_db(rows=4)
    before = db.image()[4096:8192]
    cells = struct.unpack_from(">4H", before, 8)  # the cell pointers of rows 1-4
    db.run("DELETE FROM DEVICE WHERE _id IN (2, 3)")
    image = db.image()
    page = image[4096:8192]
    assert struct.unpack_from(">HH", page, cells[2]) == (0, cells[1] - cells[2] + 65)
    assert page[cells[2] + 3] >= 0x80  # where row 3's first serial type was
    assert struct.unpack_from(">HH", page, cells[1]) == (0, 65)  # row 2's own, left behind
    write(tmp_path / "com.xiaomi.hm.health" / "databases" / "origin_db", image)
    carved = {(c.key, c.provenance[-1]) for c in scan([tmp_path]).candidates if c.deleted}
    assert carved == {
        (KEYS[2], f"page 2 offset {cells[2]} freeblock DEVICE column AUTHKEY"),
        (KEYS[1], f"page 2 offset {cells[1]} freeblock DEVICE column AUTHKEY"),
    }


# --- the corpus sample ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    root = tmp_path_factory.mktemp("deleted-sample")
    (expected,) = deleted_records.build(root)
    return root, expected


def test_sample_scans_to_its_expectation(sample: tuple[Path, Expected]) -> None:
    root, expected = sample
    result = scan([root / expected.input])
    keys = {c.key for c in result.candidates}
    assert keys == expected.keys
    assert {d.device.mac: d.chosen.key for d in result.devices} == expected.devices
    assert not keys & expected.absent
    assert result.problems == []


def test_zepp_life_deleted_rows(sample: tuple[Path, Expected]) -> None:
    root, _ = sample
    path = root / "deleted" / "com.xiaomi.hm.health" / "databases" / "origin_db"
    image = path.read_bytes()
    # Independent facts from the file: page 3 (DEVICE) starts its freeblock chain at 3956;
    # the freelist is trunk page 9 listing leaf page 10.
    assert struct.unpack_from(">H", image, 2 * 4096 + 1)[0] == 3956
    assert struct.unpack_from(">III", image, 8 * 4096) == (0, 1, 10)
    assert image[32:40] == (9).to_bytes(4, "big") + (2).to_bytes(4, "big")
    result = scan([path])
    life = "deleted-band-{}".format
    cache = "SERVER_DEVICE_CACHE column CONTENT $.additionalInfo.auth_key"
    auth = "DEVICE column AUTHKEY"
    assert found(result) == {
        (fake_key(life("d")), "sqlite", False, "DEVICE rowid 2 column AUTHKEY"),
        (fake_key(life("a-2024")), "sqlite", False, "DEVICE rowid 5 column AUTHKEY"),
        (fake_key(life("a-2023")), "carve", True, f"page 3 offset 3956 freeblock {auth}"),
        (fake_key(life("b")), "carve", True, f"page 10 offset 2141 freelist {cache}"),
        (fake_key(life("c")), "carve", True, f"page 10 offset 186 freelist {cache}"),
    }  # fmt: skip
    old = next(c for c in result.candidates if c.key == fake_key(life("a-2023")))
    assert (old.device.mac, old.device.name, old.timestamp_source) == (
        fake_mac(life("a")), "Mi Smart Band 5", "row column LAST_SYNC_TIME",
    )  # fmt: skip
    assert old.timestamp is not None and old.timestamp.year == 2023
    band_b = next(c for c in result.candidates if c.key == fake_key(life("b")))
    assert band_b.device.mac == fake_mac(life("b"))
    assert band_b.timestamp_source == "row column CONTENT JSON lastBindingTime"
    chosen = {d.device.mac: (d.chosen.key, d.chosen.deleted) for d in result.devices}
    assert chosen[fake_mac(life("a"))] == (fake_key(life("a-2024")), False)
    assert chosen[fake_mac(life("b"))] == (fake_key(life("b")), True)


def test_zepp_wal_history(sample: tuple[Path, Expected]) -> None:
    root, _ = sample
    folder = root / "deleted" / "com.huami.watch.hmwatchmanager"
    result = scan([folder])
    keys = deleted_records.WATCH_E_KEYS
    assert found(result) == {
        (keys[0], "sqlite", False, ROW),
        (keys[3], "wal", False, ROW),
        (keys[1], "wal", True, f"frame 1 page 3 {ROW}"),
        (keys[2], "wal", True, f"frame 2 page 3 {ROW}"),
        (keys[4], "wal", True, f"uncommitted frame 4 page 3 {ROW}"),
    }
    times = {c.key: c.timestamp for c in result.candidates}
    assert times[keys[4]] == times[keys[3]]  # the lost write kept the last commit's time
    (device,) = result.devices
    assert (device.chosen.key, device.chosen.method, device.chosen.deleted) == (
        keys[3],
        "wal",
        False,
    )
    # The uncommitted frame may be a torn write: listed, low confidence, never a rival.
    assert {c.key for c in device.alternatives} == {keys[0], keys[1], keys[2]}
    assert {c.key for c in result.candidates if c.confidence == "low"} == {keys[4]}


def test_sample_builds_the_same_bytes(tmp_path: Path) -> None:
    deleted_records.build(tmp_path / "one")
    deleted_records.build(tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    assert len([f for f in files if (tmp_path / "one" / f).is_file()]) == 3
    for rel in files:
        if (tmp_path / "one" / rel).is_file():
            assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()


# --- decoys ----------------------------------------------------------------------------


def test_hex_in_deleted_space_without_a_key_column_is_not_reported(tmp_path: Path) -> None:
    db = Database(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, AUTHKEY TEXT, T INTEGER);"
        "CREATE TABLE LOG (_id INTEGER PRIMARY KEY, DIGEST TEXT, NOTE TEXT);"
    )
    db.connection.execute("PRAGMA secure_delete = 0")
    decoys = [fake_key(f"decoy-{n}") for n in range(300)]
    db.run("INSERT INTO DEVICE VALUES (1, ?, ?, 1)", [(MAC, KEYS[0])])
    db.run(
        "INSERT INTO LOG (DIGEST, NOTE) VALUES (?, ?)",
        [(d, json.dumps({"md5": d, "request": "sync"})) for d in decoys],
    )
    db.run("DELETE FROM LOG WHERE _id % 3 = 0 OR _id > 150")  # freeblocks and freelist pages
    image = db.image()
    assert freelist_pages(image, 4096)  # whole pages were freed
    write(tmp_path / "com.xiaomi.hm.health" / "databases" / "origin_db", image)
    assert {c.key for c in scan([tmp_path]).candidates} == {KEYS[0]}
    # Offered only the key table, the carver reads no LOG record as a DEVICE one (the
    # intact cells of freed pages come back, but with their table unknown).
    only_device = [s for s in shapes_of(image) if s.name == "DEVICE"]
    carved = list(carve_image(image, 4096, only_device))
    assert carved and {c.record.table for c in carved} == {None}


def test_bare_hex_of_an_unknown_table_is_not_reported_but_json_is(tmp_path: Path) -> None:
    json_key = fake_key("dropped-json")
    db = Database("CREATE TABLE KEEP (_id INTEGER PRIMARY KEY, X TEXT);")
    db.connection.execute("PRAGMA secure_delete = 0")
    db.run("CREATE TABLE OLD_DEVICE (_id INTEGER PRIMARY KEY, AUTHKEY TEXT, INFO TEXT)")
    rows = [(KEYS[n % 5], json.dumps({"mac": MAC, "pad": "p" * 900})) for n in range(12)]
    rows.append((None, json.dumps({"macAddress": MAC, "auth_key": json_key, "pad": "p" * 900})))
    db.run("INSERT INTO OLD_DEVICE (AUTHKEY, INFO) VALUES (?, ?)", rows)
    db.run("DROP TABLE OLD_DEVICE")  # its pages go to the freelist; its schema is gone
    write(tmp_path / "com.xiaomi.hm.health" / "databases" / "x.db", db.image())
    result = scan([tmp_path])
    assert {(c.key, c.method, c.deleted) for c in result.candidates} == {(json_key, "carve", True)}
    (candidate,) = result.candidates
    # An intact cell of a freed page: its rowid is known, its table and columns are not.
    match = re.fullmatch(
        r"page (\d+) offset \d+ freelist \(unknown table\) rowid 13 column #3 \$\.auth_key",
        candidate.provenance[-1],
    )
    assert match and int(match[1]) in freelist_pages(db.image(), 4096)
    assert candidate.device.mac == MAC


# --- WAL and journal history ----------------------------------------------------------


def test_stale_and_uncommitted_frames(tmp_path: Path) -> None:
    db = device_db()
    first, second, third = db.image(), rekey(db, KEYS[1], 2021), rekey(db, KEYS[2], 2022)
    current = wal_file(commit_frames(first, second), salts=(7, 8))
    stale = wal_file(commit_frames(second, third), salts=(6, 9))[32:]  # an older generation
    write(tmp_path / "a" / "origin_db", wal_mode(first))
    write(tmp_path / "a" / "origin_db-wal", current + stale)
    assert found(scan([tmp_path / "a"])) == {
        (KEYS[0], "sqlite", False, ROW),
        (KEYS[1], "wal", False, ROW),
        (KEYS[2], "wal", True, f"stale frame 2 page 2 {ROW}"),
    }
    fourth = rekey(db, KEYS[3], 2020)
    torn = bytearray(wal_file(commit_frames(first, second) + commit_frames(third, fourth)))
    torn[-100] ^= 0xFF  # the last commit fails its checksum: never committed
    write(tmp_path / "b" / "origin_db", wal_mode(first))
    write(tmp_path / "b" / "origin_db-wal", bytes(torn))
    assert found(scan([tmp_path / "b"])) == {
        (KEYS[0], "sqlite", False, ROW),
        (KEYS[1], "wal", False, ROW),
        (KEYS[3], "wal", True, f"uncommitted frame 2 page 2 {ROW}"),
    }


def test_superseded_versions_are_reported_once_and_live_ones_never(tmp_path: Path) -> None:
    db = device_db()
    images = [db.image()]
    for n, year in ((1, 2021), (1, 2021), (2, 2022), (1, 2023)):  # a key comes back
        images.append(rekey(db, KEYS[n], year))
    frames = [f for old, new in itertools.pairwise(images) for f in commit_frames(old, new)]
    write(tmp_path / "origin_db", wal_mode(images[0]))
    write(tmp_path / "origin_db-wal", wal_file(frames))
    assert found(scan([tmp_path])) == {
        (KEYS[0], "sqlite", False, ROW),
        (KEYS[1], "wal", False, ROW),  # live again: its older frames add nothing
        (KEYS[2], "wal", True, f"frame 2 page 2 {ROW}"),  # the unchanged commit wrote none
    }


def test_rows_deleted_inside_the_wal(tmp_path: Path) -> None:
    db = device_db()
    before = db.image()
    insert = "INSERT INTO DEVICE VALUES (?, ?, 'Band', ?, ?)"
    db.run(insert, [(2, MAC, KEYS[1], epoch(2021, 1, 1)), (3, MAC, KEYS[2], epoch(2022, 1, 1))])
    middle = db.image()
    db.run("DELETE FROM DEVICE WHERE _id = 2")
    with db.connection:  # one transaction writes a row and deletes it again
        db.connection.execute(insert, (4, MAC, KEYS[3], epoch(2023, 1, 1)))
        db.connection.execute("INSERT INTO FILLER (BODY) VALUES ('a lot of filler text')")
        db.connection.execute("DELETE FROM DEVICE WHERE _id = 4")
    after = db.image()
    frames = commit_frames(before, middle) + commit_frames(middle, after)
    assert [number for number, _, _ in frames] == [2, 2, 3]
    write(tmp_path / "origin_db", wal_mode(before))
    write(tmp_path / "origin_db-wal", wal_file(frames))
    page = after[4096:8192]
    cell = struct.unpack_from(">H", page, 1)[0]  # the first freeblock: row 4's cell
    assert page[cell + 4 : cell + 4 + 1000].find(KEYS[3].encode()) > 0
    assert found(scan([tmp_path])) == {
        (KEYS[0], "sqlite", False, ROW),
        (KEYS[2], "wal", False, "DEVICE rowid 3 column AUTHKEY"),
        (KEYS[1], "wal", True, "frame 1 page 2 DEVICE rowid 2 column AUTHKEY"),
        (KEYS[3], "wal", True, f"frame 2 page 2 offset {cell} freeblock DEVICE column AUTHKEY"),
    }


def test_journal_pre_image_free_space(tmp_path: Path) -> None:
    db = device_db(rows=2)
    db.run("DELETE FROM DEVICE WHERE _id = 1")  # row 1 now only in a freeblock of page 2
    old = db.image()
    cell = struct.unpack_from(">H", old, 4096 + 1)[0]
    db.run("INSERT INTO FILLER (BODY) VALUES (?)", [("z" * 3000,)] * 3)
    db.run("UPDATE DEVICE SET NAME = 'Band 2' WHERE _id = 2")
    db.run("VACUUM")  # the new file no longer has the freeblock
    new = db.image()
    write(tmp_path / "origin_db", new)
    write(tmp_path / "origin_db-journal", hot_journal(old, new))
    result = found(scan([tmp_path]))
    where = f"page 2 offset {cell} freeblock DEVICE column AUTHKEY"
    assert (KEYS[0], "journal", True, where) in result
    assert {k for k, *_ in result} == {KEYS[0], KEYS[1]}


def test_real_sqlite_file_with_deleted_rows(tmp_path: Path) -> None:
    """The real library on a real file (not the corpus writer): a re-paired band."""
    live = tmp_path / "live.db"
    connection = sqlite3.connect(live, isolation_level=None)
    connection.execute("PRAGMA secure_delete = 0")
    connection.executescript(DEVICE_SCHEMA)
    connection.executemany(
        "INSERT INTO DEVICE VALUES (?, ?, 'Band', ?, ?)",
        [(1, MAC, "0x" + KEYS[0], epoch(2022, 1, 1)), (2, fake_mac("other"), KEYS[4], 0)],
    )
    connection.execute("DELETE FROM DEVICE WHERE _id = 1")
    connection.execute(  # bigger than the deleted row: it cannot reuse its space
        "INSERT INTO DEVICE VALUES (3, ?, 'Band 2 (re-paired)', ?, ?)", (MAC, KEYS[5], 0)
    )
    connection.close()
    evidence = tmp_path / "com.xiaomi.hm.health" / "databases" / "origin_db"
    write(evidence, live.read_bytes())
    result = scan([evidence])
    carved = [c for c in result.candidates if c.deleted]
    assert [(c.key, c.method, c.device.mac, c.field) for c in carved] == [
        (KEYS[0], "carve", MAC, "AUTHKEY")
    ]
    assert carved[0].provenance[-1].startswith("page 2 offset ")


# --- damage ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carve_shapes() -> list[TableShape]:
    return shapes_of(device_db(rows=2).image())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    page=st.binary(min_size=512, max_size=4096),
    number=st.integers(1, 5),
    mode=st.sampled_from(["live", "freelist", "version"]),
    owned=st.booleans(),
)
def test_random_page_bytes_never_crash_the_carver(
    carve_shapes: list[TableShape], page: bytes, number: int, mode: str, owned: bool
) -> None:
    owner = carve_shapes[0] if owned else None
    try:
        for carved in carve_page(page, 0, number, len(page), carve_shapes, owner, mode):
            assert 0 <= carved.offset < len(page)
    except ScanError:
        pass


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    noise=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=40),
    hexes=st.lists(st.integers(0, 4000), max_size=6),
)
def test_damaged_deleted_records_never_crash(
    carve_shapes: list[TableShape], noise: list[tuple[int, int]], hexes: list[int]
) -> None:
    """A page with a real deleted record, partly overwritten, with hex runs sprinkled in."""
    db = device_db(rows=3)
    db.run("DELETE FROM DEVICE WHERE _id = 2")
    page = bytearray(db.image()[4096:8192])
    for at, value in noise:
        page[at] = value
    for at in hexes:
        page[at : at + 32] = KEYS[5].encode()
    for mode in ("live", "freelist", "version"):
        for carved in carve_page(bytes(page), 0, 2, 4096, carve_shapes, carve_shapes[0], mode):
            assert carved.record.table is None or carved.record.table.name == "DEVICE"


@pytest.fixture(scope="module")
def deleted_db(sample: tuple[Path, Expected]) -> bytes:
    root, _ = sample
    return (root / "deleted" / "com.xiaomi.hm.health" / "databases" / "origin_db").read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(damage=st.lists(st.tuples(st.integers(0), st.integers(1, 255)), min_size=1, max_size=12))
def test_damaged_database_gives_plain_problems(
    deleted_db: bytes, damage: list[tuple[int, int]]
) -> None:
    data = bytearray(deleted_db)
    for position, flip in damage:
        data[position % len(data)] ^= flip
    artifact = Artifact(chain=("in", "origin_db"), opener=io.BytesIO)
    family = sqlite.Family(db=sqlite.Member(artifact, io.BytesIO(bytes(data))))
    ctx = scan_context()
    try:
        candidates = list(sqlite.extract_family(family, ctx))
    except ScanError as error:
        assert error.kind in ("corrupt", "truncated")
    else:
        assert all(len(c.key) == 32 for c in candidates)
    assert {p.kind for p in ctx.problems} <= {"corrupt", "truncated"}
