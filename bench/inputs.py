"""Deterministic, streamed inputs for ``bench/run.py`` (written outside the repository).

Every input is generated piece by piece (never whole in memory) from fixed seeds, so two
builds at the same scale are byte-identical. Content mixes what a phone backup holds, so
that compression ratios and the work of each extractor are realistic-ish:

- text logs (Mi Fitness and logcat lines, md5 / request-id decoys, the word ``token``
  without a key), about 5:1 under deflate;
- SQLite databases (real files made with ``sqlite3``), about 3:1;
- binary sensor records, about 2:1; random blobs (photos), incompressible.

Pools (8-32 MiB) are built once and served as slices from varying offsets: a repeat more
than 32 KiB away is invisible to deflate, so the pools do not inflate the ratios.
"""

from __future__ import annotations

import os
import random
import sqlite3
import struct
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from Cryptodome.Cipher import AES

from corpus.common import BASE_EPOCH, fake_key, fake_mac
from corpus.samples.adb_backups import (
    PACKAGE,
    Band,
    encryption_header,
    hm_preferences,
    manifest,
    origin_db,
)

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
PASSWORD = "bench-pässword"
LEVEL = 6  # zlib's default (AOSP uses 9: as fast to inflate, much slower to build)
SEED = 7

# Full-scale sizes (issue 7): --scale multiplies each.
AB_TAR_BYTES = 2 * GiB + 64 * MiB  # "at least 2 GiB of tar content"
TWRP_SPLIT_BYTES = 512 * MiB  # two splits
FOLDER_FILES = 20_000
IMAGE_BYTES = 1 * GiB

LOG_KEY = fake_key("bench-log")
LOG_MAC = fake_mac("bench-log")
TWRP_KEY = fake_key("bench-twrp")
FOLDER_KEY = fake_key("bench-folder")
IMAGE_KEY = fake_key("bench-image")
BAND = Band("bench-run")


# --- content pools ------------------------------------------------------------------------

_TAGS = ["DeviceManager_1873_2", "SyncService_412_9", "BleGatt_77_1", "HttpClient_12_4",
         "MainActivity_1_1", "Push_991_7", "StepCounter_55_3"]  # fmt: skip
_MESSAGES = [
    "sync finished in {n} ms, {m} records",
    "GET /v1/data/band_data.json?from={n}&to={m} 200 OK requestId={hex}",
    "onCharacteristicChanged uuid=00000002-0000-3512-2118-0009af100700 len={n}",
    "battery level {n}%, charging=false",
    "file md5={hex} size={n}",
    "refresh token expired, re-login scheduled in {n} s",
    "keyboard shown: false, keyguard locked: {n}",
    "heart rate sample {n} bpm at {m}",
    "upload trace={hex} status=ok",
    "connectivity changed: wifi={n} cell={m}",
]


@cache
def log_pool(size: int = 16 * MiB) -> bytes:
    """Log lines without keys: Mi Fitness lines, logcat lines, continuation lines."""
    rng = random.Random(SEED)
    lines: list[str] = []
    total = 0
    t = 1_709_280_000_000
    while total < size:
        t += rng.randint(1, 900)
        message = rng.choice(_MESSAGES).format(
            n=rng.randint(0, 99999), m=rng.randint(0, 99999), hex=rng.randbytes(16).hex()
        )
        ms, sec = t % 1000, t // 1000
        hh, mm, ss = sec // 3600 % 24, sec // 60 % 60, sec % 60
        style = rng.random()
        if style < 0.6:  # Mi Fitness: "2024-02-28 21:14:03.512|3.26.0i|I|Tag|message"
            line = f"2024-03-01 {hh:02}:{mm:02}:{ss:02}.{ms:03}|3.26.0i|I|{rng.choice(_TAGS)}|"
            line += message
        elif style < 0.9:  # logcat
            line = f"03-01 {hh:02}:{mm:02}:{ss:02}.{ms:03}  1873  1890 D {rng.choice(_TAGS)}: "
            line += message
        else:  # a continuation line of a multi-line message
            line = f"    at com.xiaomi.fit.{rng.choice(_TAGS).split('_')[0]}.run(Source:{ms})"
        lines.append(line + "\n")
        total += len(line) + 1
    return "".join(lines).encode()


def key_line(key: str = LOG_KEY, mac: str = LOG_MAC) -> bytes:
    return (
        "2024-03-01 12:00:00.000|3.26.0i|I|DeviceManager_1873_2|bind ok: "
        f"DeviceInfo(address={mac}, model=hmpace.watch.v7, authKey={key})\n"
    ).encode()


