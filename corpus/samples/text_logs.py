"""Sample family `text_logs`: log and key-file shapes written by the apps and tools themselves.

- ``mi_health/Android/data/com.mi.health/files/log/hmble_log.log``: Mi Health's
  ``DeviceInfo(device=Device(…, detail=Detail(mac=…, sn=…)), …, huamiAuthKey=…)`` lines (the
  MAC only inside ``Detail(mac=…)``), written out of time order: the newest key by line time
  comes first in the file.
- ``mi_fitness_export/wearablelog/XiaomiFit.device.log.bak.3``: a rotated log outside any
  app folder: JSON fragments (``"encryptKey"`` equal to ``"token"``, ``"authKey":null``), the
  same escaped, an all-zero placeholder, and ``token``-only lines of ``lchz.`` and ``hqbd3.``
  models (a bare ``token`` counts only beside a wearable model).
- ``bugreport/bugreport-….zip``: ``adb bugreport``; logcat threadtime lines (with and without
  the uid column) carry no year: it comes from the ``== dumpstate:`` header, across New Year.
- ``freemyband/…``: freemyband key files (one line ``MAC;KEY``) outside a ``freemyband``
  folder; one line without its MAC, which the name ``miband<12 hex>.txt`` gives.
- ``amazfish/…``: harbour-amazfish's debug log (``Secret Key:`` is the user's key, ``Shared
  Session Key:`` an ephemeral one) and its settings file (``[device]`` ``authkey=``).
"""

from __future__ import annotations

from pathlib import Path

from corpus.common import Expected, fake_key, fake_mac, write, zip_of

HMBLE = "text_logs/mi_health/Android/data/com.mi.health/files/log/hmble_log.log"
ROTATED = "text_logs/mi_fitness_export/wearablelog/XiaomiFit.device.log.bak.3"
BUGREPORT = "text_logs/bugreport/bugreport-oriole-UQ1A.240205.004-2025-01-01-00-10-00.zip"
BUGREPORT_TXT = "bugreport-oriole-UQ1A.240205.004-2025-01-01-00-10-00.txt"
FREEMYBAND_DIR = "text_logs/freemyband"
AMAZFISH_LOG = "text_logs/amazfish/harbour-amazfish-daemon.log"
AMAZFISH_CONF = "text_logs/amazfish/.config/harbour-amazfish/harbour-amazfish.conf"

BAND5_MAC = fake_mac("tl-band5")
BAND5_NEW, BAND5_OLD = fake_key("tl-band5-new"), fake_key("tl-band5-old")
BAND8PRO_MAC, BAND8PRO_KEY = fake_mac("tl-band8pro"), fake_key("tl-band8pro")
ESCAPED_KEY = fake_key("tl-escaped")
LCHZ_MAC, LCHZ_TOKEN = fake_mac("tl-lchz"), fake_key("tl-lchz-token")
HQBD3_MAC, HQBD3_TOKEN = fake_mac("tl-hqbd3"), fake_key("tl-hqbd3-token")
BUG_MAC = fake_mac("tl-bugreport")
BUG_OLD, BUG_NEW = fake_key("tl-bugreport-old"), fake_key("tl-bugreport-new")
FMB_MAC, FMB_KEY = fake_mac("tl-freemyband"), fake_key("tl-freemyband")
FMB_NAMED_MAC, FMB_NAMED_KEY = fake_mac("tl-freemyband-named"), fake_key("tl-freemyband-named")
FMB_PLAIN = f"{FREEMYBAND_DIR}/Download/miband-{FMB_MAC.replace(':', '-')}.txt"
FMB_NAMED = f"{FREEMYBAND_DIR}/Documents/miband{FMB_NAMED_MAC.replace(':', '')}.txt"
AMAZFISH_KEY = fake_key("tl-amazfish")
SESSION_KEY = fake_key("tl-amazfish-session")  # ephemeral: never a candidate

_VERSION = "3.26.0i"


