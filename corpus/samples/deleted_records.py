"""Sample family `deleted`: keys that survive only as deleted or superseded SQLite data.

- ``com.xiaomi.hm.health/databases/origin_db`` (Zepp Life, rollback mode, secure_delete
  off, never vacuumed): band A was unpaired (its row DELETEd, the old key left in a
  freeblock) and re-paired (a new row with the new key); bands B and C were dropped from
  the cached server device list (their ``auth_key`` inside JSON-in-JSON), and the leaf
  page that held them went to the freelist as it stood. A sync table's deleted rows leave
  32-hex digests in free space: decoys, in no key column. (Android's own SQLite build
  has secure_delete on, which zeroes all this; the WAL sample below survives it.)
- ``com.huami.watch.hmwatchmanager/databases/origin_db`` (Zepp, WAL mode): the main file
  holds watch E's first key; the WAL re-keys it in three separate commits, then holds one
  more frame that was never committed (the app died mid-transaction). That frame's row
  carries the same bind time as the last commit, so the committed key must win the tie
  (live beats deleted); an uncommitted version with a NEWER time of its own would win,
  as any newer evidence of a pairing does.

Zepp Life's other DEVICE columns are invented (where-keys-live.md); only AUTHKEY is known.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write
from corpus.samples.app_data import ZEPP_LIFE_SCHEMA, ZEPP_SCHEMA
from corpus.sqlite_files import Database, commit_frames, wal_file, wal_mode

EXTRA_SCHEMA = """
CREATE TABLE SERVER_DEVICE_CACHE (
    _id INTEGER PRIMARY KEY AUTOINCREMENT,
    MAC TEXT,
    CONTENT TEXT,
    UPDATE_TIME INTEGER
);
CREATE TABLE SYNC_DIGEST (_id INTEGER PRIMARY KEY AUTOINCREMENT, DIGEST TEXT, SYNCED INTEGER);
"""
INSERT_DEVICE = (
    "INSERT INTO DEVICE (_id, MAC_ADDRESS, DEVICE_NAME, DEVICE_TYPE, DEVICE_SOURCE,"
    " FIRMWARE_VERSION, AUTHKEY, BIND_TIME, LAST_SYNC_TIME, ADDITIONAL_INFO)"
    " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?)"
)


def _ms(year: int, month: int, day: int) -> int:
    return epoch(year, month, day) * 1000


def _info(serial: str, product: int, padding: int = 0) -> str:
    """The server's additionalInfo; ``padding`` (release notes) sets the row's size."""
    info: dict[str, object] = {"sn": serial, "productId": product}
    if padding:
        info["notes"] = "release notes " * padding
    return json.dumps(info)


def _keyed(serial: str, product: int, key: str) -> str:
    """additionalInfo with the band's key, as the Zepp server sends it."""
    return _info(serial, product, 120)[:-1] + f', "auth_key": "{key}"}}'


def _cached(mac: str, device_type: int, info: str, bound: int) -> str:
    """A Zepp server answer item as the app caches it (additionalInfo: JSON in a string)."""
    item = {"macAddress": mac, "deviceType": device_type, "activeStatus": 0,
            "lastBindingTime": bound, "additionalInfo": info}  # fmt: skip
    return json.dumps(item)


def digest(index: int) -> str:
    """A 32-hex sync digest: the kind of value a key must never be mistaken for."""
    return hashlib.md5(f"keyscan-corpus-digest:{index}".encode()).hexdigest()


