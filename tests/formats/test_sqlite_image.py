"""Large databases are read through a temporary file of ours, never whole in memory
(issue 17 item 5: peak RSS was about 2.2 x the largest database).

A database over ``image.SMALL_IMAGE`` is written a piece at a time into a private
temporary file that SQLite opens read-only, and the carver reads slices of it. Python's
heap is measured with ``tracemalloc`` (our bytes; SQLite's own cache is bounded by its
``cache_size``); nothing is timed.
"""

from __future__ import annotations

import errno
import os
import random
import sqlite3
import tarfile
import tracemalloc
from pathlib import Path
from typing import IO, Any

import pytest

from corpus.common import Expected, fake_key, fake_mac
from scanner.context import ScanOptions
from scanner.formats.sqlite import image
from scanner.model import Method, ScanResult
from scanner.pipeline import scan
from scanner.reports.json_report import to_dict

MiB = 1 << 20
KEY, MAC = fake_key("large-db"), fake_mac("large-db")
GONE, GONE_MAC = fake_key("large-db-deleted"), fake_mac("large-db-deleted")
MEMBER = "apps/com.xiaomi.hm.health/db/origin_db"


def large_database(path: Path, mib: int) -> None:
    """About ``mib`` MiB, built row by row: random blobs, then a DEVICE table (its pages at
    the end of the file) with a live key and a deleted one (secure_delete off: the row
    stays in its page's free space); a WAL-mode header, as Android leaves it."""
    rng = random.Random(mib)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA secure_delete = OFF")
    connection.execute("CREATE TABLE ACTIVITY (_id INTEGER PRIMARY KEY, DATA BLOB)")
    for _ in range(mib * MiB // (64 * 4000)):
        rows = [(rng.randbytes(4000),) for _ in range(64)]
        connection.executemany("INSERT INTO ACTIVITY (DATA) VALUES (?)", rows)
    connection.execute("DELETE FROM ACTIVITY WHERE _id % 10 = 0")  # freelist pages
    connection.execute(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT)"
    )
    connection.execute("INSERT INTO DEVICE VALUES (1, ?, 'Amazfit GTR 2', ?)", (MAC, KEY))
    connection.execute("INSERT INTO DEVICE VALUES (2, ?, 'Mi Band 5', ?)", (GONE_MAC, GONE))
    connection.commit()
    connection.execute("DELETE FROM DEVICE WHERE _id = 2")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _input(folder: Path, mib: int, as_tar: bool) -> Path:
    database = folder / "tree" / MEMBER
    database.parent.mkdir(parents=True)
    large_database(database, mib)
    assert database.read_bytes()[18:20] == b"\x02\x02"
    if not as_tar:
        return folder / "tree"
    tar = folder / "backup.tar"
    with tarfile.open(tar, "w") as out:
        out.add(database, arcname=MEMBER)  # forward-only when scanned: spooled
    return tar


def _found(result: ScanResult) -> dict[str, tuple[Method, bool]]:
    return {c.key: (c.method, c.deleted) for c in result.candidates}


def own_temp_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> str:
    """Spools and image files go to ``folder`` only (the system's is shared with other
    runs): what is left there after a scan was left by it."""
    folder.mkdir()
    monkeypatch.setattr(image, "temp_folders", lambda: [str(folder)])
    monkeypatch.setattr("scanner.artifacts.spooling.temp_folders", lambda: [str(folder)])
    return str(folder)


def _temp_entries(*folders: str) -> list[str]:
    return [name for f in folders for name in os.listdir(f) if name.startswith("keyscan-")]


