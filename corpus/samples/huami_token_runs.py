"""Sample family `huami_token`: saved output of every huami-token generation.

Shapes are taken from argrento/huami-token's own code at each commit, its README and pasted
issue output (issue #8: a UUID-shaped auth_key, cut short with ``…`` by a 36-wide rich
column; #35/#51: empty tables); docs/inputs.md names them. Keys and MACs are synthetic.

- ``2020-05-plain.txt``: ``Device 1. Mac = …, auth_key = 0x…`` lines (missing key ``0x0``);
- ``2020-06-rich-heavy.txt``: rich's default heavy box, ``MAC | auth_key`` (missing ``0x00``);
- ``2020-08-ascii.txt``: ``box.ASCII``, 50 wide;
- ``2020-08-cut-short.txt``: the 36-wide column: a UUID key and a hex key cut with ``…``;
- ``2020-08-uuid-whole.txt``: the same UUID key printed whole;
- ``2021-table.txt`` / ``2021-table-empty.txt``: ``| ID | ACT | MAC | auth_key |``, the
  empty one 81 columns wide as in issue #35;
- ``2022-box.txt``: the box form, ``╓───Device 0`` / ``║  MAC: …`` / ``║  Key: 0x…``;
- ``2025-loguru.txt``: the 2025 rewrite logs the keys through loguru (stdout and stderr
  saved together);
- ``0.8.0-amazfit.txt`` / ``0.8.0-xiaomi.txt``: PyPI 0.8.0, ``Device N:`` blocks (missing key
  ``0x??``, ``(not available)``), then ``user_id=``.
"""

from __future__ import annotations

from pathlib import Path

from corpus.common import Expected, fake_key, fake_mac, write

FOLDER = "huami_token"
PLAIN = f"{FOLDER}/2020-05-plain.txt"
HEAVY = f"{FOLDER}/2020-06-rich-heavy.txt"
ASCII = f"{FOLDER}/2020-08-ascii.txt"
CUT_SHORT = f"{FOLDER}/2020-08-cut-short.txt"
UUID_WHOLE = f"{FOLDER}/2020-08-uuid-whole.txt"
TABLE_2021 = f"{FOLDER}/2021-table.txt"
EMPTY_2021 = f"{FOLDER}/2021-table-empty.txt"
BOX_2022 = f"{FOLDER}/2022-box.txt"
LOGURU_2025 = f"{FOLDER}/2025-loguru.txt"
AMAZFIT_080 = f"{FOLDER}/0.8.0-amazfit.txt"
XIAOMI_080 = f"{FOLDER}/0.8.0-xiaomi.txt"

BAND_MAC, BAND_KEY = fake_mac("ht-band"), fake_key("ht-band")
WATCH_MAC, WATCH_KEY = fake_mac("ht-watch"), fake_key("ht-watch")
NO_KEY_MAC = fake_mac("ht-no-key")  # a device the server has no key for
BIP_MAC = fake_mac("ht-bip")
BIP_UUID = "3fa91c02-7d4e-4b1a-9c3e-5b20d8e71ff7"  # synthetic, shaped as in issue #8
BIP_UUID_CUT = BIP_UUID[:33] + "…"  # what a 36-wide column left of "0x" + the UUID
CUT_MAC, CUT_KEY = fake_mac("ht-cut"), fake_key("ht-cut")
CUT_SHOWN = CUT_KEY[:29] + "…"
XIAOMI_NAME = "Xiaomi Smart Band 8"
ACCOUNT_ID = "6215804471"
LOGURU_TIMES = ("2025-11-02 09:14:06.204", "2025-11-02 09:14:06.208")

_AMAZFIT_LOGIN = [
    "Getting access token with amazfit login method...",
    "Token: ['UQVBQ2xyeTRqVlpnTjFvRkd0cXNXWQ']",
    "Logging in...",
    "Logged in! User id: 3074199658",
    "Getting linked wearables...",
]


def _center(text: str, width: int) -> str:
    """As rich centres a cell: an odd space goes to the right (str.center puts it left)."""
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _plain() -> str:
    return _text(
        [
            *_AMAZFIT_LOGIN,
            "",
            f"Device 1. Mac = {BAND_MAC}, auth_key = 0x{BAND_KEY}",
            f"Device 2. Mac = {NO_KEY_MAC}, auth_key = 0x0",
            "Downloading AGPS_ALM...",
            "Downloading AGPSZIP...",
            "{'result': 'ok'}",
            "",
            "Logged out.",
        ]
    )


