"""The scan: inputs -> containers -> artifacts -> extractors -> ranking.

It walks and dispatches only: which format claims a file, and what a library's exception
means, come from ``scanner/registry.py``. This is the one place where failures become
problems (``problems_at``): every artifact is processed inside it, so a damaged file costs
that file only, and every candidate is recorded the moment it is found. An exception that
no format declared is our bug, reported as ``internal``, not as damage to the evidence.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import BinaryIO

from scanner import registry
from scanner.artifacts import Artifact, sniff
from scanner.artifacts.artifact import pending_error
from scanner.artifacts.metered import OnOpen
from scanner.containers import readahead
from scanner.containers.base import Container
from scanner.containers.grouped import Grouper
from scanner.context import MAX_DEPTH_CEILING, ScanContext, ScanOptions
from scanner.errors import LimitExceeded, as_scan_error
from scanner.extractors.base import Extractor
from scanner.model import Candidate, DeviceHints, Problem, ScanResult
from scanner.pool import ArtifactPool, Found, InputOrder, Job, worker_options
from scanner.ranking import choose_devices
from scanner.roles import Role

log = logging.getLogger("keyscan")


@contextmanager
def problems_at(ctx: ScanContext, provenance: tuple[str, ...]) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if ctx.options.debug:  # the traceback an "internal" problem asks to report
            log.exception("problem at %s", " > ".join(provenance))
        ctx.report(as_scan_error(error, registry.LIBRARY_ERRORS), provenance)


def _walk(artifacts: Iterable[Artifact], ctx: ScanContext) -> None:
    groups = [grouper(ctx, partial(problems_at, ctx)) for grouper in registry.GROUPERS]
    try:
        for artifact in artifacts:
            for group in groups:
                group.next_artifact(artifact)
            _process(artifact, ctx, groups)
    finally:
        for group in groups:
            group.flush()


def _process(artifact: Artifact, ctx: ScanContext, groups: list[Grouper]) -> None:
    if ctx.over_budget:
        return  # the input's decompression budget is spent (reported once, where it tripped)
    with problems_at(ctx, artifact.chain):
        deepest = min(ctx.limits.max_depth, MAX_DEPTH_CEILING)
        if artifact.depth > deepest:
            ctx.seen(artifact, "too deep")
            raise LimitExceeded(f"nested more than {deepest} containers deep")
        with closing(artifact.open()) as raw:
            head, stream = sniff(raw)
            _dispatch(artifact, head, stream, ctx, groups)
            failure = pending_error(stream)  # a cut inside the head that nothing read past
            if failure is not None:
                raise failure


def _dispatch(
    artifact: Artifact, head: bytes, stream: BinaryIO, ctx: ScanContext, groups: list[Grouper]
) -> None:
    """Hand one file to the format that claims its content, as that format's role says."""
    claimed = next((c for g in groups if (c := g.claim(artifact)) is not None), None)
    if claimed is not None:  # named by a member already read (grouped.py, Grouper.claim)
        ctx.seen(artifact, claimed.name)
        _walk(claimed.walk(artifact, stream, ctx), ctx)
        return
    fmt = registry.claimant(head, artifact)
    if fmt is None:
        ctx.seen(artifact, "other")
    elif issubclass(fmt, Container):
        ctx.seen(artifact, fmt.name)
        if fmt.role is not Role.FALLBACK or ctx.extract:  # `keyscan ls` does not carve
            _walk(fmt().walk(artifact, stream, ctx), ctx)
    elif issubclass(fmt, Grouper):
        group = next(g for g in groups if isinstance(g, fmt))
        kind = fmt.member_kind(head) or ""
        ctx.seen(artifact, f"{fmt.name} {kind}")
        if ctx.extract:
            group.add(kind, artifact, lambda: stream)
    elif issubclass(fmt, Extractor):
        ctx.seen(artifact, fmt.name)
        if ctx.extract and ctx.later is not None:
            sent = ctx.later.send(fmt.name, artifact, stream)  # None: a worker reads it
            if sent is None:
                return
            stream = sent
        if ctx.extract:
            for candidate in fmt().extract(artifact, stream, ctx):
                ctx.add(candidate)
            failure = pending_error(stream)  # a read the worker hand-off cut short
            if failure is not None:
                raise failure


def extract_batch(jobs: list[Job]) -> list[Found]:
    """In a worker process (``scanner/pool.py``): each file as ``_dispatch`` would extract it
    in the scan's thread, what it records kept for the scan's process to apply in order."""
    extractors = {fmt.name: fmt for fmt in registry.EXTRACTORS}
    groupers = {fmt.name: fmt for fmt in registry.GROUPERS}  # a file that is a group alone
    results = []
    for name, artifact, data in jobs:
        found = Found()
        ctx = ScanContext(worker_options(), recognise=registry.recognises)
        ctx.add_now = found.candidates.append  # type: ignore[method-assign,assignment]
        opened = replace(artifact, opener=partial(io.BytesIO, data))
        with problems_at(ctx, artifact.chain):
            if name in groupers:
                candidates = groupers[name].extract_alone(opened, io.BytesIO(data), ctx)
            else:
                candidates = extractors[name]().extract(opened, io.BytesIO(data), ctx)
            for candidate in candidates:
                ctx.add(candidate)
        found.problems, found.hints = ctx.problems, ctx.device_hints
        found.files_seen = ctx.files_seen
        results.append(found)
    return results


