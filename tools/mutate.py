"""Mutation run: damaged copies of every corpus file and real sample, each scanned once.

Bit flips (in the first 512 bytes, where headers live, and anywhere), truncations (inside
the header and mid-body) and spliced headers (the head of one format glued onto the body
of another). The inputs are only read; mutated bytes go to a private work folder. A scan
must never raise, and every problem must have a kind from ``scanner.errors.ProblemKind``.

CI runs a short fixed version (``tests/test_mutations.py``); this script runs a longer one::

    python tools/mutate.py --rounds 20 [--seed 1] [--real ../shared/samples/real]

Round 0 uses fixed offsets; every further round draws new ones (seeded, reproducible).
Exit status 1 if any scan crashed or reported an unknown problem kind.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.context import ScanOptions
from scanner.errors import ProblemKind
from scanner.model import ScanResult
from scanner.pipeline import scan

HEADER_BYTES = 512  # every format's header (and the first tar header) lies within this
# Passwords of ../shared/samples/real (SOURCES.md); the corpus writes its own passwords.txt.
REAL_PASSWORDS = ("123456", "12345", "testkey")
_COMPANIONS = ("-wal", "-journal", "-shm")


@dataclass(frozen=True)
class Seed:
    """One undamaged input: its bytes, a label, and unchanged files that travel with it."""

    label: str
    name: str  # relative path: folders like com.xiaomi.wearable/ tell the app
    data: bytes
    companions: tuple[tuple[str, bytes], ...] = ()  # a database's -wal / -journal / main file


@dataclass
class Figures:
    inputs: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    crashes: list[tuple[str, str]] = field(default_factory=list)  # (input, traceback)
    unknown_kinds: list[tuple[str, str]] = field(default_factory=list)  # (input, kind)
    internal: list[tuple[str, str]] = field(default_factory=list)  # (input, message): our bugs
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.problems.items()))
        return (
            f"mutation run: {self.inputs} inputs tried in {self.seconds:.1f} s; "
            f"problems reported: {sum(self.problems.values())} ({kinds or 'none'}); "
            f"crashes: {len(self.crashes)}; unknown kinds: {len(self.unknown_kinds)}; "
            f"internal errors (exceptions no format declared): {len(self.internal)}"
        )


def _family_base(name: str) -> str:
    for suffix in _COMPANIONS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def seeds_below(root: Path, label_prefix: str = "") -> list[Seed]:
    """Every file below ``root`` (or ``root`` itself), with its SQLite family companions."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    seeds = []
    for path in files:
        base = _family_base(path.name)
        companions = tuple(
            (other.name, other.read_bytes())
            for other in sorted(path.parent.iterdir())
            if other != path and other.is_file() and _family_base(other.name) == base
        )
        rel = path.relative_to(root) if path != root else Path(path.name)
        seeds.append(Seed(f"{label_prefix}{rel}", str(rel), path.read_bytes(), companions))
    return seeds


