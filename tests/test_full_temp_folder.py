"""A full temporary folder (issue 16 item 9): spools fall back, keys are not lost.

With TMPDIR on a 1 MiB tmpfs, 3 of 4 databases of a tar were `unreadable: No space left
on device`. A full disk is simulated at the one place spools make a temporary file
(``scanner.artifacts.spooling._temp_file``): its files raise ENOSPC after a few bytes,
as a real full file system does.
"""

from __future__ import annotations

import errno
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import scanner.artifacts.spooling as artifact
from corpus.common import fake_key
from scanner.artifacts import spool
from scanner.context import Limits, ScanOptions
from scanner.errors import LimitExceeded
from scanner.pipeline import scan
from tests.helpers import tar_of


class FullDisk:
    """A temporary file whose file system fills after ``room`` bytes."""

    def __init__(self, real: Any, room: int) -> None:
        self._real, self._room = real, room

    def write(self, data: Any) -> int:
        if self._room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(data[: self._room])  # a short write, then ENOSPC
        self._room -= len(taken)
        return int(self._real.write(taken))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def full_temp_files(monkeypatch: pytest.MonkeyPatch, room: int, full: set[str] | None) -> None:
    """Temporary files in ``full`` folders (every folder if None) hold ``room`` bytes."""
    real = artifact._temp_file

    def made(folder: str) -> Any:
        made_file = real(folder)
        return FullDisk(made_file, room) if full is None or folder in full else made_file

    monkeypatch.setattr(artifact, "_temp_file", made)


def _database(key: str) -> bytes:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE DEVICE (MAC TEXT, AUTHKEY TEXT, FILLER BLOB)")
    connection.execute(
        "INSERT INTO DEVICE VALUES ('C8:0F:10:AA:BB:CC', ?, ?)", (key, bytes(20_000))
    )
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


def test_every_database_of_a_tar_is_read_when_the_temp_folder_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [fake_key(f"full-temp-{i}") for i in range(4)]
    tar = tmp_path / "four.tar"
    tar.write_bytes(tar_of([(f"db/app{i}.db", _database(key)) for i, key in enumerate(keys)]))
    full_temp_files(monkeypatch, room=5000, full=None)
    options = ScanOptions(limits=Limits(spool_memory=1))  # every spool would go to a file
    result = scan([tar], options)
    assert {c.key for c in result.candidates} == set(keys)
    assert [(p.kind, p.message) for p in result.problems] == []


def test_a_spool_moves_to_the_next_temp_folder_with_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir(), roomy.mkdir()
    monkeypatch.setattr(artifact, "temp_folders", lambda: [str(full), str(roomy)])
    full_temp_files(monkeypatch, room=3000, full={str(full)})
    data = bytes(range(256)) * 40_000  # 10 MB, read in 1 MiB pieces
    spooled = spool(io.BufferedReader(io.BytesIO(data)), memory_cap=1000, memory_fallback=1000)
    with spooled:
        assert not isinstance(spooled, io.BytesIO)  # in a file, not in memory
        assert spooled.read() == data


def test_what_fits_nowhere_is_a_limit_problem_naming_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    monkeypatch.setattr(artifact, "temp_folders", lambda: [str(folder)])
    full_temp_files(monkeypatch, room=3000, full=None)
    with pytest.raises(LimitExceeded) as raised:
        spool(io.BytesIO(bytes(50_000)), memory_cap=1000, memory_fallback=20_000)
    message = str(raised.value)
    assert str(folder) in message and "No space left on device" in message
    assert "20,000-byte" in message