def _mi(stamp: str, tag: str, message: str) -> str:
    return f"{stamp}|{_VERSION}|I|{tag}|{message}\n"


def _device_info(key: str) -> str:
    """DeviceInfo.toString() in its field order; only Detail names the MAC here."""
    device = (
        "Device(did='huami.32815.4c7a', productId=10612, model='hmpace.bracelet.v5', "
        "name='Mi Smart Band 5   ', extraValues={}, identifier='huami.32815.4c7a', alias='', "
        f"status=1, detail=Detail(mac={BAND5_MAC}, sn=21364/F0A3B7C19), uploaded=1)"
    )
    return (
        f"DeviceInfo(device={device}, firmwareVersion=1.0.2.58, product=null, "
        "bleName=Mi Smart Band 5, firmwareUpgradeTipTimestamp=0, sn=21364/F0A3B7C19, "
        "battery=76, mac=null, did='huami.32815.4c7a', model='hmpace.bracelet.v5', "
        f"name='Mi Smart Band 5', nodeID=null, huamiAuthKey={key}, productId=10612, "
        "privateUUID=null)"
    )


def _hmble() -> str:
    return "".join(
        [
            _mi("2024-05-02 09:59:58.020", "BleConnect_512_3", "connect start, rssi=-61"),
            _mi(
                "2024-05-02 10:00:01.100", "DeviceManager_512_2", "add: " + _device_info(BAND5_NEW)
            ),
            _mi("2024-05-02 10:00:02.300", "BleConnect_512_3", "auth ok"),
            # flushed late from another thread: an older entry, written after the newer one
            _mi("2024-05-02 09:58:40.000", "DeviceCache_512_9", "old: " + _device_info(BAND5_OLD)),
            _mi("2024-05-02 10:00:05.000", "SyncManager_512_4", "sync ok"),
        ]
    )


def _rotated() -> str:
    detail = (
        f'{{"mac":"{BAND8PRO_MAC}","authKey":null,"encryptKey":"{BAND8PRO_KEY}",'
        f'"token":"{BAND8PRO_KEY}"}}'
    )
    device = (
        '{"did":"blt.3.1a2b3c4d5e6f7","model":"lchz.watch.m67","name":"Xiaomi Smart Band 8 Pro",'
        f'"detail":{detail}}}'
    )
    escaped = (
        f'{{\\"did\\":\\"blt.3.77c2\\",\\"encryptKey\\":\\"{ESCAPED_KEY}\\",'
        f'\\"token\\":\\"{ESCAPED_KEY}\\",\\"authKey\\":null}}'
    )
    return "".join(
        [
            _mi("2024-06-10 08:00:00.000", "DeviceDetail_77_2", "detail=" + device),
            _mi("2024-06-10 08:00:01.000", "DeviceDetail_77_2", "raw=" + escaped),
            _mi("2024-06-10 08:00:02.000", "DeviceDetail_77_2",
                "encryptKey=00000000000000000000000000000000, authKey=null"),
            _mi("2024-06-10 08:00:03.000", "BindHelper_77_5",
                f"bind mac={LCHZ_MAC}, model='lchz.watch.n65cn', token={LCHZ_TOKEN}"),
            _mi("2024-06-10 08:00:04.000", "BindHelper_77_5",
                f"bind mac={HQBD3_MAC}, model='hqbd3.watch.a1', token={HQBD3_TOKEN}"),
        ]
    )  # fmt: skip


