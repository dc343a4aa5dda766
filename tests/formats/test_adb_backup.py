"""Android backups: real files decode to the tars their authors name; corpus backups give
their exact keys. Damage made to order: test_android_backup_damage.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corpus.common import Expected
from corpus.samples.adb_backups import (
    PACKAGE,
    PASSWORD_V1,
    PASSWORD_V5,
    Band,
    ab_bytes,
    zepp_members,
)
from scanner.artifacts import Artifact
from scanner.context import ScanOptions
from scanner.formats.adb import crypto as adb_crypto
from scanner.formats.adb.body import BodyStatus
from scanner.formats.adb.stream import (
    NO_APP_DATA,
    open_body,
    parse_header,
)
from scanner.model import ScanResult
from scanner.pipeline import scan
from tests.helpers import scan_context

TELEPHONY = "apps/com.android.providers.telephony"
TEST_TAR_SHA = "d283c09ecccb6c812cca985aca46f3595e052935c74bea212711d9f6eab768a9"
REAL = [  # file, passwords, SHA-256 of the tar (SOURCES.md)
    ("mvt/backup.ab", [], "ce1ac5009fea5187a9f546b51e1446ba450243ae91d31dc779233ec0937b5d18"),
    (
        "mvt/backup2.ab",
        ["123456"],
        "f365ace1effbc4902c6aeba241ca61544f8a96ad456c1861808ea87b7dd03896",
    ),
    ("mvt/backup3.ab", [], "33e73df2ede9798dcb3a85c06200ee41c8f52dd2f2e50ffafcceb0407bc13e3a"),
    ("abe/test.encrypted.backup", ["12345"], TEST_TAR_SHA),
    ("abe/test.unencrypted.backup", [], TEST_TAR_SHA),
    ("abe/uncompressed.backup", [], TEST_TAR_SHA),
]
PLAIN_V5 = b"ANDROID BACKUP\n5\n0\nnone\n"
COMPRESSED_V5 = b"ANDROID BACKUP\n5\n1\nnone\n"


def body_of(path: Path, passwords: list[str]) -> tuple[bytes, BodyStatus]:
    ctx = scan_context(ScanOptions(passwords=list(passwords)))
    with open(path, "rb") as handle:
        reader = open_body(handle, ctx, (str(path),))
        return reader.read(), reader.raw.observed  # type: ignore[attr-defined]


def problems(result: ScanResult) -> list[tuple[str, tuple[str, ...]]]:
    return [(p.kind, p.provenance) for p in result.problems]


def scan_file(path: Path, passwords: list[str] | None = None, **options: object) -> ScanResult:
    return scan([path], ScanOptions(passwords=list(passwords or []), **options))  # type: ignore[arg-type]


def members_seen(path: Path, passwords: list[str] | None = None) -> dict[str, str | None]:
    seen: dict[str, str | None] = {}

    def record(artifact: Artifact, kind: str) -> None:
        if len(artifact.chain) == 2:
            seen[artifact.chain[1]] = artifact.device_path

    scan([path], ScanOptions(passwords=list(passwords or [])), on_artifact=record)
    return seen


# --- real files -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "passwords", "sha"), REAL)
def test_real_backup_decodes_to_the_named_tar(
    real_samples: Path, name: str, passwords: list[str], sha: str
) -> None:
    body, state = body_of(real_samples / name, passwords)
    assert hashlib.sha256(body).hexdigest() == sha
    assert (state.failure, state.bad_padding, state.trailing) == (None, False, 0)


@pytest.mark.parametrize(("name", "passwords", "sha"), REAL)
def test_real_backup_scans_without_problems(
    real_samples: Path, name: str, passwords: list[str], sha: str
) -> None:
    result = scan_file(real_samples / name, passwords)
    assert result.problems == []
    assert result.inputs_read == 1


def test_real_members_map_to_device_paths(real_samples: Path) -> None:
    seen = members_seen(real_samples / "mvt/backup2.ab", ["123456"])
    assert seen == {
        f"{TELEPHONY}/_manifest": "/data/data/com.android.providers.telephony/_manifest",
        f"{TELEPHONY}/d_f/000000_sms_backup": (
            "/data/user_de/0/com.android.providers.telephony/files/000000_sms_backup"
        ),
    }


@pytest.mark.parametrize(
    ("name", "password", "matches"),
    [
        ("abe/test.encrypted.backup", "12345", [True, False]),  # v1: raw key, not mangled
        ("mvt/backup2.ab", "123456", [True, False]),  # v5: mangled key, not raw
    ],
)
def test_checksum_form_of_real_backups(
    real_samples: Path, name: str, password: str, matches: list[bool]
) -> None:
    header = parse_header((real_samples / name).read_bytes()[:8192], at_eof=False)
    assert header.aes is not None
    user_key = adb_crypto.pbkdf2(
        adb_crypto.password_forms(password, header.version)[0],
        header.aes.user_salt,
        header.aes.rounds,
    )
    opened = adb_crypto.open_blob(header.aes, user_key)
    assert opened is not None
    master, stored = opened
    forms = adb_crypto.checksum_forms(master.key, header.version)
    assert (forms[0] == master.key) is (header.version == 1)
    salt, rounds = header.aes.checksum_salt, header.aes.rounds
    assert [adb_crypto.pbkdf2(f, salt, rounds) == stored for f in forms] == matches


def test_real_encrypted_without_password_needs_one(real_samples: Path) -> None:
    path = real_samples / "mvt/backup2.ab"
    result = scan_file(path)
    assert problems(result) == [("needs-password", (str(path),))]
    message = result.problems[0].message
    for way in ("--password", "--password-file", "KEYSCAN_PASSWORD"):
        assert way in message


@pytest.mark.parametrize("name", ["mvt/backup2.ab", "abe/test.encrypted.backup"])
def test_real_encrypted_wrong_passwords(real_samples: Path, name: str) -> None:
    path = real_samples / name
    result = scan_file(path, ["nope", "654321"])
    assert problems(result) == [("wrong-password", (str(path),))]
    assert result.problems[0].message == "the password is wrong: tried 2 passwords"


def test_real_encrypted_right_password_after_wrong_ones(real_samples: Path) -> None:
    result = scan_file(real_samples / "abe/test.encrypted.backup", ["x", "y", "12345"])
    assert result.problems == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "abe/test.encrypted_invalidHeader.backup",
            "the user password salt is 65 bytes, not 64: the header is damaged",
        ),
        (
            "abe/test.encrypted_invalidHeader2.backup",
            "the master key checksum salt is 65 bytes, not 64: the header is damaged",
        ),
    ],
)
def test_real_damaged_encryption_headers_are_corrupt(
    real_samples: Path, name: str, message: str
) -> None:
    path = real_samples / name
    for passwords in ([], ["12345"]):
        result = scan_file(path, passwords)
        assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
            ("corrupt", (str(path),), message)
        ]


def test_real_invalid_header_sample(real_samples: Path) -> None:
    """It claims version 2 (valid: AOSP reads 1-5) over abe's tar plus one stray byte."""
    path = real_samples / "abe/invalid_header.uncompressed.unencrypted.backup"
    body, _ = body_of(path, [])
    tar = (real_samples / "abe/test.tar").read_bytes()
    assert hashlib.sha256(tar).hexdigest() == TEST_TAR_SHA
    assert body == tar + b"\n"
    result = scan_file(path)
    assert problems(result) == [("corrupt", (str(path),))]
    assert result.problems[0].message.startswith(
        "1 byte of unexpected data after the end of the tar"
    )
    assert result.files_seen == 3  # the backup and its two files


