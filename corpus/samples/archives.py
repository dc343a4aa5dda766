"""Sample family `archives`: zips (AES, ZipCrypto, bugreport), tars, nesting and bombs.

Every file is reproducible byte for byte: zip dates are fixed, gzip mtimes are 0, and
WinZip AES salts (random in pyzipper) come from a hash while the corpus is written
(``_fixed_salts``). ZipCrypto, the bombs and the 1 TB tar are written by hand, because
no library writes them (ZipCrypto) or would take the time to (bombs).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pyzipper

from corpus.common import Expected, epoch, fake_key, fake_mac, write, zip_of
from corpus.samples.twrp import device_log, origin_db

DATE_TIME = (2024, 3, 1, 12, 0, 0)
AES_PASSWORD = "export-pass"
ZIPCRYPTO_PASSWORD = "zipcrypto-pass"
WATCH_LOG = "Android/data/com.xiaomi.wearable/files/log/XiaomiFit.device.log"
ORIGIN_DB = "data/data/com.xiaomi.hm.health/databases/origin_db"
DEEP_LEVELS = 64


def device(label: str) -> tuple[str, str]:
    return fake_mac(f"archives-{label}"), fake_key(f"archives-{label}")


# --- writers ----------------------------------------------------------------------------


def zip_bytes(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    return zip_of(members, DATE_TIME, method)


class _HashRandom:
    """Stands in for Cryptodome.Random in pyzipper: salts from a counter and a hash."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._count = 0

    def new(self) -> _HashRandom:
        return self

    def read(self, size: int) -> bytes:
        self._count += 1
        return hashlib.sha256(f"{self._label}:{self._count}".encode()).digest()[:size]


@contextlib.contextmanager
def _fixed_salts(label: str) -> Iterator[None]:
    with mock.patch.object(pyzipper.zipfile_aes, "Random", _HashRandom(label)):
        yield


