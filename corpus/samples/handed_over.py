"""Sample family `handed_over`: SQLite files as users hand them over.

- ``zepp_life/origin_db_<id>`` is given on its own (``keyscan scan …/origin_db_<id>``), as
  a user copies "the database" out of a root copy: its ``-wal`` and ``-shm`` lie beside
  it, and the band's newest key is only in the WAL. sqlite3 opening that path reads the
  WAL too, so the scan must.
- ``mi_fit_2016/com.xiaomi.hm.health/databases`` is a 2016-era Mi Fit folder
  (``origin_db_<numeric id>``, rollback mode, ``journal_mode=PERSIST``): after each
  commit the journal's header is zeroed and its records stay. The last commit re-paired
  the band, so the journal holds the page with the old key; past those records lies the
  tail of a longer, earlier transaction's journal (a sync that touched every day row),
  which makes the journal about 100 KiB of header-less binary.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples.app_data import ZEPP_LIFE_SCHEMA
from corpus.sqlite_files import (
    Database,
    commit_frames,
    next_change,
    persisted_journal,
    wal_file,
    wal_mode,
)

ACCOUNT = fake_key("handed-over-account")  # 32 hex in the file name: never a key
INSERT_DEVICE = (
    "INSERT INTO DEVICE (MAC_ADDRESS, DEVICE_NAME, DEVICE_TYPE, DEVICE_SOURCE,"
    " FIRMWARE_VERSION, AUTHKEY, BIND_TIME, LAST_SYNC_TIME, ADDITIONAL_INFO)"
    " VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)"
)
REKEY = "UPDATE DEVICE SET AUTHKEY = ?, BIND_TIME = ?, LAST_SYNC_TIME = ? WHERE MAC_ADDRESS = ?"


def _ms(year: int, month: int, day: int) -> int:
    return epoch(year, month, day) * 1000


def _info(serial: str, product: int) -> str:
    return json.dumps({"sn": serial, "productId": product, "productVersion": 256})


def _database_alone(dest: Path) -> Expected:
    mac = fake_mac("handed-over-band")
    old, new = fake_key("handed-over-band-2023"), fake_key("handed-over-band-2024")
    db = Database(ZEPP_LIFE_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        INSERT_DEVICE,
        [(mac, "Mi Smart Band 7", 57, "2.0.1.4", old, _ms(2023, 4, 2), _ms(2023, 12, 1),
          _info("27902/00098765", 57))],
    )  # fmt: skip
    before = db.image()
    db.run(REKEY, [(new, _ms(2024, 3, 3), _ms(2024, 3, 9), mac)])
    after = db.image()
    db.close()
    base = dest / "handed_over" / "zepp_life" / f"origin_db_{ACCOUNT}"
    write(base, wal_mode(before))
    write(base.with_name(base.name + "-wal"), wal_file(commit_frames(before, after)))
    write(base.with_name(base.name + "-shm"), bytes(32768))
    return Expected(
        input=f"handed_over/zepp_life/{base.name}",
        devices={mac: new},
        keys={old, new},
        absent={ACCOUNT},
    )


def _mi_fit_2016(dest: Path) -> Expected:
    mac = fake_mac("mi-fit-2016-band")
    old, new = fake_key("mi-fit-2016-band-first"), fake_key("mi-fit-2016-band-repaired")
    db = Database(ZEPP_LIFE_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('zh_CN')")
    db.run(
        INSERT_DEVICE,
        [(mac, "MI Band 2", 7, "1.0.0.53", old, _ms(2016, 5, 14), _ms(2016, 9, 30),
          _info("17311/00055555", 7))],
    )  # fmt: skip
    summary = {"v": 5, "stp": {"ttl": 6021, "dis": 4100, "cal": 220}, "notes": "x" * 1400}
    days = [(f"2016-{month:02d}-{day:02d}", json.dumps(summary))
            for month in (7, 8, 9) for day in range(1, 29)]  # fmt: skip
    db.run("INSERT INTO DATE_DATA (DATE, SOURCE, SUMMARY, SYNC_STATE) VALUES (?, 7, ?, 0)", days)
    unsynced = db.image()
    db.run("UPDATE DATE_DATA SET SYNC_STATE = 1")  # a sync: every day page journaled
    synced = next_change(db.image())
    earlier = persisted_journal(unsynced, synced, nonce=0x2016_0930)
    db.run(REKEY, [(new, _ms(2016, 10, 8), _ms(2016, 10, 9), mac)])
    repaired = next_change(next_change(db.image()))
    db.close()
    base = dest / "handed_over" / "mi_fit_2016" / "com.xiaomi.hm.health" / "databases"
    write(base / "origin_db_1460000321", repaired)
    write(
        base / "origin_db_1460000321-journal",
        persisted_journal(synced, repaired, nonce=0x2016_1008, earlier=earlier),
    )
    return Expected(
        input="handed_over/mi_fit_2016/com.xiaomi.hm.health/databases",
        devices={mac: new},
        keys={old, new},
    )


def build(dest: Path) -> list[Expected]:
    return [_database_alone(dest), _mi_fit_2016(dest)]
