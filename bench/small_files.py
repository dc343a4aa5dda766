"""The many-small-files benchmark (issue 17 item 1): a phone-like backup against its floors.

Not a test; run by hand from the repository root::

    python bench/small_files.py [--scale 1.0] [--keep DIR] [--repeat 1]

Builds (``bench/phone.py``), outside the repository, at full and at half size: ``phone.ab``
(512 MiB of tar x scale, about 11,000 files of 1-50 KB per 512 MiB, a few 8 MiB databases,
media), ``phone-aes.ab`` (the same, AES-256) and a folder of 50,000 x scale small files.
Each measurement runs in a child process of ``bench/run.py`` (its peak RSS is its own), the
floor and the scan in turns:

- backups: the floor is the bare inflate of the same library (after AES decryption for the
  encrypted one: decrypt plus inflate together), with the fast library when installed and
  with stdlib ``zlib``;
- folder: files/s of the scan against ``cat`` of every file (``find | xargs cat``) and
  against reading every file's bytes in Python.

Goals (issue 17), printed as met or not: scan at most 1.5 x the bare inflate on the
backup, with each library; the fast library never slower than ``zlib``; peak RSS at most
100 MiB at every size; the folder at least 0.3 x ``cat``'s files/s; full / half scan time at
most 2.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import phone  # noqa: E402  (bench/phone.py)
import run  # noqa: E402  (bench/run.py: its children measure)

MiB = 1 << 20
RATIO_GOAL = 1.5
RSS_GOAL_MIB = 100
CAT_SHARE_GOAL = 0.3
LINEAR_GOAL = 2.1


def cat_seconds(folder: Path) -> float:
    """Wall time of ``cat`` over every file of ``folder`` (the files/s reference)."""
    start = time.perf_counter()
    subprocess.run(
        f"find '{folder}' -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )
    return time.perf_counter() - start


def _keys(found: list[str], planted: list[str], goal: Callable[[bool], str]) -> str:
    """Found against planted, by value: a count alone hid decoys read as keys."""
    missing, extra = set(planted) - set(found), set(found) - set(planted)
    said = f"keys: {len(found)} found, {len(planted)} planted {goal(not missing and not extra)}"
    if missing or extra:
        said += f" (missing {sorted(missing)}, not planted {sorted(extra)})"
    return said


def measure(sets: dict[str, phone.Phone], repeat: int, libraries: list[bool]) -> bool:
    goals: list[bool] = []

    def goal(ok: bool) -> str:
        goals.append(ok)
        return "met" if ok else "NOT met"

    header = (
        f"{'input':<7} {'size':<5} {'inflate':<7} {'files':>7} {'decoded':>8} {'floor s':>8} "
        f"{'scan s':>7} {'ratio':>6} {'files/s':>8} {'RSS MiB':>8}  goals"
    )
    print(header)
    print("-" * len(header))
    times: dict[tuple[str, str, bool], float] = {}
    for kind in ("ab", "ab-aes"):
        for label, built in sets.items():
            path = built.ab if kind == "ab" else built.ab_aes
            run._warm(path)
            for stdlib in libraries:
                bare, scan = run.bare_and_scan(kind, path, stdlib, repeat)
                times[(kind, label, stdlib)] = scan.seconds
                ratio = scan.seconds / bare.seconds
                notes = [f"RSS {goal(scan.rss <= RSS_GOAL_MIB)}"]
                if kind == "ab":
                    notes.append(f"ratio {goal(ratio <= RATIO_GOAL)}")
                if scan.facts["problems"]:
                    notes.append(f"problems: {scan.facts['problems']}")
                print(
                    f"{kind:<7} {label:<5} {scan.facts['inflate']:<7} {scan.facts['files']:>7,} "
                    f"{bare.facts['bytes'] / MiB:>8,.0f} {bare.seconds:>8.2f} {scan.seconds:>7.2f} "
                    f"{ratio:>6.2f} {scan.facts['files'] / scan.seconds:>8,.0f} "
                    f"{scan.rss:>8.1f}  {'; '.join(notes)}; "
                    f"{_keys(scan.facts['keys'], built.keys, goal)}"
                )
    for label, built in sets.items():
        run._warm(built.folder)
        cat = min(cat_seconds(built.folder) for _ in range(repeat))
        bare, scan = run.bare_and_scan("folder", built.folder, False, repeat)
        times[("folder", label, False)] = scan.seconds
        files = scan.facts["files"]
        share = (files / scan.seconds) / (built.folder_files / cat)
        print(
            f"{'folder':<7} {label:<5} {'-':<7} {files:>7,} {bare.facts['bytes'] / MiB:>8,.0f} "
            f"{bare.seconds:>8.2f} {scan.seconds:>7.2f} {scan.seconds / bare.seconds:>6.2f} "
            f"{files / scan.seconds:>8,.0f} {scan.rss:>8.1f}  "
            f"RSS {goal(scan.rss <= RSS_GOAL_MIB)}; "
            f"cat {built.folder_files / cat:,.0f} files/s ({cat:.2f} s), scan {share:.2f}x cat "
            f"{goal(share >= CAT_SHARE_GOAL)}; Python read {built.folder_files / bare.seconds:,.0f}"
            f" files/s; {_keys(scan.facts['keys'], built.folder_keys, goal)}"
        )
    if len(libraries) == 2:
        print("\nfast inflate never slower than zlib (scan seconds):")
        for (kind, label, stdlib), seconds in times.items():
            if kind != "folder" and not stdlib:
                slow = times[(kind, label, True)]
                print(f"  {kind:<7} {label:<5} fast {seconds:6.2f} zlib {slow:6.2f}: "
                      f"{goal(seconds <= slow)}")  # fmt: skip
    print("\nlinearity (full / half scan time; 2.0 is linear):")
    for (kind, label, stdlib), seconds in times.items():
        if label == "full":
            half = times[(kind, "half", stdlib)]
            lib = "-" if kind == "folder" else "zlib" if stdlib else "fast"
            print(f"  {kind:<7} {lib:<5} {half:6.2f} s -> {seconds:6.2f} s: {seconds / half:.2f} "
                  f"{goal(seconds / half <= LINEAR_GOAL)}")  # fmt: skip
    return all(goals)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 512 MiB of tar")
    parser.add_argument("--keep", type=Path, help="build into (and reuse) this folder")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes for the scan's small files, as keyscan's --jobs (the CLI's "
        "default is the number of cores); RSS is then the scan's process only",
    )
    args = parser.parse_args()
    if args.keep and ROOT in args.keep.resolve().parents:
        raise SystemExit("--keep must be outside the repository")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="keyscan-phone-"))
    os.environ["KEYSCAN_BENCH_JOBS"] = str(args.jobs)  # read by run.py's measuring children
    need = int(1.6 * (1 << 30) * args.scale)
    if shutil.disk_usage(folder.parent if not folder.exists() else folder).free < need:
        raise SystemExit(f"needs about {need / (1 << 30):.1f} GiB free beside {folder}")
    try:
        start = time.perf_counter()
        sets = {
            "half": phone.build(folder / f"phone-{args.scale / 2:g}", args.scale / 2),
            "full": phone.build(folder / f"phone-{args.scale:g}", args.scale),
        }
        from scanner.formats.compressed import inflate

        libraries = [True] if inflate.library()[0] == "zlib" else [False, True]
        print(
            f"inputs in {folder} ({time.perf_counter() - start:.0f} s to build or find); "
            f"python {sys.version.split()[0]}, fast inflate: {inflate.library()[0]}, "
            f"--jobs {args.jobs}\n"
        )
        for label, built in sets.items():
            kinds = ", ".join(f"{k} {v / MiB:.0f} MiB" for k, v in built.mix.by_kind.items()
                              if k != "keyed files")  # fmt: skip
            print(f"{label}: {built.mix.members:,} tar members ({kinds})")
        print()
        met = measure(sets, args.repeat, libraries)
        print(f"\nall goals {'met' if met else 'NOT met'}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
