"""A live progress line on stderr for long scans, only when stderr is a terminal.

For a big file it shows the bytes read of its size, the share and the time left; for a
folder the files read (and the big file being read in it). The counts are never cut:
the path after them is shortened from the left to fit the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TimeElapsedColumn
from rich.text import Text

from scanner.artifacts import Artifact
from scanner.artifacts.metered import MeteredFile, OnOpen
from scanner.reports.common import visible

BIG = 1 << 20  # a file this size or more shows its bytes read
FIXED = 2 + 1 + 7 + 2  # spinner, gaps, elapsed time "0:00:12"


def human(count: float) -> str:
    """Bytes in binary units, 3 significant digits: ``512 B``, ``1.50 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


@dataclass
class _Reading:
    """A file on disk being read: its size, and the file counting its bytes."""

    chain: tuple[str, ...]
    size: int
    file: MeteredFile
    since: float


class ScanProgress:
    def __init__(self, console: Console, parallel: bool = False, inputs: int = 1) -> None:
        self._console = console
        self._enabled = console.is_terminal
        self._parallel = parallel
        self._inputs = inputs
        self._done_inputs = 0
        self._files = 0
        self._where = ""
        self._reading: _Reading | None = None
        self._running = False
        self._progress = Progress(
            SpinnerColumn(),
            _StatusColumn(self),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("", total=None)

    def __enter__(self) -> ScanProgress:
        if self._enabled:
            self._progress.start()
            self._running = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._running:
            self._progress.stop()
            self._running = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The line erased and the cursor back while a prompt is shown; resumed after."""
        running = self._running
        if running:
            self._progress.stop()
            self._running = False
        try:
            yield
        finally:
            if running:
                self._progress.start()
                self._running = True

    def refresh(self) -> None:
        if self._running:
            self._progress.refresh()

    @property
    def on_open(self) -> OnOpen | None:
        """The hook for ``scan(on_open=...)``; None when nothing is shown (no counting)."""
        return self.opened if self._enabled and not self._parallel else None

    def opened(self, chain: tuple[str, ...], size: int, file: MeteredFile) -> None:
        """A file on disk opened for reading (single-process scans)."""
        if size >= BIG:
            self._reading = _Reading(chain, size, file, time.monotonic())
            self._where = visible(" > ".join(chain[-2:]))

    def update(self, artifact: Artifact, kind: str) -> None:
        """One file recognised (single-process scans)."""
        self._files += 1
        self._where = visible(" > ".join(artifact.chain[-2:]))

    def input_done(self, files_seen: int) -> None:
        """One top-level input finished (in a worker process, for parallel scans)."""
        self._done_inputs += 1
        if self._parallel:
            self._files += files_seen

    def counts(self) -> str:
        """What has been read: bytes of the big file being read, files, inputs."""
        parts = []
        if self._inputs > 1:
            parts.append(f"input {min(self._done_inputs + 1, self._inputs)} of {self._inputs}")
        reading = self._reading
        if reading is not None and reading.file.closed:
            reading = self._reading = None
        if self._files or reading is None:  # never "0 files" while a big file is being read
            parts.append(f"{self._files:,} file" + ("" if self._files == 1 else "s"))
        if reading is not None:
            read = min(reading.file.consumed, reading.size)
            share = f"{human(read)} of {human(reading.size)} {read * 100 // reading.size}%"
            elapsed = time.monotonic() - reading.since
            if read and elapsed >= 1:
                share += f" ETA {clock(elapsed * (reading.size - read) / read)}"
            parts.append(share)
        return ", ".join(parts)

    def line(self, width: int) -> Text:
        """The counts whole, then as much of the path (its end) as the width leaves."""
        counts = self.counts()
        room = width - FIXED - len(counts) - 2
        where = self._where
        if room < 8:
            where = ""
        elif len(where) > room:
            where = "…" + where[-(room - 1) :]
        line = Text(counts)
        if where:
            line.append("  ")
            line.append(where, style="dim")
        return line


class _StatusColumn(ProgressColumn):
    def __init__(self, progress: ScanProgress) -> None:
        super().__init__()
        self._scan = progress

    def render(self, task: Task) -> Text:
        return self._scan.line(self._scan._console.width)