def _bugreport() -> bytes:
    header = (
        "========================================================\n"
        "== dumpstate: 2025-01-01 00:10:00\n"
        "========================================================\n\n"
        "Build: UQ1A.240205.004\n"
        "Build fingerprint: 'google/oriole/oriole:14/UQ1A.240205.004/11269751:user/release-keys'\n"
        "Bugreport format version: 2.0\n\n"
        "------ SYSTEM LOG (logcat -v threadtime -v printable -v uid -d *:v) ------\n"
        "--------- beginning of main\n"
    )
    old = (
        '{"did":"blt.3.9f01","model":"miwear.watch.m66","mac":"' + BUG_MAC + '",'
        f'"authKey":null,"encryptKey":"{BUG_OLD}","token":"{BUG_OLD}"}}'
    )
    lines = [
        "12-31 23:57:01.207  1000  1523  1601 I ActivityManager: Start proc 8123:"
        "com.xiaomi.wearable/u0a234 for service\n",
        f"12-31 23:58:43.915 10234  8123  8160 D XiaomiFit: {old}\n",
        "--------- beginning of system\n",
        # the same log without the uid column (older dumpstate, or logcat saved by hand)
        f"01-01 00:05:12.004  8123  8160 I DeviceManager: bind ok mac={BUG_MAC}, "
        f"model='miwear.watch.m66', encryptKey={BUG_NEW}\n",
        "01-01 00:09:02.331  1523  2210 W BluetoothAdapter: getBluetoothService() called\n",
    ]
    main = (header + "".join(lines)).encode()
    return zip_of(
        [
            (BUGREPORT_TXT, main),
            ("main_entry.txt", BUGREPORT_TXT.encode()),
            ("version.txt", b"2.0"),
        ],
        (2025, 1, 1, 0, 10, 0),
    )


def _amazfish_log() -> str:
    rnd = fake_key("tl-amazfish-rnd") + fake_key("tl-amazfish-pub") * 3
    lines = [
        "void ZeppOsAuthService::startAuthentication()",
        f'void ZeppOsAuthService::handlePayload(const QByteArray&) "100401{rnd}"',
        "Got remote random + public key",
        "Generating shared secret",
        "1",
        f'Secret Key:  "{AMAZFISH_KEY}"',
        f'Shared Session Key:  "{SESSION_KEY}"',
        'void ZeppOsAuthService::handlePayload(const QByteArray&) "100501"',
        "Auth success",
    ]
    stamps = ["398", "402", "402", "403", "405", "406", "406", "611", "611"]
    return "".join(
        f"2026-01-15 20:03:11.{ms} : {line}\n" for ms, line in zip(stamps, lines, strict=True)
    )


def build(dest: Path) -> list[Expected]:
    write(dest / HMBLE, _hmble())
    write(dest / ROTATED, _rotated())
    write(dest / BUGREPORT, _bugreport())
    write(dest / FMB_PLAIN, f"{FMB_MAC};{FMB_KEY}\n")
    write(dest / FMB_NAMED, f";{FMB_NAMED_KEY}")
    write(dest / AMAZFISH_LOG, _amazfish_log())
    write(dest / AMAZFISH_CONF, f"[device]\nauthkey={AMAZFISH_KEY}\n")
    return [
        Expected(input=HMBLE, devices={BAND5_MAC: BAND5_NEW}, keys={BAND5_NEW, BAND5_OLD}),
        Expected(
            input=ROTATED,
            devices={
                BAND8PRO_MAC: BAND8PRO_KEY,
                LCHZ_MAC: LCHZ_TOKEN,
                HQBD3_MAC: HQBD3_TOKEN,
                f"key:{ESCAPED_KEY}": ESCAPED_KEY,
            },
            keys={BAND8PRO_KEY, ESCAPED_KEY, LCHZ_TOKEN, HQBD3_TOKEN},
        ),
        Expected(input=BUGREPORT, devices={BUG_MAC: BUG_NEW}, keys={BUG_OLD, BUG_NEW}),
        Expected(
            input=FREEMYBAND_DIR,
            devices={FMB_MAC: FMB_KEY, FMB_NAMED_MAC: FMB_NAMED_KEY},
            keys={FMB_KEY, FMB_NAMED_KEY},
        ),
        Expected(
            input="text_logs/amazfish",
            devices={f"key:{AMAZFISH_KEY}": AMAZFISH_KEY},
            keys={AMAZFISH_KEY},
            absent={SESSION_KEY},
        ),
    ]
