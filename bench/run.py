"""The benchmark (issue 7): scan speed, memory and linearity against the unavoidable work.

Not a test; run by hand from the repository root::

    python bench/run.py [--scale 1.0] [--keep DIR] [--repeat 1] [--no-engines]

Builds, once and deterministically (``bench/inputs.py``), outside the repository (a temp
folder, removed afterwards, or ``--keep DIR``, reused by later runs), at full and at half
size: an adb backup of 2 GiB tar content x scale (compressed, and compressed + AES-256), a
TWRP folder of two gzip'd tar splits (512 MiB each x scale), a folder of 20 000 x scale small
files, a raw image of 1 GiB x scale. Each measurement runs in a child process (its peak RSS,
VmHWM, is its own):

- ``bare``: the unavoidable work on the same bytes: inflate of the .ab body (after AES
  decryption for the encrypted one), gzip inflate of the splits, a plain read of the folder
  and of the image. Inflate uses the same library as the scan (isal / zlib-ng when
  installed, ``zlib`` with ``KEYSCAN_NO_FAST_INFLATE=1``): both are measured;
- ``scan``: ``scanner.pipeline.scan`` of the input, keys included.

Goals, printed as met or not: scan at most 1.3 x the bare inflate (same library); peak
RSS at most 200 MiB at any size; the folder at least 2 000 files/s. The full / half time
ratio shows whether cost grows linearly (2.0 is linear). Then the pattern engines are timed
on a 512 MiB x scale text stream (``--no-engines`` skips that).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import inputs  # noqa: E402  (bench/inputs.py, beside this file)
from common import bare_ab_decode, peak_rss_mib  # noqa: E402  (bench/common.py)

MiB = 1 << 20
RATIO_GOAL = 1.3
RSS_GOAL_MIB = 200
FILES_PER_S_GOAL = 2000
KINDS = {  # input -> (bare work, uses inflate)
    "ab": ("inflate", True),
    "ab-aes": ("aes+inflate", True),
    "twrp": ("gzip inflate", True),
    "folder": ("read", False),
    "image": ("read", False),
}


# --- child measurements -------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def _bare_ab(path: Path, fast: bool) -> int:
    from scanner.formats.compressed import inflate

    return bare_ab_decode(path, inputs.PASSWORD, lambda: inflate.decompressobj(fast=fast))


def _bare_gzip(path: Path, fast: bool) -> int:
    from scanner.formats.compressed import inflate

    produced = 0
    for file in _files(path):
        with open(file, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b":
                continue
            handle.seek(0)
            inflater = inflate.decompressobj(31, fast=fast)
            while chunk := handle.read(MiB):
                produced += len(inflater.decompress(chunk))
    return produced


def _bare_read(path: Path) -> int:
    total = 0
    for file in _files(path):
        with open(file, "rb") as handle:
            while chunk := handle.read(MiB):
                total += len(chunk)
    return total


def _warm_up(scan: Any, options: Any) -> None:
    """Scan a tiny database and log once: imports what scanning imports on first use and
    compiles the pattern engine's databases."""
    with tempfile.TemporaryDirectory(prefix="keyscan-warm-") as folder:
        connection = sqlite3.connect(Path(folder) / "warm.db")
        connection.execute("CREATE TABLE device (address TEXT, auth_key TEXT)")
        connection.commit()
        connection.close()
        (Path(folder) / "warm.log").write_text("authKey: none\n")
        scan([folder], options())


def child(kind: str, what: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from scanner.context import ScanOptions
    from scanner.formats.compressed import inflate
    from scanner.pipeline import scan

    # As the CLI runs: the KEYSCAN_* tuning variables (run.py sets KEYSCAN_NO_FAST_INFLATE).
    options = ScanOptions.from_environment(passwords=[inputs.PASSWORD], quick_switching=True)
    _warm_up(scan, lambda: options)
    # Start-up is paid once per run, whatever the input's size: timed apart.
    fast = options.fast_inflate
    facts: dict[str, Any] = {
        "inflate": inflate.library(fast)[0],
        "startup": time.perf_counter() - started,
    }
    start, cpu = time.perf_counter(), time.process_time()
    if what == "scan":
        # --jobs of small_files.py: one input's small files in that many worker processes
        # (their memory is theirs: the peak RSS below is the scan's process only).
        result = scan([path], options, jobs=int(os.environ.get("KEYSCAN_BENCH_JOBS", "1")))
        facts["keys"] = sorted({c.key for c in result.candidates})
        facts["problems"] = [f"{p.kind}: {p.message}" for p in result.problems][:5]
        facts["files"] = result.files_seen
    elif kind in ("ab", "ab-aes"):
        facts["bytes"] = _bare_ab(path, fast)
    elif kind == "twrp":
        facts["bytes"] = _bare_gzip(path, fast)
    else:
        facts["bytes"] = _bare_read(path)
    facts["seconds"] = time.perf_counter() - start
    facts["cpu"] = time.process_time() - cpu
    facts["rss"] = peak_rss_mib()
    return facts


@dataclass
class Run:
    seconds: float
    cpu: float
    rss: float
    facts: dict[str, Any]


def _child_run(kind: str, what: str, path: Path, stdlib: bool) -> Run:
    env = dict(os.environ)
    env.pop("KEYSCAN_NO_FAST_INFLATE", None)
    if stdlib:
        env["KEYSCAN_NO_FAST_INFLATE"] = "1"
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, what, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"child {kind} {what} failed:\n{done.stderr}")
    facts = json.loads(done.stdout)
    return Run(facts.pop("seconds"), facts.pop("cpu"), facts.pop("rss"), facts)


