"""Sample family `log_bundle`: Mi Fitness logs, exported as a bundle and left on the phone.

``log_bundle/Download/wearablelog/1709294400000log.zip`` is what Mi Fitness' "export
logs" writes: the current ``XiaomiFit.device.log``, its rotations ``.bak.1`` and
``.bak.2.gz`` (gzip'd) and ``XiaomiFit.main.log``. One watch was paired three times
(three keys; the newest by log line time must win although its file comes first in the
zip), a band shows its ``encryptKey``, one line lists both devices in two
``DeviceInfo(...)``, and 32-hex digests / request ids sit beside names that are not key
fields. ``log_bundle/Android/data/com.xiaomi.wearable/files/log/Wearable.log`` is a log
still on the phone.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from corpus.common import Expected, fake_key, fake_mac, write, zip_of

ZIP = "log_bundle/Download/wearablelog/1709294400000log.zip"
LOOSE = "log_bundle/Android/data/com.xiaomi.wearable/files/log/Wearable.log"
MEMBER_TIME = (2024, 3, 1, 12, 0, 0)  # every zip member's date_time: the export moment

WATCH_MAC = fake_mac("log-watch")
WATCH_MODEL = "miwear.watch.n67cn"
WATCH_KEYS = [fake_key("log-watch-1"), fake_key("log-watch-2"), fake_key("log-watch-3")]
BAND_MAC = fake_mac("log-band")
BAND_MODEL = "miwear.watch.m66"
BAND_KEY = fake_key("log-band")
HUAMI_MAC = fake_mac("log-huami")
HUAMI_KEY = fake_key("log-huami")
LOOSE_TOKEN = fake_key("log-loose-token")  # a bare token: listed (low), never chosen

# 32-hex values beside names that are not key fields: never candidates.
DECOYS = {
    "md5": fake_key("decoy-md5"),
    "request": fake_key("decoy-request-id"),
    "trace": fake_key("decoy-trace"),
    "access": fake_key("decoy-access-token"),
    "authmd5": fake_key("decoy-authkey-md5"),
    "sign": fake_key("decoy-sign"),
    "http_token": fake_key("decoy-http-token"),  # "token=" with no wearable near it
}
SHA1_AFTER_TOKEN = fake_key("decoy-sha1-a") + fake_key("decoy-sha1-b")[:8]  # 40 hex

VERSION = "3.26.0i"


def _line(stamp: str, level: str, tag: str, message: str) -> str:
    return f"{stamp}|{VERSION}|{level}|{tag}|{message}\n"


def _device_info(mac: str, model: str, kind: int, key: str, did: int, name: str) -> str:
    return (
        f"DeviceInfo(address={mac}, model={model}, type={kind}, token={key},did={did}, "
        f"proxyConnectionFirst=false, deviceName={name})"
    )


def _watch(key: str) -> str:
    return _device_info(WATCH_MAC, WATCH_MODEL, 7, key, 940134049, "Xiaomi Watch S1")


def _filler(day: str, hour: int, count: int) -> list[str]:
    """Ordinary lines without keys: syncs, uploads with md5, HTTP with request ids."""
    lines = []
    for i in range(count):
        stamp = f"{day} {hour:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{(i * 37) % 1000:03d}"
        kind = i % 5
        if kind == 0:
            lines.append(_line(stamp, "I", "SyncManager_1873_41", f"sync step {i} ok, 0 records"))
        elif kind == 1:
            lines.append(_line(stamp, "D", "BleConnect_1873_12", f"rssi=-{60 + i % 20}, mtu=247"))
        elif kind == 2:
            lines.append(_line(stamp, "I", "HttpClient_1873_88", f"GET /v1/sleep 200 {i}ms"))
        elif kind == 3:
            lines.append(_line(stamp, "D", "Battery_1873_12", f"watch battery {90 - i % 30}%"))
        else:
            lines.append(_line(stamp, "V", "UiState_1873_1", "onResume MainActivity"))
    return lines


def _oldest() -> str:
    """XiaomiFit.device.log.bak.2: the first pairing (key 1 on line 3)."""
    return "".join(
        [
            _line("2023-11-02 18:20:11.104", "I", "BindDeviceHelper_1211_2", "start bind, scan ok"),
            _line("2023-11-02 18:20:13.517", "I", "BindDeviceHelper_1211_2", "bind verify ok"),
            _line(
                "2023-11-02 18:20:14.002",
                "I",
                "DeviceManager_1211_2",
                "update() called with: deviceInfo = " + _watch(WATCH_KEYS[0]),
            ),
            *_filler("2023-11-02", 19, 30),
            _line(
                "2023-11-02 20:01:00.000",
                "I",
                "FileUpload_1211_9",
                f"upload log.zip md5={DECOYS['md5']} size=88213",
            ),
        ]
    )


def _older() -> str:
    """XiaomiFit.device.log.bak.1: unbound, paired again (key 2, in a multi-line dump too)."""
    return "".join(
        [
            *_filler("2024-01-15", 8, 20),
            _line("2024-01-15 09:29:58.310", "I", "UnbindHelper_2301_17", f"unbind {WATCH_MAC} ok"),
            _line("2024-01-15 09:30:12.001", "I", "BindDeviceHelper_2301_17", "bind result:"),
            # A continuation line: no time of its own, it belongs to the entry above.
            f'{{"did":"940134049","mac":"{WATCH_MAC}","model":"{WATCH_MODEL}",'
            f'"encryptKey":"{WATCH_KEYS[1]}"}}\n',
            _line(
                "2024-01-15 09:30:12.480",
                "I",
                "DeviceManager_2301_17",
                "update() called with: deviceInfo = " + _watch(WATCH_KEYS[1]),
            ),
            _line(
                "2024-01-15 09:31:00.000",
                "W",
                "HttpClient_2301_88",
                f"POST /device/bind x-request-id={DECOYS['request']} traceId={DECOYS['trace']}",
            ),
            *_filler("2024-01-15", 10, 20),
        ]
    )


def _current() -> str:
    """XiaomiFit.device.log: paired a third time (key 3); one line lists both devices."""
    both = (
        _watch(WATCH_KEYS[2])
        + ", "
        + _device_info(BAND_MAC, BAND_MODEL, 6, BAND_KEY, 577810233, "Xiaomi Smart Band 8")
    )
    return "".join(
        [
            *_filler("2024-02-28", 7, 25),
            _line("2024-02-28 21:14:03.512", "I", "BindDeviceHelper_1873_2", "bind verify ok"),
            _line(
                "2024-02-28 21:14:04.020",
                "I",
                "DeviceManager_1873_2",
                "update() called with: deviceInfo = " + _watch(WATCH_KEYS[2]),
            ),
            _line(
                "2024-02-28 21:15:40.777",
                "I",
                "AccountHelper_1873_88",
                f"refresh ok accessToken={DECOYS['access']} expires=7200",
            ),
            _line(
                "2024-02-28 21:16:02.100",
                "D",
                "HttpClient_1873_88",
                f"GET /mi/profile token={DECOYS['http_token']} sign={DECOYS['sign']}",
            ),
            _line(
                "2024-02-28 21:16:05.300",
                "D",
                "CacheCheck_1873_88",
                f"authKeyMd5={DECOYS['authmd5']} token={SHA1_AFTER_TOKEN}",
            ),
            _line("2024-02-29 08:00:00.250", "I", "DeviceList_1873_2", f"getAllDevices: [{both}]"),
            *_filler("2024-02-29", 9, 25),
        ]
    )


def _main() -> str:
    """XiaomiFit.main.log: the band bound with its encryptKey."""
    return "".join(
        [
            *_filler("2024-02-20", 17, 15),
            _line(
                "2024-02-20 18:05:31.900",
                "I",
                "MiWearBind_1873_5",
                f"onBindSuccess macAddress={BAND_MAC}, encryptKey={BAND_KEY}, "
                f"model='{BAND_MODEL}', name=Xiaomi Smart Band 8",
            ),
            *_filler("2024-02-20", 19, 15),
        ]
    )


def _loose() -> str:
    """Wearable.log on the phone: a Huami watch with authKey, and a bare token."""
    return "".join(
        [
            *_filler("2024-02-10", 10, 10),
            _line(
                "2024-02-10 11:02:17.443",
                "I",
                "HuamiBind_991_3",
                f"device ready macAddress={HUAMI_MAC}, authKey={HUAMI_KEY}, "
                "model='hmpace.watch.v7', fw=1.0.9.18",
            ),
            _line("2024-02-10 11:05:00.000", "D", "Push_991_7", f"push token={LOOSE_TOKEN}"),
            *_filler("2024-02-10", 12, 10),
        ]
    )


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    return zip_of(members, MEMBER_TIME)


def build(dest: Path) -> list[Expected]:
    members = [
        ("XiaomiFit.device.log", _current().encode()),  # newest first, as the app lists them
        ("XiaomiFit.device.log.bak.1", _older().encode()),
        ("XiaomiFit.device.log.bak.2.gz", gzip.compress(_oldest().encode(), mtime=0)),
        ("XiaomiFit.main.log", _main().encode()),
    ]
    write(dest / ZIP, _zip(members))
    write(dest / LOOSE, _loose())
    absent = {*DECOYS.values(), SHA1_AFTER_TOKEN[:32], SHA1_AFTER_TOKEN[8:]}
    return [
        Expected(
            input=ZIP,
            devices={WATCH_MAC: WATCH_KEYS[2], BAND_MAC: BAND_KEY},
            keys={*WATCH_KEYS, BAND_KEY},
            absent=absent,
        ),
        Expected(
            input=LOOSE,
            devices={HUAMI_MAC: HUAMI_KEY},
            keys={HUAMI_KEY, LOOSE_TOKEN},
            absent=absent,
        ),
    ]
