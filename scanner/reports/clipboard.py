"""``scan --copy``: the chosen key onto the clipboard by the terminal itself (OSC 52), so it
can be pasted without typing. No program is started and nothing leaves the machine: the
escape sequence is written to the terminal, which copies (or, lacking OSC 52, ignores it).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.text import Text

from scanner.model import ScanResult
from scanner.reports.common import gadgetbridge_form
from scanner.reports.table import device_label

# Only a key as pasted or an account id ever goes into the sequence: it is written raw.
_PASTE_TEXT = re.compile(r"0x[0-9a-f]{32}|[0-9]{1,40}")
UNSUPPORTED = (
    "terminals without OSC 52 (GNOME Terminal and other VTE ones, tmux unless "
    "set-clipboard is on) ignore it silently: then use --qr, or select the key"
)


def osc52(text: str) -> str:
    """The sequence that asks a terminal to put ``text`` on the clipboard."""
    if not _PASTE_TEXT.fullmatch(text):
        raise ValueError("only a key or an account id goes onto the clipboard")
    return "\x1b]52;c;" + base64.b64encode(text.encode("ascii")).decode("ascii") + "\x07"


def _terminal(streams: Sequence[TextIO]) -> TextIO | None:
    for stream in streams:
        try:
            if stream.isatty():
                return stream
        except (ValueError, OSError):  # closed or detached: not a terminal
            continue
    return None


def copy_first_key(result: ScanResult, err: Console, streams: Sequence[TextIO]) -> None:
    """The first device's key (the newest-ranked, listed first) to the clipboard through
    the first of ``streams`` that is a terminal; what was done is said on ``err``."""
    if not result.devices:
        err.print("--copy: no key found, nothing copied.", markup=False)
        return
    terminal = _terminal(streams)
    if terminal is None:
        err.print(
            "--copy: not run in a terminal, nothing copied (the terminal does the copying).",
            markup=False,
        )
        return
    device = result.devices[0]
    key = gadgetbridge_form(device.chosen.key)
    terminal.write(osc52(key))
    terminal.flush()
    total = len(result.devices)
    which = f"the key of device 1 of {total} " if total > 1 else "the key "
    message = Text(f"--copy: asked the terminal to put {which}on the clipboard: ")
    message.append_text(Text.assemble(key, "  ", device_label(device.device)))
    message.append(f" ({UNSUPPORTED}).")
    if total > 1:
        message.append(" The others: scan one device's input at a time, or use --qr.")
    err.print(message)
