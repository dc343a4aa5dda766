"""Shared helpers for sample builders: stable fake keys, MACs and times, fixed mtimes."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# Every file the corpus writes gets this mtime unless a builder says otherwise, so that
# builds are byte-for-byte reproducible and mtime-based times are predictable.
BASE_TIME = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
BASE_EPOCH = int(BASE_TIME.timestamp())


def fake_key(label: str) -> str:
    """A stable 32-lowercase-hex key for ``label`` (not a real device's key)."""
    return hashlib.sha256(b"keyscan-corpus-key:" + label.encode()).hexdigest()[:32]


def fake_mac(label: str) -> str:
    """A stable MAC in Huami's vendor range for ``label``."""
    digest = hashlib.sha256(b"keyscan-corpus-mac:" + label.encode()).digest()
    return "C8:0F:10:" + ":".join(f"{b:02X}" for b in digest[:3])


def zip_of(
    members: list[tuple[str, bytes]],
    date_time: tuple[int, ...] = (2024, 3, 1, 12, 0, 0),
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip with fixed member times and modes: the same bytes every build."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def epoch(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=timezone.utc).timestamp())


def write(path: Path, data: bytes | str, mtime: int = BASE_EPOCH) -> Path:
    """Write a file (creating folders) and pin its mtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))
    return path


@dataclass
class Expected:
    """What scanning one sample input must give."""

    input: str  # path relative to the corpus root, as given to ``keyscan scan``
    devices: dict[str, str] = field(default_factory=dict)  # MAC (or "key:<hex>") -> chosen key
    keys: set[str] = field(default_factory=set)  # every key that must be among the candidates
    absent: set[str] = field(default_factory=set)  # values that must never be candidates
    problems: set[str] = field(default_factory=set)  # problem kinds that must be reported
    passwords: list[str] = field(default_factory=list)
