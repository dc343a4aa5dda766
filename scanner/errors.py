"""Typed problems. Every failure a user can meet is one of these kinds.

Parsers raise them; the pipeline (one place) turns them into ``Problem`` records with
the provenance of where they happened, and the scan goes on.
"""

from __future__ import annotations

from typing import ClassVar


class ScanError(Exception):
    """Base of every problem keyscan reports. ``kind`` is the JSON contract's name."""

    kind: ClassVar[str] = "corrupt"


class NeedsPassword(ScanError):
    kind = "needs-password"


class WrongPassword(ScanError):
    kind = "wrong-password"


class Truncated(ScanError):
    kind = "truncated"


class Corrupt(ScanError):
    kind = "corrupt"


class Unsupported(ScanError):
    kind = "unsupported"


class LimitExceeded(ScanError):
    kind = "limit"


class InputBudgetExceeded(LimitExceeded):
    """``max_total_bytes`` for one input: reported once, then the input's walk winds down."""


class Unreadable(ScanError):
    kind = "unreadable"


PROBLEM_KINDS: tuple[str, ...] = (
    "needs-password",
    "wrong-password",
    "truncated",
    "corrupt",
    "unsupported",
    "limit",
    "unreadable",
)
