"""The pipeline's own rules: SQLite families across container orders, one error policy."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.hostile import remove_tree
from corpus.samples import app_data
from scanner.context import ScanOptions
from scanner.extractors.base import looks_like_text
from scanner.pipeline import scan
from tests.helpers import tar_of


def _zepp_life_files(tmp_path: Path) -> list[tuple[str, bytes]]:
    """The Zepp Life database folder of the corpus (main file, -wal, -shm) as tar members."""
    app_data.build(tmp_path / "src")
    folder = tmp_path / "src" / "app_data" / "com.xiaomi.hm.health" / "databases"
    return [(f"db/{p.name}", p.read_bytes()) for p in sorted(folder.iterdir())]


def test_wal_is_paired_with_its_database_whatever_the_member_order(tmp_path: Path) -> None:
    files = _zepp_life_files(tmp_path)
    by_name = dict(files)
    wal_name = next(name for name in by_name if name.endswith("-wal"))
    straight = scan([_write(tmp_path / "straight.tar", tar_of(files))]).devices
    # The WAL first, and an unrelated file between the two: the family still meets.
    shuffled_files = [(wal_name, by_name[wal_name]), ("db/notes.txt", b"hello\n")] + [
        (n, d) for n, d in files if n != wal_name
    ]
    shuffled = scan([_write(tmp_path / "shuffled.tar", tar_of(shuffled_files))]).devices
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


def _text_rule(head: bytes) -> bool:
    """The text rule spelled out slowly: the fast path must agree with it exactly."""
    if not head or b"\x00" in head:
        return False
    sample = head.decode("utf-8", "replace")
    damaged = sample.count("\ufffd")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    return damaged <= max(4, len(sample) // 100) and printable >= 0.95 * len(sample)


@given(st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
@settings(max_examples=300, deadline=None)
def test_text_detection_fast_path_agrees_with_the_rule(head: bytes) -> None:
    assert looks_like_text(head) is _text_rule(head)


def test_text_detection_examples() -> None:
    assert looks_like_text(b"2024-02-28 10:11:12.345|3.25.0i|I|Tag_1_2|hello\n")
    assert looks_like_text("设备 authKey=0x".encode() * 20)
    assert not looks_like_text(b"SQLite format 3\x00")
    assert not looks_like_text(b"\x1b\x02\x03" * 50)


def test_a_thousand_nested_folders_cost_no_sibling_its_key(tmp_path: Path) -> None:
    # Issue 16 item 3: the folder walk recursed, and RecursionError lost the whole input.
    folder = tmp_path / "evidence"
    deep = folder / "deep"
    deep.mkdir(parents=True)
    here = deep
    for _ in range(1000):
        here = here / "d"
        here.mkdir()
    (here / "bottom.log").write_text("authKey=" + "ef" * 16 + "\n", encoding="utf-8")
    (folder / "sibling.log").write_text("authKey=" + "ab" * 16 + "\n", encoding="utf-8")
    result = scan([folder], ScanOptions())
    remove_tree(folder)  # pytest's clean-up recurses, and 1000 folders exhaust its stack
    assert sorted(c.key for c in result.candidates) == ["ab" * 16, "ef" * 16]
    assert result.problems == []
