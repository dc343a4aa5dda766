"""SQLite files as users hand them over: a database given on its own (read with the
companions beside it, as sqlite3 would), and PERSIST-mode journals (header zeroed)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples import handed_over
from corpus.sqlite_files import (
    Database,
    commit_frames,
    hot_journal,
    next_change,
    persisted_journal,
    wal_file,
    wal_mode,
)
from scanner.formats.sqlite.family import role
from scanner.model import ScanResult
from scanner.pipeline import scan

SCHEMA = "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, AUTHKEY TEXT, BIND_TIME INTEGER);"
MAC = fake_mac("handover-unit")
OLD, NEW = fake_key("handover-old"), fake_key("handover-new")
ROW = "DEVICE rowid 1 column AUTHKEY"


def found(result: ScanResult) -> set[tuple[str, str, bool, tuple[str, ...]]]:
    return {(c.key, c.method, c.deleted, c.provenance) for c in result.candidates}


def chosen(result: ScanResult) -> dict[str, str]:
    return {d.device.mac or f"key:{d.chosen.key}": d.chosen.key for d in result.devices}


def kinds_seen(path: Path) -> dict[str, str]:
    seen: dict[str, str] = {}
    scan([path], on_artifact=lambda a, kind: seen.update({a.chain[-1]: kind}), extract=False)
    return seen


def states(page_size: int = 4096) -> tuple[bytes, bytes]:
    """The database before and after the band was re-keyed (a rollback-mode commit)."""
    db = Database(SCHEMA, page_size)
    db.run("INSERT INTO DEVICE VALUES (1, ?, ?, ?)", [(MAC, OLD, epoch(2016, 5, 1))])
    before = db.image()
    db.run(
        "UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ? WHERE _id = 1", [(NEW, epoch(2016, 10, 1))]
    )
    after = next_change(db.image())
    db.close()
    return before, after


# --- a database given on its own -------------------------------------------------------


def test_database_given_alone_is_read_with_its_wal(tmp_path: Path) -> None:
    db = Database(SCHEMA)
    db.run("INSERT INTO DEVICE VALUES (1, ?, ?, ?)", [(MAC, OLD, epoch(2023, 1, 1))])
    before = db.image()
    db.run("UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ? WHERE _id = 1", [(NEW, epoch(2024, 1, 1))])
    after = db.image()
    db.close()
    main = write(tmp_path / "origin_db_x", wal_mode(before))
    wal = write(tmp_path / "origin_db_x-wal", wal_file(commit_frames(before, after)))
    write(tmp_path / "origin_db_x-shm", bytes(32768))
    result = scan([main])
    assert found(result) == {
        (OLD, "sqlite", False, (str(main), ROW)),
        (NEW, "wal", False, (str(wal), ROW)),
    }
    assert chosen(result) == {MAC: NEW}
    assert result.problems == []
    assert kinds_seen(main) == {str(main): "sqlite db", str(wal): "sqlite wal"}


def test_database_given_alone_is_read_with_its_hot_journal(tmp_path: Path) -> None:
    before, after = states()
    main = write(tmp_path / "origin_db", after)
    journal = write(tmp_path / "origin_db-journal", hot_journal(before, after))
    result = scan([main])
    assert found(result) == {
        (NEW, "sqlite", False, (str(main), ROW)),
        (OLD, "journal", False, (str(journal), ROW)),
    }
    assert result.problems == []


def test_companions_are_read_only_beside_a_database(tmp_path: Path) -> None:
    """A text file given alone does not pull in files named like companions."""
    note = write(tmp_path / "notes.txt", f"authKey={OLD}\n")
    write(tmp_path / "notes.txt-wal", f"authKey={NEW}\n")
    assert {c.key for c in scan([note]).candidates} == {OLD}


def test_sample_database_alone(tmp_path: Path) -> None:
    (sample,) = [e for e in handed_over.build(tmp_path) if "zepp_life" in e.input]
    result = scan([tmp_path / sample.input])
    assert {c.key for c in result.candidates} == sample.keys
    assert chosen(result) == sample.devices
    assert result.problems == []


# --- PERSIST-mode journals ---------------------------------------------------------------


def test_persisted_journal_pages_are_history(tmp_path: Path) -> None:
    before, after = states()
    main = write(tmp_path / "origin_db", after)
    journal = write(tmp_path / "origin_db-journal", persisted_journal(before, after))
    result = scan([tmp_path])
    top = str(tmp_path)
    assert found(result) == {
        (NEW, "sqlite", False, (top, "origin_db", ROW)),
        (OLD, "journal", True, (top, "origin_db-journal", ROW)),
    }
    old = next(c for c in result.candidates if c.key == OLD)
    assert (old.timestamp, old.timestamp_source) == (
        datetime(2016, 5, 1, 12, tzinfo=UTC),
        "row column BIND_TIME",
    )
    assert chosen(result) == {MAC: NEW}
    assert result.problems == []
    assert kinds_seen(tmp_path) == {"origin_db": "sqlite db", "origin_db-journal": "sqlite journal"}
    assert main.exists() and journal.exists()


def test_persisted_journal_alone(tmp_path: Path) -> None:
    before, after = states(page_size=1024)
    write(tmp_path / "origin_db-journal", persisted_journal(before, after, page_size=1024))
    result = scan([tmp_path])
    assert found(result) == {(OLD, "journal", True, (str(tmp_path), "origin_db-journal", ROW))}
    assert result.problems == []


def test_persisted_journal_written_by_sqlite(tmp_path: Path) -> None:
    """The real library's PERSIST journal (random nonce, its own record order)."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    connection = sqlite3.connect(evidence / "origin_db")
    assert connection.execute("PRAGMA journal_mode = PERSIST").fetchone() == ("persist",)
    connection.execute(SCHEMA)
    connection.execute("INSERT INTO DEVICE VALUES (1, ?, ?, ?)", (MAC, OLD, epoch(2016, 5, 1)))
    connection.commit()
    connection.execute("UPDATE DEVICE SET AUTHKEY = ? WHERE _id = 1", (NEW,))
    connection.commit()
    connection.close()
    assert (evidence / "origin_db-journal").read_bytes()[:28] == bytes(28)
    result = scan([evidence])
    top = str(evidence)
    assert found(result) == {
        (NEW, "sqlite", False, (top, "origin_db", ROW)),
        (OLD, "journal", True, (top, "origin_db-journal", ROW)),
    }
    assert result.problems == []