def _zepp_life(dest: Path) -> tuple[dict[str, str], set[str]]:
    macs = {name: fake_mac(f"deleted-band-{name}") for name in "abcd"}
    old_a, new_a = fake_key("deleted-band-a-2023"), fake_key("deleted-band-a-2024")
    key_b, key_c = fake_key("deleted-band-b"), fake_key("deleted-band-c")
    key_d = fake_key("deleted-band-d")
    db = Database(ZEPP_LIFE_SCHEMA + EXTRA_SCHEMA)
    db.connection.execute("PRAGMA secure_delete = 0")  # deleted bytes stay (Debian: on)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        INSERT_DEVICE,
        [
            (1, macs["a"], "Mi Smart Band 5", 31, "1.0.2.40", old_a,
             _ms(2023, 3, 1), _ms(2023, 9, 1), _info("25911/00011111", 31)),
            (2, macs["d"], "Amazfit Band 5", 53, "1.0.1.20", key_d,
             _ms(2022, 5, 1), _ms(2024, 2, 1), _info("25911/00044444", 53)),
        ],
    )  # fmt: skip
    # The server's device list, cached: two scales (no key) and bands B and C, about 1.9 KB
    # each, so that B and C share a leaf page of their own.
    scales = [fake_mac(f"deleted-scale-{n}") for n in range(2)]
    cached = [
        (scales[0], _cached(scales[0], 1, _info("S1", 1, 120), _ms(2020, 1, 1))),
        (scales[1], _cached(scales[1], 1, _info("S2", 1, 120), _ms(2020, 2, 1))),
        (macs["b"], _cached(macs["b"], 0, _keyed("24011/00022222", 33, key_b), _ms(2021, 4, 2))),
        (macs["c"], _cached(macs["c"], 0, _keyed("23311/00033333", 24, key_c), _ms(2020, 6, 7))),
    ]
    db.run(
        "INSERT INTO SERVER_DEVICE_CACHE (MAC, CONTENT, UPDATE_TIME) VALUES (?, ?, ?)",
        [(mac, content, _ms(2022, 2, 2)) for mac, content in cached],
    )
    db.run(
        "INSERT INTO SYNC_DIGEST (DIGEST, SYNCED) VALUES (?, ?)",
        [(digest(i), _ms(2023, 10, 1) + i) for i in range(1, 121)],
    )
    # Band A unpaired, bands B and C removed, old sync rows pruned; then A re-paired.
    db.run("DELETE FROM DEVICE WHERE _id = 1")
    db.run("DELETE FROM SERVER_DEVICE_CACHE WHERE MAC IN (?, ?)", [(macs["b"], macs["c"])])
    db.run("DELETE FROM SYNC_DIGEST WHERE _id <= 40")
    db.run(
        INSERT_DEVICE,
        [(5, macs["a"], "Mi Smart Band 5", 31, "1.0.3.10", new_a,
          _ms(2024, 1, 10), _ms(2024, 2, 20), _info("25911/00011111", 31, 4))],
    )  # fmt: skip
    image = db.image()
    db.close()
    write(dest / "deleted" / "com.xiaomi.hm.health" / "databases" / "origin_db", image)
    devices = {macs["a"]: new_a, macs["b"]: key_b, macs["c"]: key_c, macs["d"]: key_d}
    return devices, {old_a, new_a, key_b, key_c, key_d}


WATCH_E_KEYS = tuple(fake_key(f"deleted-watch-e-{n}") for n in range(5))  # main, 3 commits, lost
WATCH_E_TIMES = (epoch(2023, 1, 5), epoch(2023, 6, 5), epoch(2023, 9, 5), epoch(2024, 1, 5))


def _zepp(dest: Path) -> tuple[dict[str, str], set[str]]:
    mac = fake_mac("deleted-watch-e")
    db = Database(ZEPP_SCHEMA)
    db.run("INSERT INTO android_metadata VALUES ('en_US')")
    db.run(
        "INSERT INTO DEVICE VALUES (1, ?, '6512/0071234', 71, 'Amazfit GTR 3', ?, 1, ?, ?)",
        [(mac, WATCH_E_KEYS[0], WATCH_E_TIMES[0], json.dumps({"fw": "7.18.0.2"}))],
    )
    images = [db.image()]
    rekey = "UPDATE DEVICE SET AUTHKEY = ?, LAST_BIND_TIME = ? WHERE ID = 1"
    for key, moment in zip(WATCH_E_KEYS[1:4], WATCH_E_TIMES[1:4], strict=True):
        db.run(rekey, [(key, moment)])
        images.append(db.image())
    db.run(rekey, [(WATCH_E_KEYS[4], WATCH_E_TIMES[3])])  # written, never committed
    lost = db.image()
    db.close()
    frames = [f for old, new in itertools.pairwise(images) for f in commit_frames(old, new)]
    frames += [(number, 0, page) for number, _, page in commit_frames(images[3], lost)]
    base = dest / "deleted" / "com.huami.watch.hmwatchmanager" / "databases" / "origin_db"
    write(base, wal_mode(images[0]))
    write(base.with_name("origin_db-wal"), wal_file(frames, salts=(0x2B3C4D5E, 0x61727374)))
    return {mac: WATCH_E_KEYS[3]}, set(WATCH_E_KEYS)


def build(dest: Path) -> list[Expected]:
    life_devices, life_keys = _zepp_life(dest)
    zepp_devices, zepp_keys = _zepp(dest)
    return [
        Expected(
            input="deleted",
            devices={**life_devices, **zepp_devices},
            keys=life_keys | zepp_keys,
            absent={digest(i) for i in range(1, 121)},
        )
    ]
