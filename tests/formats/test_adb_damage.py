"""Android backups damaged to order: every kind of damage gives its own problem kind, and
what precedes the damage is still scanned; header parsing and walking never raise
anything but ScanError."""

from __future__ import annotations

import contextlib
import io
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.samples.adb_backups import (
    PACKAGE,
    Band,
    ab_bytes,
    tar_stream,
    zepp_members,
)
from scanner.artifacts import Artifact
from scanner.context import ScanOptions
from scanner.errors import ScanError
from scanner.formats.adb.body import SOURCE_CHUNK
from scanner.formats.adb.container import AndroidBackup
from scanner.formats.adb.stream import (
    HEADER_LIMIT,
    NO_APP_DATA,
    open_body,
    parse_header,
)
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.registry import container_for
from tests.helpers import scan_context

PLAIN_V5 = b"ANDROID BACKUP\n5\n0\nnone\n"
COMPRESSED_V5 = b"ANDROID BACKUP\n5\n1\nnone\n"


def problems(result: ScanResult) -> list[tuple[str, tuple[str, ...]]]:
    return [(p.kind, p.provenance) for p in result.problems]


def scan_file(path: Path, passwords: list[str] | None = None) -> ScanResult:
    return scan([path], ScanOptions(passwords=list(passwords or [])))


def db_device_path(path: Path) -> str | None:
    """The device path the backup's database member was mapped to."""
    found: list[str | None] = []

    def record(artifact: Artifact, kind: str) -> None:
        if "/db/" in artifact.chain[-1]:
            found.append(artifact.device_path)

    scan([path], ScanOptions(), on_artifact=record)
    return found[0] if found else None


# --- damage, made to order --------------------------------------------------------------


def make(tmp_path: Path, data: bytes, name: str = "b.ab") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zepp(**options: object) -> tuple[Band, bytes]:
    band = Band("damage")
    return band, ab_bytes(zepp_members(band, filler=40_000), label=band.label, **options)


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"ANDROID BACKUP\n6\n1\nnone\n", "unsupported", "Android backup version 6 is newer"),
        (b"ANDROID BACKUP\n0\n1\nnone\n", "corrupt", "version 0 is not"),
        (b"ANDROID BACKUP\nv5\n1\nnone\n", "corrupt", "bad Android backup header field version"),
        (b"ANDROID BACKUP\n5\n2\nnone\n", "corrupt", "the compressed flag is 2"),
        (b"ANDROID BACKUP\n5\n1\nAES-128\n", "unsupported", "unknown encryption 'AES-128'"),
        (
            b"ANDROID BACKUP\n5\n1\n\x00\xff\n",
            "corrupt",
            "bad Android backup header field encryption",
        ),
        (b"ANDROID BACKUP\n5\n1", "truncated", "the Android backup header ends early"),
        (
            b"ANDROID BACKUP\n5\n1\nAES-256\nAB\n",
            "truncated",
            "the Android backup header ends early (at field aes.checksum_salt)",
        ),
    ],
)
def test_header_problems(tmp_path: Path, data: bytes, kind: str, message: str) -> None:
    path = make(tmp_path, data)
    result = scan_file(path)
    assert problems(result) == [(kind, (str(path),))]
    assert result.problems[0].message.startswith(message)


def test_detected_by_content_whatever_the_name(tmp_path: Path) -> None:
    band, data = zepp(version=5)
    path = make(tmp_path, data, "holiday-photos.jpg")
    account = band.db_member.rsplit("/", 1)[1]
    assert db_device_path(path) == f"/data/data/{PACKAGE}/databases/{account}"
    assert container_for(data[:4096], Artifact(chain=("x",), opener=io.BytesIO)).name == (  # type: ignore[union-attr]
        "android_backup"
    )


@pytest.mark.parametrize("data", [COMPRESSED_V5, PLAIN_V5, PLAIN_V5 + b"\0" * 1024])
def test_bare_header_has_no_app_data(tmp_path: Path, data: bytes) -> None:
    path = make(tmp_path, data)
    result = scan_file(path)
    assert [(p.kind, p.message) for p in result.problems] == [("unreadable", NO_APP_DATA)]
    assert result.inputs_read == 1  # recognised and read: it holds nothing (exit 1, not 2)


def test_zero_block_then_data_is_not_an_empty_backup(tmp_path: Path) -> None:
    path = make(tmp_path, PLAIN_V5 + b"\0" * 512 + b"x" * 100)
    result = scan_file(path)
    assert [(p.kind, p.message) for p in result.problems] == [
        ("corrupt", "the tar starts with an end-of-archive block; 100 bytes of data follow")
    ]


def test_encrypted_empty_backup_has_no_app_data(tmp_path: Path) -> None:
    path = make(tmp_path, ab_bytes([], password="pw", label="empty"))
    result = scan_file(path, ["pw"])
    assert [(p.kind, p.message) for p in result.problems] == [("unreadable", NO_APP_DATA)]


