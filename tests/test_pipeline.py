"""The pipeline's own rules: SQLite families across container orders, one error policy."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from corpus.samples import app_data
from scanner.context import ScanOptions
from scanner.pipeline import scan


def _tar_of(files: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1709294400
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zepp_life_files(tmp_path: Path) -> list[tuple[str, bytes]]:
    """The Zepp Life database folder of the corpus (main file, -wal, -shm) as tar members."""
    app_data.build(tmp_path / "src")
    folder = tmp_path / "src" / "app_data" / "com.xiaomi.hm.health" / "databases"
    return [(f"db/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir())]


def test_wal_is_paired_with_its_database_whatever_the_member_order(tmp_path: Path) -> None:
    files = _zepp_life_files(tmp_path)
    by_name = dict(files)
    wal_name = next(name for name in by_name if name.endswith("-wal"))
    straight = scan([_write(tmp_path / "straight.tar", _tar_of(files))]).devices
    # The WAL first, and an unrelated file between the two: the family still meets.
    shuffled_files = [(wal_name, by_name[wal_name]), ("db/notes.txt", b"hello\n")] + [
        (n, d) for n, d in files if n != wal_name
    ]
    shuffled = scan([_write(tmp_path / "shuffled.tar", _tar_of(shuffled_files))]).devices
    assert {(d.device.mac, d.chosen.key) for d in straight} == {
        (d.device.mac, d.chosen.key) for d in shuffled
    }
    assert any(d.chosen.method == "wal" for d in shuffled)


def test_a_failing_parser_costs_one_file_only(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.json").write_text('{"authKey": "' + "ab" * 16 + '"}', encoding="utf-8")
    (folder / "b.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"garbage")
    (folder / "c.json").write_text('{"encryptKey": "' + "cd" * 16 + '"}', encoding="utf-8")
    result = scan([folder], ScanOptions())
    assert sorted(c.key for c in result.candidates) == ["ab" * 16, "cd" * 16]
    assert [(p.kind, p.provenance[:2]) for p in result.problems] == [
        ("corrupt", (str(folder), "b.gz"))
    ]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
