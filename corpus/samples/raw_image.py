"""Sample family `raw_image`: a partition image whose vendor data was deleted, and a blob.

- ``raw_image/userdata.img``: a small ext4 image made with ``mkfs.ext4 -d`` from a folder
  holding Zepp Life's ``origin_db`` (band A), a Mi Fitness ``XiaomiFit.device.log``
  (watch B, key as ``token``), a file of md5 digests (decoys: 32 hex, no key field) and
  Gadgetbridge's ``devicesettings_<MAC>.xml`` (band C). The database and the log are then
  removed with ``debugfs -w -R "rm …"``: their bytes stay in free blocks. Needs Debian's
  e2fsprogs; without ``mkfs.ext4``/``debugfs`` the image is not built (no Expected).
  Times are pinned (``E2FSPROGS_FAKE_TIME``), and so are the UUID and hash seed.
- ``raw_image/mmcblk0p42.bin``: 256 KiB of seeded pseudo-random bytes (no file system)
  with a Zepp database at an unaligned offset (band D), a WAL at a sector boundary, and
  log lines (band E, and a decoy digest).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from corpus.common import BASE_EPOCH, Expected, epoch, fake_key, fake_mac, write
from corpus.sqlite_files import Database, commit_frames, wal_file

MKFS = "mkfs.ext4"
DEBUGFS = "debugfs"
_SBIN = "/usr/sbin:/sbin"
IMAGE_MIB = 8
UUID = "6b657973-6361-6e00-0000-00000000e4e4"
HASH_SEED = "6b657973-6361-6e00-0000-0000000000a5"
ZEPP_DB = "data/com.xiaomi.hm.health/databases/origin_db"
MI_LOG = "media/0/Android/data/com.xiaomi.wearable/files/log/XiaomiFit.device.log"
DECOYS = "data/com.example.gallery/files/thumbnails.md5"
GADGETBRIDGE_PREFS = "data/nodomain.freeyourgadget.gadgetbridge/shared_prefs"
BLOB_SIZE = 256 << 10
BLOB_DB_AT = 0x9123  # unaligned on purpose
BLOB_WAL_AT = 0x20000
BLOB_LOG_AT = 0x30000 + 77

SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE DEVICE (
    _id INTEGER PRIMARY KEY AUTOINCREMENT,
    MAC_ADDRESS TEXT NOT NULL,
    DEVICE_NAME TEXT,
    DEVICE_TYPE INTEGER,
    AUTHKEY TEXT,
    BIND_TIME INTEGER
);
CREATE TABLE STEPS (_id INTEGER PRIMARY KEY, DATE TEXT, SUMMARY TEXT);
"""


def tool(name: str) -> str | None:
    """The e2fsprogs program, also from /usr/sbin when that is not on PATH."""
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def have_e2fsprogs() -> bool:
    return tool(MKFS) is not None and tool(DEBUGFS) is not None


def decoy_digests() -> list[str]:
    return [fake_key(f"raw-image-decoy-{n}") for n in range(3)]


def device_db(label: str, name: str, bound: int) -> bytes:
    """A Zepp Life style database: one DEVICE row, and step rows filling a few pages."""
    mac, key = fake_mac(label), fake_key(label)
    db = Database(SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        "INSERT INTO DEVICE (MAC_ADDRESS, DEVICE_NAME, DEVICE_TYPE, AUTHKEY, BIND_TIME)"
        " VALUES (?, ?, ?, ?, ?)",
        [(mac, name, 1, key, bound * 1000)],
    )
    db.run(
        "INSERT INTO STEPS (DATE, SUMMARY) VALUES (?, ?)",
        [(f"2024-01-{day % 28 + 1:02d}", "s" * 900) for day in range(40)],
    )
    image = db.image()
    db.close()
    return image


def mi_fitness_log(label: str) -> str:
    mac, key = fake_mac(label), fake_key(label)
    lines = [
        f"2024-02-28 10:11:{second:02d}.345|3.25.0i|I|SyncManager_1234_5678|sync step {second}"
        for second in range(20)
    ]
    lines.insert(
        7,
        "2024-02-28 10:11:07.500|3.25.0i|I|DeviceManager_1234_5678|update() called with:"
        f" deviceInfo = DeviceInfo(address={mac}, model=miwear.watch.n67cn, type=7,"
        f" token={key},did=940134049, proxyConnectionFirst=false)",
    )
    lines.insert(3, f"2024-02-28 10:11:03.100|3.25.0i|D|Http_1_2|md5 {decoy_digests()[0]}")
    return "\n".join(lines) + "\n"


