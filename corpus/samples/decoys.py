"""Sample family `decoys`: 32-hex values that are NOT wearable keys.

- Mi Home's ``miio2.db`` (``devicerecord.token`` of a vacuum, a lamp, a purifier, and a
  token inside a JSON column): a key field name, but a look-alike app's device tokens.
- A cache database inside a wearable app's folder with md5 digests, request ids and
  cache keys under non-key column names (and inside JSON), plus Gadgetbridge's
  placeholder ``0123456789@ABCDE`` under an ``authkey`` column.
Nothing here may become a candidate.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.sqlite_files import Database

MIIO_SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE devicerecord (
    did TEXT PRIMARY KEY,
    token TEXT,
    name TEXT,
    model TEXT,
    mac TEXT,
    localIP TEXT,
    ssid TEXT,
    extra TEXT
);
"""

CACHE_SCHEMA = """
CREATE TABLE request_log (
    _id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT,
    url TEXT,
    response_md5 TEXT,
    created_time INTEGER
);
CREATE TABLE file_cache (cache_key TEXT PRIMARY KEY, file_md5 TEXT, etag TEXT, path TEXT);
CREATE TABLE events (_id INTEGER PRIMARY KEY, payload TEXT);
CREATE TABLE gb_settings (mac TEXT, authkey TEXT);
"""

GADGETBRIDGE_DEFAULT = "0123456789@ABCDE"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _mi_home(dest: Path) -> set[str]:
    appliances = [
        ("roborock.vacuum.s5", "Roborock S5"),
        ("yeelink.light.color1", "Yeelight Color Bulb"),
        ("zhimi.airpurifier.m1", "Mi Air Purifier 2"),
    ]
    tokens = {model: fake_key(f"mihome-token-{model}") for model, _ in appliances}
    nested = fake_key("mihome-token-in-json")
    rows = [
        (str(300000000 + i), tokens[model], name, model, fake_mac(f"mihome-{model}"),
         f"192.168.1.{20 + i}", "home-wifi",
         json.dumps({"token": nested, "model": model}) if i == 0 else "{}")
        for i, (model, name) in enumerate(appliances)
    ]  # fmt: skip
    db = Database(MIIO_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run("INSERT INTO devicerecord VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    write(dest / "decoys" / "com.xiaomi.smarthome" / "databases" / "miio2.db", db.image())
    db.close()
    return {*tokens.values(), nested}


def _cache(dest: Path) -> set[str]:
    values: set[str] = set()
    db = Database(CACHE_SCHEMA)
    for i in range(12):
        request_id, digest = _md5(f"request-{i}"), _md5(f"body-{i}")
        cache_key, file_md5 = _md5(f"https://api.example/asset/{i}"), _md5(f"file-{i}")
        values |= {request_id, digest, cache_key, file_md5}
        db.run(
            "INSERT INTO request_log (request_id, url, response_md5, created_time)"
            " VALUES (?, ?, ?, ?)",
            [(request_id, f"https://api.example/v1/data/{i}", digest, epoch(2024, 1, 1 + i))],
        )
        db.run(
            "INSERT INTO file_cache VALUES (?, ?, ?, ?)",
            [(cache_key, file_md5, f'W/"{i}"', f"/cache/{i}.bin")],
        )
    payload = {"requestId": _md5("event"), "md5": _md5("event-body"), "deviceId": _md5("ad-id")}
    values |= set(payload.values())
    db.run("INSERT INTO events (payload) VALUES (?)", [(json.dumps(payload),)])
    db.run(
        "INSERT INTO gb_settings VALUES (?, ?)",
        [(fake_mac("gadgetbridge-placeholder"), GADGETBRIDGE_DEFAULT)],
    )
    write(dest / "decoys" / "com.xiaomi.hm.health" / "databases" / "http_cache.db", db.image())
    db.close()
    return values | {GADGETBRIDGE_DEFAULT}


def build(dest: Path) -> list[Expected]:
    absent = _mi_home(dest) | _cache(dest)
    return [Expected(input="decoys", absent=absent)]
