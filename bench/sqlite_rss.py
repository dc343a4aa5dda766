"""Peak memory against the size of one SQLite database (issue 17 item 5).

Not a test; run by hand from the repository root::

    python bench/sqlite_rss.py [--sizes 8,64,256] [--keep DIR]

Builds, outside the repository (a temporary folder removed afterwards, or ``--keep DIR``,
reused), one database per size: a Zepp Life ``DEVICE`` table with one key row and an
activity table of random blobs filling it to the size, written in WAL mode and
checkpointed (bytes 18-19 = 2, as Android leaves them) with a few thousand rows deleted
(freelist pages for the deleted-record carver); with ``--wal``, all of it is left in its
``-wal`` (the WAL view and the WAL's older frames are read). Each is scanned in its own
child process (its peak RSS, VmHWM, is its own) as a member of a tar (spooled:
forward-only) and as a file in a folder (reopened). Goal: peak RSS at the largest size
within a few MiB of the smallest, and at most 100 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import peak_rss_mib  # noqa: E402  (bench/common.py)

MiB = 1 << 20
RSS_GOAL_MIB = 100
FLAT_GOAL_MIB = 5  # "within a few MiB" of the smallest size's peak
BLOB = 4000  # bytes per filler row: about one 4 KiB page each
MEMBER = "apps/com.xiaomi.hm.health/db/origin_db"
BUILD = "1"  # bump when the content changes: --keep folders are rebuilt


def _key() -> tuple[str, str]:
    from corpus.common import fake_key, fake_mac

    return fake_key("sqlite-rss"), fake_mac("sqlite-rss")


def build_database(path: Path, mib: int, wal: bool) -> None:
    """A database of about ``mib`` MiB, built row by row (never whole in memory); with
    ``wal``, all of it is still in its ``-wal`` (copied while open)."""
    key, mac = _key()
    rng = random.Random(mib)
    source = path.with_name("source.db") if wal else path
    connection = sqlite3.connect(source)
    connection.execute("PRAGMA journal_mode = WAL")
    if wal:
        connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.execute(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, NAME TEXT, AUTHKEY TEXT)"
    )
    connection.execute("INSERT INTO DEVICE VALUES (1, ?, 'Amazfit GTR 2', ?)", (mac, key))
    connection.execute("CREATE TABLE ACTIVITY (_id INTEGER PRIMARY KEY, TS INTEGER, DATA BLOB)")
    rows = mib * MiB // (BLOB + 100)
    for start in range(0, rows, 1000):
        connection.executemany(
            "INSERT INTO ACTIVITY (TS, DATA) VALUES (?, ?)",
            [
                (1_600_000_000 + i, rng.randbytes(BLOB))
                for i in range(start, min(rows, start + 1000))
            ],
        )
        connection.commit()
    connection.execute("DELETE FROM ACTIVITY WHERE _id % 50 = 0")  # freelist pages
    connection.commit()
    if wal:
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{source}{suffix}", f"{path}{suffix}")
    else:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    for suffix in ("", "-wal", "-shm") if wal else ("-wal", "-shm"):
        Path(f"{source}{suffix}").unlink(missing_ok=True)


def build(folder: Path, mib: int, wal: bool) -> tuple[Path, Path]:
    """(tar, folder) holding the database of ``mib`` MiB; reused when already built."""
    here = folder / f"{mib}mib{'-wal' if wal else ''}"
    tar_path, tree = here / "backup.tar", here / "tree"
    if (here / "BUILD").is_file() and (here / "BUILD").read_text() == BUILD:
        return tar_path, tree
    shutil.rmtree(here, ignore_errors=True)
    database = tree / MEMBER
    database.parent.mkdir(parents=True)
    build_database(database, mib, wal)
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(database, arcname=MEMBER)  # copied in pieces
        if wal:
            tar.add(f"{database}-wal", arcname=f"{MEMBER}-wal")
    (here / "BUILD").write_text(BUILD)
    return tar_path, tree


def child(path: Path) -> dict[str, Any]:
    from scanner.context import ScanOptions
    from scanner.pipeline import scan

    options = ScanOptions.from_environment()
    start = time.perf_counter()
    result = scan([path], options)
    return {
        "seconds": time.perf_counter() - start,
        "rss": peak_rss_mib(),
        "keys": sorted({c.key for c in result.candidates}),
        "problems": [f"{p.kind}: {p.message}" for p in result.problems][:5],
    }


def measure(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"child {path} failed:\n{done.stderr}")
    facts: dict[str, Any] = json.loads(done.stdout)
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="8,64,256", help="database sizes in MiB")
    parser.add_argument("--keep", type=Path, help="build into (and reuse) this folder")
    parser.add_argument("--wal", action="store_true", help="the rows in a -wal beside it")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.keep and ROOT in args.keep.resolve().parents:
        raise SystemExit("--keep must be outside the repository")
    sizes = [int(size) for size in args.sizes.split(",")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="keyscan-sqlite-rss-"))
    key = _key()[0].lower()
    print(f"load average {os.getloadavg()[0]:.2f}; inputs in {folder}")
    print("| database | as | scan | peak RSS | key found | problems |")
    print("|---|---|---|---|---|---|")
    peaks: dict[str, list[float]] = {"tar member": [], "folder file": []}
    try:
        for mib in sizes:
            tar_path, tree = build(folder, mib, args.wal)
            for label, path in (("tar member", tar_path), ("folder file", tree)):
                facts = measure(path)
                peaks[label].append(facts["rss"])
                found = "yes" if key in facts["keys"] else f"NO ({facts['keys']})"
                print(
                    f"| {mib} MiB | {label} | {facts['seconds']:.2f} s | {facts['rss']:.1f} MiB "
                    f"| {found} | {'; '.join(facts['problems']) or '-'} |"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    for label, values in peaks.items():
        growth = values[-1] - values[0]
        flat = growth <= FLAT_GOAL_MIB and max(values) <= RSS_GOAL_MIB
        print(
            f"{label}: peak RSS {values[0]:.1f} -> {values[-1]:.1f} MiB "
            f"({growth:+.1f} MiB; goal within {FLAT_GOAL_MIB} MiB and at most {RSS_GOAL_MIB} MiB): "
            f"{'met' if flat else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
