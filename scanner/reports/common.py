"""Formatting shared by every report."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rich.text import Text


def iso(moment: datetime | None) -> str | None:
    """ISO 8601; UTC times end in ``Z``, log times (no zone known) carry none."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def redact(key: str) -> str:
    """All but the last 4 characters masked, for reports that will be shared."""
    return "*" * (len(key) - 4) + key[-4:]


def shown_key(key: str, redacted: bool) -> str:
    return redact(key) if redacted else key


def gadgetbridge_form(key: str, redacted: bool = False) -> str:
    """``0x`` + lowercase hex (without it Gadgetbridge reads raw ASCII); ids stay digits."""
    shown = shown_key(key, redacted)
    return shown if key.isdigit() else "0x" + shown


# Terminal control (C0, DEL, C1), invisible format characters (bidi overrides, zero
# widths, BOM), line/paragraph separators and lone surrogates (undecodable bytes).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (PEP 383): show that byte
        return f"\\x{code - 0xDC00:02x}"
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Text from the evidence with every control or invisible character escaped (``\\x1b``)."""
    return _UNSAFE.sub(_escape, text)


def literal(text: str, style: str = "") -> Text:
    """Text from the evidence for the terminal: never read as markup or emoji, controls escaped."""
    return Text(visible(text), style=style)