def bare_and_scan(kind: str, path: Path, stdlib: bool, repeat: int) -> tuple[Run, Run]:
    """The best of ``repeat`` bare runs and of ``repeat`` scans, taken in turns (bare,
    scan, bare, scan, ...) so that a change in the machine's load meets both alike."""
    bare: list[Run] = []
    scans: list[Run] = []
    for _ in range(repeat):
        bare.append(_child_run(kind, "bare", path, stdlib))
        scans.append(_child_run(kind, "scan", path, stdlib))
    return min(bare, key=lambda run: run.seconds), min(scans, key=lambda run: run.seconds)


# --- the report ---------------------------------------------------------------------------


def _warm(path: Path) -> None:
    _bare_read(path)  # every measurement meets the same page cache


def _size(path: Path) -> int:
    return sum(file.stat().st_size for file in _files(path))


def measure(sets: dict[str, inputs.Inputs], repeat: int, only: set[str]) -> bool:
    libraries = [False, True]  # fast inflate (when installed), then stdlib zlib
    from scanner.formats.compressed import inflate

    if inflate.library()[0] == "zlib":
        libraries = [True]
    met = True
    header = (
        f"{'input':<8} {'size':<5} {'inflate':<8} {'on disk':>9} {'decoded':>9} "
        f"{'bare s':>7} {'scan s':>7} {'MB/s':>7} {'ratio':>6} {'RSS MiB':>8}  goals"
    )
    print(header)
    print("-" * len(header))
    times: dict[tuple[str, str, bool], float] = {}
    startups: list[float] = []
    for kind, (_, uses_inflate) in KINDS.items():
        if kind not in only:
            continue
        for label, built in sets.items():
            path = {
                "ab": built.ab,
                "ab-aes": built.ab_aes,
                "twrp": built.twrp,
                "folder": built.folder,
                "image": built.image,
            }[kind]
            _warm(path)
            for stdlib in libraries if uses_inflate else [False]:
                bare, scanned = bare_and_scan(kind, path, stdlib, repeat)
                times[(kind, label, stdlib)] = scanned.seconds
                startups.append(scanned.facts["startup"])
                decoded = bare.facts["bytes"]
                ratio = scanned.seconds / bare.seconds
                goals = [scanned.rss <= RSS_GOAL_MIB]
                notes = [f"RSS {'met' if goals[-1] else 'NOT met'}"]
                if uses_inflate:
                    goals.append(ratio <= RATIO_GOAL)
                    notes.append(f"ratio {'met' if goals[-1] else 'NOT met'}")
                if kind == "folder":
                    per_s = scanned.facts["files"] / scanned.seconds
                    goals.append(per_s >= FILES_PER_S_GOAL)
                    notes.append(f"{per_s:,.0f} files/s {'met' if goals[-1] else 'NOT met'}")
                if scanned.facts["problems"]:
                    notes.append(f"problems: {scanned.facts['problems']}")
                met = met and all(goals)
                print(
                    f"{kind:<8} {label:<5} {scanned.facts['inflate'] if uses_inflate else '-':<8} "
                    f"{_size(path) / MiB:>9,.0f} {decoded / MiB:>9,.0f} "
                    f"{bare.seconds:>7.2f} {scanned.seconds:>7.2f} "
                    f"{decoded / MiB / scanned.seconds:>7.1f} {ratio:>6.2f} "
                    f"{scanned.rss:>8.1f}  {'; '.join(notes)}; "
                    f"{scanned.facts['files']} files, {len(scanned.facts['keys'])} keys"
                )
    if startups:
        print(
            f"\nstart-up, not in the times above (imports, engine compile; paid once per run): "
            f"{min(startups):.2f}-{max(startups):.2f} s"
        )
    print("\nlinearity (full / half scan time; 2.0 is linear):")
    for (kind, label, stdlib), seconds in times.items():
        if label == "full" and (kind, "half", stdlib) in times:
            half = times[(kind, "half", stdlib)]
            lib = "zlib" if stdlib else "fast"
            print(f"  {kind:<8} {lib:<5} {half:7.2f} s -> {seconds:7.2f} s: {seconds / half:.2f}")
    return met


