"""Typed problems. Every failure a user can meet is one of these kinds.

Parsers raise them; the pipeline (one place) turns them into ``Problem`` records with
the provenance of where they happened, and the scan goes on. A library's own exceptions
mean something about the evidence only where a format declares so (``LibraryErrors``,
collected by ``scanner/registry.py``); anything else is our bug: ``internal``.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    INTERNAL = "internal"  # our own bug, not the evidence's


class ScanError(Exception):
    """Base of every problem keyscan reports."""

    kind: ClassVar[ProblemKind] = ProblemKind.CORRUPT

    @classmethod
    def meaning(cls, error: BaseException) -> ScanError:
        """This problem for a library's exception that a format declared to mean it."""
        return cls(describe(error))


class NeedsPassword(ScanError):
    kind = ProblemKind.NEEDS_PASSWORD


class WrongPassword(ScanError):
    kind = ProblemKind.WRONG_PASSWORD


class Truncated(ScanError):
    kind = ProblemKind.TRUNCATED

    @classmethod
    def meaning(cls, error: BaseException) -> ScanError:
        return cls(f"ends early: {describe(error)}")


class Corrupt(ScanError):
    kind = ProblemKind.CORRUPT


class Unsupported(ScanError):
    kind = ProblemKind.UNSUPPORTED


class LimitExceeded(ScanError):
    kind = ProblemKind.LIMIT

    @classmethod
    def meaning(cls, error: BaseException) -> ScanError:
        if isinstance(error, MemoryError):
            return cls("ran out of memory reading it")
        return cls(describe(error))


class InputBudgetExceeded(LimitExceeded):
    """``max_total_bytes`` for one input: reported once, then the input's walk winds down."""


class Unreadable(ScanError):
    kind = ProblemKind.UNREADABLE

    @classmethod
    def meaning(cls, error: BaseException) -> ScanError:
        strerror = error.strerror if isinstance(error, OSError) else None
        return cls(strerror or describe(error))


class Internal(ScanError):
    """Our own bug met while reading this file: not a fault of the evidence."""

    kind = ProblemKind.INTERNAL

    @classmethod
    def meaning(cls, error: BaseException) -> ScanError:
        return cls(
            f"internal error ({error.__class__.__name__}: {describe(error)}): a bug in "
            "keyscan, not a fault of this file; please report it (--debug logs the traceback)"
        )


def describe(error: BaseException) -> str:
    return str(error) or error.__class__.__name__


# A library's exception class -> the problem it means; a subclass means the same.
LibraryErrors = Mapping[type[BaseException], type[ScanError]]

# What Python's own exceptions mean wherever a format's reading raises them.
BUILTIN_ERRORS: LibraryErrors = {
    EOFError: Truncated,
    MemoryError: LimitExceeded,
    OSError: Unreadable,
}


def as_scan_error(error: BaseException, declared: LibraryErrors) -> ScanError:
    """The problem an exception means: its own if typed, else what a format declared (or
    ``BUILTIN_ERRORS``) for its class; an exception nobody declared is ``Internal``."""
    if isinstance(error, ScanError):
        return error
    meanings = {**declared, **BUILTIN_ERRORS}
    for library_error, problem in meanings.items():
        if isinstance(error, library_error):
            if "unexpected end" in describe(error).lower():
                return Truncated.meaning(error)  # the library's way of saying "cut short"
            return problem.meaning(error)
    return Internal.meaning(error)
