"""Sample family `mi_fitness`: Mi Fitness's ``device_db`` (table ``device``, JSON ``detail``).

Column names follow where-keys-live.md (sid, pd_id, model, name, identifier, alias,
status, detail, extra_values); ``bind_time`` and the JSON fields besides the key are
invented. Device 1 (hmpace.watch.v7) keeps ``auth_key`` and its bind time inside the
JSON, with an older unbound row of the same watch; device 2 (miwear.watch.m66) keeps
``encrypt_key`` and only a ``bind_time`` column.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.sqlite_files import Database

SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE device (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sid TEXT,
    pd_id INTEGER,
    model TEXT,
    name TEXT,
    identifier TEXT,
    alias TEXT,
    status INTEGER,
    bind_time INTEGER,
    detail TEXT,
    extra_values TEXT
);
"""


def build(dest: Path) -> list[Expected]:
    mac_1, mac_2 = fake_mac("mi-fitness-watch-1"), fake_mac("mi-fitness-band-2")
    old_1, key_1 = fake_key("mi-fitness-watch-1-2022"), fake_key("mi-fitness-watch-1-2023")
    key_2 = fake_key("mi-fitness-band-2")
    extra = json.dumps({"battery": 81, "fw_version": "1.3.22", "sn": "46731/00011223"})
    rows = [
        # The watch's first pairing, unbound since (status 0): an older key, same MAC.
        ("940134049", 7090, "hmpace.watch.v7", "Amazfit GTS", mac_1, "", 0,
         epoch(2022, 9, 1) * 1000,
         json.dumps({"auth_key": old_1, "mac": mac_1, "bindTime": epoch(2022, 9, 1) * 1000}),
         extra),
        ("940134049", 7090, "hmpace.watch.v7", "Amazfit GTS", mac_1, "My watch", 1,
         epoch(2022, 9, 1) * 1000,
         json.dumps({"auth_key": key_1, "mac": mac_1, "bindTime": epoch(2023, 7, 14) * 1000}),
         extra),
        ("1066329876", 12345, "miwear.watch.m66", "Xiaomi Smart Band 8", mac_2, "", 1,
         epoch(2023, 11, 3) * 1000,
         json.dumps({"encrypt_key": key_2, "did": "1066329876", "productId": 12345}),
         json.dumps({"battery": 64})),
    ]  # fmt: skip
    db = Database(SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        "INSERT INTO device (sid, pd_id, model, name, identifier, alias, status, bind_time,"
        " detail, extra_values) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    write(dest / "mi_fitness" / "com.xiaomi.wearable" / "databases" / "device_db", db.image())
    db.close()
    return [
        Expected(
            input="mi_fitness",
            devices={mac_1: key_1, mac_2: key_2},
            keys={old_1, key_1, key_2},
        )
    ]
