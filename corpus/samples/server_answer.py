"""Sample family `server_answer`: saved Zepp server answers and other tools' output.

- ``server_answer/devices.json``: ``GET /users/{id}/devices`` (two bands and a scale;
  ``additionalInfo`` is a JSON string; the scale has no ``auth_key`` and is skipped).
- ``server_answer/huami-token.txt``: huami-token's old table output and its newer
  ``Device N:`` / ``MAC:`` / ``Key:`` lines, from the same account (plus an inactive band
  only the older run listed, and a ``login_token`` that is not a key).
- ``server_answer/freemyband/miband4.txt``: a freemyband key file (MAC;key). The real
  file's layout is not publicly documented; this models "MAC and key in a text file".
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.common import Expected, epoch, fake_key, fake_mac, write

DEVICES = "server_answer/devices.json"
HUAMI_TOKEN = "server_answer/huami-token.txt"
FREEMYBAND = "server_answer/freemyband/miband4.txt"

BAND_A_MAC = fake_mac("server-band-a")
BAND_A_KEY = fake_key("server-band-a")
BAND_B_MAC = fake_mac("server-band-b")
BAND_B_KEY = fake_key("server-band-b")
SCALE_MAC = fake_mac("server-scale")
OLD_BAND_MAC = fake_mac("server-band-old")
OLD_BAND_KEY = fake_key("server-band-old")
FREEMYBAND_MAC = fake_mac("freemyband-band4")
FREEMYBAND_KEY = fake_key("freemyband-band4")
# 32-hex values that are not keys
FIRMWARE_MD5 = fake_key("server-fw-md5")
SCALE_SN = fake_key("server-scale-sn").upper()
LOGIN_TOKEN = fake_key("huami-token-login-token")

BAND_A_BOUND = epoch(2023, 9, 14, 8, 30)
BAND_B_BOUND = epoch(2024, 1, 20, 19, 5)


def _item(mac: str, kind: int, source: int, fw: str, info: dict[str, str], bound: int) -> dict:
    return {
        "userId": "3000123456",
        "deviceType": kind,
        "deviceSource": source,
        "deviceId": mac.replace(":", ""),
        "macAddress": mac,
        "bindingStatus": 1,
        "activeStatus": 1,
        "firmwareVersion": fw,
        "lastBindingPlatform": "ANDROID_PHONE",
        "lastBindingTime": bound * 1000,
        "additionalInfo": json.dumps(info, separators=(",", ":")),
    }


def _devices_json() -> str:
    items = [
        _item(
            BAND_A_MAC,
            0,
            24,
            "V1.0.9.18",
            {
                "auth_key": BAND_A_KEY,
                "sn": "22608/00215481",
                "productId": "71",
                "productVersion": "256",
                "hardwareVersion": "V0.80.19.4",
                "firmwareMd5": FIRMWARE_MD5,
            },
            BAND_A_BOUND,
        ),
        _item(
            BAND_B_MAC,
            0,
            59,
            "V2.1.0.6",
            {
                "auth_key": BAND_B_KEY,
                "sn": "40813/00991122",
                "productId": "109",
                "productVersion": "259",
                "hardwareVersion": "V1.0.3.2",
            },
            BAND_B_BOUND,
        ),
        # A scale: no auth_key at all.
        _item(SCALE_MAC, 1, 12, "V0.1.2", {"sn": SCALE_SN, "productId": "5"}, BAND_A_BOUND),
    ]
    return json.dumps({"items": items}, indent=2)


def _huami_token_txt() -> str:
    rule = "+" + "-" * 78 + "+"
    table = [
        rule,
        "| ID  | ACT |        MAC        |                   auth_key                   |",
        "|-----+-----+-------------------+----------------------------------------------|",
        f"|  0  |  1  | {BAND_A_MAC} |      0x{BAND_A_KEY}      |",
        f"|  1  |  1  | {BAND_B_MAC} |      0x{BAND_B_KEY}      |",
        f"|  2  |  0  | {OLD_BAND_MAC} |      0x{OLD_BAND_KEY}      |",
        f"|  3  |  1  | {SCALE_MAC} |                     0x00                     |",
        rule,
    ]
    old_run = [
        "Getting access token with amazfit login method...",
        "Token: ['MQVBQFJyQktGHlp6QBpbRlpbTCxqGx0AGh1qH0ZbTAVmWQ']",
        "Logging in...",
        "Logged in! User id: 3000123456",
        "Getting linked wearables...",
        *table,
        "",
        "No logout!",
        "app_token=ZQVBQLJ0bgrv8JHbWs4Y0AkCyO1lKHrpoQ",
        f"login_token={LOGIN_TOKEN}",
    ]
    log = "2025-11-14 18:41:{:02d}.{:03d} | INFO     | huami_token.zepp:{}"
    new_run = [
        log.format(43, 316, "login:67 - Logging in..."),
        log.format(44, 268, "_get_refresh_and_access_tokens:120 - Received tokens successfully"),
        log.format(45, 217, "login:70 - Logged in! User id: 3000123456"),
        log.format(45, 217, "get_devices:187 - Getting linked devices..."),
        "Device 0:",
        f"  MAC: {BAND_A_MAC}, Active: Yes",
        f"  Key: 0x{BAND_A_KEY}",
        "Device 1:",
        f"  MAC: {BAND_B_MAC}, Active: Yes",
        f"  Key: 0x{BAND_B_KEY}",
        "Device 2:",
        f"  MAC: {SCALE_MAC}, Active: Yes",
        "  Key: 0x",
        log.format(46, 400, "logout:178 - Logged out."),
        "",
        "Logged out.",
    ]
    return "\n".join([*old_run, "", *new_run]) + "\n"


def build(dest: Path) -> list[Expected]:
    write(dest / DEVICES, _devices_json())
    write(dest / HUAMI_TOKEN, _huami_token_txt())
    write(dest / FREEMYBAND, f"{FREEMYBAND_MAC};{FREEMYBAND_KEY}\n", mtime=epoch(2020, 6, 1))
    return [
        Expected(
            input=DEVICES,
            devices={BAND_A_MAC: BAND_A_KEY, BAND_B_MAC: BAND_B_KEY},
            keys={BAND_A_KEY, BAND_B_KEY},
            absent={FIRMWARE_MD5, SCALE_SN.lower(), SCALE_SN},
        ),
        Expected(
            input=HUAMI_TOKEN,
            devices={BAND_A_MAC: BAND_A_KEY, BAND_B_MAC: BAND_B_KEY, OLD_BAND_MAC: OLD_BAND_KEY},
            keys={BAND_A_KEY, BAND_B_KEY, OLD_BAND_KEY},
            absent={LOGIN_TOKEN},
        ),
        Expected(
            input=FREEMYBAND,
            devices={FREEMYBAND_MAC: FREEMYBAND_KEY},
            keys={FREEMYBAND_KEY},
        ),
    ]
