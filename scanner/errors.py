"""Typed problems. Every failure a user can meet is one of these kinds.

Parsers raise them; the pipeline (one place) turns them into ``Problem`` records with
the provenance of where they happened, and the scan goes on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ProblemKind(StrEnum):
    """The JSON contract's name of a problem; each is raised as one ``ScanError`` class."""

    NEEDS_PASSWORD = "needs-password"
    WRONG_PASSWORD = "wrong-password"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"
    LIMIT = "limit"
    UNREADABLE = "unreadable"
    # INTERNAL = "internal": our own bug, not the evidence's (issue 13 item 3 adds it here)


class ScanError(Exception):
    """Base of every problem keyscan reports."""

    kind: ClassVar[ProblemKind] = ProblemKind.CORRUPT


class NeedsPassword(ScanError):
    kind = ProblemKind.NEEDS_PASSWORD


class WrongPassword(ScanError):
    kind = ProblemKind.WRONG_PASSWORD


class Truncated(ScanError):
    kind = ProblemKind.TRUNCATED


class Corrupt(ScanError):
    kind = ProblemKind.CORRUPT


class Unsupported(ScanError):
    kind = ProblemKind.UNSUPPORTED


class LimitExceeded(ScanError):
    kind = ProblemKind.LIMIT


class InputBudgetExceeded(LimitExceeded):
    """``max_total_bytes`` for one input: reported once, then the input's walk winds down."""


class Unreadable(ScanError):
    kind = ProblemKind.UNREADABLE
