"""Sample family `twrp`: TWRP backup folders of one phone, three times over.

``twrp/TWRP/BACKUPS/<serial>/<date>/`` holds ``data.ext4.win000`` and ``.win001``, split
the way TWRP splits (each a complete tar of its own), written like TWRP's libtar writes
them: GNU headers, an ``x`` header before each entry with ``RHT.security.selinux``,
``TWRP.security.fscrypt``, ``SCHILY.xattr.security.capability`` (binary values) and the
bare ``ANDROID.user.*`` flag records (no ``=``), two zero blocks at the end.

- ``2024-03-01--12-00-00``: plain tars, ``.sha2`` digests (the one of ``.win001`` is
  deliberately wrong: ``--verify`` must report it), ``data.info``, ``recovery.log``;
- ``2024-03-02--12-00-00``: the same tars gzip'd (gzip mtime 0), ``.md5`` digests;
- ``2024-03-03--12-00-00``: gzip'd then OpenAES-encrypted with ``PASSWORD`` (names
  unchanged, as TWRP does; IVs derived from a hash so the bytes are reproducible).

``win000`` holds Zepp Life's ``origin_db`` (table DEVICE: MAC + AUTHKEY); ``win001``
holds a Mi Fitness device log with ``DeviceInfo(address=…, token=…)``.
"""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
import tarfile
from pathlib import Path

from Cryptodome.Cipher import AES

from corpus.common import BASE_EPOCH, Expected, epoch, fake_key, fake_mac, write

SERIAL = "a1b2c3d4"
PASSWORD = "twrp-corpus-pw"
ROOT = f"twrp/TWRP/BACKUPS/{SERIAL}"
FOLDERS = {
    "plain": f"{ROOT}/2024-03-01--12-00-00",
    "gzip": f"{ROOT}/2024-03-02--12-00-00",
    "encrypted": f"{ROOT}/2024-03-03--12-00-00",
}
DB_MEMBER = "data/data/com.xiaomi.hm.health/databases/origin_db"
LOG_MEMBER = "data/media/0/Android/data/com.xiaomi.wearable/files/log/XiaomiFit.device.log"
LONG_MEMBER = "data/data/com.xiaomi.hm.health/files/" + "cache-" * 20 + "blob.bin"  # GNU 'L'

BAND_MAC = fake_mac("twrp-band")
BAND_KEY = fake_key("twrp-band")
WATCH_MAC = fake_mac("twrp-watch")
WATCH_KEY = fake_key("twrp-watch")


def origin_db(mac: str, key: str, bind_time: int = epoch(2024, 2, 20)) -> bytes:
    """A Zepp Life ``origin_db`` with one DEVICE row (rowid 1), as a plain (rollback) file."""
    con = sqlite3.connect(":memory:")
    con.executescript(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, DEVICE_ID TEXT, MAC TEXT, NAME TEXT,"
        " TYPE INTEGER, SOURCE INTEGER, AUTHKEY TEXT, BIND_TIME INTEGER);"
        "CREATE TABLE USER_INFO (_id INTEGER PRIMARY KEY, NICK TEXT);"
    )
    con.execute(
        "INSERT INTO DEVICE VALUES (1, ?, ?, 'Mi Smart Band 7', 0, 5, ?, ?)",
        (mac.replace(":", "")[-8:], mac, key, bind_time * 1000),
    )
    con.execute("INSERT INTO USER_INFO VALUES (1, 'corpus')")
    con.commit()
    data = con.serialize()
    con.close()
    return data


def device_log(mac: str, token: str) -> str:
    """A Mi Fitness ``XiaomiFit.device.log`` with one DeviceInfo line among others."""
    return (
        "2024-02-28 10:11:10.001|3.25.0i|I|Application_1234_1|onCreate\n"
        "2024-02-28 10:11:12.345|3.25.0i|I|DeviceManager_1234_5678|update() called with: "
        f"deviceInfo = DeviceInfo(address={mac}, model=miwear.watch.n67cn, type=7, "
        f"token={token},did=940134049, proxyConnectionFirst=false)\n"
        "2024-02-28 10:11:13.002|3.25.0i|W|BleConnect_1234_5679|connect timeout, retry 1\n"
    )


# --- TWRP's libtar flavour ------------------------------------------------------------


def _pax_record(keyword: bytes, value: bytes | None) -> bytes:
    """A pax record; TWRP writes its ANDROID.user.* flags with no ``=`` (value None)."""
    body = keyword + (b"=" + value if value is not None else b"")
    size = len(body) + 2
    digits = len(str(size))
    while len(str(size + digits)) != digits:
        digits += 1
    return b"%d %s\n" % (size + digits, body)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _entry(name: str, data: bytes | None, mtime: int, selinux: str, flags: bool) -> bytes:
    """One TWRP tar entry: an ``x`` header with TWRP's records, then the GNU header."""
    records = [_pax_record(b"RHT.security.selinux", selinux.encode())]
    if data is None:  # directories carry the fscrypt policy (v2: 24 binary bytes)
        policy = bytes([2, 1, 4, 2]) + bytes(4) + hashlib.sha256(name.encode()).digest()[:16]
        records.append(_pax_record(b"TWRP.security.fscrypt", b"0" + policy))
    else:
        capability = bytes.fromhex("01000002") + b"\n=\x00" + bytes(13)  # '\n' and '=' inside
        records.append(_pax_record(b"SCHILY.xattr.security.capability", capability))
    if flags:
        records += [_pax_record(b"ANDROID.user.default", None)]
        records += [_pax_record(b"ANDROID.user.inode_cache", None)]
    pax = b"".join(records)
    ext = tarfile.TarInfo("././@PaxHeader")
    ext.type = tarfile.XHDTYPE
    ext.size = len(pax)
    ext.mtime = mtime
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 10123
    info.uname = info.gname = ""
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o771
        data = b""
    else:
        info.mode = 0o660
        info.size = len(data)
    blocks = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    # libtar's order: the GNU 'L' long-name blocks (if any), the 'x' header, the header.
    long_name, header = blocks[:-512], blocks[-512:]
    return long_name + ext.tobuf(tarfile.GNU_FORMAT) + _pad(pax) + header + _pad(data)


