"""MIUI local backups: the header is read, the Android backup inside is scanned, and MIUI's
own encryption is reported as unsupported."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.common import Expected
from corpus.samples.adb_backups import PACKAGE, PASSWORD_V5, Band, ab_bytes, zepp_members
from corpus.samples.miui_backup import BAK_NAME, ENCRYPTED_FOLDER, FOLDER, LABEL, miui_header
from scanner.artifacts import Artifact, Origin
from scanner.context import ScanOptions
from scanner.errors import ScanError
from scanner.formats.adb.stream import NO_APP_DATA
from scanner.formats.miui.container import MIUI_ENCRYPTION, parse_header
from scanner.model import ScanResult
from scanner.pipeline import scan


def scan_file(path: Path, passwords: list[str] | None = None) -> ScanResult:
    return scan([path], ScanOptions(passwords=list(passwords or [])))


def plain_zepp(band: Band) -> bytes:
    return ab_bytes(zepp_members(band), version=5, compressed=False)


def test_corpus_miui_folder_gives_its_keys(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, expected = corpus
    want = expected["miui"]
    result = scan_file(root / "miui")
    assert result.problems == []
    found = {c.key for c in result.candidates}
    assert want.keys <= found
    chosen = {d.device.mac or f"key:{d.chosen.key}": d.chosen.key for d in result.devices}
    assert chosen == want.devices
    band = Band("miui-zepp")
    bak = f"{FOLDER.removeprefix('miui/')}/{BAK_NAME}"
    provenances = {c.provenance for c in result.candidates if c.key == band.key}
    assert (str(root / "miui"), bak, band.db_member, "DEVICE rowid 1 column AUTHKEY") in provenances


def test_corpus_miui_members_sit_under_the_bak(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = corpus
    seen: dict[tuple[str, ...], tuple[str | None, Origin]] = {}

    def record(artifact: Artifact, kind: str) -> None:
        seen[artifact.chain[1:]] = (artifact.device_path, artifact.origin)

    scan([root / "miui"], ScanOptions(), on_artifact=record)
    bak = f"{FOLDER.removeprefix('miui/')}/{BAK_NAME}"
    origin = Origin(package=PACKAGE, label=LABEL)
    assert seen[(bak, f"apps/{PACKAGE}/_manifest")] == (f"/data/data/{PACKAGE}/_manifest", origin)
    assert seen[(bak, f"apps/{PACKAGE}/sp/hm_preferences.xml")] == (
        f"/data/data/{PACKAGE}/shared_prefs/hm_preferences.xml",
        origin,
    )
    assert len([chain for chain in seen if chain[0] == bak]) == 4  # the .bak and 3 members


def test_corpus_miui_encryption_is_unsupported(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, expected = corpus
    result = scan_file(root / "miui-encrypted")
    bak = f"{ENCRYPTED_FOLDER.removeprefix('miui-encrypted/')}/{BAK_NAME}"
    assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
        ("unsupported", (str(root / "miui-encrypted"), bak), MIUI_ENCRYPTION)
    ]
    assert result.candidates == []
    assert {p.kind for p in result.problems} == expected["miui-encrypted"].problems


@pytest.mark.parametrize(
    ("header", "kind", "message"),
    [
        (miui_header(21, ("cGFzcw==", "10")), "unsupported", MIUI_ENCRYPTION),
        (miui_header(7), "unsupported", "unknown MIUI backup type 7 (known: 0, 1, 20, 21)"),
        (
            b"MIUI BACKUP\n3\nwhatever\n",
            "unsupported",
            "MIUI backup version 3; keyscan reads version 2, the only one MIUI itself reads",
        ),
        (
            b"MIUI BACKUP\n2\ncom.x y\n0\n",
            "truncated",
            "the MIUI backup header ends early (at field type)",
        ),
        (
            b"MIUI BACKUP\n2\ncom.x y\nzero\n0\n",
            "corrupt",
            "bad MIUI backup header field feature_id: not a decimal number: b'zero'",
        ),
        (
            miui_header(0) + b"PK\x03\x04junk",
            "corrupt",
            "no Android backup stream follows the MIUI header",
        ),
        (
            miui_header(0) + b"ANDROID BACK",
            "truncated",
            "the Android backup header after the MIUI header ends early",
        ),
        (miui_header(0), "unreadable", NO_APP_DATA),
        (miui_header(0) + b"ANDROID BACKUP\n5\n1\nnone\n", "unreadable", NO_APP_DATA),
    ],
)
def test_miui_problems(tmp_path: Path, header: bytes, kind: str, message: str) -> None:
    path = tmp_path / BAK_NAME
    path.write_bytes(header)
    result = scan_file(path)
    assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
        (kind, (str(path),), message)
    ]


def test_type_20_with_user_id(tmp_path: Path) -> None:
    band = Band("miui-user")
    path = tmp_path / "anything.bin"  # detected by content
    path.write_bytes(miui_header(20, ("10",)) + plain_zepp(band))
    result = scan_file(path)
    assert result.problems == []
    assert {band.key, band.prefs_key} <= {c.key for c in result.candidates}


def test_encrypted_android_stream_inside_miui(tmp_path: Path) -> None:
    band = Band("miui-aes")
    path = tmp_path / BAK_NAME
    inner = ab_bytes(zepp_members(band), password=PASSWORD_V5, label=band.label)
    path.write_bytes(miui_header(0) + inner)
    assert [p.kind for p in scan_file(path).problems] == ["needs-password"]
    result = scan_file(path, [PASSWORD_V5])
    assert result.problems == []
    assert {band.key, band.prefs_key} <= {c.key for c in result.candidates}


def test_truncated_miui_backup_names_the_cut_member(tmp_path: Path) -> None:
    band = Band("miui-cut")
    whole = miui_header(0) + plain_zepp(band)
    path = tmp_path / BAK_NAME
    path.write_bytes(whole[: len(whole) - 1500])  # inside hm_preferences.xml's data
    result = scan_file(path)
    prefs = f"apps/{PACKAGE}/sp/hm_preferences.xml"
    assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
        ("truncated", (str(path), prefs), "ends early: unexpected end of data"),
        ("truncated", (str(path),), f"tar stream ends inside member {prefs}"),
    ]
    assert band.key in {c.key for c in result.candidates}


def test_header_fields() -> None:
    data = miui_header(20, ("999",), feature_id=-1) + b"ANDROID BACKUP\n"
    header = parse_header(data, at_eof=True)
    assert (header.package, header.label, header.feature_id, header.type, header.user_id) == (
        PACKAGE,
        LABEL,
        -1,
        20,
        999,
    )
    assert data[header.size :] == b"ANDROID BACKUP\n"


def test_label_may_be_missing() -> None:
    header = parse_header(b"MIUI BACKUP\n2\ncom.example.app\n0\n0\n", at_eof=True)
    assert (header.package, header.label) == ("com.example.app", "")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.booleans())
def test_header_parser_raises_only_scan_errors(tail: bytes, at_eof: bool) -> None:
    for data in (tail, b"MIUI BACKUP\n" + tail, b"MIUI BACKUP\n2\n" + tail):
        with contextlib.suppress(ScanError):
            parse_header(data, at_eof)
