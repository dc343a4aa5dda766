"""SQLite families through the pipeline: main file, -wal and -journal views, bad files."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples import app_data, decoys, mi_fitness
from corpus.sqlite_files import Database, commit_frames, hot_journal, wal_file, wal_mode
from scanner.artifacts import Artifact
from scanner.formats.sqlite import extractor as sqlite
from scanner.formats.sqlite.family import role
from scanner.formats.sqlite.rows import BLANKS, ImageReport, read_image
from scanner.model import DeviceInfo, ScanResult
from scanner.pipeline import scan
from tests.helpers import scan_context

HM = "com.xiaomi.hm.health/databases"
DEVICE_SCHEMA = (
    "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT,"
    " BIND_TIME INTEGER);"
    "CREATE TABLE FILLER (_id INTEGER PRIMARY KEY, BODY TEXT);"
)
MAC = fake_mac("unit-band")
OLD, NEW, NEWER = fake_key("unit-old"), fake_key("unit-new"), fake_key("unit-newer")


def found(result: ScanResult, deleted: bool | None = None) -> set[tuple[str, str, tuple[str, ...]]]:
    """(key, method, provenance) of the candidates, all or only (not) deleted ones."""
    return {
        (c.key, c.method, c.provenance)
        for c in result.candidates
        if deleted is None or c.deleted == deleted
    }


def chosen(result: ScanResult) -> dict[str, str]:
    return {d.device.mac or f"key:{d.chosen.key}": d.chosen.key for d in result.devices}


def unit_db(key: str = OLD, filler: int = 0) -> Database:
    db = Database(DEVICE_SCHEMA)
    db.run("INSERT INTO DEVICE VALUES (1, ?, 'Band', ?, ?)", [(MAC, key, epoch(2023, 1, 1))])
    db.run("INSERT INTO FILLER (BODY) VALUES (?)", [("x" * 500,)] * filler)
    return db


def rekey(db: Database, key: str, year: int) -> bytes:
    db.run("UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ? WHERE _id = 1", [(key, epoch(year, 1, 1))])
    return db.image()


# --- the corpus samples -------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    root = tmp_path_factory.mktemp("sqlite-samples")
    expected = [e for module in (app_data, mi_fitness, decoys) for e in module.build(root)]
    return root, {e.input: e for e in expected}


@pytest.mark.parametrize("name", ["app_data", "mi_fitness", "decoys"])
def test_sample_scans_to_its_expectation(
    samples: tuple[Path, dict[str, Expected]], name: str
) -> None:
    root, expected = samples
    result = scan([root / name])
    keys = {c.key for c in result.candidates}
    assert keys == expected[name].keys
    assert chosen(result) == expected[name].devices
    assert not keys & expected[name].absent
    assert result.problems == []


def test_zepp_life_wal_holds_the_newest_key(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    mac_a, mac_b = fake_mac("zepp-life-band-a"), fake_mac("zepp-life-band-b")
    result = scan([root / "app_data" / "com.xiaomi.hm.health"])
    top = str(root / "app_data" / "com.xiaomi.hm.health")
    db = f"databases/origin_db_{app_data.ACCOUNT}"
    row1, row2 = "DEVICE rowid 1 column AUTHKEY", "DEVICE rowid 2 column AUTHKEY"
    assert found(result) == {
        (fake_key("zepp-life-band-a-2023"), "sqlite", (top, db, row1)),
        (fake_key("zepp-life-band-b"), "sqlite", (top, db, row2)),
        (fake_key("zepp-life-band-a-2024"), "wal", (top, db + "-wal", row1)),
    }
    wal = next(c for c in result.candidates if c.method == "wal")
    assert wal.device == DeviceInfo(mac=mac_a, name="Mi Smart Band 6")
    assert wal.timestamp == datetime(2024, 2, 28, 12, tzinfo=UTC)
    assert wal.timestamp_source == "row column LAST_SYNC_TIME"
    assert wal.confidence == "high"
    assert chosen(result) == {mac_a: wal.key, mac_b: fake_key("zepp-life-band-b")}


def test_zepp_hot_journal_gives_the_older_key(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    top = str(root / "app_data")
    db = "com.huami.watch.hmwatchmanager/databases/origin_db"
    result = scan([root / "app_data"])
    zepp = {hit for hit in found(result) if hit[2][1].startswith("com.huami")}
    row1, row2 = "DEVICE rowid 1 column AUTHKEY", "DEVICE rowid 2 column AUTHKEY"
    assert zepp == {
        (fake_key("zepp-watch-d"), "sqlite", (top, db, row1)),
        (fake_key("zepp-watch-c-2024"), "sqlite", (top, db, row2)),
        (fake_key("zepp-watch-c-2023"), "journal", (top, db + "-journal", row2)),
    }
    journal = next(c for c in result.candidates if c.method == "journal")
    assert (journal.timestamp, journal.timestamp_source) == (
        datetime(2023, 1, 15, 12, tzinfo=UTC),
        "row column LAST_BIND_TIME",
    )


def test_mi_fitness_keys_inside_json(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    result = scan([root / "mi_fitness"])
    where = {
        c.key: (c.field, c.provenance[-1], c.device.model, c.timestamp_source)
        for c in result.candidates
    }
    watch, band = "hmpace.watch.v7", "miwear.watch.m66"
    in_json, column = "row column detail JSON bindTime", "row column bind_time"
    detail = "device rowid {} column detail $.{}".format
    assert where == {
        fake_key("mi-fitness-watch-1-2022"): ("auth_key", detail(1, "auth_key"), watch, in_json),
        fake_key("mi-fitness-watch-1-2023"): ("auth_key", detail(2, "auth_key"), watch, in_json),
        fake_key("mi-fitness-band-2"): ("encrypt_key", detail(3, "encrypt_key"), band, column),
    }


def test_mi_home_tokens_are_dropped_anywhere(
    samples: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    root, expected = samples
    miio = root / "decoys/com.xiaomi.smarthome/databases/miio2.db"
    # The rows are read and the tokens found; it is make_candidate's rule that drops them.
    findings = list(read_image(miio.read_bytes(), ImageReport()))
    assert {(f.field, f.where.split(" column ")[1]) for f in findings} == {
        ("token", "token"),
        ("token", "extra $.token"),
    }
    assert len(findings) == 4 and {f.key for f in findings} <= expected["decoys"].absent
    result = scan([root / "decoys"])
    assert (result.candidates, result.devices, list(result.device_hints)) == ([], [], [])
    # Moved out of Mi Home's folder: no wearable app, no wearable model, still no key.
    shutil.copy(miio, tmp_path / "miio2.db")
    assert scan([tmp_path / "miio2.db"]).candidates == []


def test_corpus_builds_the_same_bytes(tmp_path: Path) -> None:
    for module in (app_data, mi_fitness, decoys):
        module.build(tmp_path / "one")
        module.build(tmp_path / "two")
    files = sorted(
        p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file()
    )
    assert len(files) == 8
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()


# --- bad databases ------------------------------------------------------------------


def test_bad_databases_are_problems_and_their_neighbours_still_scan(tmp_path: Path) -> None:
    folder = tmp_path / "com.xiaomi.hm.health" / "databases"
    image = unit_db(filler=40).image()
    assert len(image) > 4 * 4096
    write(folder / "a_truncated_db", image[: 3 * 4096 + 1000])  # DEVICE rows on page 2 survive
    write(folder / "b_bad_header", image[:16] + (1000).to_bytes(2, "big") + image[18:])
    write(folder / "c_tiny", image[:60])
    write(folder / "d_good", unit_db(NEW).image())
    result = scan([tmp_path])
    problems = {(p.kind, p.provenance[-1]) for p in result.problems}
    assert problems == {
        ("truncated", "com.xiaomi.hm.health/databases/a_truncated_db"),
        ("corrupt", "com.xiaomi.hm.health/databases/b_bad_header"),
        ("truncated", "com.xiaomi.hm.health/databases/c_tiny"),
    }
    messages = {p.provenance[-1].rsplit("/", 1)[1]: p.message for p in result.problems}
    assert (
        messages["b_bad_header"]
        == "the header gives a page size of 1000, which SQLite never writes"
    )
    assert messages["a_truncated_db"] == (
        f"the database ends early: 13,288 of {len(image):,} bytes;"
        " the missing part was read as empty pages"
    )
    assert {(c.key, c.provenance[-2].rsplit("/", 1)[1]) for c in result.candidates} == {
        (OLD, "a_truncated_db"),
        (NEW, "d_good"),
    }


def test_tiny_file_with_the_magic_is_truncated(tmp_path: Path) -> None:
    write(tmp_path / "x.db", unit_db().image()[:60])
    result = scan([tmp_path / "x.db"])
    assert [(p.kind, p.message) for p in result.problems] == [
        ("truncated", "only 60 bytes: shorter than the 100-byte SQLite header")
    ]


def test_evidence_is_never_written(tmp_path: Path) -> None:
    db = unit_db()
    old = db.image()
    write(tmp_path / "origin_db", wal_mode(old))
    write(tmp_path / "origin_db-wal", wal_file(commit_frames(old, rekey(db, NEW, 2024))))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = scan([tmp_path])  # no -shm, no checkpoint, no journal beside the evidence
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert {(c.key, c.method) for c in result.candidates} == {(OLD, "sqlite"), (NEW, "wal")}


# --- WAL views ----------------------------------------------------------------------


def test_wal_uses_only_the_valid_prefix(tmp_path: Path) -> None:
    db = unit_db()
    first, second, third = db.image(), rekey(db, NEW, 2024), rekey(db, NEWER, 2025)
    good = commit_frames(first, second)
    bad = commit_frames(second, third)
    wal = bytearray(wal_file(good + bad))
    wal[-100] ^= 0xFF  # the last commit's page no longer matches its checksum
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", bytes(wal))
    result = scan([tmp_path])
    assert found(result, deleted=False) == {
        (OLD, "sqlite", (str(tmp_path), "origin_db", "DEVICE rowid 1 column AUTHKEY")),
        (NEW, "wal", (str(tmp_path), "origin_db-wal", "DEVICE rowid 1 column AUTHKEY")),
    }
    # The frame after the damage is not committed state: recovered as deleted history only.
    assert found(result, deleted=True) == {
        (
            NEWER,
            "wal",
            (
                str(tmp_path),
                "origin_db-wal",
                "uncommitted frame 2 page 2 DEVICE rowid 1 column AUTHKEY",
            ),
        )
    }
    assert result.problems == []


def test_wal_frames_after_the_last_commit_are_history_not_state(tmp_path: Path) -> None:
    db = unit_db()
    first, second = db.image(), rekey(db, NEW, 2024)
    uncommitted = [(n, 0, page) for n, _, page in commit_frames(first, second)]
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", wal_file(uncommitted))
    result = scan([tmp_path])
    assert {(c.key, c.method) for c in result.candidates if not c.deleted} == {(OLD, "sqlite")}
    assert found(result, deleted=True) == {
        (
            NEW,
            "wal",
            (
                str(tmp_path),
                "origin_db-wal",
                "uncommitted frame 1 page 2 DEVICE rowid 1 column AUTHKEY",
            ),
        )
    }


def test_wal_frames_with_other_salts_are_history_not_state(tmp_path: Path) -> None:
    db = unit_db()
    first, second, third = db.image(), rekey(db, NEW, 2024), rekey(db, NEWER, 2025)
    current = wal_file(commit_frames(first, second), salts=(7, 8))
    stale = wal_file(commit_frames(second, third), salts=(6, 9))[32:]  # an older generation
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", current + stale)
    result = scan([tmp_path])
    assert {(c.key, c.method) for c in result.candidates if not c.deleted} == {
        (OLD, "sqlite"),
        (NEW, "wal"),
    }
    assert found(result, deleted=True) == {
        (
            NEWER,
            "wal",
            (str(tmp_path), "origin_db-wal", "stale frame 2 page 2 DEVICE rowid 1 column AUTHKEY"),
        )
    }


@pytest.mark.parametrize("big_endian", [False, True])
def test_both_checksum_orders_are_read(tmp_path: Path, big_endian: bool) -> None:
    db = unit_db()
    first, second = db.image(), rekey(db, NEW, 2024)
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", wal_file(commit_frames(first, second), big_endian=big_endian))
    assert {(c.key, c.method) for c in scan([tmp_path]).candidates} == {
        (OLD, "sqlite"),
        (NEW, "wal"),
    }
    # The real SQLite library agrees the corpus writer's WAL is valid (on a copy).
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(tmp_path / "origin_db", live / "db")
    shutil.copy(tmp_path / "origin_db-wal", live / "db-wal")
    with sqlite3.connect(live / "db") as connection:
        assert connection.execute("SELECT AUTHKEY FROM DEVICE").fetchone() == (NEW,)
    connection.close()


def test_damaged_wal_header_is_a_problem_on_the_wal(tmp_path: Path) -> None:
    db = unit_db()
    first, second = db.image(), rekey(db, NEW, 2024)
    wal = bytearray(wal_file(commit_frames(first, second)))
    wal[12] ^= 1  # checkpoint sequence: covered by the header checksum
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", bytes(wal))
    result = scan([tmp_path])
    assert {(c.key, c.method) for c in result.candidates} == {(OLD, "sqlite")}
    assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
        (
            "corrupt",
            (str(tmp_path), "origin_db-wal"),
            "the WAL header fails its checksum, so SQLite would ignore every frame",
        )
    ]


def test_wal_of_another_page_size_is_a_problem(tmp_path: Path) -> None:
    first = unit_db().image()
    small = Database(DEVICE_SCHEMA, page_size=1024)
    write(tmp_path / "origin_db", wal_mode(first))
    write(tmp_path / "origin_db-wal", wal_file(commit_frames(b"", small.image(), 1024), 1024))
    result = scan([tmp_path])
    assert [(p.kind, p.provenance[-1]) for p in result.problems] == [("corrupt", "origin_db-wal")]
    assert {c.key for c in result.candidates} == {OLD}


def test_wal_without_its_database(tmp_path: Path) -> None:
    db = unit_db()
    first, second = db.image(), rekey(db, NEW, 2024)
    write(tmp_path / "whole" / "origin_db-wal", wal_file(commit_frames(b"", second)))
    write(tmp_path / "partial" / "origin_db-wal", wal_file(commit_frames(first, second)))
    whole, partial = scan([tmp_path / "whole"]), scan([tmp_path / "partial"])
    assert found(whole) == {
        (NEW, "wal", (str(tmp_path / "whole"), "origin_db-wal", "DEVICE rowid 1 column AUTHKEY"))
    }
    assert (partial.candidates, partial.problems) == ([], [])  # no page 1: skipped quietly


def test_real_sqlite_wal(tmp_path: Path) -> None:
    live, evidence = tmp_path / "live", tmp_path / "evidence" / HM
    live.mkdir()
    evidence.mkdir(parents=True)
    connection = sqlite3.connect(live / "origin_db", isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.executescript(DEVICE_SCHEMA)
    connection.execute(
        "INSERT INTO DEVICE VALUES (1, ?, 'Band', ?, ?)", (MAC, OLD, epoch(2023, 1, 1))
    )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ?", (NEW, epoch(2024, 1, 1)))
    connection.execute("INSERT INTO DEVICE VALUES (2, ?, 'Watch', ?, ?)", (fake_mac("w"), NEWER, 0))
    for name in ("origin_db", "origin_db-wal"):  # copied while the app still has it open
        shutil.copy(live / name, evidence / name)
    connection.close()
    top = str(tmp_path / "evidence")
    assert found(scan([tmp_path / "evidence"])) == {
        (OLD, "sqlite", (top, f"{HM}/origin_db", "DEVICE rowid 1 column AUTHKEY")),
        (NEW, "wal", (top, f"{HM}/origin_db-wal", "DEVICE rowid 1 column AUTHKEY")),
        (NEWER, "wal", (top, f"{HM}/origin_db-wal", "DEVICE rowid 2 column AUTHKEY")),
    }


# --- journal views ------------------------------------------------------------------


def test_real_sqlite_hot_journal(tmp_path: Path) -> None:
    live, evidence = tmp_path / "live", tmp_path / "evidence"
    live.mkdir()
    evidence.mkdir()
    connection = sqlite3.connect(live / "origin_db", isolation_level=None)
    connection.executescript(DEVICE_SCHEMA)
    connection.execute(
        "INSERT INTO DEVICE VALUES (1, ?, 'Band', ?, ?)", (MAC, OLD, epoch(2023, 1, 1))
    )
    connection.executemany("INSERT INTO FILLER (BODY) VALUES (?)", [("f" * 300,)] * 200)
    connection.execute("PRAGMA cache_size = 10")  # small: the transaction spills to the file
    connection.execute("BEGIN")
    connection.execute("UPDATE DEVICE SET AUTHKEY = ?", (NEW,))
    connection.executemany("INSERT INTO FILLER (BODY) VALUES (?)", [("g" * 300,)] * 400)
    for name in ("origin_db", "origin_db-journal"):  # the "crash": files as they are now
        shutil.copy(live / name, evidence / name)
    connection.execute("ROLLBACK")
    connection.close()
    assert found(scan([evidence])) == {
        (NEW, "sqlite", (str(evidence), "origin_db", "DEVICE rowid 1 column AUTHKEY")),
        (OLD, "journal", (str(evidence), "origin_db-journal", "DEVICE rowid 1 column AUTHKEY")),
    }


def test_journal_without_its_database(tmp_path: Path) -> None:
    image = unit_db().image()
    write(tmp_path / "origin_db-journal", hot_journal(image, b"\x00" * len(image)))
    assert found(scan([tmp_path])) == {
        (OLD, "journal", (str(tmp_path), "origin_db-journal", "DEVICE rowid 1 column AUTHKEY"))
    }


# --- rows ---------------------------------------------------------------------------


def test_generic_rows(tmp_path: Path) -> None:
    blob_key, nested, row_key = fake_key("blob"), fake_key("nested"), fake_key("no-rowid")
    db = Database(
        "CREATE TABLE keys (id INTEGER PRIMARY KEY, mac TEXT, authKey BLOB, extra TEXT);"
        "CREATE TABLE kv (k TEXT PRIMARY KEY, encryptKey TEXT) WITHOUT ROWID;"
        "CREATE TABLE GB (NAME TEXT, IDENTIFIER TEXT, MODEL TEXT, ALIAS TEXT);"
    )
    inner = json.dumps({"huamiAuthKey": "0x" + nested})  # JSON inside a JSON string
    db.run(
        "INSERT INTO keys VALUES (7, ?, ?, ?)",
        [(MAC, bytes.fromhex(blob_key), json.dumps({"info": inner}))],
    )
    db.run("INSERT INTO kv VALUES ('a', ?)", [(row_key.upper(),)])
    db.run("INSERT INTO GB VALUES ('Amazfit Bip', ?, '', NULL)", [(fake_mac("gb"),)])
    db.run("INSERT INTO GB VALUES ('Mi Band 2', 'not a mac', '', NULL)")
    write(tmp_path / "nodomain.freeyourgadget.gadgetbridge" / "x.db", db.image())
    result = scan([tmp_path])
    assert {(c.key, c.field, c.provenance[-1], c.device.mac) for c in result.candidates} == {
        (blob_key, "authKey", "keys rowid 7 column authKey", MAC),
        (nested, "huamiAuthKey", "keys rowid 7 column extra $.info.huamiAuthKey", MAC),
        (row_key, "encryptKey", "kv row 1 column encryptKey", None),
    }
    assert list(result.device_hints) == [DeviceInfo(mac=fake_mac("gb"), name="Amazfit Bip")]


def test_spooled_member_and_roles() -> None:
    image = unit_db().image()
    artifact = Artifact(chain=("in.tar", "origin_db"), opener=io.BytesIO, reopenable=False)
    family = sqlite.Family(db=sqlite.Member(artifact, io.BytesIO(image)))
    keys = [c.key for c in sqlite.extract_family(family, scan_context())]
    assert keys == [OLD]
    wal = wal_file([(1, 1, image[:4096])])
    assert [role(h) for h in (image, wal, hot_journal(image, b""), b"hello")] == [
        "db", "wal", "journal", None,
    ]  # fmt: skip
    assert role(wal[:4] + (3007001).to_bytes(4, "big") + wal[8:]) is None
    assert role(wal[:8] + (1000).to_bytes(4, "big") + wal[12:]) is None


def test_the_row_filter_drops_no_row_python_reads(tmp_path: Path) -> None:
    """SQL chooses the rows Python reads (``rows._where``): a MAC or JSON text behind any
    blank that ``str.strip`` takes away is still read."""
    tabbed, wide = fake_mac("tabbed"), fake_mac("wide").replace(":", "-").lower()
    key = fake_key("behind blanks")
    db = Database("CREATE TABLE seen (id INTEGER PRIMARY KEY, address TEXT, name TEXT, note TEXT)")
    rows = [
        (f"\t{tabbed}\n", "Band 7", "expired"),
        (f"\u3000{wide}\u2028", "Watch 4", "[]"),
        ("00:11", "Not a device", "\u3000\u2029" + json.dumps({"authKey": key})),
    ]
    db.run("INSERT INTO seen (address, name, note) VALUES (?, ?, ?)", rows)
    write(tmp_path / "x.db", db.image())
    result = scan([tmp_path])
    assert [(c.key, c.provenance[-1]) for c in result.candidates] == [
        (key, "seen rowid 3 column note $.authKey")
    ]
    assert list(result.device_hints) == [
        DeviceInfo(mac=tabbed, name="Band 7"),
        DeviceInfo(mac=wide.replace("-", ":").upper(), name="Watch 4"),
    ]


def test_sql_blanks_are_what_python_strips() -> None:
    every = {chr(point) for point in range(0x110000) if chr(point).isspace()}
    assert set(BLANKS) == every


def test_a_table_named_by_a_blob_in_a_damaged_schema(tmp_path: Path) -> None:
    """SQLite knows a table by its statement, and reads it when the name beside it was
    damaged into a blob (any other kind of name makes it refuse the schema)."""
    named, other = fake_key("blob-named"), fake_key("other table")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE device (id INTEGER PRIMARY KEY, auth_key TEXT)")
    db.execute("CREATE TABLE other (id INTEGER PRIMARY KEY, auth_key TEXT)")
    db.executemany("INSERT INTO device VALUES (1, ?)", [(named,)])
    db.executemany("INSERT INTO other VALUES (1, ?)", [(other,)])
    db.commit()
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET name = CAST(name AS BLOB) WHERE name = 'device'")
    db.commit()
    write(tmp_path / "x.db", db.serialize())
    db.close()
    result = scan([tmp_path])
    assert {(c.key, c.provenance[-1]) for c in result.candidates} == {
        (named, "device rowid 1 column auth_key"),
        (other, "other rowid 1 column auth_key"),
    }
    assert result.problems == []
