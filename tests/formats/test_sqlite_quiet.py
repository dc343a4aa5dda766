"""A database alone whose bytes can give the carver no key is not carved (worth.carvable).

Every corpus input, every real sample and bit-flipped / cut copies of every corpus file
that holds SQLite bytes are scanned with the skip on and forced off: the candidates,
devices and problems must be the same, in the same order. Hand-made databases put a key
where only the carver finds it (deleted JSON in a table without key columns, a deleted
key column), so the comparison can fail.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from corpus.common import BASE_EPOCH, Expected, fake_key, write
from corpus.sqlite_files import Database
from scanner.context import ScanOptions
from scanner.formats.sqlite import deleted, worth
from scanner.formats.sqlite.layout import JOURNAL_MAGIC, SQLITE_MAGIC
from scanner.model import ScanResult
from scanner.pipeline import scan
from tools import mutate

KEY = fake_key("quiet-sqlite")
FILLER = "heart sync band token expired keyboard " * 3


def _forced_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worth, "carvable", lambda in_image, table_sql: True)


def _facts(result: ScanResult) -> tuple[list[object], ...]:
    return list(result.candidates), list(result.devices), list(result.problems)


def _both_ways(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> ScanResult:
    passwords = [line for p in paths for line in _passwords(p)]
    with_skip = scan(paths, ScanOptions(passwords=passwords))
    with monkeypatch.context() as patched:
        _forced_off(patched)
        without = scan(paths, ScanOptions(passwords=passwords))
    assert _facts(with_skip) == _facts(without)
    return with_skip


def _passwords(root: Path) -> list[str]:
    listed = root / "passwords.txt"
    return listed.read_text().split() if listed.is_file() else []


def _carved(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the database images the carver is asked to read."""
    calls: list[int] = []
    original = deleted.carve_image

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(deleted, "carve_image", counting)
    return calls


def _deleted_row(path: Path, schema: str, row: tuple[object, ...], encoding: str = "") -> None:
    """A database whose only copy of ``row`` (in its first table) is deleted space."""
    connection = sqlite3.connect(":memory:")
    if encoding:
        connection.execute(f"PRAGMA encoding = '{encoding}'")
    connection.execute("PRAGMA secure_delete = 0")
    connection.execute("PRAGMA page_size = 4096")
    connection.executescript(schema)
    table = schema.split()[2]
    holes = ", ".join("?" * len(row))
    connection.executemany(f"INSERT INTO {table} VALUES ({holes})", [row, (2, *row[1:-1], "x")])
    connection.execute(f"DELETE FROM {table} WHERE rowid = 1")
    connection.commit()
    write(path, connection.serialize())
    connection.close()


EVENTS = "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, params TEXT);"


def test_a_key_only_in_deleted_json_is_carved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key column, no live name: the quoted name in the freed cell keeps it carvable."""
    params = json.dumps({"band": {"auth_key": KEY}})
    _deleted_row(tmp_path / "events.db", EVENTS, (1, FILLER, params))
    result = _both_ways([tmp_path / "events.db"], monkeypatch)
    assert [(c.key, c.method, c.deleted) for c in result.candidates] == [(KEY, "carve", True)]


def test_a_deleted_key_column_is_carved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = "CREATE TABLE device (id INTEGER PRIMARY KEY, name TEXT, authKey TEXT);"
    _deleted_row(tmp_path / "device.db", schema, (1, "Band 8", KEY))
    result = _both_ways([tmp_path / "device.db"], monkeypatch)
    assert [(c.key, c.method, c.deleted) for c in result.candidates] == [(KEY, "carve", True)]


def test_a_database_without_names_is_not_carved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted hex under no key field: nothing to carve, and the carver is not asked."""
    _deleted_row(tmp_path / "events.db", EVENTS, (1, FILLER, json.dumps({"md5": KEY})))
    calls = _carved(monkeypatch)
    result = _both_ways([tmp_path / "events.db"], monkeypatch)
    assert result.candidates == [] and result.problems == []
    assert len(calls) == 1  # the scan forced off only


