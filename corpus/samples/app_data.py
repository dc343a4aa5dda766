"""Sample family `app_data`: extracted app-data folders of Zepp Life and Zepp.

- ``com.xiaomi.hm.health/databases/origin_db_<account>`` in WAL mode: the main file holds
  an OLD key for band A and band B's key; the committed ``-wal`` re-pairs band A (new key,
  new bind time). The newest key of band A exists only in the WAL.
- ``com.huami.watch.hmwatchmanager/databases/origin_db`` with a hot ``-journal``: the main
  file was caught mid-transaction with watch C's new key written; the journal still holds
  the page as it was, with C's older key. Watch D is the same in both.

Only ``DEVICE.AUTHKEY`` is documented (where-keys-live.md); the other columns are
invented, and the scanner must not depend on them.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.sqlite_files import (
    Database,
    commit_frames,
    hot_journal,
    next_change,
    wal_file,
    wal_mode,
)

ACCOUNT = fake_key("zepp-life-account-id")  # 32 hex in the file name: never a key

ZEPP_LIFE_SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE DEVICE (
    _id INTEGER PRIMARY KEY AUTOINCREMENT,
    MAC_ADDRESS TEXT NOT NULL,
    DEVICE_NAME TEXT,
    DEVICE_TYPE INTEGER,
    DEVICE_SOURCE INTEGER,
    FIRMWARE_VERSION TEXT,
    AUTHKEY TEXT,
    BIND_TIME INTEGER,
    LAST_SYNC_TIME INTEGER,
    ADDITIONAL_INFO TEXT
);
CREATE UNIQUE INDEX IDX_DEVICE_MAC ON DEVICE (MAC_ADDRESS);
CREATE TABLE DATE_DATA (
    _id INTEGER PRIMARY KEY AUTOINCREMENT,
    DATE TEXT,
    SOURCE INTEGER,
    SUMMARY TEXT,
    SYNC_STATE INTEGER
);
"""

ZEPP_SCHEMA = """
CREATE TABLE android_metadata (locale TEXT);
CREATE TABLE DEVICE (
    ID INTEGER PRIMARY KEY,
    DEVICE_ID TEXT,
    SN TEXT,
    TYPE INTEGER,
    NAME TEXT,
    AUTHKEY TEXT,
    BIND_STATUS INTEGER,
    LAST_BIND_TIME INTEGER,
    EXTRA TEXT
);
"""


def _ms(year: int, month: int, day: int) -> int:
    return epoch(year, month, day) * 1000


def _info(serial: str, product: int) -> str:
    return json.dumps({"sn": serial, "productId": product, "productVersion": 256, "hr": True})


def _zepp_life(dest: Path) -> tuple[dict[str, str], set[str]]:
    mac_a, mac_b = fake_mac("zepp-life-band-a"), fake_mac("zepp-life-band-b")
    old_a, new_a = fake_key("zepp-life-band-a-2023"), fake_key("zepp-life-band-a-2024")
    key_b = fake_key("zepp-life-band-b")
    db = Database(ZEPP_LIFE_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        "INSERT INTO DEVICE (MAC_ADDRESS, DEVICE_NAME, DEVICE_TYPE, DEVICE_SOURCE,"
        " FIRMWARE_VERSION, AUTHKEY, BIND_TIME, LAST_SYNC_TIME, ADDITIONAL_INFO)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (mac_a, "Mi Smart Band 6", 0, 36, "1.0.6.16", old_a,
             _ms(2023, 5, 10), _ms(2023, 11, 1), _info("26633/00012345", 36)),
            (mac_b, "Amazfit Bip U", 0, 59, "2.1.0.52", key_b,
             _ms(2022, 8, 1), _ms(2023, 12, 20), _info("24011/00067890", 59)),
        ],
    )  # fmt: skip
    summary = {"v": 6, "stp": {"ttl": 8123, "dis": 5712, "cal": 301}, "slp": {"st": 0, "ed": 0}}
    db.run(
        "INSERT INTO DATE_DATA (DATE, SOURCE, SUMMARY, SYNC_STATE) VALUES (?, 36, ?, 1)",
        [(f"2023-10-{day:02d}", json.dumps(summary)) for day in range(1, 31)],
    )
    old = db.image()
    # Band A re-paired in the app: new key and bind time, written to the WAL and committed.
    db.run(
        "UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ?, LAST_SYNC_TIME = ? WHERE MAC_ADDRESS = ?",
        [(new_a, _ms(2024, 2, 20), _ms(2024, 2, 28), mac_a)],
    )
    new = db.image()
    db.close()
    base = dest / "app_data" / "com.xiaomi.hm.health" / "databases" / f"origin_db_{ACCOUNT}"
    write(base, wal_mode(old))
    write(base.with_name(base.name + "-wal"), wal_file(commit_frames(old, new)))
    # The shared-memory index beside every WAL database: no data, the scanner ignores it.
    write(base.with_name(base.name + "-shm"), bytes(32768))
    return {mac_a: new_a, mac_b: key_b}, {old_a, new_a, key_b}


def _zepp(dest: Path) -> tuple[dict[str, str], set[str]]:
    mac_c, mac_d = fake_mac("zepp-watch-c"), fake_mac("zepp-watch-d")
    old_c, new_c = fake_key("zepp-watch-c-2023"), fake_key("zepp-watch-c-2024")
    key_d = fake_key("zepp-watch-d")
    db = Database(ZEPP_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        "INSERT INTO DEVICE VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, mac_d, "8812/0099001", 83, "Amazfit GTR 4", key_d, 1,
             epoch(2023, 6, 2), json.dumps({"fw": "3.18.1.1", "region": "eu"})),
            (2, mac_c, "7731/0042137", 71, "Amazfit GTS 2 mini", old_c, 1,
             epoch(2023, 1, 15), json.dumps({"fw": "2.0.6.2", "region": "eu"})),
        ],
    )  # fmt: skip
    old = db.image()
    db.run(
        "UPDATE DEVICE SET AUTHKEY = ?, LAST_BIND_TIME = ? WHERE ID = 2",
        [(new_c, epoch(2024, 1, 20))],
    )
    new = next_change(db.image())
    db.close()
    base = dest / "app_data" / "com.huami.watch.hmwatchmanager" / "databases" / "origin_db"
    write(base, new)  # the interrupted transaction had already written its pages
    write(base.with_name("origin_db-journal"), hot_journal(old, new))
    return {mac_c: new_c, mac_d: key_d}, {old_c, new_c, key_d}


def build(dest: Path) -> list[Expected]:
    life_devices, life_keys = _zepp_life(dest)
    zepp_devices, zepp_keys = _zepp(dest)
    return [
        Expected(
            input="app_data",
            devices={**life_devices, **zepp_devices},
            keys=life_keys | zepp_keys,
            absent={ACCOUNT},
        )
    ]
