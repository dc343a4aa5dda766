"""Each device's key as a QR code in the terminal (``scan --qr``): the phone's camera reads
the exact text to paste into Gadgetbridge, so no ``0x`` is mistyped and no keyboard swaps
a character.

The code is drawn with half blocks (two rows of modules per line of text: 37 columns for
a key, so it fits a 40-column terminal) in explicit colours, bright modules as glyphs on a
black background; without colours (a pipe, a file, ``NO_COLOR``) the same glyphs are
left, which reads right on a dark background.
"""

from __future__ import annotations

from collections.abc import Sequence

import segno
from rich.console import Console
from rich.text import Text

from scanner.model import ScanResult
from scanner.reports.common import gadgetbridge_form
from scanner.reports.table import device_label, key_line

QUIET_ZONE = 4  # modules of light border that ISO 18004 asks for around a QR code
STYLE = "bright_white on black"
# Codes drawn at most: a hostile log can name 100,000 devices (each code is 19 lines).
MOST_CODES = 20

# (top module dark, bottom module dark) -> the glyph that draws the LIGHT halves.
_GLYPHS = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
GLYPH_MODULES = {glyph: pair for pair, glyph in _GLYPHS.items()}


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code of ``text`` (byte mode, level M or better), quiet zone included;
    True is a dark module."""
    code = segno.make_qr(text, error="m", boost_error=True)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=QUIET_ZONE)]


def half_block_lines(modules: Sequence[Sequence[bool]]) -> list[str]:
    """Two rows of modules per line; an odd last row is paired with a light one."""
    light_row = [False] * len(modules[0])
    lines = []
    for top in range(0, len(modules), 2):
        bottom = modules[top + 1] if top + 1 < len(modules) else light_row
        lines.append("".join(_GLYPHS[pair] for pair in zip(modules[top], bottom, strict=True)))
    return lines


def print_qr_codes(result: ScanResult, console: Console) -> None:
    """After the report: each device's chosen key as a QR code, under a line naming it."""
    devices = result.devices[:MOST_CODES]
    for number, device in enumerate(devices, 1):
        key = gadgetbridge_form(device.chosen.key)
        lines = half_block_lines(qr_modules(key))
        console.print()
        console.print(Text(f"QR code {number} of {len(result.devices)}:", style="bold"))
        key_line(console, key, device_label(device.device))  # never wrapped, as above
        if console.width < len(lines[0]):
            console.print(
                f"(the terminal is {console.width} columns wide, the code {len(lines[0])}: "
                "widen it, or the code is broken over lines)",
                markup=False,
            )
        console.print(Text("\n".join(lines), style=STYLE), soft_wrap=True)
    if len(result.devices) > MOST_CODES:
        console.print()
        console.print(
            f"QR codes of the first {MOST_CODES} devices only: scan one device's input "
            "at a time for the others.",
            markup=False,
        )