def flips(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """``count`` single-bit flips: half in the header area, half anywhere."""
    if not data:
        return
    for n in range(count):
        span = min(len(data), HEADER_BYTES) if n % 2 == 0 else len(data)
        offset, bit = rng.randrange(span), rng.randrange(8)
        damaged = bytearray(data)
        damaged[offset] ^= 1 << bit
        yield f"flip bit {bit} at {offset}", bytes(damaged)


def cut_offsets(size: int, rng: random.Random | None, count: int) -> list[int]:
    """Where to truncate: fixed places (inside the header, mid-body) or random ones."""
    if size <= 1:
        return []
    if rng is None:
        fixed = [1, 8, 33, 100, 300, size // 3, size // 2, size - 1]
        return sorted({o for o in fixed if 0 < o < size})[:count]
    return sorted({rng.randrange(1, size) for _ in range(count)})


def cuts(data: bytes, offsets: Sequence[int]) -> Iterator[tuple[str, bytes]]:
    for offset in offsets:
        yield f"cut at {offset}", data[:offset]


def splices(
    seeds: Sequence[Seed], rng: random.Random, count: int
) -> Iterator[tuple[Seed, str, bytes]]:
    """The head of one format on the body of another: ``count`` pairs per head."""
    by_head: dict[bytes, Seed] = {}
    for seed in seeds:  # one representative per distinct first 4 bytes (a format's magic)
        if len(seed.data) >= 64:
            by_head.setdefault(seed.data[:4], seed)
    kinds = list(by_head.values())
    for head in kinds:
        for body in rng.sample(kinds, min(count, len(kinds))):
            if body is head:
                continue
            split = rng.choice([16, 64, 100, HEADER_BYTES])
            glued = head.data[:split] + body.data[split:]
            yield body, f"head {split} of {head.label} on body of {body.label}", glued


def scan_damaged(seed: Seed, data: bytes, workdir: Path, passwords: Sequence[str]) -> ScanResult:
    """Write ``data`` (and the seed's companions) into an empty ``workdir`` and scan it.

    A family is scanned as its folder, so the -wal / -journal is read with its database.
    """
    shutil.rmtree(workdir, ignore_errors=True)
    path = workdir / seed.name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    for name, companion in seed.companions:
        (path.parent / name).write_bytes(companion)
    target = path.parent if seed.companions else path
    return scan([target], ScanOptions(passwords=list(passwords)))


def check(
    figures: Figures, label: str, seed: Seed, data: bytes, workdir: Path, passwords: Sequence[str]
) -> ScanResult | None:
    """Scan one damaged input and count what it gave; None if the scan raised."""
    figures.inputs += 1
    try:
        result = scan_damaged(seed, data, workdir, passwords)
    except Exception:
        figures.crashes.append((label, traceback.format_exc()))
        return None
    for problem in result.problems:
        figures.problems[problem.kind] += 1
        if problem.kind not in set(ProblemKind):
            figures.unknown_kinds.append((label, problem.kind))
        if problem.kind == ProblemKind.INTERNAL:
            figures.internal.append((label, problem.message))
    return result


def run(
    seeds: Sequence[Seed],
    passwords: Sequence[str],
    workdir: Path,
    rounds: int = 1,
    seed: int = 0,
    flip_count: int = 4,
    cut_count: int = 6,
    splice_count: int = 3,
) -> Figures:
    """Every mutation of every seed, ``rounds`` times; see the module docstring."""
    figures = Figures()
    started = time.perf_counter()
    for round_ in range(rounds):
        for item in seeds:
            rng = random.Random(f"{seed}:{round_}:{item.label}")  # stable per file and round
            offsets = cut_offsets(len(item.data), rng if round_ else None, cut_count)
            for what, data in (*flips(item.data, rng, flip_count), *cuts(item.data, offsets)):
                check(figures, f"{item.label}: {what}", item, data, workdir, passwords)
        rng = random.Random(f"{seed}:{round_}:splices")
        for body, what, data in splices(seeds, rng, splice_count):
            check(figures, what, body, data, workdir, passwords)
    shutil.rmtree(workdir, ignore_errors=True)
    figures.seconds = time.perf_counter() - started
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of mutations (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--flips", type=int, default=8, help="bit flips per file per round")
    parser.add_argument("--cuts", type=int, default=8, help="truncations per file per round")
    parser.add_argument("--splices", type=int, default=4, help="bodies per head per round")
    parser.add_argument(
        "--real",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "samples" / "real",
        help="folder of real samples (read in place, never written)",
    )
    args = parser.parse_args(argv)

    from corpus.build import build_corpus

    # Not "keyscan-": that prefix marks the scanner's own spools (tests/test_integrity.py).
    with tempfile.TemporaryDirectory(prefix="mutate-") as temp:
        corpus = Path(temp) / "corpus"
        build_corpus(corpus)
        passwords = [*(corpus / "passwords.txt").read_text("utf-8").splitlines(), *REAL_PASSWORDS]
        seeds = seeds_below(corpus, "corpus/")
        if args.real.is_dir():
            seeds += seeds_below(args.real, "real/")
        else:
            print(f"no real samples at {args.real}; corpus only", file=sys.stderr)
        figures = run(
            seeds,
            passwords,
            Path(temp) / "work",
            rounds=args.rounds,
            seed=args.seed,
            flip_count=args.flips,
            cut_count=args.cuts,
            splice_count=args.splices,
        )
    for label, trace in figures.crashes:
        print(f"CRASH {label}\n{trace}", file=sys.stderr)
    for label, kind in figures.unknown_kinds:
        print(f"UNKNOWN KIND {kind!r}: {label}", file=sys.stderr)
    first: dict[str, str] = {}  # one example per distinct message
    for label, message in figures.internal:
        first.setdefault(message, label)
    for message, label in first.items():
        print(f"INTERNAL {message} (e.g. {label})", file=sys.stderr)
    print(figures.summary())
    return 1 if figures.crashes or figures.unknown_kinds or figures.internal else 0


if __name__ == "__main__":
    raise SystemExit(main())
