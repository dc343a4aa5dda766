"""Small files read in worker processes (issue 17 item 3), merged as one worker would.

The scan's thread still walks every container; when a JSON, XML or log file of at most
``SMALL_FILE`` bytes is reached, or a SQLite database of at most that with no -wal or
-journal beside it is read (``formats/sqlite/family.py``), its bytes (read whole here: tar
members are forward-only) and its artifact's names are queued and sent, a batch at a time,
to a process pool. What a worker finds is not applied when it arrives but in the input's
order: an input's context (``ScanContext.later``) holds every candidate, problem and device
hint recorded after the first file still out, until the files before it are back
(``InputOrder``). So the --json is the same with any ``--jobs``.

Workers are our own interpreter started by ``multiprocessing`` with the ``spawn`` method on
every system (the only one Windows has, and what macOS defaults to; a fork of a process
that runs decoding threads can deadlock). They are sent bytes and names, never a handle,
and run no other program (docs/security.md). Memory is bounded: a batch holds at most
``BATCH_BYTES``, and at most ``IN_FLIGHT_PER_WORKER`` batches per worker are out at once
(the scan waits for the oldest). A worker that dies is our bug: each file of its batches is
an ``internal`` problem, a fresh pool takes the next batches, and the scan goes on.
"""

from __future__ import annotations

import io
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import PrefixedStream, read_up_to
from scanner.model import Candidate, DeviceHints, Problem

if TYPE_CHECKING:
    from scanner.context import ScanContext, ScanOptions

SMALL_FILE = 1 << 20  # larger files are read in the scan's thread, as with --jobs 1
# Formats that need only a file's bytes: extractors, and the SQLite grouper for a database
# alone (its ``extract_alone``).
POOLED = frozenset({"json_doc", "xml_prefs", "log", "sqlite"})
BATCH_BYTES = 1 << 20  # a batch out is held twice here (its jobs, and pickled for the pipe)
BATCH_FILES = 128  # files per batch: amortises a round trip (about 0.1 ms) over many files
IN_FLIGHT_PER_WORKER = 2

Job = tuple[str, Artifact, bytes]  # extractor name, artifact (without its opener), bytes


@dataclass
class Found:
    """What one file's extraction recorded, in the order it was recorded."""

    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    hints: DeviceHints = field(default_factory=DeviceHints)  # folded per MAC
    files_seen: int = 0


_options: ScanOptions | None = None


def _start_worker(options: ScanOptions) -> None:
    global _options
    _options = options
    # Ctrl-C reaches the whole process group: the scan's process alone stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _no_opener() -> BinaryIO:
    raise RuntimeError("an artifact sent to a worker is opened there from its bytes")


def worker_options() -> ScanOptions:
    """In a worker: the scan's options, as its pool was started with."""
    if _options is None:
        raise RuntimeError("not in a worker process of an ArtifactPool")
    return _options


class _Batch:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.size = 0
        self.future: Future[list[Found]] | None = None
        self.executor: ProcessPoolExecutor | None = None  # the pool it went to


@dataclass
class _Slot:
    """One file's place in its input's order."""

    batch: _Batch
    index: int