def _heavy() -> str:
    return _text(
        [
            *_AMAZFIT_LOGIN,
            "┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
            "┃        MAC        ┃               auth_key               ┃",
            "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩",
            f"│ {BAND_MAC} │  0x{BAND_KEY}  │",
            f"│ {NO_KEY_MAC} │                 0x00                 │",
            "└───────────────────┴──────────────────────────────────────┘",
            "",
            "Logged out.",
        ]
    )


def _ascii(rows: list[tuple[str, str]], width: int) -> list[str]:
    """rich's box.ASCII table ``MAC | auth_key``, the key column ``width`` wide."""
    rule = "+" + "-" * (19 + 1 + width + 2) + "+"
    lines = [
        rule,
        f"|        MAC        |{_center('auth_key', width + 2)}|",
        f"|-------------------+{'-' * (width + 2)}|",
    ]
    lines += [f"| {mac} |{_center(value, width + 2)}|" for mac, value in rows]
    return [*lines, rule]


def _ascii_run(rows: list[tuple[str, str]], width: int) -> str:
    return _text([*_AMAZFIT_LOGIN, *_ascii(rows, width), "", "Logged out."])


def _id_table(rows: list[tuple[str, str, str]], key_width: int) -> list[str]:
    rule = "+" + "-" * (5 + 1 + 5 + 1 + 19 + 1 + key_width + 2) + "+"
    lines = [
        rule,
        f"| ID  | ACT |        MAC        |{_center('auth_key', key_width + 2)}|",
        f"|-----+-----+-------------------+{'-' * (key_width + 2)}|",
    ]
    lines += [
        f"|  {index}  |  {act}  | {mac} |{_center(value, key_width + 2)}|"
        for index, (act, mac, value) in enumerate(rows)
    ]
    return [*lines, rule]


def _box() -> str:
    lines = ["Getting access token with 'amazfit' login method...", *_AMAZFIT_LOGIN[1:]]
    devices = [(BAND_MAC, "Yes", f"0x{BAND_KEY}"), (NO_KEY_MAC, "No", "0x00")]
    devices.append((WATCH_MAC, "No", f"0x{WATCH_KEY}"))
    for index, (mac, active, key) in enumerate(devices):
        lines += ["", f"╓───Device {index}", f"║  MAC: {mac}, active: {active}"]
        lines += [f"║  Key: {key}", "╙" + "─" * 12]
    return _text([*lines, "", "Logged out."])


def _loguru_line(stamp: str, where: str, message: str) -> str:
    return f"{stamp} | INFO     | src.zepp:{where} - {message}"


def _loguru() -> str:
    first, second = LOGURU_TIMES
    return _text(
        [
            _loguru_line("2025-11-02 09:14:03.512", "login:48", "Logging in..."),
            _loguru_line("2025-11-02 09:14:05.390", "login:51", "Logged in! User id: 3074199658"),
            _loguru_line("2025-11-02 09:14:05.391", "get_devices:154", "Getting linked devices..."),
            _loguru_line(first, "get_devices:189", "Device 0:"),
            _loguru_line(first, "get_devices:190", f"MAC: {BAND_MAC}, Active: Yes"),
            _loguru_line(first, "get_devices:191", f"Key: 0x{BAND_KEY}"),
            _loguru_line(second, "get_devices:189", "Device 1:"),
            _loguru_line(second, "get_devices:190", f"MAC: {NO_KEY_MAC}, Active: No"),
            _loguru_line(second, "get_devices:191", "Key: 0x??"),
            _loguru_line("2025-11-02 09:14:06.733", "logout:250", "Logged out."),
            "",
            "Logged out.",
        ]
    )


def _amazfit_080() -> str:
    log = "2026-01-15 18:41:{} | INFO     | huami_token.zepp:{}"
    return _text(
        [
            log.format("43.316", "login:68 - Logging in..."),
            log.format("45.217", "login:71 - Logged in! User id: 3074199658"),
            log.format("45.217", "get_devices:188 - Getting linked devices..."),
            "Device 0:",
            f"  MAC: {BAND_MAC}, Active: Yes",
            f"  Key: 0x{BAND_KEY}",
            "Device 1:",
            f"  MAC: {NO_KEY_MAC}, Active: No",
            "  Key: 0x??",
            log.format("46.400", "logout:179 - Logged out."),
            "",
            "Logged out.",
        ]
    )