@pytest.mark.parametrize("as_tar", [True, False], ids=["tar member", "folder file"])
def test_a_large_database_is_not_held_whole_in_python_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_tar: bool
) -> None:
    path = _input(tmp_path, 24, as_tar)
    size = (tmp_path / "tree" / MEMBER).stat().st_size
    assert size > 20 * MiB
    temp = own_temp_folder(monkeypatch, tmp_path / "temp")
    tracemalloc.start()
    try:
        result = scan([path], ScanOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The live key from SQLite's rows, the deleted one carved from the page's free space
    # (its page is near the end of the file: read through the carver's slices).
    assert _found(result) == {KEY: (Method.SQLITE, False), GONE: (Method.CARVE, True)}
    assert result.problems == []
    # 50 MiB when it was read whole (its bytes, then a patched copy)
    assert peak < 12 * MiB, f"peak of Python's heap {peak / MiB:.1f} MiB for {size / MiB:.0f} MiB"
    assert _temp_entries(temp) == []  # its image file is gone


class _FullFile:
    """A temporary file whose file system fills after ``room`` bytes."""

    def __init__(self, real: IO[bytes], room: int) -> None:
        self._real, self._room = real, room

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_an_image_file_moves_to_the_next_temp_folder_with_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir(), roomy.mkdir()
    monkeypatch.setattr(image, "temp_folders", lambda: [str(full), str(roomy)])
    real = image._image_file
    made: list[str] = []

    def image_file(folder: str) -> Any:
        made.append(folder)
        file = real(folder)
        return _FullFile(file, 100_000) if folder == str(full) else file

    monkeypatch.setattr(image, "_image_file", image_file)
    monkeypatch.setattr(image, "SMALL_IMAGE", 64 << 10)
    path = _input(tmp_path / "in", 1, as_tar=False)
    result = scan([path], ScanOptions())
    assert _found(result) == {KEY: (Method.SQLITE, False), GONE: (Method.CARVE, True)}
    assert result.problems == []
    assert made == [str(full), str(roomy)]
    assert _temp_entries(str(full), str(roomy)) == []


@pytest.mark.parametrize("as_tar", [True, False], ids=["tar member", "folder file"])
def test_with_no_room_for_a_file_a_large_database_is_read_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_tar: bool
) -> None:
    def no_room(folder: str) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device", folder)

    monkeypatch.setattr(image, "_image_file", no_room)
    monkeypatch.setattr("scanner.artifacts.spooling._temp_file", no_room)  # spools, too
    monkeypatch.setattr(image, "SMALL_IMAGE", 64 << 10)
    path = _input(tmp_path, 1, as_tar)
    result = scan([path], ScanOptions())
    assert _found(result) == {KEY: (Method.SQLITE, False), GONE: (Method.CARVE, True)}
    assert result.problems == []


