"""Neo Backup folders: properties claim their encrypted archives; keys, times and problems.

The archives here are encrypted by the test itself from Neo Backup's scheme as its
``CryptoUtils.kt`` writes it (docs/inputs.md, "Neo Backup"), with ``cryptography``'s
streaming AES, not with keyscan's code nor the corpus builder's one-shot AESGCM.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc
from datetime import datetime
from pathlib import Path

import zstandard
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from corpus.common import fake_key, fake_mac
from corpus.samples import neo_backup
from scanner.context import ScanOptions
from scanner.formats.neo.properties import parse
from scanner.model import ScanResult
from scanner.pipeline import scan
from tests.helpers import cli_json, keys_of, tar_of

PASSWORD = "pässwort neo"  # not ASCII: Java's PBKDF2 takes the chars as UTF-8
IV = bytes(range(200, 216))  # bytes above 127: stored as negative numbers
MAC = fake_mac("neo-test")
KEY = fake_key("neo-test")
OTHER_MAC = fake_mac("neo-test-other")
OTHER_KEY = fake_key("neo-test-other")
TS = "2024-05-01-13-45-12-345"
BACKUP_DATE = "2024-05-01T13:45:12.345"


def gcm_encrypt(plain: bytes, password: str, iv: bytes) -> bytes:
    """AES-256-GCM, PBKDF2-HMAC-SHA256 / 2020 / b"oandbackupx"; ciphertext then the tag."""
    key = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), b"oandbackupx", 2020, 32)
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    body = b"".join(encryptor.update(plain[i : i + 1000]) for i in range(0, len(plain), 1000))
    return body + encryptor.finalize() + encryptor.tag


def cbc_encrypt(plain: bytes, password: str) -> bytes:
    """4.x: AES-128-CBC, zero IV, PKCS#5; PBKDF2-HMAC-SHA1 / 1000 / b"oandbackupx"."""
    key = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), b"oandbackupx", 1000, 16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def prefs_json(mac: str, key: str) -> bytes:
    return json.dumps({"device": {"mac": mac, "authKey": key}}).encode()


def app_tar(mac: str, key: str, mtime: int = 1714571112) -> bytes:
    """The app's data folder as Neo Backup's shell tar writes it (``./`` names)."""
    return tar_of([("./files/band.json", prefs_json(mac, key))], mtime=mtime)


def properties(package: str = "com.xiaomi.hm.health", **extra: object) -> str:
    fields: dict[str, object] = {
        "backupVersionCode": 8318,
        "packageName": package,
        "backupDate": BACKUP_DATE,
        "hasAppData": True,
        "compressionType": "gz",
        "cipherType": "AES/GCM/NoPadding",
        "cpuArch": "arm64-v8a",
        "iv": [b - 256 if b > 127 else b for b in IV],
    }
    fields.update(extra)
    return json.dumps({k: v for k, v in fields.items() if v is not None}, indent=4)


def backup(
    root: Path,
    package: str,
    archive: bytes,
    name: str = "data.tar.gz.enc",
    **extra: object,
) -> Path:
    """``<root>/<package>/<TS>-user_0.properties`` beside the folder with one archive."""
    folder = root / package / f"{TS}-user_0"
    folder.mkdir(parents=True)
    (root / package / f"{TS}-user_0.properties").write_text(properties(package, **extra))
    (folder / name).write_bytes(archive)
    return folder / name


def scan_of(path: Path, *passwords: str) -> ScanResult:
    return scan([path], ScanOptions(passwords=list(passwords)))


def kinds_at(result: ScanResult) -> dict[str, str]:
    return {p.provenance[1]: p.kind for p in result.problems}


