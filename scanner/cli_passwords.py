"""Where the command line's passwords come from, and the prompt for one more.

Passwords stay bytes (``Password``): arguments and the environment are turned back into
the bytes they were (``os.fsencode``), a password file is read as bytes. No part of a
password is ever printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from rich.console import Console
from rich.text import Text

from scanner.context import PROMPT_TRIES
from scanner.passwords import Password
from scanner.reports.common import literal

PASSWORD_ENV = "KEYSCAN_PASSWORD"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # PowerShell 5's `>` writes UTF-16 with a BOM


class PasswordFileError(Exception):
    """The --password-file cannot be read (a usage error, not a problem of the evidence)."""


def file_passwords(path: Path) -> list[Password]:
    """One password per line, as bytes; CR LF endings, a BOM and empty lines ignored."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PasswordFileError(error.strerror or error.__class__.__name__) from error
    if data.startswith(UTF16_BOMS):
        data = data.decode("utf-16").encode("utf-8", "surrogatepass")
    data = data.removeprefix(UTF8_BOM)
    lines = (line.removesuffix(b"\r") for line in data.split(b"\n"))
    return [Password(line) for line in lines if line]


def environment_password() -> Password | None:
    environb = getattr(os, "environb", None)  # POSIX: the bytes as they were set
    value = environb.get(PASSWORD_ENV.encode()) if environb is not None else None
    if value is None and PASSWORD_ENV in os.environ:
        value = os.fsencode(os.environ[PASSWORD_ENV])
    return Password(value) if value else None


def gather(arguments: list[str], password_file: Path | None) -> list[Password]:
    """--password values, --password-file lines, then KEYSCAN_PASSWORD, in that order."""
    found = [Password(os.fsencode(text)) for text in arguments]
    if password_file is not None:
        found += file_passwords(password_file)
    if (from_env := environment_password()) is not None:
        found.append(from_env)
    return found


def can_prompt() -> bool:
    """A prompt needs someone to type (stdin) and to see it (stderr); either may be closed."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stderr))


def _where(provenance: tuple[str, ...]) -> Text:
    return literal(" > ".join(provenance))


class Prompt:
    """Asks for a password, saying which file and whether the last one was wrong.

    ``pause`` stops the live progress line (and brings the cursor back) while asking:
    otherwise its next refresh draws over the prompt.
    """

    def __init__(self, err: Console, pause: Callable[[], AbstractContextManager[object]]) -> None:
        self._err = err
        self._pause = pause
        self._asked: dict[tuple[str, ...], int] = {}

    def __call__(self, provenance: tuple[str, ...], failed: int) -> Password | None:
        asked = self._asked.get(provenance, 0)
        self._asked[provenance] = asked + 1
        with self._pause():
            if asked:
                self._err.print(
                    Text.assemble(
                        ("Wrong password", "bold red"),
                        " for ",
                        _where(provenance),
                        f" (try {asked + 1} of {PROMPT_TRIES}).",
                    )
                )
            elif failed:
                said = (
                    "The password tried does not open "
                    if failed == 1
                    else (f"None of the {failed} passwords tried opens ")
                )
                self._err.print(Text.assemble(said, _where(provenance), "."))
            question = Text.assemble(
                ("Password for ", "bold"), _where(provenance), " (empty to skip): "
            )
            try:
                typed = self._err.input(question, password=True)
            except (EOFError, KeyboardInterrupt, UnicodeDecodeError, OSError):
                self._err.print()
                return None
        return Password(os.fsencode(typed)) if typed else None
