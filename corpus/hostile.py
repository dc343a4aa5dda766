"""Hostile shapes of issue 16, built small and byte for byte the same each time.

Not part of ``python -m corpus``: the corpus is what phones and tools make, these are
what an attacker who read the code makes. ``tests/test_hostile_shapes.py`` and
``tools/snapshot.py`` scan them; each builder streams from file to file, never holding
more than one layer in memory.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
import zipfile
from pathlib import Path

from corpus.common import BASE_EPOCH, fake_key

NEST_KINDS = ("zip", "tar", "gz")  # a zip in a tar in a gzip in a zip ...


def key_line(label: str) -> bytes:
    return f"authKey={fake_key(label)}\n".encode()


def _wrap(kind: str, inner: Path, inner_name: str, out: Path) -> None:
    """``out`` = one container of ``kind`` holding the file ``inner`` as ``inner_name``."""
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            info = zipfile.ZipInfo(inner_name, date_time=(2024, 3, 1, 12, 0, 0))
            with inner.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst)
    elif kind == "tar":
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo(inner_name)
            info.size, info.mtime = inner.stat().st_size, BASE_EPOCH
            with inner.open("rb") as src:
                archive.addfile(info, src)
    else:
        with (
            inner.open("rb") as src,
            out.open("wb") as raw,
            gzip.GzipFile(inner_name, "wb", fileobj=raw, mtime=0) as dst,
        ):
            shutil.copyfileobj(src, dst)


def nested_containers(
    dest: Path, levels: int, inner: bytes, kinds: tuple[str, ...] = NEST_KINDS
) -> tuple[Path, tuple[str, ...]]:
    """``levels`` containers nested in each other around a ``bottom.log`` holding ``inner``.

    Returns the outermost file and the names from the outermost inwards: ``level1.<kind>``
    (the name to give the outermost file), ``level2.<kind>`` (its member) ... ``bottom.log``.
    """
    work = dest.parent / f".{dest.name}.layers"
    work.mkdir(parents=True, exist_ok=True)
    current, name = work / "bottom.log", "bottom.log"
    current.write_bytes(inner)
    names = [name]
    for level in range(levels, 0, -1):
        kind = kinds[level % len(kinds)]
        out = work / f"layer{level % 2}"
        _wrap(kind, current, name, out)
        current, name = out, f"level{level}.{kind}"
        names.append(name)
    current.replace(dest)
    shutil.rmtree(work)
    return dest, tuple(reversed(names))
