"""SQLite families (scanner/formats/sqlite/family.py): grouping and spooling of members."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import scanner.formats.sqlite.family as family
from corpus.common import fake_key
from scanner.context import Limits, ScanOptions
from scanner.pipeline import scan
from tests.helpers import tar_of


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pending_databases_share_one_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Databases waiting for their directory to end are spooled in memory until the pending
    ones hold ``spool_memory`` bytes; the rest go to a temporary file."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE DEVICE (MAC TEXT, AUTHKEY TEXT)")
    connection.execute("INSERT INTO DEVICE VALUES ('C8:0F:10:AA:BB:CC', ?)", (fake_key("b"),))
    connection.commit()
    main = connection.serialize()
    connection.close()
    caps: list[int] = []
    real_spool = family.spool

    def recording_spool(stream: object, memory_cap: int, *args: object, **kwargs: object) -> object:
        caps.append(memory_cap)
        return real_spool(stream, memory_cap, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(family, "spool", recording_spool)
    size = len(main)
    files = [(f"db/copy{i}.db", main) for i in range(4)]
    options = ScanOptions(limits=Limits(spool_memory=2 * size + 10))
    result = scan([_write(tmp_path / "four.tar", tar_of(files))], options)
    # Two fit in the budget; the third and fourth find 10 bytes left, and go to a file.
    assert caps == [2 * size + 10, size + 10, 10, 10]
    assert len({c.provenance[1] for c in result.candidates}) == 4  # each one read