# --- corpus -----------------------------------------------------------------------------

CORPUS_ADB = [
    "adb/zepp-plain-v1.ab",
    "adb/zepp-compressed-v5.ab",
    "adb/zepp-encrypted-v1.ab",
    "adb/zepp-encrypted-v5.ab",
    "adb/zepp-truncated-v5.ab",
    "adb/empty-allowbackup-false.ab",
]


@pytest.mark.parametrize("name", CORPUS_ADB)
def test_corpus_backup_gives_its_keys_and_problems(
    corpus: tuple[Path, dict[str, Expected]], name: str
) -> None:
    root, expected = corpus
    want = expected[name]
    result = scan_file(root / name, want.passwords)
    found = {c.key for c in result.candidates}
    assert want.keys <= found
    assert not want.absent & found
    assert {p.kind for p in result.problems} == want.problems
    chosen = {d.device.mac or f"key:{d.chosen.key}": d.chosen.key for d in result.devices}
    assert chosen == want.devices


@pytest.mark.parametrize("name", CORPUS_ADB[:4])
def test_corpus_database_key_provenance(
    corpus: tuple[Path, dict[str, Expected]], name: str
) -> None:
    root, _ = corpus
    band = Band("adb-" + name.removeprefix("adb/").removesuffix(".ab"))
    path = root / name
    passwords = {
        "adb/zepp-encrypted-v1.ab": [PASSWORD_V1],
        "adb/zepp-encrypted-v5.ab": [PASSWORD_V5],
    }
    result = scan_file(path, passwords.get(name, []))
    provenances = {c.provenance for c in result.candidates if c.key == band.key}
    assert (str(path), band.db_member, "DEVICE rowid 1 column AUTHKEY") in provenances


