"""Sample family `twrp`: not yet written."""

from __future__ import annotations

from pathlib import Path

from corpus.common import Expected


def build(dest: Path) -> list[Expected]:
    return []
