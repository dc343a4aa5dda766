"""A live progress line on stderr for long scans, only when stderr is a terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from scanner.artifacts import Artifact


class ScanProgress:
    def __init__(self, console: Console, parallel: bool = False) -> None:
        self._enabled = console.is_terminal
        self._parallel = parallel
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed} files"),
            TextColumn("[dim]{task.description}", justify="left"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("", total=None)

    def __enter__(self) -> ScanProgress:
        if self._enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._enabled:
            self._progress.stop()

    def update(self, artifact: Artifact, kind: str) -> None:
        """One file recognised (single-process scans)."""
        if self._enabled:
            where = " > ".join(artifact.chain[-2:])
            self._progress.update(self._task, advance=1, description=where[-80:])

    def input_done(self, files_seen: int) -> None:
        """One top-level input finished in a worker process (parallel scans)."""
        if self._enabled and self._parallel:
            self._progress.update(self._task, advance=files_seen, description="")
