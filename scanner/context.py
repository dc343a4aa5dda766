"""What a scan is told (options, limits, passwords) and what it collects."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from scanner.artifacts import Artifact
from scanner.errors import InputBudgetExceeded, ScanError
from scanner.model import Candidate, DeviceHints, Problem
from scanner.passwords import Password
from scanner.ranking.sightings import Sightings

if TYPE_CHECKING:
    from scanner.artifacts.metered import OnOpen

THREAD_AFTER = 4 << 20  # bytes a decoder produces before a read-ahead thread pays for itself
# Small files seen in an input before its files go to worker processes: starting them costs
# about 0.3 s (an interpreter importing every format), more than a few hundred small files
# cost in one thread.
POOL_AFTER = 400


class Deferral(Protocol):
    """An input's files out in worker processes (``scanner.pool.InputOrder``): what is
    recorded meanwhile waits, so that the order is the one a single process gives."""

    def hold(self, apply: Callable[[Any], object], value: Any) -> bool: ...

    def send(self, extractor: str, artifact: Artifact, stream: BinaryIO) -> BinaryIO | None: ...

    def send_whole(
        self,
        extractor: str,
        artifact: Artifact,
        opened: Callable[[], AbstractContextManager[BinaryIO]],
    ) -> bool: ...

    def apply(self, wait: bool) -> None: ...


MiB = 1 << 20
GiB = 1 << 30


# Containers are walked by Python recursion, about 4 frames a level, and the innermost
# format needs stack of its own: a nest of 1000 ended in RecursionError at about 325 levels.
MAX_DEPTH_CEILING = 64


@dataclass
class Limits:
    """Safety limits; hitting one is a ``limit`` problem, never a crash or a hang."""

    max_depth: int = 12  # container nesting, at most MAX_DEPTH_CEILING whatever is asked
    max_member_bytes: int = 64 * GiB  # one decompressed member
    max_total_bytes: int = 1024 * GiB  # everything decompressed from one input
    max_ratio: int = 200  # decompressed / compressed size of a zip member or gzip/bz2/xz stream
    max_entries: int = 1_000_000  # files per container
    spool_memory: int = 64 * MiB  # spool a nested archive in memory up to this, then to a temp file
    max_sqlite_bytes: int = 2 * GiB  # one database held in memory for reading
    max_text_bytes: int = 64 * MiB  # one JSON / XML document parsed whole
    max_device_hints: int = 100_000  # devices named without a key, held to name devices found


PROMPT_TRIES = 3  # typed passwords per file before it is a wrong-password problem

# (the file's provenance, how many passwords already failed on it) -> one more, or None.
AskPassword = Callable[[tuple[str, ...], int], Password | str | bytes | None]


PATTERN_ENGINES = ("hyperscan", "re2", "python")


@dataclass
class ScanOptions:
    """What a scan is told. The library reads no environment: the CLI builds these with
    ``from_environment``, which reads the ``KEYSCAN_*`` tuning variables once."""

    passwords: list[Password | str | bytes] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    verify: bool = False  # check TWRP .sha2 / .md5 digests
    debug: bool = False
    # Asked for one more password when every known one failed; None when not interactive.
    ask_password: AskPassword | None = None
    # How the work is done; the results are the same with any of these (docs/performance.md).
    read_ahead: bool = True  # decode compressed and encrypted streams in a worker thread
    read_ahead_after: int = THREAD_AFTER  # tests set 0: every decoder gets a thread
    fast_inflate: bool = True  # isal or zlib-ng when installed, else zlib
    pattern_engine: str | None = None  # one of PATTERN_ENGINES; None: the fastest that loads
    carve_chunk_size: int | None = None  # bytes of a raw image searched at once; None: 8 MiB
    # CPython's thread switch interval lowered while an input is scanned, so that a decoding
    # thread waits less for the GIL. Process-wide, so only on request (the CLI asks).
    quick_switching: bool = False
    # Small files seen in an input before they go to worker processes (--jobs > 1, one
    # input: scanner/pool.py); tests set 0: every small text file goes to a worker.
    pool_after: int = POOL_AFTER
    # Follow symbolic links in input folders whose target stays inside the input folder;
    # others are listed, never followed (docs/security.md).
    follow_links: bool = False

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, **given: Any
    ) -> ScanOptions:
        """``given``, with the tuning variables of ``environ`` (default ``os.environ``):
        ``KEYSCAN_NO_READAHEAD=1``, ``KEYSCAN_NO_FAST_INFLATE=1``,
        ``KEYSCAN_PATTERN_ENGINE=hyperscan|re2|python``, ``KEYSCAN_POOL_AFTER=N``."""
        env = os.environ if environ is None else environ

        def switched_off(name: str) -> bool:
            return env.get(name, "").strip() not in ("", "0")

        engine = env.get("KEYSCAN_PATTERN_ENGINE", "").strip().lower()
        tuning: dict[str, Any] = {
            "read_ahead": not switched_off("KEYSCAN_NO_READAHEAD"),
            "fast_inflate": not switched_off("KEYSCAN_NO_FAST_INFLATE"),
            "pattern_engine": engine if engine in PATTERN_ENGINES else None,
        }
        pool_after = env.get("KEYSCAN_POOL_AFTER", "").strip()
        if pool_after.isdigit():
            tuning["pool_after"] = int(pool_after)
        return cls(**{**tuning, **given})


class ScanContext:
    """Collects candidates and problems for one scan; containers and extractors report here."""

    def __init__(
        self,
        options: ScanOptions | None = None,
        on_artifact: Callable[[Artifact, str], None] | None = None,
        on_open: OnOpen | None = None,
        on_sighting: Callable[[Candidate], None] | None = None,
        recognise: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.options = options or ScanOptions()
        # Handed in by whoever holds the registry (the pipeline), which imports every format.
        self._recognise = recognise
        self.on_open = on_open  # hears of each file on disk opened (the progress line)
        self.limits = self.options.limits
        # Aggregated as found: memory grows with distinct findings, not with sightings.
        self.sightings = Sightings(on_sighting)
        self.problems: list[Problem] = []
        # MAC -> name/model seen without a key; what does not fit is reported at the end.
        self.device_hints = DeviceHints(self.limits.max_device_hints)
        self.files_seen = 0
        self.extract = True  # False for `keyscan ls`: open containers, extract nothing
        self.expanded = 0  # bytes decompressed or decrypted from this input so far
        self._on_artifact = on_artifact
        self._charging = 0  # containers above whose reads charge the budget (``charging``)
        # Set while files of this input are out in worker processes (scanner/pool.py): what
        # is recorded meanwhile waits there, so that the order is the same as without them.
        self.later: Deferral | None = None

    def passwords(self, provenance: tuple[str, ...]) -> Iterator[Password]:
        """Every password to try, in order; then, if interactive, what the user types.

        Each one pulled after the first means the one before failed: the prompt is told
        how many failed, so that it can say so. A password typed twice counts as a failed
        try without being tried again; an empty answer skips the file.
        """
        tried = list(dict.fromkeys(Password.of(p) for p in self.options.passwords))
        yield from tried
        failed = len(tried)
        ask = self.options.ask_password
        for _ in range(PROMPT_TRIES if ask is not None else 0):
            answer = ask(provenance, failed) if ask is not None else None
            if answer is None or not Password.of(answer).raw:
                return
            typed = Password.of(answer)
            failed += 1
            if typed in tried:
                continue
            tried.append(typed)
            self.options.passwords.append(typed)  # serve the next encrypted file too
            yield typed

    def charge(self, count: int) -> None:
        """Count bytes a container produced; past ``max_total_bytes`` every container stops.

        One context serves one top-level input, so the budget is per input.
        """
        self.expanded += count
        if self.expanded > self.limits.max_total_bytes:
            raise InputBudgetExceeded(
                f"more than {self.limits.max_total_bytes:,} bytes decompressed from this input"
            )

    @contextmanager
    def charging(self, charges: bool = True) -> Iterator[None]:
        """Around a container's ``yield`` of a child whose reads charge the budget (``charge``):
        while the pipeline reads that child, no decoder below it runs ahead in a thread."""
        self._charging += charges
        try:
            yield
        finally:
            self._charging -= charges

    def read_ahead_after(self) -> int | None:
        """Bytes a decoder produces before it goes on in a worker thread (``ReadAhead``);
        None: never. Never below a container that charges the budget, so that every
        charge is made in the scan's thread, in the order it would be without threads."""
        if not self.options.read_ahead or self._charging:
            return None
        return self.options.read_ahead_after

    def add(self, candidate: Candidate) -> None:
        if self.later is None or not self.later.hold(self.add_now, candidate):
            self.add_now(candidate)

    def add_now(self, candidate: Candidate) -> None:
        self.sightings.add(candidate)

    @property
    def candidates(self) -> list[Candidate]:
        """One per distinct finding, with its count of sightings (``Sightings``)."""
        return self.sightings.candidates()

    def hint(self, devices: DeviceHints) -> None:
        """Devices' names or models seen without a key (e.g. Gadgetbridge's DEVICE table)."""
        if self.later is None or not self.later.hold(self.device_hints.merge, devices):
            self.device_hints.merge(devices)

    @property
    def over_budget(self) -> bool:
        return self.expanded > self.limits.max_total_bytes

    def report(self, error: ScanError, provenance: tuple[str, ...]) -> None:
        """The one way to record a problem: a typed error, so its kind is one of ours."""
        if self.later is not None and self.later.hold(self._report_now, (error, provenance)):
            return
        self._report_now((error, provenance))

    def _report_now(self, problem: tuple[ScanError, tuple[str, ...]]) -> None:
        error, provenance = problem
        if isinstance(error, InputBudgetExceeded) and any(
            p.kind == error.kind and p.message == str(error) for p in self.problems
        ):
            return  # every container level above the one that tripped it raises it again
        message = str(error) or error.__class__.__name__
        self.problems.append(Problem(error.kind, provenance, message))

    def recognises(self, head: bytes) -> bool:
        """Does a registered container or grouped format claim these first bytes? (A
        decrypting container asks it to tell a right password from a wrong one.)"""
        if self._recognise is None:
            raise RuntimeError("this ScanContext was made without the registry's recognise")
        return self._recognise(head)

    def listed(self, artifact: Artifact, kind: str) -> None:
        """Tell of something in a folder that is not read (a link not followed, a FIFO):
        ``ls`` lists it; it is not a file seen."""
        if self._on_artifact is not None:
            self._on_artifact(artifact, kind)

    def seen(self, artifact: Artifact, kind: str) -> None:
        """Count a file once its kind is known (a container's name, "sqlite db", "log"...)."""
        self.files_seen += 1
        if self._on_artifact is not None:
            self._on_artifact(artifact, kind)
