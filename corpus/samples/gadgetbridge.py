"""Sample family `gadgetbridge`: a user's Gadgetbridge copies, as when moving phones.

- ``gadgetbridge/gadgetbridge_20240301120000.zip``: the app's export (``gadgetbridge.json``,
  ``database/Gadgetbridge`` with a DEVICE table and no keys, ``preferences/global.json``,
  ``preferences/device_<MAC>.json``). One device has a real key, one still has
  Gadgetbridge's placeholder ``0123456789@ABCDE`` (not a key), a Mi Watch Lite has the
  numeric account id as its key.
- ``gadgetbridge/Export_preference_<MAC with _>``: the legacy XML export, older, holding
  the first device's previous key (the zip's newer key must win in a folder scan).
- ``gadgetbridge/shared_prefs/devicesettings_<MAC>.xml``: the app's own preferences file
  (``_`` for the MAC's ``:``, which Windows refuses in a file name).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write, zip_of

FOLDER = "gadgetbridge"
ZIP = "gadgetbridge/gadgetbridge_20240301120000.zip"
MEMBER_TIME = (2024, 3, 1, 12, 0, 0)

GTS_MAC = fake_mac("gb-gts2")
GTS_KEY = fake_key("gb-gts2")
GTS_OLD_KEY = fake_key("gb-gts2-legacy")
BAND2_MAC = fake_mac("gb-miband2")
DEFAULT_KEY = "0123456789@ABCDE"  # Gadgetbridge's placeholder
LITE_MAC = fake_mac("gb-watch-lite")
LITE_ACCOUNT_ID = "6012345678"  # Mi Watch Lite: the Xiaomi account id is the key
BIP_MAC = fake_mac("gb-bip-u")
BIP_KEY = fake_key("gb-bip-u")
WEATHER_API_KEY = fake_key("gb-weather-api")  # a 32-hex value under a non-key name

LEGACY = f"gadgetbridge/Export_preference_{GTS_MAC.replace(':', '_')}"
# On the phone the name holds the MAC with colons; Windows refuses ':' in a file name,
# so the copy is named as one copied off the phone to Windows would be ('_' for ':').
DEVICESETTINGS = f"gadgetbridge/shared_prefs/devicesettings_{BIP_MAC.replace(':', '_')}.xml"

DEVICES = [  # NAME, MANUFACTURER, IDENTIFIER, TYPE, TYPE_NAME, MODEL, ALIAS
    ("Amazfit GTS 2", "Huami", GTS_MAC, 87, "AMAZFITGTS2", "", "Daily watch"),
    ("Mi Band 2", "Xiaomi", BAND2_MAC, 12, "MIBAND2", "", None),
    ("Mi Watch Lite_A1B2", "Xiaomi", LITE_MAC, 205, "MIWATCHLITE", "", None),
]


def _database() -> bytes:
    """A Gadgetbridge database with its DEVICE table (no keys: they live in preferences)."""
    with tempfile.TemporaryDirectory(prefix="keyscan-corpus-") as folder:
        path = Path(folder) / "Gadgetbridge"
        db = sqlite3.connect(path)
        db.execute(
            "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY AUTOINCREMENT, NAME TEXT NOT NULL, "
            "MANUFACTURER TEXT NOT NULL, IDENTIFIER TEXT NOT NULL UNIQUE, TYPE INTEGER NOT NULL, "
            "TYPE_NAME TEXT, MODEL TEXT, ALIAS TEXT, PARENT_FOLDER TEXT)"
        )
        db.executemany(
            "INSERT INTO DEVICE (NAME, MANUFACTURER, IDENTIFIER, TYPE, TYPE_NAME, MODEL, ALIAS) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            DEVICES,
        )
        db.commit()
        db.close()
        return path.read_bytes()


def _prefs(values: dict[str, tuple[str, object]]) -> bytes:
    """Gadgetbridge's JsonBackupPreferences: {"preferences": {name: {"type", "value"}}}."""
    body = {"preferences": {name: {"type": t, "value": v} for name, (t, v) in values.items()}}
    return json.dumps(body, indent=2).encode()


def _export_zip() -> bytes:
    members = [
        (
            "gadgetbridge.json",
            json.dumps(
                {
                    "appId": "nodomain.freeyourgadget.gadgetbridge",
                    "appVersionName": "0.80.0",
                    "appVersionCode": 236,
                    "backupVersion": 1,
                    "backupDate": "Mar 1, 2024 12:00:00 PM",
                },
                indent=2,
            ).encode(),
        ),
        ("database/Gadgetbridge", _database()),
        (
            "preferences/global.json",
            _prefs(
                {
                    "language": ("String", "default"),
                    "weather_api_key": ("String", WEATHER_API_KEY),
                    "last_device_address": ("String", GTS_MAC),
                    "minimize_priority": ("Boolean", True),
                }
            ),
        ),
        (
            f"preferences/device_{GTS_MAC}.json",
            _prefs({"authkey": ("String", "0x" + GTS_KEY), "language": ("String", "auto")}),
        ),
        (
            f"preferences/device_{BAND2_MAC}.json",
            _prefs(
                {"authkey": ("String", DEFAULT_KEY), "activate_display_on_lift": ("Boolean", True)}
            ),
        ),
        (
            f"preferences/device_{LITE_MAC}.json",
            _prefs({"authkey": ("String", LITE_ACCOUNT_ID), "timeformat": ("String", "24h")}),
        ),
    ]
    return zip_of(members, MEMBER_TIME)


def _legacy_export() -> str:
    """ImportExportSharedPreferences (deprecated): <preferences><String name=…>."""
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n"
        "<preferences>\n"
        f'  <String name="authkey">0x{GTS_OLD_KEY}</String>\n'
        '  <Boolean name="keep_activity_data_on_device">false</Boolean>\n'
        '  <String name="language">auto</String>\n'
        '  <Integer name="reserve_alarms_calendar">0</Integer>\n'
        "</preferences>\n"
    )


def _devicesettings() -> str:
    """Android SharedPreferences XML of one device."""
    return (
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n"
        "<map>\n"
        '    <string name="language">auto</string>\n'
        f'    <string name="authkey">0x{BIP_KEY}</string>\n'
        '    <boolean name="pref_display_on_lift" value="true" />\n'
        '    <int name="heartrate_measurement_interval" value="600" />\n'
        "</map>\n"
    )


def build(dest: Path) -> list[Expected]:
    write(dest / ZIP, _export_zip())
    write(dest / LEGACY, _legacy_export(), mtime=epoch(2023, 5, 1))
    write(dest / DEVICESETTINGS, _devicesettings(), mtime=epoch(2024, 2, 1))
    absent = {DEFAULT_KEY, WEATHER_API_KEY}
    return [
        Expected(
            input=ZIP,
            devices={GTS_MAC: GTS_KEY, LITE_MAC: LITE_ACCOUNT_ID},
            keys={GTS_KEY, LITE_ACCOUNT_ID},
            absent=absent,
        ),
        Expected(input=LEGACY, devices={GTS_MAC: GTS_OLD_KEY}, keys={GTS_OLD_KEY}, absent=absent),
        Expected(input=DEVICESETTINGS, devices={BIP_MAC: BIP_KEY}, keys={BIP_KEY}, absent=absent),
        Expected(
            input=FOLDER,
            devices={GTS_MAC: GTS_KEY, LITE_MAC: LITE_ACCOUNT_ID, BIP_MAC: BIP_KEY},
            keys={GTS_KEY, GTS_OLD_KEY, LITE_ACCOUNT_ID, BIP_KEY},
            absent=absent,
        ),
    ]
