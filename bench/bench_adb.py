"""Benchmark: scanning a large adb backup against a bare zlib inflate of the same body.

Not a test; run by hand from the repository root::

    python bench/bench_adb.py [--size-mib 1024] [--repeat 1]

It writes, into a temporary folder outside the repository (removed afterwards), one tar of
``--size-mib`` MiB of app data (structured binary records that deflate about 2:1, like
sensor and sync files; a Zepp Life database, a shared_prefs file and a log line with keys)
as two backups made in one pass: version 5 compressed, and version 5 compressed + AES-256.
Each measurement runs in its own child process, so that its peak RSS (VmHWM) is its own:

- ``inflate``: read the body in 1 MiB chunks and inflate it (the floor for any reader);
- ``aes+inflate``: the same with AES-256-CBC decryption first;
- ``scan``: ``scanner.pipeline.scan`` of the backup, keys included.

Goals (issue 3): scan time at most 1.3 x the bare decode of the same body, and peak RSS
at most 200 MiB whatever the backup's size. Wall time is the goal; CPU time is printed too,
as it is steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bare_ab_decode, peak_rss_mib  # bench/common.py, beside this file
from Cryptodome.Cipher import AES

from corpus.samples.adb_backups import (
    PACKAGE,
    Band,
    encryption_header,
    hm_preferences,
    manifest,
    origin_db,
    tar_member,
)

MiB = 1 << 20
PASSWORD = "bench-pässword"
LABEL = "bench"
LEVEL = 6  # zlib's default; level 9 only makes generation slower
RATIO_GOAL = 1.3
RSS_GOAL_MIB = 200
SIZES = (64 * 1024, 256 * 1024, MiB, 4 * MiB, 16 * MiB)  # bulk file sizes, in turn
GALLERY = "com.example.gallery"


def record_pool(size: int = 8 * MiB, seed: int = 2024) -> bytes:
    """Fixed-size records (time, 3 axes, heart rate, steps) with small random changes."""
    rng = random.Random(seed)
    pack = struct.Struct("<IhhhBBH").pack
    records = []
    t, hr, steps, x, y, z = 1_709_280_000, 72, 0, 0, 0, 980
    for _ in range(size // 14):
        t += 1
        hr = max(40, min(190, hr + rng.randint(-2, 2)))
        steps += rng.random() < 0.3
        # Accelerometer axes drift slowly, as a band at rest or walking does.
        x = max(-512, min(512, x + rng.randint(-2, 2)))
        y = max(-512, min(512, y + rng.randint(-2, 2)))
        z = max(700, min(1200, z + rng.randint(-2, 2)))
        records.append(pack(t, x, y, z, hr, rng.random() < 0.1, steps & 0xFFFF))
    return b"".join(records)


def file_data(pool: bytes, index: int, size: int) -> Iterator[bytes]:
    """``size`` bytes for file ``index``: slices of the pool, recoded per file (fast, in C)."""
    table = bytes((b + 7 * index) & 0xFF for b in range(256))
    start = (index * 7919 * 14) % (len(pool) - MiB)
    left = size
    while left:
        piece = pool[start : start + min(left, MiB)].translate(table)
        start = (start + len(piece)) % (len(pool) - MiB)
        left -= len(piece)
        yield piece


def log_text(band: Band) -> bytes:
    return (
        "2024-02-28 10:11:12.345|6.1.2|I|HMDeviceManager_1234_5678|bind ok: "
        f"macAddress={band.mac}, authKey={band.prefs_key}, model='hmpace.watch.v7'\n"
    ).encode()


def tar_chunks(total: int, band: Band) -> Iterator[bytes]:
    """The backup's tar: manifest, database, bulk files, prefs in the middle, log at the end."""

    def member(name: str, chunks: Iterator[bytes] | list[bytes], size: int) -> Iterator[bytes]:
        yield tar_member(name, size)
        yield from chunks
        yield b"\0" * (-size % 512)

    small = [
        (f"apps/{PACKAGE}/_manifest", manifest()),
        (band.db_member, origin_db(band.mac, band.key)),
    ]
    for name, data in small:
        yield from member(name, [data], len(data))
    pool = record_pool()
    written, index = 0, 0
    prefs_done = False
    while written < total:
        size = min(SIZES[index % len(SIZES)], max(total - written, 512))
        app = PACKAGE if index % 3 else GALLERY
        name = f"apps/{app}/f/records/part_{index:05d}.bin"
        yield from member(name, file_data(pool, index, size), size)
        written += size
        index += 1
        if not prefs_done and written >= total // 2:
            prefs = hm_preferences(band.prefs_key)
            yield from member(f"apps/{PACKAGE}/sp/hm_preferences.xml", [prefs], len(prefs))
            prefs_done = True
    log = log_text(band)
    yield from member(f"apps/{PACKAGE}/ef/log/device.log", [log], len(log))
    yield b"\0" * 1024


