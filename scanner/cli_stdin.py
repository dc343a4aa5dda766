"""``keyscan scan -``: one input read from standard input (``cat x.ab | keyscan scan -``).

Containers seek (zip's central directory at the end, SQLite pages), so the stream is
spooled to a private temporary file first, in chunks; the scan shows it as ``<stdin>``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STDIN_ARGUMENT = "-"
STDIN_NAME = "<stdin>"
CHUNK = 1 << 20


class StdinUnusable(Exception):
    """Standard input cannot be an input: closed, or a terminal (nothing piped in)."""


class SpooledPath(type(Path())):  # type: ignore[misc]  # the concrete flavour (Posix/Windows)
    """The spooled file: opened at its real place, shown in provenance as ``<stdin>``."""

    def __str__(self) -> str:
        return STDIN_NAME

    def __fspath__(self) -> str:
        return super().__str__()


@contextmanager
def spooled_stdin() -> Iterator[Path]:
    stream = sys.stdin
    if stream is None:
        raise StdinUnusable("standard input is closed")
    if stream.isatty():
        raise StdinUnusable("standard input is a terminal: pipe a file into it")
    with tempfile.TemporaryDirectory(prefix="keyscan-stdin-") as folder:
        path = SpooledPath(folder, "stdin")
        with open(path.__fspath__(), "xb") as out:
            shutil.copyfileobj(stream.buffer, out, CHUNK)
        yield path
