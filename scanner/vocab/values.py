"""What a key, a MAC, a model code and a time look like as values.

Every extractor asks these questions the same way, so "no false keys" is decided in one
place; which field names may hold a key is ``vocab.keys``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from scanner.vocab.keys import fold_name

_HEX32 = re.compile(r"(?:0[xX])?([0-9a-fA-F]{32})")
_ACCOUNT_ID = re.compile(r"[1-9][0-9]{5,19}")
_MAC = re.compile(r"([0-9A-Fa-f]{2})([:-])([0-9A-Fa-f]{2})(?:\2[0-9A-Fa-f]{2}){4}")
_NAME_MAC = re.compile(
    r"(?<![0-9A-Za-z])([0-9A-Fa-f]{2})([:_-])[0-9A-Fa-f]{2}(?:\2[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z])"
)
_MODEL = re.compile(r"[a-z][a-z0-9]*(?:\.[a-z0-9_]+){2,}")
_MAC_LENGTH = 17  # six pairs and five separators: what _MAC matches, whole
_EPOCH_MIN = datetime(2014, 1, 1, tzinfo=timezone.utc).timestamp()  # first Mi Band
_EPOCH_MAX = datetime(2040, 1, 1, tzinfo=timezone.utc).timestamp()


def normalise_key(value: object) -> str | None:
    """A hex key as 32 lowercase hex, or None if ``value`` is not one.

    Accepts ``0x`` prefixes, surrounding quotes and white space, and 16 raw bytes.
    All-zero and all-F values are placeholders, not keys.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) == 16 and not raw.isascii():
            text = raw.hex()
        else:
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                return None
    elif isinstance(value, str):
        text = value
    else:
        return None
    text = text.strip().strip("'\"").strip()
    match = _HEX32.fullmatch(text)
    if not match:
        return None
    key = match.group(1).lower()
    if key in ("0" * 32, "f" * 32):
        return None
    return key


def normalise_account_id(value: object) -> str | None:
    """A decimal Xiaomi account id (the key of Mi Watch Lite / Color Sport), or None."""
    text = str(value).strip().strip("'\"") if isinstance(value, (str, int)) else ""
    return text if _ACCOUNT_ID.fullmatch(text) else None


def key_for_field(field: str, value: object) -> str | None:
    """The key a key field holds: 32 hex, or (``authkey`` only) a decimal account id, the key
    of Mi Watch Lite / Color Sport. None for anything else."""
    key = normalise_key(value)
    if key is None and fold_name(field) == "authkey" and not isinstance(value, bytes):
        key = normalise_account_id(value)
    return key


def normalise_mac(value: object) -> str | None:
    """``aa-bb-cc-dd-ee-ff`` / ``AA:BB:..`` -> ``AA:BB:CC:DD:EE:FF``; None if not a MAC."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) != _MAC_LENGTH or not _MAC.fullmatch(text):  # most values: not that long
        return None
    mac = text.replace("-", ":").upper()
    if mac in ("00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF"):
        return None
    return mac


def mac_in_file_name(path: str) -> str | None:
    """The MAC a file is named after (``device_<MAC>.json``, ``Export_preference_C8_0F_..``).

    Context only: a name never decides a file's format.
    """
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    match = _NAME_MAC.search(name)
    return normalise_mac(match.group().replace("_", ":")) if match else None


def looks_like_model(value: object) -> bool:
    """Vendor model codes: ``hmpace.watch.v7``, ``miwear.watch.m66``, ``mijia.watch.v1``."""
    if not isinstance(value, str) or value.count(".") < 2:  # most values: no pattern run
        return False
    return bool(_MODEL.fullmatch(value.strip()))


def epoch_to_datetime(value: object) -> datetime | None:
    """An epoch in seconds or milliseconds within 2014-2040, as aware UTC; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not value.strip().isdigit():
            return None
        value = int(value.strip())
    if not isinstance(value, (int, float)):
        return None
    for scale in (1, 1000):
        seconds = value / scale
        if _EPOCH_MIN <= seconds < _EPOCH_MAX:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
    return None
