"""TWRP backup folders: ``--verify`` checks the digests TWRP writes beside its files.

TWRP writes ``<file>.sha2`` (SHA-256; ``.md5`` in older versions) beside each ``.win``,
``.win000``, ``.win001``, ... file, holding ``"<hex>  <name>"``. The files themselves are
recognised by content like any other input; this module only reads the digests. Each
file is streamed through hashlib, so verifying costs one extra read of the backup.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from scanner.context import ScanContext
from scanner.errors import Corrupt, Unreadable

DIGESTS: dict[str, str] = {".sha2": "sha256", ".md5": "md5"}
_HEX = {"sha256": re.compile(r"[0-9a-fA-F]{64}"), "md5": re.compile(r"[0-9a-fA-F]{32}")}
_WIN = re.compile(r"\.win(\d{3})?$")  # data.ext4.win, data.ext4.win000, boot.emmc.win
_MAX_DIGEST_FILE = 64 << 10
_CHUNK = 1 << 20


def _expected(digest_file: Path, algorithm: str) -> str | None:
    """The hex digest a ``.sha2`` / ``.md5`` file holds, or None if it holds none."""
    with open(digest_file, "rb") as handle:
        text = handle.read(_MAX_DIGEST_FILE).decode("utf-8", "replace")
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first.lower() if _HEX[algorithm].fullmatch(first) else None


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _check(
    target: Path,
    digest_file: Path,
    algorithm: str,
    ctx: ScanContext,
    where: Callable[[Path], tuple[str, ...]],
) -> None:
    """Compare one file with its digest file; report what does not match."""
    try:
        expected = _expected(digest_file, algorithm)
    except OSError as error:
        ctx.report(Unreadable(f"cannot read: {error.strerror}"), where(digest_file))
        return
    if expected is None:
        ctx.report(Corrupt(f"holds no {algorithm} digest"), where(digest_file))
        return
    if not target.is_file():
        ctx.report(Unreadable(f"missing, though {digest_file.name} lists it"), where(target))
        return
    try:
        actual = _digest(target, algorithm)
    except OSError as error:
        ctx.report(Unreadable(f"cannot read: {error.strerror}"), where(target))
        return
    if actual != expected:
        ctx.report(
            Corrupt(
                f"{algorithm} is {actual} but {digest_file.name} says {expected}: the file "
                "changed or was damaged after TWRP wrote it"
            ),
            where(target),
        )


def verify_digests(folder: Path, ctx: ScanContext, root: Path | None = None) -> None:
    """Check every TWRP digest file in ``folder`` (not below it) when ``--verify`` is on.

    A mismatch is a ``corrupt`` problem on the backup file, an unreadable or empty digest
    file a problem on the digest file. ``root`` is the scanned input the folder is in, so
    that provenance reads like the artifacts' own: (input, path below it).
    """
    if not ctx.options.verify:
        return
    base = root or folder

    def where(path: Path) -> tuple[str, ...]:
        return (str(base), path.relative_to(base).as_posix())

    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return  # the folder walk reports unlistable folders
    for name in names:
        for suffix, algorithm in DIGESTS.items():
            target = name[: -len(suffix)]
            if name.endswith(suffix) and _WIN.search(target):
                _check(folder / target, folder / name, algorithm, ctx, where)


def verify_file(path: Path, ctx: ScanContext) -> None:
    """``--verify`` for a ``.win`` file given on its own: the digest files beside it."""
    if not ctx.options.verify or not _WIN.search(path.name):
        return
    for suffix, algorithm in DIGESTS.items():
        digest_file = path.with_name(path.name + suffix)
        if digest_file.is_file():
            _check(path, digest_file, algorithm, ctx, lambda p: (str(p),))
