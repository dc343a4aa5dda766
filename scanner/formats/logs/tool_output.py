"""Keys printed by other tools: huami-token and freemyband (where-keys-live.md).

These label a key ``Key`` or put it in a table column, names that are not key field
names anywhere else. So they are accepted only inside the tool's own output shape:
a huami-token ``Device N:`` block or a ``| ... | MAC | auth_key |`` table, or a file
under a ``freemyband`` folder (the modded Mi Fit writes its key files to
/sdcard/freemyband/). Everything here is fed one line at a time by ``log.scan_lines``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.artifacts import Artifact
from scanner.vocab.keys import fold_name, is_key_field
from scanner.vocab.values import normalise_key, normalise_mac

# huami-token (0.x, 2025): "Device 0:" / "  MAC: AB:CD:EF:12:34:56, Active: Yes" / "  Key: 0x…"
_DEVICE = re.compile(r"\s*Device\s+\d+\s*:\s*$")
_MAC_LINE = re.compile(r"\s*MAC\s*:\s*(?P<mac>[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5})\b")
_KEY_LINE = re.compile(r"\s*(?P<label>Key)\s*:\s*(?:0[xX])?(?P<hex>[0-9a-fA-F]{32})\s*$")
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
    key: str  # normalised
    mac: str | None


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
        self._table: _Table | None = None
        self._last_mac: str | None = None  # freemyband: the MAC seen most recently

    @property
    def active(self) -> bool:
        """Whether the next line must be fed whatever it starts with."""
        return self.freemyband or self._block_open or self._table is not None

    def feed(self, line: str) -> list[ToolHit]:
        if self.freemyband:
            return self._freemyband(line)
        if _DEVICE.match(line):
            self._block_open, self._block_mac, self._table = True, None, None
            return []
        if self._block_open:
            hits = self._block_line(line)
            if hits is not None:
                return hits
            self._block_open = False  # any other line ends the block
        return self._table_line(line)

    def _block_line(self, line: str) -> list[ToolHit] | None:
        mac_line = _MAC_LINE.match(line)
        if mac_line:
            self._block_mac = normalise_mac(mac_line["mac"])
            return []
        key_line = _KEY_LINE.match(line)
        if key_line:
            key = normalise_key(key_line["hex"])
            return [ToolHit(key_line["label"], key, self._block_mac)] if key else []
        return [] if not line.strip() else None

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
        key = normalise_key(cells[table.key_column])  # a scale's "0x00" is not a key: skipped
        if key is None:
            return []
        return [ToolHit(table.label, key, normalise_mac(cells[table.mac_column]))]

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