class ArtifactPool:
    """The workers of one scan, shared by its inputs; ``close`` stops them."""

    def __init__(
        self, jobs: int, options: ScanOptions, worker: Callable[[list[Job]], list[Found]]
    ) -> None:
        self.jobs = jobs
        self._options = replace(options, ask_password=None)  # a prompt needs our terminal
        self._worker = worker
        self._executor: ProcessPoolExecutor | None = None
        self._batch = _Batch()
        self._in_flight: deque[_Batch] = deque()
        self.small_files = 0

    def wanted(self, extractor: str, artifact: Artifact) -> bool:
        """Should this file go to a worker? Only small files of the pooled extractors, and
        only once enough have been seen to pay for starting the workers."""
        if extractor not in POOLED or artifact.size is None or artifact.size > SMALL_FILE:
            return False
        self.small_files += 1
        return self.small_files > self._options.pool_after

    def submit(self, extractor: str, artifact: Artifact, data: bytes) -> _Slot:
        batch = self._batch
        batch.jobs.append((extractor, replace(artifact, opener=_no_opener), data))
        batch.size += len(data)
        if batch.size >= BATCH_BYTES or len(batch.jobs) >= BATCH_FILES:
            self.flush()
        return _Slot(batch, len(batch.jobs) - 1)

    def flush(self) -> None:
        """Send the batch being filled, after waiting for the oldest if too many are out."""
        batch = self._batch
        if not batch.jobs:
            return
        self._batch = _Batch()
        while len(self._in_flight) >= self.jobs * IN_FLIGHT_PER_WORKER:
            oldest = self._in_flight.popleft()
            if oldest.future is not None:
                oldest.future.exception()  # waits; a failure is reported where it is applied
        batch.executor = self._start()
        batch.future = batch.executor.submit(self._worker, batch.jobs)
        self._in_flight.append(batch)

    def results(self, batch: _Batch) -> list[Found]:
        """A batch's findings, waited for. If its worker died, each of its files is tried
        again alone in a fresh pool: only the file that kills a worker again is lost, as
        an ``internal`` problem (our bug, not the evidence's fault)."""
        if batch.future is None:
            self.flush()
        assert batch.future is not None
        try:
            return batch.future.result()
        except Exception as error:
            self._restart_if_broken(error, batch.executor)
            if len(batch.jobs) == 1:
                return [_internal(batch.jobs[0], error)]
        return [self._alone(job) for job in batch.jobs]

    def _alone(self, job: Job) -> Found:
        executor = self._start()
        try:
            return executor.submit(self._worker, [job]).result()[0]
        except Exception as error:
            self._restart_if_broken(error, executor)
            return _internal(job, error)

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self._options,),
            )
        return self._executor

    def _restart_if_broken(
        self, error: BaseException, executor: ProcessPoolExecutor | None
    ) -> None:
        """A dead worker breaks its pool (every batch out fails); the next batch, and
        the failed ones tried again, go to a fresh one."""
        if isinstance(error, BrokenProcessPool) and executor and self._executor is executor:
            executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self, interrupted: bool = False) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=interrupted)
            self._executor = None


def _again(data: bytes, rest: BinaryIO, error: BaseException | None) -> BinaryIO:
    return io.BufferedReader(PrefixedStream(data, rest, error), buffer_size=1 << 16)


def _internal(job: Job, error: BaseException) -> Found:
    from scanner.errors import Internal

    problem = Internal.meaning(error)
    return Found(problems=[Problem(problem.kind, job[1].chain, str(problem))])


class InputOrder:
    """One input's findings applied in the order one worker would record them."""

    def __init__(self, pool: ArtifactPool, ctx: ScanContext) -> None:
        self._pool = pool
        self._ctx = ctx
        self._queue: deque[_Slot | tuple[Callable[[Any], object], Any]] = deque()

    def hold(self, apply: Callable[[Any], object], value: Any) -> bool:
        """Keep a finding for later if a file before it is still out; True: kept."""
        if not self._queue:
            return False
        self._queue.append((apply, value))
        return True

    def send(self, extractor: str, artifact: Artifact, stream: BinaryIO) -> BinaryIO | None:
        """Hand a small file to a worker: None. Else the stream to read here, which serves
        again whatever was read of it (and then the failure that stopped the read)."""
        if not self._pool.wanted(extractor, artifact):
            return stream
        return self._submit(extractor, artifact, stream)

    def send_whole(
        self,
        extractor: str,
        artifact: Artifact,
        opened: Callable[[], AbstractContextManager[BinaryIO]],
    ) -> bool:
        """Hand a small file that can be read again from its start (``opened()``, asked
        only if a worker is to read it) to a worker: True. False: read it here."""
        if not self._pool.wanted(extractor, artifact):
            return False
        with opened() as stream:
            return self._submit(extractor, artifact, stream) is None

    def _submit(self, extractor: str, artifact: Artifact, stream: BinaryIO) -> BinaryIO | None:
        parts: list[bytes] = []
        try:
            read_up_to(stream, SMALL_FILE + 1, parts)
        except Exception as error:  # a cut member: read here, to fail where it would
            return _again(b"".join(parts), stream, error)
        data = b"".join(parts)
        if len(data) > SMALL_FILE:  # larger than its container said
            return _again(data, stream, None)
        self._queue.append(self._pool.submit(extractor, artifact, data))
        self.apply(wait=False)
        return None

    def apply(self, wait: bool) -> None:
        """Apply what is back, in order; with ``wait``, everything (the input's end)."""
        ctx = self._ctx
        while self._queue:
            head = self._queue[0]
            if isinstance(head, _Slot):
                future = head.batch.future
                if not wait and (future is None or not future.done()):
                    return
                found = self._pool.results(head.batch)[head.index]
                for candidate in found.candidates:
                    ctx.add_now(candidate)
                ctx.problems += found.problems
                ctx.device_hints.merge(found.hints)
                ctx.files_seen += found.files_seen
            else:
                apply, value = head
                apply(value)
            self._queue.popleft()