def test_zeroed_binary_is_not_a_journal() -> None:
    before, after = states()
    journal = persisted_journal(before, after)
    assert role(journal) == "journal"
    assert role(bytes(4096)) is None
    assert role(bytes(512) + b"\x00\x00\x00\x02" + b"\x42" * 600) is None  # no b-tree page
    assert role(bytes(300) + journal[512:]) is None  # not on a sector boundary


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    root = tmp_path_factory.mktemp("handed-over")
    return root, {e.input: e for e in handed_over.build(root)}


def test_sample_mi_fit_2016_folder(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, expected = samples
    name = "handed_over/mi_fit_2016/com.xiaomi.hm.health/databases"
    result = scan([root / name])
    top = str(root / name)
    assert found(result) == {
        (fake_key("mi-fit-2016-band-repaired"), "sqlite", False,
         (top, "origin_db_1460000321", "DEVICE rowid 1 column AUTHKEY")),
        (fake_key("mi-fit-2016-band-first"), "journal", True,
         (top, "origin_db_1460000321-journal", "DEVICE rowid 1 column AUTHKEY")),
    }  # fmt: skip
    assert chosen(result) == expected[name].devices
    assert result.problems == []
    assert kinds_seen(root / name)["origin_db_1460000321-journal"] == "sqlite journal"
