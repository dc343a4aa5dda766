"""Small files in worker processes (scanner/pool.py, issue 17 item 3): the --json is the
same with any --jobs, a worker that dies costs only the file that kills it (an internal
problem), and no worker outlives the scan, Ctrl-C included."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import Expected, fake_key, fake_mac
from corpus.sqlite_files import Database
from scanner import pool
from scanner.artifacts import Artifact
from scanner.cli import app
from scanner.context import POOL_AFTER, ScanOptions
from scanner.formats.sqlite.layout import JOURNAL_MAGIC
from scanner.pipeline import extract_batch, scan
from scanner.pool import Found, Job
from tests.helpers import laid_out, tar_of

Corpus = tuple[Path, dict[str, Expected]]
EVERY_FILE = {"KEYSCAN_POOL_AFTER": "0"}  # every small text file goes to a worker


def _count_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    submit = pool.ArtifactPool.submit

    def counted(self: pool.ArtifactPool, extractor: str, artifact: Artifact, data: bytes):  # type: ignore[no-untyped-def]
        sent.append(artifact.chain[-1])
        return submit(self, extractor, artifact, data)

    monkeypatch.setattr(pool.ArtifactPool, "submit", counted)
    return sent


def test_the_corpus_json_is_byte_identical_with_1_2_and_4_jobs(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = corpus
    sent = _count_sent(monkeypatch)
    args = ["scan", "--json", "--password-file", str(root / "passwords.txt"), str(root)]
    outputs = {}
    for jobs in (1, 2, 4):
        result = CliRunner().invoke(app, [*args, "--jobs", str(jobs)], env=EVERY_FILE)
        outputs[jobs] = result.stdout
        if jobs == 1:
            assert sent == []  # --jobs 1: no pool at all
    assert outputs[2] == outputs[1] and outputs[4] == outputs[1]
    assert len(sent) >= 2 * 60  # the corpus's JSON, XML and log files went to workers
    assert len(json.loads(outputs[1])["candidates"]) > 50


def _members(count: int) -> list[tuple[str, bytes]]:
    members = []
    for n in range(count):
        doc = {"macAddress": fake_mac(f"pool-{n}"), "authKey": fake_key(f"pool-{n}")}
        members.append((f"data/app{n}/prefs-{n}.json", json.dumps(doc).encode()))
        members.append((f"data/app{n}/run-{n}.log", f"authKey={fake_key(f'log-{n}')}\n".encode()))
    return members


def _json_of(path: Path, jobs: int, options: ScanOptions | None = None, **kwargs: object) -> str:
    from io import StringIO

    from scanner.reports.json_report import write_json

    out = StringIO()
    write_json(scan([path], options or ScanOptions(pool_after=0), jobs=jobs, **kwargs), out)  # type: ignore[arg-type]
    return out.getvalue()


def crash_on_doomed(jobs: list[Job]) -> list[Found]:
    """A worker that dies (as a segfault would) when its batch holds the doomed file."""
    if any("doomed" in artifact.chain[-1] for _, artifact, _ in jobs):
        os._exit(3)
    return extract_batch(jobs)


def test_a_worker_that_dies_costs_only_its_file_as_an_internal_problem(tmp_path: Path) -> None:
    members = _members(6)
    doomed = ("data/doomed.json", json.dumps({"authKey": fake_key("doomed")}).encode())
    backup = tmp_path / "backup.tar"
    backup.write_bytes(tar_of([*members[:5], doomed, *members[5:]]))
    without = tmp_path / "without.tar"
    without.write_bytes(tar_of(members))

    result = scan([backup], ScanOptions(pool_after=0), jobs=2, worker=crash_on_doomed)

    expected = scan([without], ScanOptions(), jobs=1)
    assert [c.key for c in result.candidates] == [c.key for c in expected.candidates]
    assert len(expected.candidates) == 12
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("internal", (str(backup), "data/doomed.json"))
    ]
    assert "BrokenProcessPool" in result.problems[0].message
    assert multiprocessing.active_children() == []


def test_ctrl_c_leaves_no_worker_behind(tmp_path: Path) -> None:
    backup = tmp_path / "backup.tar"
    backup.write_bytes(tar_of(_members(40)))
    seen = []

    def interrupt(artifact: Artifact, kind: str) -> None:
        seen.append(artifact)
        if len(seen) == 60:  # well after the workers started
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan([backup], ScanOptions(pool_after=0), jobs=2, on_artifact=interrupt)
    assert multiprocessing.active_children() == []


def test_a_cut_member_reads_the_same_with_workers(tmp_path: Path) -> None:
    data = tar_of(_members(3))
    cut = tmp_path / "cut.tar"
    last = data.rindex(b"authKey=")  # inside the last log member's bytes
    cut.write_bytes(data[: last + 20])
    one = _json_of(cut, 1)
    assert '"truncated"' in one or '"unreadable"' in one
    assert _json_of(cut, 2) == one


def test_below_the_threshold_no_worker_is_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _count_sent(monkeypatch)
    backup = tmp_path / "backup.tar"
    backup.write_bytes(tar_of(_members(5)))
    options = ScanOptions()  # the default threshold: POOL_AFTER small files
    assert _json_of(backup, 2, options) == _json_of(backup, 1, options)
    assert sent == [] and POOL_AFTER > 10


def _database(name: str, key: str | None) -> bytes:
    """A small database: a device table with a key and a MAC (a candidate and its
    device), or, without ``key``, rows that name no key field (the carver is skipped)."""
    db = Database("CREATE TABLE device (_id INTEGER PRIMARY KEY, address TEXT, name TEXT);")
    if key is not None:
        db = Database(
            "CREATE TABLE device (_id INTEGER PRIMARY KEY, address TEXT, name TEXT, authKey TEXT);"
        )
        db.run("INSERT INTO device VALUES (1, ?, 'Band', ?)", [(fake_mac(name), key)])
    else:
        db.run("INSERT INTO device VALUES (1, ?, ?)", [(fake_mac(name), "token expired")])
    image = db.image()
    db.close()
    return image


def _databases() -> list[tuple[str, bytes]]:
    members = []
    for n in range(8):
        members.append(
            (f"data/app{n}/databases/keyed-{n}.db", _database(f"k{n}", fake_key(f"db-{n}")))
        )
        members.append((f"data/app{n}/databases/quiet-{n}.db", _database(f"q{n}", None)))
        doc = {"authKey": fake_key(f"doc-{n}")}
        members.append((f"data/app{n}/prefs-{n}.json", json.dumps(doc).encode()))
    cut = _database("cut", fake_key("cut"))
    members.append(("data/broken/cut.db", cut[: len(cut) * 3 // 4]))  # a truncated problem
    flipped = bytearray(_database("flip", fake_key("flip")))
    flipped[100] ^= 0xFF  # page 1's b-tree header: SQLite cannot read the schema
    members.append(("data/broken/flipped.db", bytes(flipped)))
    # A database with a journal beside it is read here, with its journal.
    members.append(("data/journaled/app.db", _database("journaled", fake_key("journaled"))))
    members.append(("data/journaled/app.db-journal", JOURNAL_MAGIC + bytes(508)))
    return members


@pytest.mark.parametrize("container", ["tar", "folder"])
def test_small_databases_alone_read_in_workers_give_the_same_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container: str
) -> None:
    """A database with no -wal or -journal beside it goes to a worker (spooled tar
    members and re-openable files); its keys, devices and problems come back in order."""
    sent = _count_sent(monkeypatch)
    target = laid_out(_databases(), tmp_path, container)
    one = _json_of(target, 1)
    assert sent == []
    assert _json_of(target, 2) == one and _json_of(target, 4) == one
    document = json.loads(one)
    keys = {c["key"] for c in document["candidates"]}
    assert keys >= {fake_key(f"db-{n}") for n in range(8)} | {fake_key("journaled")}
    kinds = {(p["kind"], p["provenance"][-1].rsplit("/", 1)[-1]) for p in document["problems"]}
    assert {("truncated", "cut.db"), ("corrupt", "flipped.db")} <= kinds
    databases = [name for name in sent if name.endswith(".db")]
    assert len(databases) == 2 * (16 + 2)  # each of 2 scans: every database alone
    assert not any("journaled" in name for name in sent)
