"""Archives keyscan recognises but cannot open are an ``unsupported`` problem naming the
format, never silence; zstd is always read (issue 14 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard

from corpus.samples import archives, twrp
from scanner.context import ScanOptions
from scanner.pipeline import scan

# First bytes of each format, from its specification (see scanner/formats/unsupported).
SAMPLES = {
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24),
    "RAR": b"Rar!\x1a\x07\x00\xcf\x90\x73\x00\x00\x0d\x00",
    "RAR 5": b"Rar!\x1a\x07\x01\x00\x33\x92\xb5\xe5\x0a\x01\x05\x06",
    "lz4": b"\x04\x22\x4d\x18\x64\x40\xa7" + bytes(16),
    "lz4 legacy": b"\x02\x21\x4c\x18" + bytes(16),
    "lzip": b"LZIP\x01\x0c" + bytes(16),
    "lzop": b"\x89LZO\x00\r\n\x1a\n\x10\x30" + bytes(16),
    "compress (.Z)": b"\x1f\x9d\x90" + bytes(16),
    "cab": b"MSCF\x00\x00\x00\x00" + bytes(24),
    "OpenPGP message": b"-----BEGIN PGP MESSAGE-----\n\nhQEMA+abc\n",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_recognised_archive_keyscan_cannot_open_is_unsupported(tmp_path: Path, name: str) -> None:
    path = tmp_path / "export.bin"
    path.write_bytes(SAMPLES[name] + b"\x00" * 600)
    seen: list[str] = []
    result = scan([path], ScanOptions(), lambda artifact, kind: seen.append(kind))
    assert [(p.kind, p.provenance) for p in result.problems] == [("unsupported", (str(path),))]
    assert name in result.problems[0].message
    assert seen == [name]
    assert result.inputs_read == 1 and result.candidates == []


def test_inside_a_folder_the_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "a.7z").write_bytes(SAMPLES["7z"])
    mac, key = archives.device("folder")
    (tmp_path / "watch.log").write_text(twrp.device_log(mac, key))
    result = scan([tmp_path], ScanOptions())
    assert [c.key for c in result.candidates] == [key]
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("unsupported", (str(tmp_path), "a.7z"))
    ]


def test_a_log_that_starts_with_random_text_is_not_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"\x1f\x9d\xff not compress: reserved flag bits set\n")
    result = scan([path], ScanOptions())
    assert not [p for p in result.problems if p.kind == "unsupported"]


def test_tar_zst_is_read_without_any_extra(tmp_path: Path) -> None:
    mac, key = archives.device("zstd core")
    log = twrp.device_log(mac, key).encode()
    body = zstandard.ZstdCompressor(level=3).compress(
        archives.tar_bytes([(archives.WATCH_LOG, log)])
    )
    path = tmp_path / "external_files.tar.zst"
    path.write_bytes(body)
    result = scan([path], ScanOptions())
    assert [(c.key, c.provenance[1:]) for c in result.candidates] == [
        (key, ("external_files.tar", archives.WATCH_LOG, "line 2"))
    ]
    assert result.problems == []