def test_an_archive_encrypted_as_neo_backup_does_is_decrypted_with_its_chain(
    tmp_path: Path,
) -> None:
    archive = gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV)
    backup(tmp_path, "com.xiaomi.hm.health", archive)
    result = scan_of(tmp_path, "wrong one", PASSWORD)
    assert result.problems == []
    assert keys_of(result.candidates) == {KEY}
    (found,) = result.candidates
    assert found.provenance[:6] == (
        str(tmp_path),
        f"com.xiaomi.hm.health/{TS}-user_0/data.tar.gz.enc",
        "data.tar.gz",
        "data.tar",
        "./files/band.json",
        "$.device.authKey",
    )
    assert found.device.mac == MAC
    # A tar member's own time is better than the backup's date: it is kept.
    assert found.timestamp == datetime.fromisoformat("2024-05-01T13:45:12+00:00")
    assert found.timestamp_source == "tar member mtime"


def test_the_backup_date_is_the_time_of_what_has_none_better(tmp_path: Path) -> None:
    plain = zstandard.ZstdCompressor().compress(app_tar(MAC, KEY, mtime=0))  # no member time
    backup(tmp_path, "com.xiaomi.wearable", gcm_encrypt(plain, PASSWORD, IV), "data.tar.zst.enc")
    (found,) = scan_of(tmp_path, PASSWORD).candidates
    assert found.key == KEY
    assert found.timestamp == datetime(2024, 5, 1, 13, 45, 12, 345000)  # local: no zone
    assert found.timestamp_source == "Neo Backup date"


def test_a_wrong_password_is_a_problem_of_that_archive_and_the_others_are_read(
    tmp_path: Path,
) -> None:
    backup(tmp_path, "a.first", gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), "other", IV))
    backup(
        tmp_path,
        "b.second",
        gcm_encrypt(gzip.compress(app_tar(OTHER_MAC, OTHER_KEY)), PASSWORD, IV),
    )
    result = scan_of(tmp_path, PASSWORD)
    assert keys_of(result.candidates) == {OTHER_KEY}
    assert kinds_at(result) == {f"a.first/{TS}-user_0/data.tar.gz.enc": "wrong-password"}


def test_no_password_given_is_a_needs_password_problem(tmp_path: Path) -> None:
    backup(tmp_path, "a.first", gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV))
    result = scan_of(tmp_path)
    assert result.candidates == []
    assert kinds_at(result) == {f"a.first/{TS}-user_0/data.tar.gz.enc": "needs-password"}


def test_a_cut_archive_is_corrupt_and_the_other_backups_are_still_read(tmp_path: Path) -> None:
    # Incompressible filler so that the key sits in the first half and the cut in the rest.
    filler = hashlib.shake_256(b"filler").digest(200_000)
    tar = tar_of([("./files/band.json", prefs_json(MAC, KEY)), ("./files/blob", filler)])
    whole = gcm_encrypt(gzip.compress(tar), PASSWORD, IV)
    backup(tmp_path, "a.cut", whole[: len(whole) // 2])
    backup(
        tmp_path, "b.whole", gcm_encrypt(gzip.compress(app_tar(OTHER_MAC, OTHER_KEY)), PASSWORD, IV)
    )
    result = scan_of(tmp_path, PASSWORD)
    assert keys_of(result.candidates) == {KEY, OTHER_KEY}  # what came before the cut is kept
    enc = f"a.cut/{TS}-user_0/data.tar.gz.enc"
    assert [p.kind for p in result.problems if p.provenance[1:] == (enc,)] == ["corrupt"]


def test_a_damaged_tag_is_corrupt_though_every_member_was_read(tmp_path: Path) -> None:
    archive = bytearray(gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV))
    archive[-1] ^= 1
    backup(tmp_path, "a.first", bytes(archive))
    result = scan_of(tmp_path, PASSWORD)
    assert keys_of(result.candidates) == {KEY}
    assert kinds_at(result) == {f"a.first/{TS}-user_0/data.tar.gz.enc": "corrupt"}


def test_a_4x_backup_with_its_properties_in_the_folder_is_aes_cbc(tmp_path: Path) -> None:
    folder = tmp_path / "com.xiaomi.hm.health" / "0" / "2020-10-01-08-00-00"
    folder.mkdir(parents=True)
    (folder / "backup.properties").write_text(
        json.dumps({
            "packageName": "com.xiaomi.hm.health",
            "backupDate": "2020-10-01T08:00:00",
            "hasAppData": True,
            "cipherType": "AES/CBC/PKCS5Padding",
        })
    )  # fmt: skip
    (folder / "data.tar.gz.enc").write_bytes(
        cbc_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD)
    )
    result = scan_of(tmp_path, PASSWORD)
    assert result.problems == []
    assert keys_of(result.candidates) == {KEY}