def _xiaomi_080() -> str:
    log = "2026-01-15 18:52:{} | INFO     | huami_token.xiaomi:{}"
    return _text(
        [
            log.format("10.004", "login:81 - Logging in to Xiaomi..."),
            log.format("11.731", f"login:85 - Logged in! User id: {ACCOUNT_ID}"),
            f"Device 0: {XIAOMI_NAME}",
            f"  MAC: {WATCH_MAC}",
            f"  Key: 0x{WATCH_KEY}",
            "Device 1: Redmi Watch 3 Active",
            f"  MAC: {NO_KEY_MAC}",
            "  Key: (not available)",
            "",
            "Logged in successfully.",
            f"user_id={ACCOUNT_ID}",
        ]
    )


def build(dest: Path) -> list[Expected]:
    xiaomi_login = [
        "Getting access token with xiaomi login method...",
        "Copy this URL to web-browser ",
        "",
        "https://account.xiaomi.com/oauth2/authorize?skip_confirm=false&response_type=code",
        "",
        "and login to your Mi account.",
        "",
        "Paste URL after redirection here.",
        "https://hm.xiaomi.com/watch.do?code=C3_5E2A90D1F47B3C68A0D9E41B27C6F853",
        "Token: ['C3_5E2A90D1F47B3C68A0D9E41B27C6F853']",
        "Logging in...",
        "Logged in! User id: 1182046735",
        "Getting linked wearables...",
    ]
    id_rows = [("1", BAND_MAC, f"0x{BAND_KEY}"), ("0", NO_KEY_MAC, "0x00")]
    id_rows.append(("0", WATCH_MAC, f"0x{WATCH_KEY}"))
    files = {
        PLAIN: _plain(),
        HEAVY: _heavy(),
        ASCII: _ascii_run([(BAND_MAC, f"0x{BAND_KEY}"), (NO_KEY_MAC, "0x00")], 50),
        CUT_SHORT: _ascii_run([(BIP_MAC, f"0x{BIP_UUID_CUT}"), (CUT_MAC, f"0x{CUT_SHOWN}")], 36),
        UUID_WHOLE: _ascii_run([(BIP_MAC, f"0x{BIP_UUID}")], 50),
        TABLE_2021: _text([*_AMAZFIT_LOGIN, *_id_table(id_rows, 44), "", "Logged out."]),
        EMPTY_2021: _text([*xiaomi_login, *_id_table([], 45), "", "Logged out."]),
        BOX_2022: _box(),
        LOGURU_2025: _loguru(),
        AMAZFIT_080: _amazfit_080(),
        XIAOMI_080: _xiaomi_080(),
    }
    for name, text in files.items():
        write(dest / name, text)
    band = {BAND_MAC: BAND_KEY}
    both = {BAND_MAC: BAND_KEY, WATCH_MAC: WATCH_KEY}
    return [
        Expected(input=PLAIN, devices=band, keys={BAND_KEY}),
        Expected(input=HEAVY, devices=band, keys={BAND_KEY}),
        Expected(input=ASCII, devices=band, keys={BAND_KEY}),
        # Cut short: listed, never chosen; the whole UUID is listed (as 32 hex) with a note.
        Expected(input=CUT_SHORT, keys={BIP_UUID_CUT, CUT_SHOWN}, absent={CUT_KEY}),
        Expected(input=UUID_WHOLE, keys={BIP_UUID.replace("-", "")}),
        Expected(input=TABLE_2021, devices=both, keys={BAND_KEY, WATCH_KEY}),
        Expected(input=EMPTY_2021),
        Expected(input=BOX_2022, devices=both, keys={BAND_KEY, WATCH_KEY}),
        Expected(input=LOGURU_2025, devices=band, keys={BAND_KEY}),
        Expected(input=AMAZFIT_080, devices=band, keys={BAND_KEY}),
        Expected(input=XIAOMI_080, devices={WATCH_MAC: WATCH_KEY}, keys={WATCH_KEY}),
    ]