def _scan_input(
    path: str | Path,
    options: ScanOptions | None,
    on_artifact: Callable[[Artifact, str], None] | None = None,
    extract: bool = True,
    on_open: OnOpen | None = None,
    pool: ArtifactPool | None = None,
    on_sighting: Callable[[Candidate], None] | None = None,
) -> ScanResult:
    """One top-level input; ``devices`` is left empty (ranking needs every input)."""
    from scanner.inputs import open_input

    ctx = ScanContext(options, on_artifact, on_open, on_sighting, recognise=registry.recognises)
    ctx.extract = extract
    ctx.later = InputOrder(pool, ctx) if pool is not None else None
    switching = readahead.quick_switching() if ctx.options.quick_switching else nullcontext()
    with switching, problems_at(ctx, (str(path),)):
        # A Path subclass may show another name (`-`: standard input spooled to a file).
        _walk(open_input(path if isinstance(path, Path) else Path(path), ctx), ctx)
    if ctx.later is not None:
        ctx.later.apply(wait=True)
        ctx.later = None
    if ctx.device_hints.overflowed:  # once, on the input: no one file in it is to blame
        ctx.report(_hints_left_out(ctx.limits.max_device_hints), (str(path),))
    top_level = [p for p in ctx.problems if p.provenance == (str(path),)]
    # Recognised (e.g. an adb backup that holds no app data) is read, even if then refused.
    unreadable = ctx.files_seen == 0 and any(
        p.kind in ("unreadable", "unsupported") for p in top_level
    )
    return ScanResult(
        candidates=ctx.candidates,
        problems=ctx.problems,
        device_hints=ctx.device_hints,
        inputs_read=0 if unreadable else 1,
        files_seen=ctx.files_seen,
    )


def _hints_left_out(limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"names and models of more than {limit:,} devices seen without a key: those of the "
        f"first {limit:,} are kept, further devices are shown without a name or model "
        "(their keys are found all the same)"
    )


def _scan_in_workers(
    paths: Sequence[str | Path], options: ScanOptions, jobs: int
) -> Iterator[ScanResult]:
    """Top-level inputs in worker processes; results in input order, whatever finishes first."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_scan_input, path, options) for path in paths]
        for future in futures:
            yield future.result()


def scan(
    paths: Sequence[str | Path],
    options: ScanOptions | None = None,
    on_artifact: Callable[[Artifact, str], None] | None = None,
    extract: bool = True,
    jobs: int = 1,
    on_input: Callable[[int], None] | None = None,
    on_open: OnOpen | None = None,
    worker: Callable[[list[Job]], list[Found]] = extract_batch,
    on_sighting: Callable[[Candidate], None] | None = None,
) -> ScanResult:
    """Scan every input; never raises for bad input (see ``problems_at``).

    ``on_artifact(artifact, kind)`` hears of every file as it is recognised (progress,
    ``keyscan ls``); with ``extract=False`` containers are opened but nothing is extracted.
    ``jobs`` > 1 scans top-level inputs in that many processes (not with a password prompt,
    which needs this process's terminal), or one input's small text files in that many
    (``scanner/pool.py``; ``worker`` reads a batch there); the result is identical to
    ``jobs=1``.
    ``on_input(files_seen)`` hears of each finished top-level input; ``on_open(provenance,
    size, file)`` of each file on disk opened, whose bytes read it can watch, and
    ``on_sighting(candidate)`` of every sighting as found (``--report``); neither in workers.
    """
    options = options or ScanOptions()
    parallel = jobs > 1 and len(paths) > 1 and options.ask_password is None and extract
    parallel = parallel and on_open is None and on_sighting is None  # hooks live here
    # One input (or several with a password prompt): its small files go to workers.
    pool = ArtifactPool(jobs, options, worker) if jobs > 1 and not parallel and extract else None
    if parallel:
        parts = _scan_in_workers(paths, options, min(jobs, len(paths)))
    else:
        parts = (
            _scan_input(path, options, on_artifact, extract, on_open, pool, on_sighting)
            for path in paths
        )
    limit = options.limits.max_device_hints
    merged = ScanResult(device_hints=DeviceHints(limit))
    interrupted = True
    try:
        for path, part in zip(paths, parts, strict=True):
            merged.candidates += part.candidates
            merged.problems += part.problems
            # Bounded across inputs too; an input cut short on its own said so already.
            if merged.device_hints.merge(part.device_hints) and not part.device_hints.overflowed:
                left_out = _hints_left_out(limit)
                merged.problems.append(Problem(left_out.kind, (str(path),), str(left_out)))
            merged.inputs_read += part.inputs_read
            merged.files_seen += part.files_seen
            if on_input is not None:
                on_input(part.files_seen)
        interrupted = False
    finally:
        if pool is not None:
            pool.close(interrupted)
    merged.devices = choose_devices(merged.candidates, merged.device_hints)
    return merged
