"""Sample family `neo_backup`: a Neo Backup folder with password-encrypted archives.

``neo_backup/NeoBackup/<pkg>/<TS>-user_0.properties`` beside ``<pkg>/<TS>-user_0/``, as
Neo Backup 8.x writes them (docs/inputs.md, "Neo Backup"): the properties are
kotlinx-serialization JSON (fields at their default left out, the IV as signed bytes);
each archive is tar (member names ``./…``, as toybox tar writes them), then gzip or
zstd, then AES-256-GCM under PBKDF2-HMAC-SHA256(password, b"oandbackupx", 2020) with
the 16-byte tag appended.

- Zepp Life ``data.tar.gz.enc``: ``databases/origin_db`` (DEVICE: MAC + AUTHKEY);
- Mi Fitness ``external_files.tar.zst.enc``: a device log with ``DeviceInfo(token=…)``,
  and a plain ``data.tar.zst`` beside it (an archive without ``.enc`` is read as is).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples.twrp import device_log, origin_db

PASSWORD = "neo-corpus-pw"
ROOT = "neo_backup/NeoBackup"
ZEPP = "com.xiaomi.hm.health"
MI_FITNESS = "com.xiaomi.wearable"
ZEPP_TS = "2024-03-05-10-20-30-123"
MI_FITNESS_TS = "2024-03-06-09-00-00-000"

BAND_MAC = fake_mac("neo-band")
BAND_KEY = fake_key("neo-band")
WATCH_MAC = fake_mac("neo-watch")
WATCH_KEY = fake_key("neo-watch")


def neo_key(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), b"oandbackupx", 2020, 32)


def neo_encrypt(plain: bytes, password: str, iv: bytes) -> bytes:
    """Ciphertext || 16-byte tag: what Neo Backup's CipherOutputStream writes."""
    return AESGCM(neo_key(password)).encrypt(iv, plain, None)


def neo_iv(label: str) -> bytes:
    """A fixed 16-byte IV per backup (Neo Backup draws a random one)."""
    return hashlib.sha256(b"keyscan-corpus-neo-iv:" + label.encode()).digest()[:16]


def toybox_tar(members: list[tuple[str, bytes]], mtime: int) -> bytes:
    """A tar as Neo Backup's default shell path writes it: ``./`` names, GNU format."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(f"./{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o600
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def properties(
    package: str, date: str, iv: bytes | None, compression: str, encrypted: bool = True
) -> str:
    """A backup's properties as Neo Backup 8.3 writes them (pretty JSON, defaults left out)."""
    fields: dict[str, object] = {
        "backupVersionCode": 8318,
        "packageName": package,
        "packageLabel": package.rsplit(".", 1)[-1],
        "versionName": "6.12.0",
        "versionCode": 202403050,
        "sourceDir": f"/data/app/~~x/{package}-y/base.apk",
        "backupDate": date,
        "hasApk": True,
        "hasAppData": True,
        "hasExternalData": True,
        "compressionType": compression,
        "cpuArch": "arm64-v8a",
        "size": 123456,
    }
    if encrypted:
        fields["cipherType"] = "AES/GCM/NoPadding"
    if iv is not None:
        fields["iv"] = [b - 256 if b > 127 else b for b in iv]  # Kotlin's signed bytes
    return json.dumps(fields, indent=4) + "\n"


def build(dest: Path) -> list[Expected]:
    root = dest / ROOT
    zepp_iv, fitness_iv = neo_iv(ZEPP_TS), neo_iv(MI_FITNESS_TS)
    zepp_time = epoch(2024, 3, 5, 10, 20)
    fitness_time = epoch(2024, 3, 6, 9, 0)

    zepp = root / ZEPP
    write(
        zepp / f"{ZEPP_TS}-user_0.properties",
        properties(ZEPP, "2024-03-05T10:20:30.123", zepp_iv, "gz"),
    )
    data = toybox_tar([("databases/origin_db", origin_db(BAND_MAC, BAND_KEY))], zepp_time)
    archive = neo_encrypt(gzip.compress(data, 2, mtime=0), PASSWORD, zepp_iv)
    write(zepp / f"{ZEPP_TS}-user_0" / "data.tar.gz.enc", archive)
    write(zepp / f"{ZEPP_TS}-user_0" / "base.apk", b"PK\x05\x06" + bytes(18))  # empty zip

    fitness = root / MI_FITNESS
    write(
        fitness / f"{MI_FITNESS_TS}-user_0.properties",
        properties(MI_FITNESS, "2024-03-06T09:00:00", fitness_iv, "zst"),
    )
    log = device_log(WATCH_MAC, WATCH_KEY).encode()
    external = toybox_tar([("files/log/XiaomiFit.device.log", log)], fitness_time)
    compressor = zstandard.ZstdCompressor(level=3)
    archive = neo_encrypt(compressor.compress(external), PASSWORD, fitness_iv)
    write(fitness / f"{MI_FITNESS_TS}-user_0" / "external_files.tar.zst.enc", archive)
    settings = toybox_tar([("shared_prefs/settings.xml", b"<map />\n")], fitness_time)
    write(fitness / f"{MI_FITNESS_TS}-user_0" / "data.tar.zst", compressor.compress(settings))

    return [
        Expected(
            input="neo_backup",
            devices={BAND_MAC: BAND_KEY, WATCH_MAC: WATCH_KEY},
            keys={BAND_KEY, WATCH_KEY},
            passwords=[PASSWORD],
        )
    ]
