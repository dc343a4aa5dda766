"""Safety limits: each ends in a ``limit`` (or ``truncated``) problem and the scan goes on.

Costs are bounded by construction (a 1 TB size field in a 3 KB file, a header claiming
1 TB over 16 MiB of data); the bench measures time and memory.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from corpus.common import Expected
from corpus.samples import archives, twrp
from scanner.context import Limits, ScanOptions
from scanner.formats.tar.container import MAX_HEADER_BYTES
from scanner.model import ScanResult
from scanner.pipeline import scan

Corpus = tuple[Path, dict[str, Expected]]


def _scan(
    path: Path, limits: Limits | None = None, passwords: list[str] | None = None
) -> tuple[ScanResult, list[tuple[str, ...]]]:
    seen: list[tuple[str, ...]] = []
    options = ScanOptions(passwords=list(passwords or []), limits=limits or Limits())
    result = scan([path], options, lambda a, k: seen.append(a.chain[1:]))
    return result, seen


def _problems(result: ScanResult) -> list[tuple[str, tuple[str, ...]]]:
    return [(p.kind, p.provenance[1:]) for p in result.problems]


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    return archives.tar_bytes(members)


def test_deep_nest_stops_at_the_depth_limit(corpus: Corpus) -> None:
    root, _ = corpus
    path = root / "archives" / "deep-nest.zip"
    result, seen = _scan(path)
    too_deep = tuple(f"level{n}.zip" for n in range(2, 15))  # depth 13 > max_depth 12
    assert _problems(result) == [("limit", too_deep)]
    assert len(seen) == 14  # the input and 13 levels; nothing below is opened
    assert archives.device("deep")[1] not in {c.key for c in result.candidates}
    result, seen = _scan(path, Limits(max_depth=3))
    assert _problems(result) == [
        ("limit", ("level2.zip", "level3.zip", "level4.zip", "level5.zip"))
    ]


def test_terabyte_size_field_is_skipped_and_reported(corpus: Corpus) -> None:
    root, _ = corpus
    result, _ = _scan(root / "archives" / "terabyte.tar")
    assert _problems(result) == [("limit", ("data/media/0/huge.img",)), ("truncated", ())]
    assert archives.device("terabyte")[1] in {c.key for c in result.candidates}


def test_terabyte_member_within_the_member_limit_is_truncated(corpus: Corpus) -> None:
    root, _ = corpus
    result, _ = _scan(root / "archives" / "terabyte.tar", Limits(max_member_bytes=2 << 40))
    # Offered to the extractors, the member ends at the cut; so does the tar.
    assert _problems(result) == [("truncated", ("data/media/0/huge.img",)), ("truncated", ())]


def test_member_size_limit_in_tar_and_zip(corpus: Corpus) -> None:
    root, _ = corpus
    small = Limits(max_member_bytes=200)
    result, _ = _scan(root / "archives" / "app-data.tar", small)
    assert _problems(result) == [
        ("limit", (archives.ORIGIN_DB,)),
        ("limit", ("data/data/com.xiaomi.hm.health/files/notes.bin",)),
    ]
    result, _ = _scan(root / "archives" / "storage-export-aes.zip", small, [archives.AES_PASSWORD])
    assert _problems(result) == [
        ("limit", (archives.WATCH_LOG,)),
        ("limit", ("DCIM/Camera/IMG_20240301_120000.jpg",)),
    ]


def test_gzip_stream_over_the_member_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.log.gz"
    path.write_bytes(gzip.compress(b"2024-02-28 10:11:12.345|a|I|b|c\n" * 40_000, mtime=0))
    result, _ = _scan(path, Limits(max_member_bytes=100_000))
    assert _problems(result) == [("limit", ("big.log",))]


def test_zip_bomb_is_refused_and_the_rest_is_read(corpus: Corpus) -> None:
    root, _ = corpus
    result, seen = _scan(root / "archives" / "zip-bomb.zip")
    assert _problems(result) == [("limit", ("zeros.bin",))]
    assert "1,011:1" in result.problems[0].message
    assert ("zeros.bin",) not in seen
    assert archives.device("bomb")[1] in {c.key for c in result.candidates}


def test_gzip_bomb_stops_at_the_ratio_limit(corpus: Corpus) -> None:
    root, _ = corpus
    result, _ = _scan(root / "archives" / "bomb.tar.gz")
    assert _problems(result) == [("limit", ("bomb.tar",))]
    assert "decompression bomb" in result.problems[0].message


def test_small_compressible_streams_are_not_bombs(tmp_path: Path) -> None:
    path = tmp_path / "zeros.tar.gz"
    path.write_bytes(gzip.compress(_tar([("zeros.bin", bytes(8 << 20))]), mtime=0))  # 1000:1
    result, seen = _scan(path)
    assert result.problems == []
    assert ("zeros.tar", "zeros.bin") in seen


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(tarfile.GNU_FORMAT)


@pytest.mark.parametrize(
    "kind", [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK]
)
def test_huge_header_records_hit_the_header_limit(tmp_path: Path, kind: bytes) -> None:
    path = tmp_path / "header.tar.gz"
    body = _header("././@Header", kind, 1 << 40) + b"9 a=bcde\n" * ((16 << 20) // 9)
    path.write_bytes(gzip.compress(body, 1, mtime=0))
    result, _ = _scan(path)
    assert _problems(result) == [("limit", ("header.tar",))]
    assert f"{MAX_HEADER_BYTES:,}" in result.problems[0].message


def test_endless_chain_of_extended_headers_is_corrupt(tmp_path: Path) -> None:
    record = b"9 a=bcde\n"
    block = _header("././@PaxHeader", tarfile.XHDTYPE, len(record)) + record.ljust(512, b"\0")
    path = tmp_path / "chain.tar"
    path.write_bytes(block * 3000)
    result, _ = _scan(path)
    assert _problems(result) == [("corrupt", ())]


def test_entry_limits(tmp_path: Path) -> None:
    members = [(f"sdcard/notes/{n}.bin", bytes([n])) for n in range(10)]
    (tmp_path / "many.tar").write_bytes(_tar(members))
    (tmp_path / "many.zip").write_bytes(archives.zip_bytes(members))
    result, seen = _scan(tmp_path / "many.tar", Limits(max_entries=5))
    assert _problems(result) == [("limit", ())]
    assert seen[1:] == [(name,) for name, _ in members[:5]]
    result, seen = _scan(tmp_path / "many.zip", Limits(max_entries=5))
    assert _problems(result) == [("limit", ())]
    assert seen == [()]


def test_symlink_loop_is_a_limit_problem_and_files_are_still_scanned(tmp_path: Path) -> None:
    mac, key = archives.device("symlink")
    root = tmp_path / "phone"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "XiaomiFit.device.log").write_text(twrp.device_log(mac, key))
    os.symlink("..", root / "logs" / "loop")  # logs/loop -> phone/
    seen: list[tuple[str, ...]] = []
    options = ScanOptions(follow_links=True)  # not followed at all by default
    result = scan([root], options, lambda a, k: seen.append(a.chain[1:]))
    assert _problems(result) == [("limit", ("logs/loop",))]
    assert seen == [("logs/XiaomiFit.device.log",)]
    assert [c.provenance for c in result.candidates if c.key == key] == [
        (str(root), "logs/XiaomiFit.device.log", "line 2")
    ]


def test_limits_have_sane_defaults() -> None:
    limits = Limits()
    assert limits.max_depth >= 8
    assert limits.max_ratio >= 100
    assert limits.spool_memory <= limits.max_member_bytes
    assert io.DEFAULT_BUFFER_SIZE < MAX_HEADER_BYTES < limits.spool_memory