def test_corpus_members_map_to_device_paths(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = corpus
    band = Band("adb-zepp-encrypted-v5")
    seen = members_seen(root / "adb/zepp-encrypted-v5.ab", [PASSWORD_V5])
    account = band.db_member.rsplit("/", 1)[1]
    assert seen == {
        f"apps/{PACKAGE}/_manifest": f"/data/data/{PACKAGE}/_manifest",
        band.db_member: f"/data/data/{PACKAGE}/databases/{account}",
        f"apps/{PACKAGE}/sp/hm_preferences.xml": (
            f"/data/data/{PACKAGE}/shared_prefs/hm_preferences.xml"
        ),
    }


def test_corpus_truncated_backup_keeps_what_precedes_the_cut(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    root, _ = corpus
    path = root / "adb/zepp-truncated-v5.ab"
    band = Band("adb-zepp-truncated-v5")
    result = scan_file(path)
    assert problems(result) == [("truncated", (str(path),))]
    message = result.problems[0].message
    assert message.startswith("the compressed stream ends early")
    assert message.endswith(f"inside member apps/{PACKAGE}/f/cache/sync_blob.bin")
    keys = {c.key: c.provenance for c in result.candidates}
    assert keys == {band.key: (str(path), band.db_member, "DEVICE rowid 1 column AUTHKEY")}


def test_corpus_empty_backup_has_no_app_data(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = corpus
    path = root / "adb/empty-allowbackup-false.ab"
    assert path.stat().st_size == 41
    result = scan_file(path)
    assert [(p.kind, p.provenance, p.message) for p in result.problems] == [
        ("unreadable", (str(path),), NO_APP_DATA)
    ]


def test_v1_password_needs_its_8bit_form() -> None:
    assert adb_crypto.password_forms(PASSWORD_V1, 1)[0] == PASSWORD_V1.encode("latin-1")
    assert adb_crypto.password_forms(PASSWORD_V1, 5)[0] == PASSWORD_V1.encode("utf-8")
    assert adb_crypto.password_forms("ключ", 1)[0] == bytes([0x3A, 0x3B, 0x4E, 0x47])


def test_prompt_is_asked_only_after_known_passwords_fail(tmp_path: Path) -> None:
    band = Band("prompt")
    path = tmp_path / "b.ab"
    path.write_bytes(ab_bytes(zepp_members(band), password=PASSWORD_V5, label=band.label))
    asked: list[tuple[str, ...]] = []

    def ask(provenance: tuple[str, ...], failed: int) -> str | None:
        asked.append(provenance)
        return PASSWORD_V5

    result = scan_file(path, ["wrong"], ask_password=ask)
    assert result.problems == []
    assert asked == [(str(path),)]