def aes_zip_bytes(members: list[tuple[str, bytes]], password: str, label: str) -> bytes:
    out = io.BytesIO()
    with (
        _fixed_salts(label),
        pyzipper.AESZipFile(
            out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
        ) as archive,
    ):
        archive.setpassword(password.encode())
        for name, data in members:
            info = archive.zipinfo_cls(name, date_time=DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


def _crc_update(crc: int, byte: int) -> int:
    return ~zlib.crc32(bytes([byte]), ~crc & 0xFFFFFFFF) & 0xFFFFFFFF


def zipcrypto_encrypt(data: bytes, password: bytes, crc: int, label: str) -> bytes:
    """PKWARE's traditional encryption (APPNOTE 6.1): 12-byte header, then the data."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        keys[0] = _crc_update(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = _crc_update(keys[2], keys[1] >> 24)

    for byte in password:
        update(byte)
    header = hashlib.sha256(label.encode()).digest()[:11] + bytes([crc >> 24])
    out = bytearray()
    for byte in header + data:
        temp = keys[2] | 2
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def raw_zip(entries: list[tuple[str, bytes, int, int, int, int]]) -> bytes:
    """A zip from prepared entries: (name, payload, method, flags, crc, size)."""
    dos_time = (DATE_TIME[3] << 11) | (DATE_TIME[4] << 5) | (DATE_TIME[5] // 2)
    dos_date = ((DATE_TIME[0] - 1980) << 9) | (DATE_TIME[1] << 5) | DATE_TIME[2]
    local, central = bytearray(), bytearray()
    for name, payload, method, flags, crc, size in entries:
        raw_name = name.encode()
        fields = (flags, method, dos_time, dos_date, crc, len(payload), size, len(raw_name))
        central += struct.pack("<4s2H", b"PK\x01\x02", 20, 20) + struct.pack("<4H3I2H", *fields, 0)
        central += struct.pack("<3H2I", 0, 0, 0, 0o644 << 16, len(local)) + raw_name
        local += struct.pack("<4sH", b"PK\x03\x04", 20) + struct.pack("<4H3I2H", *fields, 0)
        local += raw_name + payload
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0
    )
    return bytes(local + central + end)


def zipcrypto_zip(members: list[tuple[str, bytes]], password: str) -> bytes:
    entries = []
    for name, data in members:
        crc = zlib.crc32(data)
        deflated = zlib.compress(data, 9, wbits=-15)
        payload = zipcrypto_encrypt(deflated, password.encode(), crc, name)
        entries.append((name, payload, zipfile.ZIP_DEFLATED, 0x1, crc, len(data)))
    return raw_zip(entries)


def tar_bytes(members: list[tuple[str, bytes]], mtime: int = epoch(2024, 2, 28)) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zeros_deflate(
    mebibytes: int, prefix: bytes = b"", suffix: bytes = b""
) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + N MiB of zeros + suffix, built from one flushed MiB (fast).

    Returns (stream, crc32, size).
    """
    zeros = bytes(1 << 20)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    one_mib = block.compress(zeros) + block.flush(zlib.Z_FULL_FLUSH)  # same bytes every MiB
    last = block.compress(suffix) + block.flush()
    crc = zlib.crc32(prefix)
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + (mebibytes << 20) + len(suffix)
    return first + one_mib * mebibytes + last, crc, size


def zip_bomb(mebibytes: int, extra: list[tuple[str, bytes]]) -> bytes:
    stream, crc, size = _zeros_deflate(mebibytes)
    entries = [("zeros.bin", stream, zipfile.ZIP_DEFLATED, 0, crc, size)]
    for name, data in extra:
        entries.append(
            (
                name,
                zlib.compress(data, 9, wbits=-15),
                zipfile.ZIP_DEFLATED,
                0,
                zlib.crc32(data),
                len(data),
            )
        )
    return raw_zip(entries)


def tar_gz_bomb(mebibytes: int) -> bytes:
    """A .tar.gz whose one member is N MiB of zeros (the stream ratio guard must stop it)."""
    info = tarfile.TarInfo("zeros.bin")
    info.size, info.mtime = mebibytes << 20, epoch(2024, 2, 28)
    stream, crc, size = _zeros_deflate(mebibytes, info.tobuf(tarfile.USTAR_FORMAT), bytes(1024))
    header = b"\x1f\x8b\x08\x00" + bytes(4) + b"\x02\xff"  # mtime 0, max compression, unknown OS
    return header + stream + struct.pack("<2I", crc, size & 0xFFFFFFFF)


def _tar_entry(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), epoch(2024, 2, 28), 0o644
    return info.tobuf(tarfile.GNU_FORMAT) + data + b"\0" * (-len(data) % 512)


def terabyte_tar(before: list[tuple[str, bytes]]) -> bytes:
    """Members, then a header claiming 1 TB (a base-256 size field), 1 KiB of it, the end."""
    info = tarfile.TarInfo("data/media/0/huge.img")
    info.size, info.mtime = 1 << 40, epoch(2024, 2, 28)
    members = b"".join(_tar_entry(name, data) for name, data in before)
    return members + info.tobuf(tarfile.GNU_FORMAT) + b"x" * 1024


def deep_nest(levels: int, inner: list[tuple[str, bytes]]) -> bytes:
    """``level1.zip`` holds ``level2.zip`` ... holds ``inner``: ``levels`` zips in all."""
    data = zip_bytes(inner, zipfile.ZIP_STORED)
    for level in range(levels, 1, -1):
        data = zip_bytes([(f"level{level}.zip", data)], zipfile.ZIP_STORED)
    return data


# --- the samples --------------------------------------------------------------------------


def build(dest: Path) -> list[Expected]:
    base = dest / "archives"
    out: list[Expected] = []

    def sample(name: str, data: bytes, label: str | None, **more: object) -> None:
        """Write archives/<name>; ``label`` names the device whose key must be found."""
        write(base / name, data)
        expected = Expected(input=f"archives/{name}", **more)  # type: ignore[arg-type]
        if label is not None:
            mac, key = device(label)
            expected.devices[mac] = key
            expected.keys.add(key)
        out.append(expected)

    def log(label: str) -> bytes:
        return device_log(*device(label)).encode()

    export = [
        (WATCH_LOG, log("aes-export")),
        ("DCIM/Camera/IMG_20240301_120000.jpg", b"\xff\xd8\xff\xe0" + bytes(200)),
        ("Download/readme.txt", b"nothing to see here\n"),
    ]
    aes = aes_zip_bytes(export, AES_PASSWORD, "storage-export")
    sample("storage-export-aes.zip", aes, "aes-export", passwords=[AES_PASSWORD])
    cut = zip_bytes(
        [(WATCH_LOG, log("truncated")), ("Download/big.bin", hashlib.sha256(b"x").digest() * 2000)]
    )
    sample("storage-export-cut.zip", cut[: len(cut) * 3 // 5], None, problems={"truncated"})

    crypto = zipcrypto_zip([("sdcard/" + WATCH_LOG, log("zipcrypto"))], ZIPCRYPTO_PASSWORD)
    sample("app-logs-zipcrypto.zip", crypto, "zipcrypto", passwords=[ZIPCRYPTO_PASSWORD])

    bugreport = [
        ("bugreport-a1b2c3-2024-03-01-12-00-00.txt", b"== dumpstate: 2024-03-01 12:00:00\n"),
        ("version.txt", b"2.0"),
        ("FS/" + ORIGIN_DB, origin_db(*device("bugreport"))),
    ]
    sample("bugreport-a1b2c3-2024-03-01-12-00-00.zip", zip_bytes(bugreport), "bugreport")

    app_data = tar_bytes(
        [
            (ORIGIN_DB, origin_db(*device("app-data"))),
            ("data/data/com.xiaomi.hm.health/files/notes.bin", bytes(range(256))),
        ]
    )
    sample("app-data.tar", app_data, "app-data")
    sample("app-data.tar.gz", gzip.compress(app_data, 9, mtime=0), "app-data")
    sample("app-data.tar.bz2", bz2.compress(app_data, 9), "app-data")
    sample("app-data.tar.xz", lzma.compress(app_data, preset=6), "app-data")

    inner_zip = zip_bytes([(WATCH_LOG, log("nested"))])
    tar_gz = gzip.compress(tar_bytes([("exports/logs.zip", inner_zip)]), 9, mtime=0)
    nested = zip_bytes([("readme.txt", b"phone backup\n"), ("backups/phone.tar.gz", tar_gz)])
    sample("nested.zip", nested, "nested")

    bomb = zip_bomb(128, [(WATCH_LOG, log("bomb"))])
    sample("zip-bomb.zip", bomb, "bomb", problems={"limit"})
    sample("bomb.tar.gz", tar_gz_bomb(80), None, problems={"limit"})

    deep_key = device("deep")[1]
    deep = deep_nest(DEEP_LEVELS, [(WATCH_LOG, log("deep"))])
    sample("deep-nest.zip", deep, None, problems={"limit"}, absent={deep_key})

    huge = terabyte_tar([("data/media/0/" + WATCH_LOG, log("terabyte"))])
    sample("terabyte.tar", huge, "terabyte", problems={"limit", "truncated"})
    return out