@cache
def record_pool(size: int = 8 * MiB) -> bytes:
    """Sensor records (time, 3 axes, heart rate, steps) drifting slowly: deflate about 2:1."""
    rng = random.Random(SEED + 1)
    pack = struct.Struct("<IhhhBBH").pack
    out = []
    t, hr, steps, x, y, z = 1_709_280_000, 72, 0, 0, 0, 980
    for _ in range(size // 14):
        t += 1
        hr = max(40, min(190, hr + rng.randint(-2, 2)))
        steps = (steps + (rng.random() < 0.3)) & 0xFFFF
        x = max(-512, min(512, x + rng.randint(-2, 2)))
        y = max(-512, min(512, y + rng.randint(-2, 2)))
        z = max(700, min(1200, z + rng.randint(-2, 2)))
        out.append(pack(t, x, y, z, hr, rng.random() < 0.1, steps))
    return b"".join(out)


@cache
def random_pool(size: int = 32 * MiB) -> bytes:
    rng = random.Random(SEED + 2)
    return b"".join(rng.randbytes(MiB) for _ in range(size // MiB))


@cache
def sqlite_pool() -> tuple[bytes, ...]:
    """A few databases of app data without keys (1-4 MiB), made once by sqlite3."""
    rng = random.Random(SEED + 3)
    images = []
    for rows in (6_000, 12_000, 24_000):
        con = sqlite3.connect(":memory:")
        con.executescript(
            "PRAGMA page_size=4096;"
            "CREATE TABLE sample (_id INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, value REAL,"
            " payload TEXT, raw BLOB);"
            "CREATE INDEX sample_ts ON sample(ts);"
        )
        con.executemany(
            "INSERT INTO sample VALUES (NULL, ?, ?, ?, ?, ?)",
            (
                (
                    1_709_280_000_000 + i * 1000,
                    rng.choice(("hr", "steps", "spo2", "sleep")),
                    rng.random() * 200,
                    f'{{"seq":{i},"src":"band","q":{rng.randint(0, 9)}}}',
                    rng.randbytes(rng.randint(8, 64)),
                )
                for i in range(rows)
            ),
        )
        con.commit()
        images.append(con.serialize())
        con.close()
    return tuple(images)


def slices(pool: bytes, index: int, size: int, align_lines: bool = False) -> Iterator[bytes]:
    """``size`` bytes of ``pool`` from an offset that depends on ``index`` (wrapping)."""
    start = (index * 1_000_003) % (len(pool) - 1)
    if align_lines:
        start = pool.find(b"\n", start) + 1
    left = size
    while left:
        piece = pool[start : start + min(left, 4 * MiB)]
        start = (start + len(piece)) % len(pool)
        left -= len(piece)
        yield piece


def text_data(index: int, size: int) -> Iterator[bytes]:
    yield from slices(log_pool(), index, size, align_lines=True)


def record_data(index: int, size: int) -> Iterator[bytes]:
    # Recode each file's bytes (C speed): files differ, the ratio stays the pool's.
    table = bytes((b + 7 * index) & 0xFF for b in range(256))
    for piece in slices(record_pool(), index, size):
        yield piece.translate(table)


def random_data(index: int, size: int) -> Iterator[bytes]:
    yield from slices(random_pool(), index, size)


def sqlite_data(index: int) -> bytes:
    pool = sqlite_pool()
    return pool[index % len(pool)]


# --- tar members --------------------------------------------------------------------------


def tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, BASE_EPOCH, 0o600
    info.uid = info.gid = 10123
    return info.tobuf(format=tarfile.GNU_FORMAT)


def member(name: str, chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    yield tar_header(name, size)
    yield from chunks
    yield b"\0" * (-size % 512)


_SIZES = (16 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB)


@dataclass
class Mix:
    """Counts what a generated tar holds (for the summary)."""

    members: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, size: int) -> None:
        self.members += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + size


def filler_members(total: int, prefix: str, mix: Mix, start: int = 0) -> Iterator[bytes]:
    """``total`` bytes of members: logs 35 %, SQLite 20 %, records 25 %, random 20 %."""
    written, index = 0, start
    while written < total:
        turn = index % 20
        if turn < 7:
            kind, size = "log", min(_SIZES[index % 5], 4 * MiB)
            name, chunks = f"{prefix}/files/log/app.{index:05d}.log", text_data(index, size)
        elif turn < 11:
            data = sqlite_data(index)
            kind, size, name, chunks = "sqlite", len(data), f"{prefix}/db/cache_{index}.db", [data]
        elif turn < 16:
            kind, size = "records", _SIZES[index % 5]
            name, chunks = f"{prefix}/files/records/part_{index:05d}.bin", record_data(index, size)
        else:
            kind, size = "random", _SIZES[(index + 2) % 5]
            name, chunks = f"{prefix}/files/media/IMG_{index:05d}.jpg", random_data(index, size)
        yield from member(name, chunks, size)
        mix.add(kind, size)
        written += size + 512
        index += 1


def ab_tar(total: int, mix: Mix) -> Iterator[bytes]:
    """An adb backup's tar: manifest + Zepp database first, prefs midway, a key log last."""
    app = f"apps/{PACKAGE}"
    for name, data in ((f"{app}/_manifest", manifest()),
                       (BAND.db_member, origin_db(BAND.mac, BAND.key))):  # fmt: skip
        yield from member(name, [data], len(data))
    yield from filler_members(total // 2, app, mix)
    prefs = hm_preferences(BAND.prefs_key)
    yield from member(f"{app}/sp/hm_preferences.xml", [prefs], len(prefs))
    yield from filler_members(total - total // 2, app, mix, start=100_000)
    log = b"".join(text_data(1, 64 * KiB)) + key_line()
    yield from member(f"{app}/f/log/XiaomiFit.device.log", [log], len(log))
    yield b"\0" * 1024


class _Batched:
    """Feeds a compressor in 4 MiB pieces: fewer Python calls."""

    def __init__(self, sink: BinaryIO, compressor: zlib._Compress) -> None:  # type: ignore[name-defined]
        self.sink, self.compressor = sink, compressor
        self.pending: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.size += len(data)
        if self.size >= 4 * MiB:
            self.sink.write(self.compressor.compress(b"".join(self.pending)))
            self.pending, self.size = [], 0

    def close(self) -> None:
        self.sink.write(self.compressor.compress(b"".join(self.pending)) + self.compressor.flush())


class _TwoWay:
    """The deflated body written plain and AES-256-CBC encrypted, in one pass."""

    def __init__(self, plain: BinaryIO, locked: BinaryIO, key: bytes, iv: bytes) -> None:
        self.plain, self.locked = plain, locked
        self.cipher = AES.new(key, AES.MODE_CBC, iv)
        self.held = b""

    def write(self, data: bytes) -> None:
        self.plain.write(data)
        data = self.held + data
        whole = len(data) - len(data) % 16
        self.held = data[whole:]
        self.locked.write(self.cipher.encrypt(data[:whole]))

    def finish(self) -> None:
        pad = 16 - len(self.held) % 16
        self.locked.write(self.cipher.encrypt(self.held + bytes([pad]) * pad))


def write_backups(folder: Path, total: int) -> tuple[Path, Path, Mix]:
    """``bench.ab`` (v5, compressed) and ``bench-aes.ab`` (v5, compressed, AES-256)."""
    plain_path, locked_path = folder / "bench.ab", folder / "bench-aes.ab"
    lines, master, iv = encryption_header("bench", 5, PASSWORD)
    mix = Mix()
    with open(plain_path, "wb") as plain, open(locked_path, "wb") as locked:
        plain.write(b"ANDROID BACKUP\n5\n1\nnone\n")
        locked.write(b"ANDROID BACKUP\n5\n1\nAES-256\n" + lines)
        both = _TwoWay(plain, locked, master, iv)
        deflate = _Batched(both, zlib.compressobj(LEVEL))  # type: ignore[arg-type]
        for chunk in ab_tar(total, mix):
            deflate.write(chunk)
        deflate.close()
        both.finish()
    return plain_path, locked_path, mix


def write_twrp(folder: Path, split: int) -> tuple[Path, Mix]:
    """A TWRP backup folder: ``data.ext4.win000`` / ``.win001``, each a gzip'd tar."""
    out = folder / "TWRP" / "BACKUPS" / "bench0001" / "2024-03-01--12-00-00"
    out.mkdir(parents=True, exist_ok=True)
    mix = Mix()
    for number in range(2):
        with open(out / f"data.ext4.win{number:03d}", "wb") as handle:
            gz = _Batched(handle, zlib.compressobj(LEVEL, zlib.DEFLATED, 31))  # gzip wrapper
            if number == 0:
                data = origin_db(fake_mac("bench-twrp"), TWRP_KEY)
                for chunk in member("data/data/com.xiaomi.hm.health/databases/origin_db",
                                    [data], len(data)):  # fmt: skip
                    gz.write(chunk)
            prefix = "data/data/com.xiaomi.wearable" if number else "data/data/com.xiaomi.hm.health"
            for chunk in filler_members(split, prefix, mix, start=number * 50_000):
                gz.write(chunk)
            gz.write(b"\0" * 1024)
            gz.close()
    (out / "data.info").write_text("backup_size=0\nfile_count=2\nuse_compression=1\n")
    return out.parents[3], mix


def write_folder(folder: Path, files: int) -> Path:
    """``files`` small files of an app-data tree (1-8 KiB), four of them holding keys."""
    root = folder / "appdata"
    rng = random.Random(SEED + 4)
    small_db = origin_db(fake_mac("bench-folder-empty"), "0" * 32)  # a placeholder key only
    keyed = {files // 4, files // 2, 3 * files // 4, files - 1}
    made: set[Path] = set()
    for index in range(files):
        package = ("com.xiaomi.hm.health", "com.xiaomi.wearable", "com.example.gallery")[index % 3]
        sub = root / "data" / "data" / package / f"d{index // 500:03d}"
        if sub not in made:
            sub.mkdir(parents=True, exist_ok=True)
            made.add(sub)
        turn = index % 20
        size = rng.randint(1 * KiB, 8 * KiB)
        if index in keyed:
            name = f"prefs_{index}.xml"
            data = hm_preferences(FOLDER_KEY)
        elif turn < 10:
            name = f"log_{index}.log"
            data = b"".join(text_data(index, size))
        elif turn < 13:
            name = f"state_{index}.json"
            items = ",".join(str(rng.randint(0, 9999)) for _ in range(size // 6))
            data = f'{{"seq": {index}, "items": [{items}]}}'.encode()
        elif turn < 15:
            name = f"prefs_{index}.xml"
            data = (
                "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
                + "".join(
                    f'    <int name="opt_{i}" value="{rng.randint(0, 99)}" />\n'
                    for i in range(size // 40)
                )
                + "</map>\n"
            ).encode()
        elif turn < 19:
            name = f"blob_{index}.bin"
            data = b"".join(random_data(index, size))
        else:
            name = f"cache_{index}.db"
            data = small_db
        path = sub / name
        path.write_bytes(data)
        os.utime(path, (BASE_EPOCH, BASE_EPOCH))
    return root


def write_image(folder: Path, total: int) -> Path:
    """A raw image: zeros, random blobs, text and SQLite files at 4 KiB-aligned offsets."""
    path = folder / "userdata.img"
    keyed = origin_db(fake_mac("bench-image"), IMAGE_KEY)
    written, index = 0, 0
    with open(path, "wb") as out:
        out.write(bytes(MiB))  # a partition starts with a zeroed boot area
        written = MiB
        while written < total:
            turn = index % 10
            size = min(_SIZES[index % 5], total - written)
            if index == 57:
                chunks: Iterable[bytes] = [keyed]
            elif turn < 2:
                chunks = [bytes(size)]
            elif turn < 6:
                chunks = random_data(index, size)
            elif turn < 8:
                chunks = text_data(index, size)
            else:
                chunks = [sqlite_data(index)]
            for chunk in chunks:
                chunk = chunk[: total - written]
                out.write(chunk)
                written += len(chunk)
            pad = -written % 4096
            if pad and written < total:
                out.write(bytes(min(pad, total - written)))
                written += min(pad, total - written)
            index += 1
    return path


@dataclass
class Inputs:
    ab: Path
    ab_aes: Path
    twrp: Path
    folder: Path
    image: Path
    ab_tar_bytes: int
    folder_files: int


def build(folder: Path, scale: float) -> Inputs:
    """Every bench input at ``scale`` in ``folder`` (reused if a previous build finished)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    ab_total = int(AB_TAR_BYTES * scale)
    files = max(10, int(FOLDER_FILES * scale))
    if not done.exists():
        write_backups(folder, ab_total)
        write_twrp(folder, int(TWRP_SPLIT_BYTES * scale))
        write_folder(folder, files)
        write_image(folder, int(IMAGE_BYTES * scale))
        done.write_text(f"{scale}\n")
    return Inputs(
        ab=folder / "bench.ab",
        ab_aes=folder / "bench-aes.ab",
        twrp=folder / "TWRP",
        folder=folder / "appdata",
        image=folder / "userdata.img",
        ab_tar_bytes=ab_total,
        folder_files=files,
    )


def text_stream(total: int) -> Iterator[bytes]:
    """A text-like member stream for the pattern-engine measurement: log lines, a key line
    every 4 MiB, every third one holding two keys."""
    index = 0
    written = 0
    while written < total:
        size = min(4 * MiB, total - written)
        piece = b"".join(text_data(index, size))
        cut = piece.rfind(b"\n") + 1 or len(piece)
        extra = key_line(fake_key(f"engine-{index}"))
        if index % 3 == 0:  # two devices on one line
            extra = extra.rstrip(b"\n") + b" " + key_line(fake_key(f"engine2-{index}"))
        yield piece[:cut] + extra
        written += cut + len(extra)
        index += 1


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="kb-"))
    print(build(target, float(sys.argv[2]) if len(sys.argv) > 2 else 0.01))