def test_encrypted_cut_mid_block(tmp_path: Path) -> None:
    band, data = zepp(version=5, compressed=False, password="pw")
    path = make(tmp_path, data[: len(data) - 24_005])
    result = scan_file(path, ["pw"])
    assert problems(result) == [("truncated", (str(path),))]
    assert result.problems[0].message.startswith("the encrypted body stops mid-block")
    assert (
        "inside member apps/com.xiaomi.hm.health/f/cache/sync_blob.bin"
        in result.problems[0].message
    )
    assert {c.key for c in result.candidates} == {band.key}


def test_encrypted_cut_on_a_block_boundary(tmp_path: Path) -> None:
    band, data = zepp(version=5, compressed=False, password="pw")
    path = make(tmp_path, data[: len(data) - 24_000])  # 24000 = 1500 AES blocks
    result = scan_file(path, ["pw"])
    assert problems(result) == [("truncated", (str(path),))]
    assert result.problems[0].message.startswith("the encrypted body lacks its final padded block")
    assert {c.key for c in result.candidates} == {band.key}


def test_bad_final_padding_after_a_complete_tar(tmp_path: Path) -> None:
    band, data = zepp(version=5, compressed=False, password="pw")
    damaged = bytearray(data)
    # CBC: flips a bit of the last block's padding, garbles the block before (tar end zeros)
    damaged[-20] ^= 0x01
    path = make(tmp_path, bytes(damaged))
    result = scan_file(path, ["pw"])
    assert problems(result) == [("corrupt", (str(path),))]
    assert "bad padding" in result.problems[0].message
    assert {c.key for c in result.candidates} == {band.key, band.prefs_key}


def test_bad_zlib_data(tmp_path: Path) -> None:
    band, data = zepp(version=5)
    damaged = bytearray(data)
    for i in range(len(data) - 2000, len(data) - 1500):
        damaged[i] ^= 0x5A
    path = make(tmp_path, bytes(damaged))
    result = scan_file(path)
    assert ("corrupt", (str(path),)) in problems(result)
    top = [p for p in result.problems if p.provenance == (str(path),)]
    assert top[0].message.startswith("bad compressed data before byte")
    assert band.key in {c.key for c in result.candidates}


def test_data_after_the_compressed_stream(tmp_path: Path) -> None:
    band, data = zepp(version=5)
    path = make(tmp_path, data + b"junk")
    result = scan_file(path)
    assert [(p.kind, p.message) for p in result.problems] == [
        ("corrupt", "4 bytes after the end of the compressed stream were not read")
    ]
    assert {band.key, band.prefs_key} <= {c.key for c in result.candidates}


def test_damaged_checksum_with_the_right_password_is_corrupt(tmp_path: Path) -> None:
    _, data = zepp(version=5, password="pw")
    lines = data.split(b"\n", 9)
    lines[5] = lines[5][:-2] + (b"00" if lines[5][-2:] != b"00" else b"11")  # checksum salt
    path = make(tmp_path, b"\n".join(lines))
    result = scan_file(path, ["wrong", "pw"])
    assert problems(result) == [("corrupt", (str(path),))]
    assert result.problems[0].message.startswith("password #2 opens the master key")


def test_body_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    _, data = zepp(version=5, password="pw")
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(-1 if size is None else size)
            return super().read(size)

    ctx = scan_context(ScanOptions(passwords=["pw"]))
    reader = open_body(Recording(data), ctx)
    assert len(reader.read()) > 40_000
    assert sizes[0] == HEADER_LIMIT  # the header's bounded prefix
    assert set(sizes[1:]) == {SOURCE_CHUNK}


def test_large_body_streams_in_bounded_memory() -> None:
    """64 MiB of zeros inflate through a 1 MiB output window, never in one piece."""
    tar = b"".join(tar_stream([("apps/x.y/f/zeros", b"\0" * (64 << 20))]))
    data = COMPRESSED_V5 + zlib.compress(tar, 9)
    reader = open_body(io.BytesIO(data), scan_context())
    biggest = total = 0
    while chunk := reader.read1(1 << 22):  # type: ignore[attr-defined]
        biggest, total = max(biggest, len(chunk)), total + len(chunk)
    assert total == len(tar)
    assert biggest <= 1 << 20


# --- property tests ---------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=700), st.booleans())
def test_header_parser_raises_only_scan_errors(tail: bytes, at_eof: bool) -> None:
    for data in (tail, b"ANDROID BACKUP\n" + tail):
        with contextlib.suppress(ScanError):
            parse_header(data, at_eof)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([b"5\n0\nnone\n", b"5\n1\nnone\n", b"1\n1\nAES-256\n"]),
    st.binary(max_size=3000),
)
def test_walk_of_random_bodies_raises_only_scan_errors(header: bytes, body: bytes) -> None:
    data = b"ANDROID BACKUP\n" + header + body
    ctx = scan_context(ScanOptions(passwords=["pw"]))
    artifact = Artifact(chain=("random.ab",), opener=lambda: io.BytesIO(data))
    try:
        for child in AndroidBackup().walk(artifact, io.BytesIO(data), ctx):
            child.open().read()
    except ScanError:
        pass
