"""Files and folders on the examiner's disk, opened read-only.

A file given on its own comes with the companions its format reads with it (a SQLite
database with the -journal and -wal beside it), as the format's own software would.

A folder is walked in sorted order, each folder's files before its sub-folders, so a
database and its ``-wal`` arrive together. Only regular files and folders are ever read:
a FIFO would block the scan forever, and ``/proc`` / ``/sys`` files (regular by their
mode) block or never end. Symbolic links are listed, not followed (``kernel.log ->
/proc/kmsg``, ``self -> /proc/self`` lead out of the evidence); with ``follow_links``
those whose target stays inside the input folder are followed, each file read once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import BinaryIO

from scanner.artifacts import HEAD_SIZE, Artifact
from scanner.artifacts.device_paths import storage_member_to_device_path
from scanner.artifacts.metered import OnOpen, open_file, open_regular
from scanner.context import ScanContext
from scanner.errors import LimitExceeded, Unreadable, Unsupported
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
    identity = (st.st_dev, st.st_ino)
    return Artifact(
        chain=chain,
        opener=lambda: open_file(path, chain, st.st_size, block, on_open, identity),
        size=st.st_size,
        mtime=st.st_mtime,
        mtime_source="file mtime",
        device_path=storage_member_to_device_path(rel) if rel else None,
    )


@cache
def _kernel_devices() -> frozenset[int]:
    """The devices of /proc and /sys, when mounted: their files say "regular" but block
    (``/proc/kmsg``), never end, or are the examiner's own process."""
    return frozenset(os.stat(m).st_dev for m in ("/proc", "/sys") if os.path.ismount(m))


_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFLNK: "a symbolic link",
}


def _not_readable(st: os.stat_result) -> str | None:
    """What this is, when it is not a regular file or a folder that may be read."""
    if st.st_dev in _kernel_devices():
        return "a file of the kernel's /proc or /sys"
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    return _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file or folder")


def open_input(path: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """Yield the artifacts of one input: itself if a file, every file below it if a folder."""
    try:
        st = path.stat()  # a link named on the command line is the examiner's choice
    except FileNotFoundError as error:
        raise Unreadable("no such file or folder") from error
    except OSError as error:
        raise Unreadable(f"cannot read: {error.strerror or error}") from error
    kind = _not_readable(st)
    if kind is not None:
        raise Unsupported(f"{kind}: only regular files and folders are read")
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_folder(path, ctx)
    else:
        verify_file(path, ctx)
        yield _file_artifact(path, (str(path),), st, None, ctx.on_open)
        yield from _companions(path, ctx)


def _companions(path: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """The files beside a file given on its own that are read with it, as the software
    that wrote it would (a SQLite database's -journal and -wal): their grouper says which."""
    try:
        with open_regular(path) as handle:
            head = handle.read(HEAD_SIZE)
    except OSError:
        return  # the file itself reports it
    for grouper in GROUPERS:
        for name in grouper.companions(path.name, head):
            companion = path.with_name(name)
            try:
                st = companion.lstat()  # a link beside it may lead anywhere: not read
            except OSError:
                continue  # none there: the usual case
            if _not_readable(st) is None and stat.S_ISREG(st.st_mode):
                yield _file_artifact(companion, (str(companion),), st, None, ctx.on_open)


def _never_opened() -> BinaryIO:
    raise Unsupported("only regular files and folders are read")


def _list_only(ctx: ScanContext, chain: tuple[str, ...], st: os.stat_result, kind: str) -> None:
    ctx.listed(Artifact(chain=chain, opener=_never_opened, size=None, mtime=st.st_mtime), kind)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# The folders a folder is in, innermost first: a link back to one of them is a loop.
_Lineage = tuple[tuple[int, int], "_Lineage"] | None


def _within(identity: tuple[int, int], lineage: _Lineage) -> bool:
    while lineage is not None:
        if lineage[0] == identity:
            return True
        lineage = lineage[1]
    return False


def _walk_folder(root: Path, ctx: ScanContext) -> Iterator[Artifact]:
    """Depth first, without Python recursion (a folder may nest thousands deep)."""
    root_real = os.path.realpath(root)
    follow = ctx.options.follow_links
    visited: set[tuple[int, int]] = set()
    files_read: set[tuple[int, int]] = set()  # with links followed, a file is read once
    pending: list[tuple[Path, str, _Lineage]] = [(root, "", None)]
    while pending:
        folder, rel, parents = pending.pop()
        st = folder.stat()
        identity = (st.st_dev, st.st_ino)
        if identity in visited:
            if _within(identity, parents):
                ctx.report(
                    LimitExceeded("symlink loop: a link to a folder it is in"), (str(root), rel)
                )
            else:
                _list_only(ctx, (str(root), rel), st, "read already under another name")
            continue
        visited.add(identity)
        lineage = (identity, parents)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            ctx.report(Unreadable(f"cannot list: {error.strerror}"), (str(root), rel or "."))
            continue
        verify_digests(folder, ctx, root)
        subfolders = []
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            chain = (str(root), child_rel)
            try:
                entry_st = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(entry_st.st_mode):
                    target = os.readlink(entry.path)
                    resolved = os.path.realpath(entry.path)
                    if not (follow and _inside(resolved, root_real)):
                        where = "" if _inside(resolved, root_real) else ", outside the input"
                        _list_only(ctx, chain, entry_st, f"link -> {target}{where}")
                        continue
                    entry_st = os.stat(resolved)
            except OSError:
                ctx.report(Unreadable("broken link or unreadable entry"), chain)
                continue
            kind = _not_readable(entry_st)
            if kind is not None:
                _list_only(ctx, chain, entry_st, f"{kind}: not read")
            elif stat.S_ISDIR(entry_st.st_mode):
                subfolders.append((Path(entry.path), child_rel, lineage))
            elif follow and (entry_st.st_dev, entry_st.st_ino) in files_read:
                _list_only(ctx, chain, entry_st, "read already under another name")
            else:
                if follow:
                    files_read.add((entry_st.st_dev, entry_st.st_ino))
                path = Path(entry.path)
                yield _file_artifact(path, chain, entry_st, child_rel, ctx.on_open)
        pending.extend(reversed(subfolders))  # the first sub-folder is walked next
