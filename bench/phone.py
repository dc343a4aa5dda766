"""A phone-like backup for ``bench/small_files.py`` (issue 17 item 1), built outside the repository.

Real phone backups hold many small files: per 512 MiB of tar about 11,000 files of 1-50 KB
(SQLite databases of a dozen app schemas, a few of them with key tables; XML shared_prefs;
JSON; logs; JPEG-like random blobs), a few 8 MiB databases and some media. Built from fixed
seeds (two builds at one scale are byte-identical), streamed (never whole in memory):

- ``phone.ab``: v5, compressed; ``phone-aes.ab``: the same body, AES-256;
- ``phone-files/``: a folder of 50,000 x scale small files of the same mix (1-16 KB).

Small databases are made by ``sqlite3`` in memory, a dozen schemas with rows varied by the
seed (about 1 ms each); the 8 MiB ones are one made database reused (repeats lie MiBs apart,
out of deflate's 32 KiB window).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import inputs  # bench/inputs.py (the caller puts bench/ on sys.path)
from inputs import KiB, MiB, Mix, member

from corpus.common import BASE_EPOCH, fake_key, fake_mac
from corpus.samples.adb_backups import encryption_header, hm_preferences, manifest

SEED = 17
TAR_BYTES = 512 * MiB  # full scale: the backup measured in issue 17
FOLDER_FILES = 50_000
BIG_DB_BYTES = 8 * MiB
BIG_DBS_PER_512 = 4
MEDIA_SHARE = 0.35  # of the tar: photos and videos of 1-6 MiB
BUILD = 2  # bumped when the content changes: a kept build of another version is rebuilt
KEYED_EVERY = 1500  # one small keyed database or prefs file per this many small files

# A dozen app schemas: (table, columns); a few are key tables the scanner reads whole.
SCHEMAS: list[tuple[str, str, bool]] = [
    ("messages", "_id INTEGER PRIMARY KEY, thread INTEGER, body TEXT, date INTEGER", False),
    ("contacts", "_id INTEGER PRIMARY KEY, name TEXT, phone TEXT, email TEXT", False),
    ("events", "id INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, payload TEXT", False),
    ("cache_entries", "url TEXT PRIMARY KEY, etag TEXT, expires INTEGER, body BLOB", False),
    ("history", "id INTEGER PRIMARY KEY, url TEXT, title TEXT, visits INTEGER", False),
    ("heart_rate", "time INTEGER PRIMARY KEY, bpm INTEGER, source TEXT", False),
    ("steps", "day TEXT PRIMARY KEY, count INTEGER, distance REAL, calories REAL", False),
    ("workmanager", "id TEXT PRIMARY KEY, state INTEGER, worker TEXT, input BLOB", False),
    ("analytics", "seq INTEGER PRIMARY KEY, name TEXT, params TEXT, ts INTEGER", False),
    ("device", "_id INTEGER PRIMARY KEY, address TEXT, name TEXT, auth_key TEXT", True),
    ("accounts", "_id INTEGER PRIMARY KEY, user TEXT, token TEXT, expires INTEGER", True),
    ("bluetooth_bond", "mac TEXT PRIMARY KEY, alias TEXT, secret_key TEXT", True),
]
KEYED_SCHEMA = 9  # "device"
# Names of prefs entries; the decoy words ("keyboard", "token expired") are in values.
_NAMES = [
    "sync",
    "band",
    "watch",
    "sleep",
    "heart",
    "step",
    "theme",
    "lang",
    "last_open",
    "count",
    "enabled",
    "tips",
    "user",
]
_WORDS = [
    "sync",
    "band",
    "watch",
    "sleep",
    "heart",
    "step",
    "keyboard",
    "keyguard",
    "token",
    "expired",
    "ok",
    "retry",
    "user",
]


def _value(rng: random.Random, column: str, keyed: str | None) -> object:
    kind = column.split()[1]
    name = column.split()[0]
    if keyed and name in ("auth_key", "secret_key", "token"):
        return keyed
    if name in ("auth_key", "secret_key", "token"):
        decoy = rng.randbytes(8).hex()  # not a key: too short
        # ...unless all digits: an auth_key may hold a decimal account id (the key of Mi
        # Watch Lite), so such a decoy would be read as a key, rightly
        return "a" + decoy[1:] if decoy.isdigit() else decoy
    if name in ("address", "mac"):
        return fake_mac(f"phone-{rng.random()}")
    if kind == "INTEGER":
        return rng.randint(0, 1 << 40)
    if kind == "REAL":
        return rng.random() * 1000
    if kind == "BLOB":
        return rng.randbytes(rng.randint(16, 400))
    return " ".join(rng.choices(_WORDS, k=rng.randint(1, 12)))


def small_db(rng: random.Random, size: int, keyed: str | None = None) -> bytes:
    """A database of one of the schemas (``device``, whose auth_key the scanner must report
    in any app, when ``keyed``: a bare ``token`` outside a wearable app is dropped by design
    and ``secret_key`` is no key field), about ``size`` bytes."""
    table, columns, _ = SCHEMAS[KEYED_SCHEMA] if keyed else rng.choice(SCHEMAS)
    columns_list = [c.strip() for c in columns.split(",")]
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA page_size=4096")
    con.execute(f"CREATE TABLE {table} ({columns})")
    con.execute("CREATE TABLE android_metadata (locale TEXT)")
    con.execute("INSERT INTO android_metadata VALUES ('en_US')")
    holes = ",".join("?" * len(columns_list))
    rows = max(1, size // 200)
    con.executemany(
        f"INSERT OR IGNORE INTO {table} VALUES ({holes})",
        (
            tuple(_value(rng, c, keyed if i == 0 else None) for c in columns_list)
            for i in range(rows)
        ),
    )
    con.commit()
    data = con.serialize()
    con.close()
    return data


@cache
def big_db() -> bytes:
    """One 8 MiB database of sensor rows (no key), made once."""
    rng = random.Random(SEED + 1)
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE sample (_id INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, raw BLOB)")
    index = 0
    while con.execute("PRAGMA page_count").fetchone()[0] * 4096 < BIG_DB_BYTES:
        con.executemany(
            "INSERT INTO sample VALUES (NULL, ?, ?, ?)",
            (
                (1_709_280_000 + index + i, rng.choice(_WORDS), rng.randbytes(60))
                for i in range(5000)
            ),
        )
        index += 5000
    con.commit()
    data = con.serialize()
    con.close()
    return data


def prefs_xml(rng: random.Random, size: int) -> bytes:
    lines = ["<?xml version='1.0' encoding='utf-8' standalone='yes' ?>", "<map>"]
    total = 80
    while total < size:
        name = "_".join(rng.choices(_NAMES, k=rng.randint(1, 3)))
        match rng.randint(0, 3):
            case 0:
                line = f'    <int name="{name}" value="{rng.randint(0, 99999)}" />'
            case 1:
                flag = "true" if rng.random() < 0.5 else "false"
                line = f'    <boolean name="{name}" value="{flag}" />'
            case 2:
                line = f'    <long name="{name}_time" value="{rng.randint(0, 1 << 41)}" />'
            case _:
                text = " ".join(rng.choices(_WORDS, k=rng.randint(1, 20)))
                line = f'    <string name="{name}">{text}</string>'
        lines.append(line)
        total += len(line) + 1
    lines.append("</map>")
    return ("\n".join(lines) + "\n").encode()


def json_doc(rng: random.Random, size: int) -> bytes:
    items = []
    total = 20
    while total < size:
        item = {
            "id": rng.randint(0, 1 << 31),
            "name": " ".join(rng.choices(_WORDS, k=3)),
            "tokenExpired": rng.random() < 0.1,
            "values": [rng.randint(0, 999) for _ in range(rng.randint(1, 12))],
            "meta": {"src": rng.choice(_WORDS), "keyboard": rng.choice(_WORDS)},
        }
        text = json.dumps(item)
        items.append(text)
        total += len(text) + 1
    return ("[" + ",".join(items) + "]").encode()


def jpeg_blob(rng: random.Random, size: int) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(max(0, size - 11))


def planted_key(index: int) -> str:
    return fake_key(f"phone-{index}")


def planted_keys(small_files: int) -> list[str]:
    """The keys planted among the first ``small_files`` small files."""
    return [planted_key(i) for i in range(KEYED_EVERY // 2, small_files, KEYED_EVERY)]


def small_file(rng: random.Random, index: int, low: int, high: int) -> tuple[str, bytes, str]:
    """(path below an app folder, bytes, kind) of the ``index``-th small file."""
    size = low + int((high - low) * rng.random() ** 2)  # most files small, as on phones
    if index % KEYED_EVERY == KEYED_EVERY // 2:
        key = planted_key(index)
        if index // KEYED_EVERY % 2:
            return f"sp/device_{index}.xml", hm_preferences(key), "keyed"
        return f"db/bonds_{index}.db", small_db(rng, size, keyed=key), "keyed"
    turn = index % 20
    if turn < 5:
        return f"db/app_{index}.db", small_db(rng, size), "sqlite"
    if turn < 9:
        return f"sp/prefs_{index}.xml", prefs_xml(rng, size), "xml"
    if turn < 12:
        return f"f/state_{index}.json", json_doc(rng, size), "json"
    if turn < 15:
        return f"f/log/app_{index}.log", b"".join(inputs.text_data(index, size)), "log"
    return f"f/thumbs/IMG_{index}.jpg", jpeg_blob(rng, size), "blob"


_PACKAGES = [
    "com.whatsapp",
    "com.android.chrome",
    "com.xiaomi.hm.health",
    "com.google.android.gms",
    "com.spotify.music",
    "com.instagram.android",
    "com.xiaomi.wearable",
    "org.telegram",
]


def phone_tar(total: int, mix: Mix) -> Iterator[bytes]:
    """An adb backup's tar of about ``total`` bytes: app folders of small files, a few 8 MiB
    databases and media spread among them."""
    rng = random.Random(SEED)
    big = big_db()
    bigs = max(1, round(BIG_DBS_PER_512 * total / TAR_BYTES))
    media_bytes = int(total * MEDIA_SHARE)
    small_bytes = total - media_bytes - bigs * (len(big) + 512)
    # Big databases and media spread evenly among the small files.
    per_media = 3 * MiB
    medias = max(1, media_bytes // per_media)
    written, index, next_big, next_media = 0, 0, 0, 0
    package = ""
    while written < small_bytes or next_big < bigs or next_media < medias:
        share = written / max(1, small_bytes)
        if next_big < bigs and share >= next_big / bigs:
            name = f"apps/{_PACKAGES[next_big % len(_PACKAGES)]}/db/store_{next_big}.db"
            yield from member(name, [big], len(big))
            mix.add("sqlite-8MiB", len(big))
            next_big += 1
            continue
        if next_media < medias and share >= next_media / medias:
            size = rng.randint(1 * MiB, 5 * MiB)
            name = f"apps/com.android.gallery3d/f/DCIM/VID_{next_media:04d}.mp4"
            yield from member(name, inputs.random_data(next_media + 7, size), size)
            mix.add("media", size)
            next_media += 1
            continue
        if written >= small_bytes:
            written = small_bytes  # only big members left
            continue
        if index % 400 == 0:
            package = _PACKAGES[(index // 400) % len(_PACKAGES)]
            data = manifest(package)
            yield from member(f"apps/{package}/_manifest", [data], len(data))
        path, data, kind = small_file(rng, index, 1 * KiB, 50 * KiB)
        yield from member(f"apps/{package}/{path}", [data], len(data))
        mix.add(kind, len(data))
        if kind == "keyed":
            mix.by_kind["keyed files"] = mix.by_kind.get("keyed files", 0) + 1
        written += len(data) + 512 + (-len(data) % 512)
        index += 1
    yield b"\0" * 1024


@dataclass
class Phone:
    ab: Path
    ab_aes: Path
    folder: Path
    mix: Mix
    keys: list[str]  # planted in the backup
    folder_files: int
    folder_keys: list[str]


def write_backups(folder: Path, total: int) -> tuple[Path, Path, Mix]:
    plain_path, locked_path = folder / "phone.ab", folder / "phone-aes.ab"
    lines, master, iv = encryption_header("phone", 5, inputs.PASSWORD)
    mix = Mix()
    with open(plain_path, "wb") as plain, open(locked_path, "wb") as locked:
        plain.write(b"ANDROID BACKUP\n5\n1\nnone\n")
        locked.write(b"ANDROID BACKUP\n5\n1\nAES-256\n" + lines)
        both = inputs._TwoWay(plain, locked, master, iv)
        deflate = inputs._Batched(both, zlib.compressobj(inputs.LEVEL))  # type: ignore[arg-type]
        for chunk in phone_tar(total, mix):
            deflate.write(chunk)
        deflate.close()
        both.finish()
    return plain_path, locked_path, mix


def write_folder(folder: Path, files: int) -> Path:
    """``files`` small files of the same mix (1-16 KB), 500 to a folder."""
    root = folder / "phone-files"
    shutil.rmtree(root, ignore_errors=True)  # an older build's files
    rng = random.Random(SEED + 2)
    made: set[Path] = set()
    for index in range(files):
        sub = root / _PACKAGES[index % len(_PACKAGES)] / f"d{index // 500:03d}"
        if sub not in made:
            sub.mkdir(parents=True, exist_ok=True)
            made.add(sub)
        path, data, _ = small_file(rng, index, 1 * KiB, 16 * KiB)
        target = sub / Path(path).name
        target.write_bytes(data)
        os.utime(target, (BASE_EPOCH, BASE_EPOCH))
    return root


def build(folder: Path, scale: float) -> Phone:
    """The phone backups and folder at ``scale`` in ``folder`` (reused once complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / ".complete"
    total = int(TAR_BYTES * scale)
    files = max(100, int(FOLDER_FILES * scale))
    counts = json.loads(done.read_text()) if done.exists() else {}
    if counts.get("build") == BUILD:
        mix = Mix(counts["members"], counts["by_kind"])
    else:
        _, _, mix = write_backups(folder, total)
        write_folder(folder, files)
        done.write_text(
            json.dumps({"build": BUILD, "members": mix.members, "by_kind": mix.by_kind})
        )
    return Phone(
        ab=folder / "phone.ab",
        ab_aes=folder / "phone-aes.ab",
        folder=folder / "phone-files",
        mix=mix,
        keys=planted_keys(KEYED_EVERY * int(mix.by_kind.get("keyed files", 0))),
        folder_files=files,
        folder_keys=planted_keys(files),
    )


if __name__ == "__main__":
    import sys
    import tempfile
    import time

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="kp-"))
    start = time.perf_counter()
    built = build(target, float(sys.argv[2]) if len(sys.argv) > 2 else 0.05)
    print(built, f"{time.perf_counter() - start:.1f} s")
