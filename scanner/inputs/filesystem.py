"""Files and folders on the examiner's disk, opened read-only.

A file given on its own comes with the companions its format reads with it (a SQLite
database with the -journal and -wal beside it), as the format's own software would.

A folder is walked in sorted order, each folder's files before its sub-folders, so a
database and its ``-wal`` arrive together. Symlink loops and special files (FIFOs,
sockets, devices) are skipped: reading a FIFO would block the scan forever.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from scanner.artifacts import HEAD_SIZE, Artifact
from scanner.artifacts.device_paths import storage_member_to_device_path
from scanner.context import ScanContext
from scanner.errors import LimitExceeded, Unreadable, Unsupported
from scanner.inputs.metered import OnOpen, open_file
from scanner.inputs.twrp import verify_digests, verify_file
from scanner.registry import GROUPERS


def _file_artifact(
    path: Path,
    chain: tuple[str, ...],
    st: os.stat_result,
    rel: str | None,
    on_open: OnOpen | None = None,
) -> Artifact:
    block = getattr(st, "st_blksize", 0)
    return Artifact(
        chain=chain,
        opener=lambda: open_file(path, chain, st.st_size, block, on_open),
        size=st.st_size,
        mtime=st.st_mtime,
        mtime_source="file mtime",
        device_path=storage_member_to_device_path(rel) if rel else None,
    )


def open_input(path: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """Yield the artifacts of one input: itself if a file, every file below it if a folder."""
    try:
        st = path.stat()
    except FileNotFoundError as error:
        raise Unreadable("no such file or folder") from error
    except OSError as error:
        raise Unreadable(f"cannot read: {error.strerror or error}") from error
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_folder(path, ctx)
    elif stat.S_ISREG(st.st_mode):
        verify_file(path, ctx)
        yield _file_artifact(path, (str(path),), st, None, ctx.on_open)
        yield from _companions(path, ctx)
    else:
        raise Unsupported("not a regular file or a folder (FIFO, socket or device)")


def _companions(path: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """The files beside a file given on its own that are read with it, as the software
    that wrote it would (a SQLite database's -journal and -wal): their grouper says which."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_SIZE)
    except OSError:
        return  # the file itself reports it
    for grouper in GROUPERS:
        for name in grouper.companions(path.name, head):
            companion = path.with_name(name)
            try:
                st = companion.stat()
            except OSError:
                continue  # none there: the usual case
            if stat.S_ISREG(st.st_mode):
                yield _file_artifact(companion, (str(companion),), st, None, ctx.on_open)


def _walk_folder(root: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """Depth first, without Python recursion (a folder may nest thousands deep)."""
    visited: set[tuple[int, int]] = set()
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        folder, rel = pending.pop()
        st = folder.stat()
        identity = (st.st_dev, st.st_ino)
        if identity in visited:
            ctx.report(
                LimitExceeded("symlink loop: folder already scanned"), (str(root), rel or ".")
            )
            continue
        visited.add(identity)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            ctx.report(Unreadable(f"cannot list: {error.strerror}"), (str(root), rel or "."))
            continue
        verify_digests(folder, ctx, root)
        subfolders = []
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            try:
                entry_st = entry.stat()  # follows symlinks
            except OSError:
                ctx.report(Unreadable("broken link or unreadable entry"), (str(root), child_rel))
                continue
            if stat.S_ISDIR(entry_st.st_mode):
                subfolders.append((Path(entry.path), child_rel))
            elif stat.S_ISREG(entry_st.st_mode):
                path, chain = Path(entry.path), (str(root), child_rel)
                yield _file_artifact(path, chain, entry_st, child_rel, ctx.on_open)
        pending.extend(reversed(subfolders))  # the first sub-folder is walked next
