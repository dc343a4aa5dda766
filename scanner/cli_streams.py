"""The command's own output streams: UTF-8 whatever the locale, and a reader that leaves
before the output is written (``keyscan scan x | head -1``)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console


class ReaderGone(BaseException):
    """Standard output's reader has closed the pipe. A BaseException, as KeyboardInterrupt
    is, so that the error policy for the evidence (``pipeline.problems_at``) never takes it
    for a problem of the file being read when it is raised from a listing callback."""


def utf8_streams() -> None:
    """stdout and stderr write UTF-8 whatever the locale (LC_ALL=C, a Latin-1 terminal,
    PYTHONIOENCODING=ascii): a name from the evidence is never an encoding error, and
    anything not encodable (a lone surrogate) is written as an escape, never raw."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")


class StdoutConsole(Console):
    """Rich's console for standard output, whose reader may leave: rich would end the
    program with code 1 ("no key"); here the error goes on to ``stdout_reader``."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # what is still buffered is dropped
        raise BrokenPipeError


@dataclass
class Reader:
    gone: bool = False


@contextmanager
def stdout_reader() -> Iterator[Reader]:
    """Output to standard output whose reader may leave: then the rest is dropped and
    ``gone`` is set, so that the command ends with the exit code of what it found rather
    than an error (docs/usage.md, exit codes)."""
    reader = Reader()
    try:
        yield reader
        sys.stdout.flush()
    except (BrokenPipeError, ReaderGone):
        reader.gone = True
        _drop_further_output()


def _drop_further_output() -> None:
    # Standard output now writes to the null device, so that the flush at exit does not
    # fail again (Python's advice on SIGPIPE): text still buffered goes there.
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # no file under it (a test's captured output)