def test_every_corpus_database_read_from_a_file_gives_the_same_results(
    corpus: tuple[Path, dict[str, Expected]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, _ = corpus
    passwords = (root / "passwords.txt").read_text(encoding="utf-8").splitlines()
    in_memory = to_dict(scan([root], ScanOptions(passwords=passwords)))
    temp = own_temp_folder(monkeypatch, tmp_path / "temp")
    opened: list[str] = []
    real = image._image_file

    def image_file(folder: str) -> IO[bytes]:
        opened.append(folder)
        return real(folder)

    monkeypatch.setattr(image, "_image_file", image_file)
    monkeypatch.setattr(image, "SMALL_IMAGE", 0)  # every database (and WAL view) in a file
    on_file = to_dict(scan([root], ScanOptions(passwords=passwords)))
    assert len(opened) > 20
    assert on_file == in_memory
    assert _temp_entries(temp) == []


def large_wal(folder: Path, mib: int) -> Path:
    """A database whose last ``mib`` MiB of writes are still in its WAL: blobs, then a key
    committed, and a second key committed and deleted (its row only in an older frame)."""
    rng = random.Random(mib)
    database = folder / "source.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")  # everything stays in the WAL
    connection.execute("CREATE TABLE ACTIVITY (_id INTEGER PRIMARY KEY, DATA BLOB)")
    connection.execute(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT)"
    )
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the main file: empty tables
    for _ in range(mib * MiB // (64 * 4000)):
        rows = [(rng.randbytes(4000),) for _ in range(64)]
        connection.executemany("INSERT INTO ACTIVITY (DATA) VALUES (?)", rows)
    connection.execute("INSERT INTO DEVICE VALUES (1, ?, 'Amazfit GTR 2', ?)", (MAC, KEY))
    connection.execute("INSERT INTO DEVICE VALUES (2, ?, 'Mi Band 5', ?)", (GONE_MAC, GONE))
    connection.commit()
    connection.execute("DELETE FROM DEVICE WHERE _id = 2")
    connection.commit()
    tree = folder / "tree" / Path(MEMBER).parent
    tree.mkdir(parents=True)
    for suffix in ("", "-wal"):  # copied while open: the WAL is not checkpointed away
        (tree / f"origin_db{suffix}").write_bytes(Path(f"{database}{suffix}").read_bytes())
    connection.close()
    return folder / "tree"


@pytest.mark.parametrize("as_tar", [True, False], ids=["tar members", "folder files"])
def test_a_large_wal_is_not_held_whole_in_python_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_tar: bool
) -> None:
    # 10 MiB: tracemalloc makes the WAL's checksums (Python ints) 15 x slower to compute.
    path = large_wal(tmp_path, 10)
    size = (path / f"{MEMBER}-wal").stat().st_size
    assert size > 10 * MiB
    if as_tar:
        with tarfile.open(tmp_path / "backup.tar", "w") as out:
            out.add(path, arcname=".")
        path = tmp_path / "backup.tar"
    temp = own_temp_folder(monkeypatch, tmp_path / "temp")
    tracemalloc.start()
    try:
        result = scan([path], ScanOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The key from the WAL view's rows, the deleted one from an older frame of its page.
    assert _found(result) == {KEY: (Method.WAL, False), GONE: (Method.WAL, True)}
    assert result.problems == []
    # About 3 x its size when it was read whole (its bytes, the applied image, frame copies);
    # now the 4 MiB a tar member's spool keeps in memory before it moves to a file.
    assert peak < 7 * MiB, f"peak of Python's heap {peak / MiB:.1f} MiB for {size / MiB:.0f} MiB"
    assert _temp_entries(temp) == []


def test_the_latest_version_of_each_page_is_marked_dense_or_sparse() -> None:
    from array import array

    from scanner.formats.sqlite.frames import WalFrames

    def latest(pages: list[int], db_pages: int) -> list[int]:
        frames = WalFrames(4096, array("I", pages), array("I", [0] * len(pages)))
        return list(frames.latest(db_pages))

    assert latest([1, 2, 1, 3], 3) == [0, 1, 1, 1]  # page numbers close together: a bitmap
    assert latest([1, 5, 2], 3) == [1, 0, 1]  # past the commit's size: never shown
    huge = 2**31  # a damaged frame's page number: a set, not a 256 MiB bitmap
    assert latest([1, huge, 1, huge], huge) == [0, 0, 1, 1]
    assert latest([], 0) == []


@pytest.mark.parametrize("as_tar", [True, False], ids=["tar members", "folder files"])
def test_a_large_hot_journal_is_not_held_whole_in_python_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_tar: bool
) -> None:
    from corpus.sqlite_files import hot_journal, next_change

    rng = random.Random(10)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE ACTIVITY (_id INTEGER PRIMARY KEY, TS INTEGER, DATA BLOB)")
    connection.execute(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT)"
    )
    connection.execute("INSERT INTO DEVICE VALUES (1, ?, 'Amazfit GTR 2', ?)", (MAC, KEY))
    for start in range(0, 2600, 100):
        rows = [(start + i, rng.randbytes(4000)) for i in range(100)]
        connection.executemany("INSERT INTO ACTIVITY (TS, DATA) VALUES (?, ?)", rows)
    connection.commit()
    old = connection.serialize()
    # The interrupted transaction: a new key, and every activity page changed.
    connection.execute("UPDATE DEVICE SET AUTHKEY = ?", (GONE,))
    connection.execute("UPDATE ACTIVITY SET TS = TS + 1")
    connection.commit()
    new = next_change(connection.serialize())
    connection.close()
    journal = hot_journal(old, new)
    assert len(journal) > 10 * MiB
    tree = tmp_path / "tree" / Path(MEMBER).parent
    tree.mkdir(parents=True)
    (tree / "origin_db").write_bytes(new)
    (tree / "origin_db-journal").write_bytes(journal)
    del old, new, journal
    path = tmp_path / "tree"
    if as_tar:
        with tarfile.open(tmp_path / "backup.tar", "w") as out:
            out.add(path, arcname=".")
        path = tmp_path / "backup.tar"
    temp = own_temp_folder(monkeypatch, tmp_path / "temp")
    tracemalloc.start()
    try:
        result = scan([path], ScanOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The main file's key as the transaction left it, the key before it from the journal.
    assert _found(result) == {GONE: (Method.SQLITE, False), KEY: (Method.JOURNAL, False)}
    assert result.problems == []
    # About 2 x the journal when it was read whole (its bytes and every pre-image's copy).
    assert peak < 7 * MiB, f"peak of Python's heap {peak / MiB:.1f} MiB"
    assert _temp_entries(temp) == []