def write_backups(folder: Path, total: int, band: Band) -> dict[str, Path]:
    """One pass: the tar is deflated once and written plain and encrypted."""
    paths = {"compressed": folder / "bench.ab", "compressed+aes": folder / "bench-aes.ab"}
    lines, master, iv = encryption_header(LABEL, 5, PASSWORD)
    with open(paths["compressed"], "wb") as plain, open(paths["compressed+aes"], "wb") as locked:
        plain.write(b"ANDROID BACKUP\n5\n1\nnone\n")
        locked.write(b"ANDROID BACKUP\n5\n1\nAES-256\n" + lines)
        deflater = zlib.compressobj(LEVEL)
        cipher = AES.new(master, AES.MODE_CBC, iv)
        held = b""

        def out(data: bytes) -> None:
            nonlocal held
            plain.write(data)
            data = held + data
            whole = len(data) - len(data) % 16
            held = data[whole:]
            locked.write(cipher.encrypt(data[:whole]))

        pending: list[bytes] = []
        size = 0
        for chunk in tar_chunks(total, band):
            pending.append(chunk)
            size += len(chunk)
            if size >= 4 * MiB:  # deflate in large pieces: fewer Python calls
                out(deflater.compress(b"".join(pending)))
                pending, size = [], 0
        out(deflater.compress(b"".join(pending)) + deflater.flush())
        pad = 16 - len(held) % 16
        locked.write(cipher.encrypt(held + bytes([pad]) * pad))
    return paths


# --- measurements, each in a child process ----------------------------------------------


def measure(kind: str, path: Path) -> dict[str, object]:
    from scanner.context import ScanOptions
    from scanner.pipeline import scan

    start, cpu = time.perf_counter(), time.process_time()  # imports above are not timed
    result: dict[str, object] = {}
    if kind == "scan":
        options = ScanOptions.from_environment(passwords=[PASSWORD], quick_switching=True)
        scanned = scan([path], options)
        result["keys"] = sorted({c.key for c in scanned.candidates})
        result["problems"] = [f"{p.kind}: {p.message}" for p in scanned.problems]
        result["files"] = scanned.files_seen
    else:
        result["tar_bytes"] = bare_ab_decode(path, PASSWORD, zlib.decompressobj)
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_mib"] = peak_rss_mib()
    return result


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    facts: dict[str, Any]


def run_child(kind: str, path: Path) -> Run:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(done.stdout)
    return Run(
        float(facts.pop("seconds")),
        float(facts.pop("cpu_seconds")),
        float(facts.pop("peak_rss_mib")),
        facts,
    )


def warm(path: Path) -> None:
    """Read the file once so that every measurement meets the same page cache."""
    with open(path, "rb") as handle:
        while handle.read(8 * MiB):
            pass


def best(kind: str, path: Path, repeat: int) -> Run:
    return min((run_child(kind, path) for _ in range(repeat)), key=lambda run: run.seconds)


def report(variant: str, path: Path, band: Band, repeat: int) -> bool:
    """Measure one backup; print the figures; whether its goals are met."""
    warm(path)
    base_kind = "aes+inflate" if "aes" in variant else "inflate"
    base = best(base_kind, path, repeat)
    scanned = best("scan", path, repeat)
    ratio = scanned.seconds / base.seconds
    cpu_ratio = scanned.cpu_seconds / base.cpu_seconds
    found = {band.key, band.prefs_key} <= set(scanned.facts["keys"])
    problems = scanned.facts["problems"]
    ok = ratio <= RATIO_GOAL and scanned.peak_rss_mib <= RSS_GOAL_MIB and found and not problems
    tar_mib = base.facts["tar_bytes"] / MiB
    print(f"\n{variant}: {path.stat().st_size / MiB:,.1f} MiB file, {tar_mib:,.1f} MiB tar")
    for name, run in ((base_kind, base), ("scan", scanned)):
        print(
            f"  {name:<12} {run.seconds:7.2f} s wall  {run.cpu_seconds:7.2f} s CPU  "
            f"peak RSS {run.peak_rss_mib:6.1f} MiB"
        )
    print(
        f"  ratio {ratio:.2f} wall, {cpu_ratio:.2f} CPU (goal <= {RATIO_GOAL}); "
        f"peak RSS {scanned.peak_rss_mib:.1f} MiB (goal <= {RSS_GOAL_MIB}); "
        f"{scanned.facts['files']} files; keys found: {found}; problems: {problems or 'none'}"
    )
    print(f"  goals {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="tar content, MiB")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return

    band = Band(LABEL)
    folder = Path(tempfile.mkdtemp(prefix="bench-adb-"))
    try:
        started = time.perf_counter()
        paths = write_backups(folder, args.size_mib * MiB, band)
        took = time.perf_counter() - started
        print(f"generated {args.size_mib:,} MiB of tar content in {took:.1f} s (in {folder})")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, zlib {zlib.ZLIB_VERSION}")
        met = [report(variant, path, band, args.repeat) for variant, path in paths.items()]
        print(f"\nall goals {'met' if all(met) else 'NOT met'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
