"""A live progress line on stderr for long scans, only when stderr is a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from scanner.artifacts import Artifact
from scanner.reports.common import visible


class ScanProgress:
    def __init__(self, console: Console, parallel: bool = False) -> None:
        self._enabled = console.is_terminal
        self._parallel = parallel
        self._running = False
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} files", markup=False),
            # The description is a path from the evidence: never markup.
            TextColumn("{task.description}", markup=False, style="dim", justify="left"),
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

    def update(self, artifact: Artifact, kind: str) -> None:
        """One file recognised (single-process scans)."""
        if self._enabled:
            where = visible(" > ".join(artifact.chain[-2:]))
            self._progress.update(self._task, advance=1, description=where[-80:])

    def input_done(self, files_seen: int) -> None:
        """One top-level input finished in a worker process (parallel scans)."""
        if self._enabled and self._parallel:
            self._progress.update(self._task, advance=files_seen, description="")