def test_with_a_companion_the_database_is_carved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WAL's schema may be what the carver reads the main file with: no skip."""
    db = Database(EVENTS)
    db.run("INSERT INTO events VALUES (1, ?, '{}')", [(FILLER,)])
    write(tmp_path / "events.db", db.image())
    write(tmp_path / "events.db-journal", JOURNAL_MAGIC + bytes(508))
    calls = _carved(monkeypatch)
    _both_ways([tmp_path], monkeypatch)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("params", "encoding"),
    [
        ('{"\\u0061uth_key": "' + KEY + '"}', ""),  # a name letter escaped
        ('{"auth\u212aey": "' + KEY + '"}', ""),  # the Kelvin sign lowercases to k
        (json.dumps({"authKey": KEY}), "UTF-16le"),  # not carved at all
    ],
)
def test_spellings_the_byte_search_cannot_rule_out_are_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: str, encoding: str
) -> None:
    _deleted_row(tmp_path / "events.db", EVENTS, (1, FILLER, params), encoding)
    image = (tmp_path / "events.db").read_bytes()
    assert worth.carvable(worth.names_in_text(image), [EVENTS]) is (encoding == "")
    _both_ways([tmp_path / "events.db"], monkeypatch)


def test_every_corpus_input_gives_the_same_results(
    corpus: tuple[Path, dict[str, Expected]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, expected = corpus
    calls = _carved(monkeypatch)
    result = _both_ways(sorted(root / name for name in expected), monkeypatch)
    assert len(result.candidates) > 20  # the corpus is full of keys: the scan did read it
    assert calls  # and some of its databases were carved


def test_every_real_sample_gives_the_same_results(
    real_samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _both_ways([real_samples], monkeypatch)


def _scan_damaged(
    seed: mutate.Seed, data: bytes, workdir: Path, passwords: list[str]
) -> ScanResult:
    """``mutate.scan_damaged`` with fixed file times: both scans see the same mtimes."""
    shutil.rmtree(workdir, ignore_errors=True)
    path = workdir / seed.name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    for name, companion in seed.companions:
        (path.parent / name).write_bytes(companion)
    for written in path.parent.iterdir():
        os.utime(written, (BASE_EPOCH, BASE_EPOCH))
    target = path.parent if seed.companions else path
    return scan([target], ScanOptions(passwords=passwords))


def _quiet_databases() -> list[mutate.Seed]:
    """Databases the skip applies to: no key column, no quoted name; deleted rows, a
    freelist page, an index, a name column (its table is read for hints), several pages."""
    seeds = []
    for number, schema in enumerate(
        [
            EVENTS + "CREATE INDEX by_kind ON events (kind);",
            "CREATE TABLE contacts (_id INTEGER PRIMARY KEY, name TEXT, phone TEXT);",
        ]
    ):
        db = Database(schema, page_size=1024)
        db.connection.execute("PRAGMA secure_delete = 0")
        table = schema.split()[2]
        db.run(f"INSERT INTO {table} VALUES (?, ?, ?)", [(n, FILLER, str(n)) for n in range(60)])
        db.run(f"DELETE FROM {table} WHERE _rowid_ % 3 = 0")
        image = db.image()
        assert not worth.carvable(worth.names_in_text(image), [schema])
        seeds.append(mutate.Seed(f"quiet-{number}", f"quiet-{number}.db", image))
    return seeds


def test_every_damaged_database_gives_the_same_results(
    corpus: tuple[Path, dict[str, Expected]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Bit flips and cuts of every corpus file that holds a database's bytes (plain files
    and uncompressed archives) and of databases the skip applies to: damaged schemas,
    pages, counts and names, each with the problems it gives."""
    root, _ = corpus
    passwords = _passwords(root)
    calls = _carved(monkeypatch)
    compared, problems = 0, 0
    for seed in [*mutate.seeds_below(root), *_quiet_databases()]:
        if SQLITE_MAGIC not in seed.data:
            continue
        rng = random.Random(f"quiet-sqlite:{seed.label}")
        offsets = mutate.cut_offsets(len(seed.data), rng, 6)
        flips = 40 if seed.label.startswith("quiet-") else 12
        for _, data in (*mutate.flips(seed.data, rng, flips), *mutate.cuts(seed.data, offsets)):
            with_skip = _scan_damaged(seed, data, tmp_path, passwords)
            with monkeypatch.context() as patched:
                _forced_off(patched)
                without = _scan_damaged(seed, data, tmp_path, passwords)
            assert _facts(with_skip) == _facts(without), seed.label
            compared += 1
            problems += bool(with_skip.problems)
    assert compared > 300 and problems > 50
    assert len(calls) < 2 * compared - 50  # the skip was taken, many times