def test_a_backup_inside_a_tar_is_read_when_its_properties_come_first(tmp_path: Path) -> None:
    archive = gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV)
    outer = tar_of([
        (f"NeoBackup/com.xiaomi.hm.health/{TS}-user_0.properties", properties().encode()),
        (f"NeoBackup/com.xiaomi.hm.health/{TS}-user_0/data.tar.gz.enc", archive),
    ])  # fmt: skip
    (tmp_path / "phone.tar").write_bytes(outer)
    result = scan_of(tmp_path / "phone.tar", PASSWORD)
    assert result.problems == []
    assert keys_of(result.candidates) == {KEY}


def test_an_openpgp_backup_is_unsupported_not_a_wrong_password(tmp_path: Path) -> None:
    backup(tmp_path, "a.first", b"\x85\x01\x0c" + bytes(300), cipherType="AES_256", iv=None)
    result = scan_of(tmp_path, PASSWORD)
    assert kinds_at(result) == {f"a.first/{TS}-user_0/data.tar.gz.enc": "unsupported"}


def test_an_enc_file_no_properties_name_is_not_claimed(tmp_path: Path) -> None:
    backup(tmp_path, "a.first", gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV))
    (tmp_path / "a.first" / f"{TS}-user_0.properties").unlink()
    result = scan_of(tmp_path, PASSWORD)
    assert result.candidates == []
    assert result.problems == []


def test_properties_iv_is_signed_bytes_and_a_missing_one_is_zero() -> None:
    props = parse(properties().encode(), f"x/{TS}-user_0.properties")
    assert props.iv == IV
    assert props.package == "com.xiaomi.hm.health"
    assert props.backup_date == datetime(2024, 5, 1, 13, 45, 12, 345000)
    assert parse(properties(iv=None).encode(), "p.properties").iv == bytes(16)


def test_the_corpus_sample_decrypts_both_backups(tmp_path: Path) -> None:
    neo_backup.build(tmp_path)
    result = scan_of(tmp_path / "neo_backup", neo_backup.PASSWORD)
    assert result.problems == []
    assert keys_of(result.candidates) == {neo_backup.BAND_KEY, neo_backup.WATCH_KEY}
    chains = {c.key: c.provenance[1:4] for c in result.candidates}
    assert chains[neo_backup.WATCH_KEY] == (
        f"NeoBackup/com.xiaomi.wearable/{neo_backup.MI_FITNESS_TS}-user_0/external_files.tar.zst.enc",
        "external_files.tar.zst",
        "external_files.tar",
    )


def test_memory_stays_bounded_whatever_the_archive_size(tmp_path: Path) -> None:
    """Never whole in memory: a 48 MiB archive is decrypted and walked in 1 MiB steps."""
    noise = hashlib.shake_256(b"noise").digest(48 << 20)  # incompressible
    tar = tar_of([("./files/blob", noise), ("./files/band.json", prefs_json(MAC, KEY))])
    path = backup(tmp_path, "a.first", gcm_encrypt(gzip.compress(tar, 1), PASSWORD, IV))
    del noise, tar
    tracemalloc.start()
    try:
        result = scan_of(tmp_path, PASSWORD)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert keys_of(result.candidates) == {KEY}
    assert path.stat().st_size > 48 << 20
    assert peak < 20 << 20


def test_the_cli_takes_the_password_from_keyscan_password(tmp_path: Path) -> None:
    backup(tmp_path, "a.first", gcm_encrypt(gzip.compress(app_tar(MAC, KEY)), PASSWORD, IV))
    code, document = cli_json([str(tmp_path)], env={"KEYSCAN_PASSWORD": PASSWORD})
    assert code == 0
    assert [c["key"] for c in document["candidates"]] == [KEY]
    assert document["problems"] == []