def gadgetbridge_prefs(label: str) -> str:
    mac, key = fake_mac(label), fake_key(label)
    return (
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
        f'    <string name="authkey">0x{key}</string>\n'
        f'    <string name="device_address">{mac}</string>\n</map>\n'
    )


def _build_ext4(out: Path) -> Expected | None:
    mkfs, debugfs = tool(MKFS), tool(DEBUGFS)
    if mkfs is None or debugfs is None:
        return None
    prefs = f"{GADGETBRIDGE_PREFS}/devicesettings_{fake_mac('raw-c')}.xml"
    env = {
        **os.environ,
        "E2FSPROGS_FAKE_TIME": str(BASE_EPOCH),
        "SOURCE_DATE_EPOCH": str(BASE_EPOCH),
    }
    with tempfile.TemporaryDirectory(prefix="corpus-raw-image-") as tmp:
        root = Path(tmp) / "root"
        files = {
            ZEPP_DB: device_db("raw-a", "Mi Smart Band 5", epoch(2023, 5, 1)),
            MI_LOG: mi_fitness_log("raw-b").encode(),
            DECOYS: "".join(
                f"{d}  IMG_{n:04d}.jpg\n" for n, d in enumerate(decoy_digests())
            ).encode(),
            prefs: gadgetbridge_prefs("raw-c").encode(),
        }
        for name, data in files.items():
            write(root / name, data)
        for folder in sorted({p.parent for p in root.rglob("*")} | {root}, reverse=True):
            os.utime(folder, (BASE_EPOCH, BASE_EPOCH))
        image = Path(tmp) / "userdata.img"
        run = [mkfs, "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-O", "^has_journal"]
        run += ["-U", UUID, "-E", f"hash_seed={HASH_SEED},root_owner=0:0", "-L", "userdata"]
        subprocess.run([*run, "-d", str(root), str(image), f"{IMAGE_MIB}M"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # Inode ctimes come from the staging files (unpinnable): set them, then delete.
        pinned = [f"sif /{p.relative_to(root).as_posix()} ctime @{BASE_EPOCH}"
                  for p in sorted(root.rglob("*"))]  # fmt: skip
        commands = Path(tmp) / "commands"
        commands.write_text("\n".join([*pinned, *(f"rm /{p}" for p in (ZEPP_DB, MI_LOG))]) + "\n")
        subprocess.run([debugfs, "-w", "-f", str(commands), str(image)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        write(out, image.read_bytes())
    return Expected(
        input="raw_image/userdata.img",
        devices={fake_mac(label): fake_key(label) for label in ("raw-a", "raw-b", "raw-c")},
        keys={fake_key("raw-a"), fake_key("raw-b"), fake_key("raw-c")},
        absent=set(decoy_digests()),
    )


def _build_blob(out: Path) -> Expected:
    data = bytearray(random.Random(20240301).randbytes(BLOB_SIZE))
    data[:512] = bytes(512)  # like a partition's unused first sector
    db = device_db("raw-d", "Amazfit GTR 2", epoch(2023, 8, 9))
    data[BLOB_DB_AT : BLOB_DB_AT + len(db)] = db
    # A WAL of another database: one transaction adding a device row.
    before = Database(SCHEMA)
    old = before.image()
    before.run("INSERT INTO DEVICE (MAC_ADDRESS, AUTHKEY) VALUES (?, ?)",
               [(fake_mac("raw-w"), fake_key("raw-w"))])  # fmt: skip
    wal = wal_file(commit_frames(old, before.image()))
    before.close()
    data[BLOB_WAL_AT : BLOB_WAL_AT + len(wal)] = wal
    mac_e, key_e = fake_mac("raw-e"), fake_key("raw-e")
    log = (
        "\0\n2024-01-05 08:00:00.000|3.20.1i|I|BleConnect_9_9|connect "
        f"macAddress={mac_e}, authKey={key_e}, model='hmpace.watch.v7'\n"
        f"2024-01-05 08:00:01.000|3.20.1i|I|Http_9_9|etag {decoy_digests()[1]}\n\0"
    ).encode()
    data[BLOB_LOG_AT : BLOB_LOG_AT + len(log)] = log
    write(out, bytes(data))
    return Expected(
        input="raw_image/mmcblk0p42.bin",
        devices={fake_mac("raw-d"): fake_key("raw-d"), mac_e: key_e},
        keys={fake_key("raw-d"), key_e},
        absent={decoy_digests()[1]},
    )


def build(dest: Path) -> list[Expected]:
    base = dest / "raw_image"
    found = [_build_blob(base / "mmcblk0p42.bin")]
    ext4 = _build_ext4(base / "userdata.img")
    return found if ext4 is None else [ext4, *found]