def engines(mib: int) -> None:
    """The key search over a text stream: the old per-line ``re`` vs each engine."""
    import io
    import re

    from scanner.artifacts import Artifact
    from scanner.extractors.patterns import available
    from scanner.formats.compressed import inflate
    from scanner.formats.logs.extractor import scan_lines
    from scanner.vocab.keys import vocabulary

    data = b"".join(inputs.text_stream(mib * MiB))
    blocks = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    print(f"\npattern engines on {len(data) / MiB:,.0f} MiB of log text:")

    def timed(label: str, work: Any) -> None:
        start = time.perf_counter()
        found = work()
        print(f"  {label:<44} {time.perf_counter() - start:7.2f} s  ({found} hits)")

    compressed = zlib.compress(data, 6)
    for name, lib in (("zlib", zlib), (inflate.library()[0], None)):
        if lib is None and name == "zlib":
            continue

        def inflate_all(lib: Any = lib) -> int:
            inflater = lib.decompressobj() if lib else inflate.decompressobj()
            return (
                sum(
                    len(inflater.decompress(compressed[i : i + MiB]))
                    for i in range(0, len(compressed), MiB)
                )
                // MiB
            )

        timed(f"bare inflate ({name}), MiB out", inflate_all)
    key = re.compile(
        rb"(?<![A-Za-z0-9_])(" + vocabulary().pattern.encode() + rb")[\\\"':=\t >]{1,16}"
        rb"(?:0[xX])?([0-9a-fA-F]{32})(?![0-9a-fA-F])",
        re.IGNORECASE,
    )
    timed(
        "re, case-insensitive key pattern, blocks", lambda: sum(len(key.findall(b)) for b in blocks)
    )
    artifact = Artifact(chain=("bench.log",), opener=lambda: io.BytesIO(data))
    for name, engine in available().items():
        timed(
            f"{name}: engine pass over blocks",
            lambda e=engine: sum(len(e.scan(b)[0]) for b in blocks),
        )
        timed(
            f"{name}: log.scan_lines, candidates",
            lambda e=engine: len(list(scan_lines(artifact, io.BytesIO(data), engine=e))),  # type: ignore[arg-type]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: the sizes of issue 7")
    parser.add_argument("--keep", type=Path, help="build into (and reuse) this folder")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument("--no-engines", action="store_true", help="skip the engine timing")
    parser.add_argument("--only", help=f"comma-separated inputs to measure ({', '.join(KINDS)})")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, what, path = args.child
        print(json.dumps(child(kind, what, Path(path))))
        return
    if args.keep and ROOT in args.keep.resolve().parents:
        raise SystemExit("--keep must be outside the repository")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="keyscan-bench-"))
    free = shutil.disk_usage(folder.parent if not folder.exists() else folder).free
    need = int(5.5 * (1 << 30) * args.scale)
    if free < need:
        raise SystemExit(f"needs about {need / (1 << 30):.1f} GiB free beside {folder}")
    try:
        start = time.perf_counter()
        sets = {
            "half": inputs.build(folder / f"half-{args.scale / 2:g}", args.scale / 2),
            "full": inputs.build(folder / f"full-{args.scale:g}", args.scale),
        }
        from scanner.context import ScanOptions
        from scanner.extractors.patterns import default_engine
        from scanner.formats.compressed import inflate

        tuning = ScanOptions.from_environment()

        print(
            f"inputs in {folder} ({time.perf_counter() - start:.0f} s to build or find); "
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, zlib {zlib.ZLIB_VERSION}, "
            f"fast inflate: {inflate.library(tuning.fast_inflate)[0]}, "
            f"pattern engine: {default_engine(tuning.pattern_engine).name}, "
            f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews the ratios)\n"
        )
        met = measure(sets, args.repeat, set((args.only or ",".join(KINDS)).split(",")))
        print(f"\nall goals {'met' if met else 'NOT met'}")
        if not args.no_engines:
            engines(max(32, int(512 * args.scale)))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
