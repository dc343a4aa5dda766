"""Formatting shared by every report."""

from __future__ import annotations

from datetime import datetime, timezone


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
