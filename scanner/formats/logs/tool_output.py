"""Keys printed by other tools: huami-token, freemyband and Amazfish (docs/inputs.md).

These label a key ``Key`` or put it in a table column, names that are not key field
names anywhere else. So they are accepted only inside the tool's own output shape:
a huami-token ``Device N:`` / ``╓───Device N`` block (also as the 2025 version logs it
through loguru) or a ``| ... | MAC | auth_key |`` table; a freemyband key file (its one
line ``MAC;KEY``, wherever it lies, or any file under a ``freemyband`` folder: the modded
Mi Fit writes its key files to /sdcard/freemyband/); Amazfish's ``Secret Key:  "…"``.
Everything here is fed one line at a time by ``log.scan_lines``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.artifacts import Artifact
from scanner.vocab.keys import fold_name, is_key_field
from scanner.vocab.values import normalise_key, normalise_mac

# huami-token: "Device 0:" (0.8.0), "Device 0: <name>" (0.8.0 Xiaomi mode), "╓───Device 0"
# (2022 box form); then "MAC: …[, active: Yes]" and "Key: 0x…", box lines behind "║".
_DEVICE = re.compile(r"\s*(?:\u2553\u2500*\s*Device\s+\d+\s*|Device\s+\d+\s*:\s*(?P<name>.*))$")
_BOX_SIDE = "\u2551"
_MAC_LINE = re.compile(
    r"\s*MAC\s*:\s*(?P<mac>[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|\?\?(?::\?\?){5})(?![0-9A-Za-z])"
)
# Greedy to the end and stripped after: a lazy ".*?" before "\s*$" is quadratic in
# a long run of blanks.
_KEY_LINE = re.compile(r"\s*(?P<label>Key)\s*:\s*(?P<value>\S.*)")
# huami-token 2025 logs through loguru: "2025-11-02 09:14:06.204 | INFO     | src.zepp:f:1 - "
LOGURU_PREFIX = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| [A-Z]+ *\| \S+ - ")
# An auth_key the server gave as a UUID (huami-token issue #8, an old Amazfit Bip), and a
# value rich cut short with "…" to fit its column (the same issue: 36 wide, fixed in 310b200).
_UUID_KEY = re.compile(r"0[xX](?P<hex>[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})")
_CUT_KEY = re.compile(r"0[xX](?P<seen>[0-9a-fA-F][0-9a-fA-F-]*)\u2026")
UUID_NOTE = (
    "huami-token printed this auth_key as a UUID ({printed}), as the server gives it for some "
    "old devices (huami-token issue #8); shown as its 32 hex digits without the dashes. "
    "Whether the device takes it as a key is not known."
)
CUT_NOTE = (
    "cut short with '\u2026' where the table was too narrow (huami-token issue #8): run "
    "huami-token again in a wider terminal, or a version from August 2020 on, to print the "
    "key whole"
)
# freemyband: the whole first line of its key file, "MAC;KEY" (the MAC may be missing,
# then the file's name miband-<mac>.txt / miband<12 hex>.txt gives it).
_FREEMYBAND_LINE = re.compile(
    r"\ufeff?\s*(?P<mac>[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5})?\s*;\s*(?:0[xX])?"
    r"(?P<key>[0-9a-fA-F]{32})\s*"
)
_FREEMYBAND_NAME = re.compile(
    r"miband[-_]?(?P<mac>[0-9A-Fa-f]{2}(?:[:_-]?[0-9A-Fa-f]{2}){5})\.txt", re.IGNORECASE
)
# Amazfish (ZeppOsAuthService::handlePayload): the key the user entered, as qDebug() quotes
# a QByteArray's hex; the "Shared Session Key:" logged next to it is ephemeral.
_AMAZFISH_SECRET = re.compile(r'(?:^|\s)Secret Key:\s{1,4}"(?P<hex>[0-9a-fA-F]{32})"')
# Older huami-token prints a rich table (box.ASCII): | ID | ACT | MAC | auth_key |
_BOX_BARS = str.maketrans({"│": "|", "┃": "|", "║": "|"})
_RULE = re.compile(r"[\s+\-=|:━─┏┓┗┛┡┩┣┫┳┻╇╈╋└┘├┤┬┴┼╭╮╰╯]*")
_MAC_HEADERS = frozenset({"mac", "macaddress", "address"})
# freemyband: a 32-hex value standing alone (not inside a longer hex or word run)
_BARE_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?([0-9a-fA-F]{32})(?![0-9A-Za-z])")
_LABEL = re.compile(r"([A-Za-z][A-Za-z0-9 _-]{0,30}?)\s*[:=]\s*$")
_NOT_KEY_LABELS = ("md5", "sha", "hash", "checksum", "digest", "requestid", "uuid")
_MAC_ANY = re.compile(
    r"(?<![0-9A-Za-z:-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z])"
)

# First non-blank byte of a line that may start huami-token output: cheap to test per line.
TOOL_STARTS = frozenset({b"D", b"|", b"+", b"\xe2"})


@dataclass(frozen=True)
class ToolHit:
    field: str  # the label as printed: "Key", "auth_key", ...
    key: str  # normalised (cut short: the part that was printed, then "…")
    mac: str | None
    name: str | None = None
    note: str | None = None
    incomplete: bool = False


def printed_key(value: str) -> tuple[str, str | None, bool] | None:
    """(key, note, incomplete) of a key as huami-token printed it; None for no key
    ("0x00", "0x??", "0x", "(not available)")."""
    key = normalise_key(value)
    if key is not None:
        return key, None, False
    text = value.strip()
    uuid = _UUID_KEY.fullmatch(text)
    if uuid:
        hex_digits = normalise_key(uuid["hex"].replace("-", ""))
        if hex_digits:
            return hex_digits, UUID_NOTE.format(printed=text), False
    cut = _CUT_KEY.fullmatch(text)
    if cut:
        return cut["seen"].lower() + "\u2026", CUT_NOTE, True
    return None


def _mac_of_name(path: str) -> str | None:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    match = _FREEMYBAND_NAME.fullmatch(name)
    if not match:
        return None
    digits = re.sub(r"[:_-]", "", match["mac"])
    return normalise_mac(":".join(digits[i : i + 2] for i in range(0, 12, 2)))


def freemyband_line(line: str, path: str) -> ToolHit | None:
    """The key of a freemyband key file's first line ``MAC;KEY``, or None."""
    match = _FREEMYBAND_LINE.fullmatch(line)
    if not match:
        return None
    key = normalise_key(match["key"])
    if key is None:
        return None
    mac = normalise_mac(match["mac"]) if match["mac"] else _mac_of_name(path)
    return ToolHit("freemyband", key, mac)


