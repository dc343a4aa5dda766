"""What a key, a key field, a MAC, a model and a time look like.

Every extractor asks these questions the same way, so "no false keys" is decided in one
place (where-keys-live.md: a 32-hex value is a candidate only beside a key field name).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from scanner.artifacts.device_paths import LOOKALIKE_APPS, WEARABLE_APPS
from scanner.model import Confidence

# Key field names, compared without case, "_" or "-": authkey, auth_key, AUTHKEY,
# encrypt_key, encryptKey, huamiAuthKey, token. Field names drift between app versions,
# so they are matched as a set.
_STRONG_FIELDS = frozenset({"authkey", "encryptkey", "huamiauthkey"})
_WEAK_FIELDS = frozenset({"token"})  # also Mi Home device tokens: needs a wearable context
KEY_FIELD_PATTERN = r"(?:huami[_-]?)?auth[_-]?key|encrypt[_-]?key|token"

GADGETBRIDGE_DEFAULT_KEY = "0123456789@ABCDE"  # Gadgetbridge's placeholder, not a key

_HEX32 = re.compile(r"(?:0[xX])?([0-9a-fA-F]{32})")
_ACCOUNT_ID = re.compile(r"[1-9][0-9]{5,19}")
_MAC = re.compile(r"([0-9A-Fa-f]{2})([:-])([0-9A-Fa-f]{2})(?:\2[0-9A-Fa-f]{2}){4}")
_NAME_MAC = re.compile(
    r"(?<![0-9A-Za-z])([0-9A-Fa-f]{2})([:_-])[0-9A-Fa-f]{2}(?:\2[0-9A-Fa-f]{2}){4}(?![0-9A-Za-z])"
)
_MODEL = re.compile(r"[a-z][a-z0-9]*(?:\.[a-z0-9_]+){2,}")
WEARABLE_MODEL_PREFIXES = (
    "hmpace.",
    "huami.",
    "miwear.",
    "mijia.watch",
    "midr.watch",
    "xiaomi.watch",
    "zepp.",
    "amazfit.",
)
_EPOCH_MIN = datetime(2014, 1, 1, tzinfo=timezone.utc).timestamp()  # first Mi Band
_EPOCH_MAX = datetime(2040, 1, 1, tzinfo=timezone.utc).timestamp()


def _fold(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def is_key_field(name: str) -> bool:
    folded = _fold(name)
    return folded in _STRONG_FIELDS or folded in _WEAK_FIELDS


# Every key field name folds to "...key" or "token": text without either holds no key
# field (patterns.py searches for these endings). The Kelvin sign lowercases to "k".
KEY_WORDS = (b"key", b"token")
_KELVIN_SIGN = "\u212a".encode()


def may_name_key_fields(document: bytes, escape: bytes) -> bool:
    """False only if no key field name and no key word can be in a JSON or XML document:
    its folded text holds neither "key" nor "token", and no ``escape`` (``\\u`` in JSON,
    ``&#`` in XML) that could spell one. Lets the extractors skip walking ordinary files."""
    if escape in document or _KELVIN_SIGN in document:
        return True
    folded = document.translate(None, b"_-").lower()
    return any(word in folded for word in KEY_WORDS)


def is_weak_field(name: str) -> bool:
    return _fold(name) in _WEAK_FIELDS


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
    if key is None and _fold(field) == "authkey" and not isinstance(value, bytes):
        key = normalise_account_id(value)
    return key


def normalise_mac(value: object) -> str | None:
    """``aa-bb-cc-dd-ee-ff`` / ``AA:BB:..`` -> ``AA:BB:CC:DD:EE:FF``; None if not a MAC."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _MAC.fullmatch(text):
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
    return isinstance(value, str) and bool(_MODEL.fullmatch(value.strip()))


def is_wearable_model(value: str | None) -> bool:
    return value is not None and value.lower().startswith(WEARABLE_MODEL_PREFIXES)


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


def confidence_for(field: str, app: str | None, wearable_context: bool) -> Confidence | None:
    """How much a key found under ``field`` in ``app``'s data can be trusted.

    None: drop it (a look-alike app's token, or a bare ``token`` with no wearable near it).
    ``LOW`` values are listed with ``--all`` but never chosen as a device's key.
    """
    if app in LOOKALIKE_APPS:
        return None
    wearable_app = app in WEARABLE_APPS
    if is_weak_field(field):
        if wearable_context:
            return Confidence.MEDIUM
        return Confidence.LOW if wearable_app else None
    if wearable_app or wearable_context:
        return Confidence.HIGH
    return Confidence.MEDIUM