def twrp_tar(entries: list[tuple[str, bytes | None]], mtime: int) -> bytes:
    """A complete TWRP-style tar: each entry, then two zero blocks."""
    out = []
    for index, (name, data) in enumerate(entries):
        label = "app_data_file" if name.startswith("data/data") else "media_rw_data_file"
        out.append(_entry(name, data, mtime, f"u:object_r:{label}:s0:c512,c768", index % 2 == 0))
    return b"".join(out) + bytes(1024)


def split_tars() -> tuple[bytes, bytes]:
    """``data.ext4.win000`` and ``.win001``: each a complete tar of its own."""
    mtime = epoch(2024, 2, 28, 10, 30)
    win000 = twrp_tar(
        [
            ("data/data/com.xiaomi.hm.health", None),
            ("data/data/com.xiaomi.hm.health/databases", None),
            (DB_MEMBER, origin_db(BAND_MAC, BAND_KEY)),
            (LONG_MEMBER, bytes(range(256)) * 4),
        ],
        mtime,
    )
    win001 = twrp_tar(
        [
            ("data/media/0/Android/data/com.xiaomi.wearable/files/log", None),
            (LOG_MEMBER, device_log(WATCH_MAC, WATCH_KEY).encode()),
        ],
        mtime,
    )
    return win000, win001


# --- OpenAES, as TWRP's openaes tool writes it ----------------------------------------


def oaes_encrypt(data: bytes, password: str, label: str) -> bytes:
    """OAES messages of 4064 plaintext bytes each; IVs from a hash (reproducible)."""
    raw = password.encode()
    key = bytearray(range(1, 33))
    key[: len(raw)] = raw
    key_bytes = bytes(key[: 16 if len(raw) <= 16 else 24 if len(raw) <= 24 else 32])
    out = []
    for index, start in enumerate(range(0, max(len(data), 1), 4064)):
        chunk = data[start : start + 4064]
        pad = -len(chunk) % 16
        header = b"OAES\x01\x02" + (2).to_bytes(2, "little") + bytes([1 if pad else 0]) + bytes(7)
        iv = hashlib.sha256(f"{label}:{index}".encode()).digest()[:16]
        plain = chunk + bytes(range(1, pad + 1))
        out.append(header + iv + AES.new(key_bytes, AES.MODE_CBC, iv).encrypt(plain))
    return b"".join(out)


# --- the backup folders ----------------------------------------------------------------


def _info(name: str, size: int, compressed: bool, encrypted: bool) -> str:
    return (
        f"backup_size={size}\nbackup_name={name}\nbackup_path=/data\n"
        f"file_system=ext4\nuse_compression={int(compressed)}\nuse_encryption={int(encrypted)}\n"
    )


def _recovery_log(folder: str) -> str:
    return (
        "Starting TWRP 3.7.0_12-0 on Fri Mar  1 12:00:00 2024\n"
        f"Backup Folder: /data/media/0/TWRP/BACKUPS/{SERIAL}/{folder.rsplit('/', 1)[-1]}\n"
        "Backing up Data (excl. storage)...\n"
        "Creating split backup...\n"
        "[BACKUP COMPLETED IN 42 SECONDS]\n"
    )


def build(dest: Path) -> list[Expected]:
    win000, win001 = split_tars()
    expected = []
    variants: dict[str, tuple[bytes, ...]] = {
        "plain": (win000, win001),
        "gzip": tuple(gzip.compress(t, 9, mtime=0) for t in (win000, win001)),
    }
    variants["encrypted"] = tuple(
        oaes_encrypt(data, PASSWORD, part)
        for part, data in zip(("win000", "win001"), variants["gzip"], strict=True)
    )
    md5s: set[str] = set()
    for variant, files in variants.items():
        folder = dest / FOLDERS[variant]
        for part, data in zip(("data.ext4.win000", "data.ext4.win001"), files, strict=True):
            write(folder / part, data, mtime=BASE_EPOCH)
            if variant == "gzip":
                digest = hashlib.md5(data).hexdigest()  # TWRP before 3.x wrote md5
                md5s.add(digest)
                write(folder / f"{part}.md5", f"{digest}  {part}\n")
            else:
                digest = hashlib.sha256(data).hexdigest()
                if variant == "plain" and part.endswith("win001"):
                    digest = hashlib.sha256(b"not the file").hexdigest()  # --verify: corrupt
                write(folder / f"{part}.sha2", f"{digest}  {part}\n")
        size = sum(len(f) for f in files)
        write(folder / "data.info", _info("data", size, variant != "plain", variant == "encrypted"))
        if variant == "plain":
            write(folder / "recovery.log", _recovery_log(FOLDERS[variant]))
        expected.append(
            Expected(
                input=FOLDERS[variant],
                devices={BAND_MAC: BAND_KEY, WATCH_MAC: WATCH_KEY},
                keys={BAND_KEY, WATCH_KEY},
                absent=md5s if variant == "gzip" else set(),  # 32-hex digests are no keys
                passwords=[PASSWORD] if variant == "encrypted" else [],
            )
        )
    return expected