def amazfish_secret(line: str) -> ToolHit | None:
    match = _AMAZFISH_SECRET.search(line)
    key = normalise_key(match["hex"]) if match else None
    return ToolHit("Secret Key", key, None) if key else None


def in_freemyband_folder(artifact: Artifact) -> bool:
    """True when any level of the file's path is a folder named freemyband."""
    for path in (artifact.device_path, *artifact.chain):
        if path and "freemyband" in path.lower():
            parts = path.replace("\\", "/").lower().split("/")
            if "freemyband" in parts[:-1]:
                return True
    return False


def _fold(text: str) -> str:
    return fold_name(text.replace(" ", ""))  # table headers and labels may hold blanks


def _cells(line: str) -> list[str] | None:
    """The cells of a table row ``| a | b |``, or None if the line is not one."""
    text = line.translate(_BOX_BARS).strip()
    if len(text) < 3 or not (text.startswith("|") and text.endswith("|")):
        return None
    return [cell.strip() for cell in text[1:-1].split("|")]


@dataclass
class _Table:
    mac_column: int
    key_column: int
    label: str
    width: int


class ToolOutput:
    """Follows huami-token blocks and tables (and freemyband files) line by line."""

    def __init__(self, freemyband: bool = False) -> None:
        self.freemyband = freemyband
        self._block_open = False  # inside "Device N:"
        self._block_mac: str | None = None
        self._block_has_mac = False  # a key counts only after its block's MAC line
        self._block_name: str | None = None
        self._table: _Table | None = None
        self._last_mac: str | None = None  # freemyband: the MAC seen most recently

    @property
    def active(self) -> bool:
        """Whether the next line must be fed whatever it starts with."""
        return self.freemyband or self._block_open or self._table is not None

    def feed(self, line: str) -> list[ToolHit]:
        if self.freemyband:
            return self._freemyband(line)
        prefix = LOGURU_PREFIX.match(line)
        if prefix:
            line = line[prefix.end() :]
        device = _DEVICE.match(line)
        if device:
            name = (device["name"] or "").strip()
            self._block_open, self._block_mac, self._table = True, None, None
            self._block_has_mac = False
            self._block_name = name if name and name != "Unknown" else None
            return []
        if self._block_open:
            hits = self._block_line(line)
            if hits is not None:
                return hits
            self._block_open = False  # any other line ends the block
        return self._table_line(line)

    def _block_line(self, line: str) -> list[ToolHit] | None:
        body = line.lstrip()
        if body.startswith(_BOX_SIDE):
            body = body[1:]
        mac_line = _MAC_LINE.match(body)
        if mac_line:
            self._block_mac = normalise_mac(mac_line["mac"])
            self._block_has_mac = True
            return []
        key_line = _KEY_LINE.match(body)
        if key_line and self._block_has_mac:
            printed = printed_key(key_line["value"].rstrip())
            if printed is None:
                return []
            key, note, incomplete = printed
            mac, name = self._block_mac, self._block_name
            return [ToolHit(key_line["label"], key, mac, name, note, incomplete)]
        return [] if not body.strip() else None

    def _table_line(self, line: str) -> list[ToolHit]:
        cells = _cells(line)
        if cells is None:
            if self._table is not None and not _RULE.fullmatch(line):
                self._table = None  # a line that is neither row nor border ends the table
            return []
        header = self._header(cells)
        if header is not None:
            self._table = header
            return []
        table = self._table
        if table is None or len(cells) != table.width or _RULE.fullmatch(line):
            return []
        printed = printed_key(cells[table.key_column])  # a scale's "0x00" is no key: skipped
        if printed is None:
            return []
        key, note, incomplete = printed
        mac = normalise_mac(cells[table.mac_column])
        return [ToolHit(table.label, key, mac, None, note, incomplete)]

    @staticmethod
    def _header(cells: list[str]) -> _Table | None:
        folded = [_fold(cell) for cell in cells]
        mac_column = next((i for i, f in enumerate(folded) if f in _MAC_HEADERS), None)
        key_column = next(
            (i for i, cell in enumerate(cells) if is_key_field(cell) or folded[i] == "key"), None
        )
        if mac_column is None or key_column is None:
            return None
        return _Table(mac_column, key_column, cells[key_column], len(cells))

    def _freemyband(self, line: str) -> list[ToolHit]:
        macs = [normalise_mac(m.group()) for m in _MAC_ANY.finditer(line)]
        macs = [mac for mac in macs if mac]
        hits = []
        for match in _BARE_HEX.finditer(line):
            key = normalise_key(match.group())
            if key is None:
                continue
            label = _LABEL.search(line, 0, match.start())
            field = label.group(1).strip() if label else "freemyband"
            if any(word in _fold(field) for word in _NOT_KEY_LABELS):
                continue  # a digest beside the key, not a key
            mac = macs[0] if macs else self._last_mac
            hits.append(ToolHit(field, key, mac))
        if macs:
            self._last_mac = macs[-1]
        return hits
