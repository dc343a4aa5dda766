"""Sample family `adb_backups`: `adb backup` files of Zepp Life in every variant.

Written the way AOSP writes them (``PerformAdbBackupTask``; ``../shared/docs/formats.md``):
a text header, then the body (tar -> zlib level 9 -> AES-256-CBC with PKCS#7). Encryption
follows AOSP independently of the scanner's code: PBKDF2-HMAC-SHA1 with 10000 rounds; the
password as 8-bit chars for version 1, UTF-8 from version 2; the master key checksum over
the raw key for version 1 and over the "mangled" key (each byte >= 0x80 as U+FF00|b in
UTF-8) from version 2. Salts, IVs and the master key are hashes of the sample's label, tar
mtimes are fixed, so every build is byte-identical.

The tar is AOSP's: ``apps/<pkg>/_manifest`` first, then file members, two zero blocks.
Each backup holds ``db/origin_db_<id>`` (table DEVICE: MAC + AUTHKEY) and
``sp/hm_preferences.xml`` (``auth_key`` of a second band, no MAC).

- ``adb/zepp-plain-v1.ab``: version 1, not compressed, not encrypted;
- ``adb/zepp-compressed-v5.ab``: version 5, compressed;
- ``adb/zepp-encrypted-v1.ab``: version 1, compressed, AES-256, a Latin-1 password whose
  8-bit form differs from its UTF-8 one;
- ``adb/zepp-encrypted-v5.ab``: version 5, compressed, AES-256, a non-ASCII password;
- ``adb/zepp-truncated-v5.ab``: version 5, compressed, cut inside a large member that lies
  after the database and before the preferences: the database key is found, the
  preferences key is not, and the scan says "truncated";
- ``adb/empty-allowbackup-false.ab``: what adb writes for an app with allowBackup=false:
  the header and a deflated empty tar (41 bytes).

``write_ab`` streams, so bench/bench_adb.py uses it for backups of any size.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from Cryptodome.Cipher import AES

from corpus.common import BASE_EPOCH, Expected, epoch, fake_key, fake_mac, write

PACKAGE = "com.xiaomi.hm.health"
ROUNDS = 10000
PASSWORD_V1 = "grüße-v1-pass"  # Latin-1: the 8-bit form is not the UTF-8 form
PASSWORD_V5 = "pässwörd-ключ"
ZLIB_LEVEL = 9  # AOSP: new Deflater(Deflater.BEST_COMPRESSION)
BLOCK = 512


@dataclass(frozen=True)
class Band:
    """The two keys one sample holds: a DEVICE row and a MAC-less preference."""

    label: str

    @property
    def mac(self) -> str:
        return fake_mac(f"{self.label}-band")

    @property
    def key(self) -> str:
        return fake_key(f"{self.label}-band")

    @property
    def prefs_key(self) -> str:
        return fake_key(f"{self.label}-prefs")

    @property
    def db_member(self) -> str:
        return f"apps/{PACKAGE}/db/origin_db_{fake_key(self.label + '-account')}"

    def expected(self, input: str, passwords: list[str] | None = None) -> Expected:
        return Expected(
            input=input,
            devices={self.mac: self.key, f"key:{self.prefs_key}": self.prefs_key},
            keys={self.key, self.prefs_key},
            passwords=passwords or [],
        )


def origin_db(mac: str, key: str, bind_time: int = epoch(2024, 2, 20)) -> bytes:
    """A Zepp Life ``origin_db`` with one DEVICE row (rowid 1)."""
    con = sqlite3.connect(":memory:")
    con.executescript(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, TYPE INTEGER,"
        " AUTHKEY TEXT, BIND_TIME INTEGER);"
    )
    con.execute(
        "INSERT INTO DEVICE VALUES (1, ?, 'Mi Smart Band 6', 0, ?, ?)", (mac, key, bind_time * 1000)
    )
    con.commit()
    data = con.serialize()
    con.close()
    return data


def manifest(package: str = PACKAGE) -> bytes:
    """``_manifest``: format version, package, versionCode, SDK, installer, apk flag, signatures."""
    return f"1\n{package}\n50621\n33\ncom.android.vending\n0\n1\n{'ab' * 16}\n".encode()


def hm_preferences(key: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
        '    <string name="last_device_name">Amazfit Band 5</string>\n'
        f'    <string name="auth_key">{key}</string>\n'
        '    <long name="last_sync_time" value="1709200000000" />\n</map>\n'
    ).encode()


def zepp_members(band: Band, filler: int = 0) -> list[tuple[str, bytes]]:
    """The members of one Zepp Life backup; ``filler`` bytes of noise between db and prefs."""
    members = [
        (f"apps/{PACKAGE}/_manifest", manifest()),
        (band.db_member, origin_db(band.mac, band.key)),
    ]
    if filler:
        noise = hashlib.shake_256(f"{band.label}-filler".encode()).digest(filler)
        members.append((f"apps/{PACKAGE}/f/cache/sync_blob.bin", noise))
    members.append((f"apps/{PACKAGE}/sp/hm_preferences.xml", hm_preferences(band.prefs_key)))
    return members


def tar_member(name: str, size: int, mtime: int = BASE_EPOCH) -> bytes:
    """A ustar header as AOSP writes it (fixed owner and mode)."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o600
    info.uid = info.gid = 10123
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def tar_stream(members: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """The tar AOSP writes: members, then two zero blocks, no record padding."""
    for name, data in members:
        yield tar_member(name, len(data))
        yield data + b"\0" * (-len(data) % BLOCK)
    yield b"\0" * (2 * BLOCK)


def _material(label: str, what: str, size: int) -> bytes:
    return hashlib.sha512(f"keyscan-corpus-adb:{label}:{what}".encode()).digest()[:size]


def _pbkdf2(secret: bytes, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", secret, salt, ROUNDS, 32)


def _pad(data: bytes) -> bytes:
    pad = 16 - len(data) % 16
    return data + bytes([pad]) * pad


def encryption_header(label: str, version: int, password: str) -> tuple[bytes, bytes, bytes]:
    """(header lines after ``AES-256``, master key, body IV), as AOSP makes them."""
    user_salt, ck_salt = _material(label, "user-salt", 64), _material(label, "checksum-salt", 64)
    user_iv, iv = _material(label, "user-iv", 16), _material(label, "iv", 16)
    master = _material(label, "master-key", 32)
    if version == 1:  # PBKDF2WithHmacSHA1And8bit: the low byte of each char
        secret, master_chars = bytes(ord(c) & 0xFF for c in password), master
    else:  # UTF-8; Java widens each signed key byte to a char first
        secret = password.encode("utf-8")
        master_chars = "".join(chr(b if b < 0x80 else 0xFF00 | b) for b in master).encode("utf-8")
    checksum = _pbkdf2(master_chars, ck_salt)
    blob = bytes([16]) + iv + bytes([32]) + master + bytes([32]) + checksum
    cipher = AES.new(_pbkdf2(secret, user_salt), AES.MODE_CBC, user_iv)
    lines = [
        user_salt.hex(),
        ck_salt.hex(),
        str(ROUNDS),
        user_iv.hex(),
        cipher.encrypt(_pad(blob)).hex(),
    ]
    return "".join(line.upper() + "\n" for line in lines).encode(), master, iv


def write_ab(
    out: BinaryIO,
    tar_chunks: Iterable[bytes],
    *,
    version: int = 5,
    compressed: bool = True,
    password: str | None = None,
    label: str = "adb",
) -> None:
    """Stream an adb backup of ``tar_chunks`` into ``out``."""
    encryption = "none" if password is None else "AES-256"
    out.write(f"ANDROID BACKUP\n{version}\n{int(compressed)}\n{encryption}\n".encode())
    cipher = None
    if password is not None:
        lines, master, iv = encryption_header(label, version, password)
        out.write(lines)
        cipher = AES.new(master, AES.MODE_CBC, iv)
    deflater = zlib.compressobj(ZLIB_LEVEL) if compressed else None
    held = b""

    def emit(data: bytes, final: bool = False) -> None:
        nonlocal held
        if cipher is None:
            out.write(data)
            return
        data = held + data
        if final:
            out.write(cipher.encrypt(_pad(data)))
            return
        whole = len(data) - len(data) % 16
        held = data[whole:]
        if whole:
            out.write(cipher.encrypt(data[:whole]))

    for chunk in tar_chunks:
        emit(deflater.compress(chunk) if deflater else chunk)
    emit(deflater.flush() if deflater else b"", final=True)


def ab_bytes(members: Iterable[tuple[str, bytes]], **options: object) -> bytes:
    """A whole (small) backup in memory; options as for ``write_ab``."""
    import io

    buffer = io.BytesIO()
    write_ab(buffer, tar_stream(members), **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def _cut_inside(data: bytes, header_size: int, start: int, end: int) -> bytes:
    """``data`` cut so that its body inflates to between ``start`` and ``end`` bytes."""
    low, high = header_size, len(data)
    while low < high:  # the shortest cut that gives past the middle of the member
        mid = (low + high) // 2
        produced = len(zlib.decompressobj().decompress(data[header_size:mid]))
        if produced < (start + end) // 2:
            low = mid + 1
        else:
            high = mid
    produced = len(zlib.decompressobj().decompress(data[header_size:low]))
    assert start < produced < end, "the cut must fall inside the filler member"
    return data[:low]


def build(dest: Path) -> list[Expected]:
    expected: list[Expected] = []
    variants: list[tuple[str, dict[str, object], list[str]]] = [
        ("zepp-plain-v1", {"version": 1, "compressed": False}, []),
        ("zepp-compressed-v5", {"version": 5}, []),
        ("zepp-encrypted-v1", {"version": 1, "password": PASSWORD_V1}, [PASSWORD_V1]),
        ("zepp-encrypted-v5", {"version": 5, "password": PASSWORD_V5}, [PASSWORD_V5]),
    ]
    for name, options, passwords in variants:
        band = Band(f"adb-{name}")
        data = ab_bytes(zepp_members(band), label=band.label, **options)
        write(dest / "adb" / f"{name}.ab", data)
        expected.append(band.expected(f"adb/{name}.ab", passwords))

    band = Band("adb-zepp-truncated-v5")
    members = zepp_members(band, filler=96 * 1024)
    whole = ab_bytes(members, label=band.label)
    filler_start = sum(BLOCK + len(d) + (-len(d) % BLOCK) for _, d in members[:2]) + BLOCK
    cut = _cut_inside(
        whole, len(b"ANDROID BACKUP\n5\n1\nnone\n"), filler_start, filler_start + 96 * 1024
    )
    write(dest / "adb" / "zepp-truncated-v5.ab", cut)
    expected.append(
        Expected(
            input="adb/zepp-truncated-v5.ab",
            devices={band.mac: band.key},
            keys={band.key},
            absent={band.prefs_key},
            problems={"truncated"},
        )
    )

    empty = ab_bytes([], version=5)
    write(dest / "adb" / "empty-allowbackup-false.ab", empty)
    expected.append(Expected(input="adb/empty-allowbackup-false.ab", problems={"unreadable"}))
    return expected
