"""Hostile shapes of issue 16, built small and byte for byte the same each time.

Not part of ``python -m corpus``: the corpus is what phones and tools make, these are
what an attacker who read the code makes. ``tests/test_hostile_shapes.py`` and
``tools/snapshot.py`` scan them; each builder streams from file to file, never holding
more than one layer in memory.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from corpus.common import BASE_EPOCH, fake_key, zip_of
from corpus.samples.archives import tar_bytes, zipcrypto_zip

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


# --- the shapes ---------------------------------------------------------------------------

GiB = 1 << 30
DEEP = 1000  # levels of nesting (folders, containers), past Python's default stack
MANY = 5000  # key lines in one log
ODD_PASSWORD = "pässwort"  # the zip's password; a non-UTF-8 one is given before it
NOT_UTF8_PASSWORD = b"\xff\xfe-not-utf-8"


@dataclass(frozen=True)
class Shape:
    """One hostile input below the build folder and what its scan must give."""

    family: str  # the attack, as issue 16 names it
    name: str  # file or folder below the build folder
    problems: tuple[str, ...]  # problem kinds, in report order
    keys: frozenset[str]  # every key found
    passwords: tuple[str | bytes, ...] = ()


def _sparse_member(name: str, hole: int, tail: bytes) -> bytes:
    """A pax GNU sparse 0.1 member: ``tail`` after a hole of ``hole`` bytes."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(tail), BASE_EPOCH
    info.pax_headers = {
        "GNU.sparse.size": str(hole + len(tail)),
        "GNU.sparse.numblocks": "1",
        "GNU.sparse.map": f"{hole},{len(tail)}",
        "GNU.sparse.name": name,
    }
    return info.tobuf(tarfile.PAX_FORMAT) + tail.ljust(512, b"\0")


def _local(name: bytes, method: int, crc: int, stored: int, size: int) -> bytes:
    fields = (20, 0, method, 0x6000, 0x5861, crc, stored, size, len(name), 0)
    return b"PK\x03\x04" + struct.pack("<5H3I2H", *fields) + name


def _central(name: bytes, method: int, crc: int, stored: int, size: int, offset: int) -> bytes:
    fields = (20, 20, 0, method, 0x6000, 0x5861, crc, stored, size, len(name))
    rest = (0, 0, 0, 0, 0o644 << 16, offset)
    return b"PK\x01\x02" + struct.pack("<6H3I5H2I", *fields, *rest) + name


def shared_stream_zip(count: int) -> bytes:
    """Fifield's overlap: ``count`` central entries of 1 MiB each, one shared deflate stream."""
    data = bytes(1 << 20)
    packed = zlib.compress(data, 9, wbits=-15)
    crc = zlib.crc32(data)
    local = _local(b"zeros.bin", 8, crc, len(packed), len(data)) + packed
    central = _central(b"zeros.bin", 8, crc, len(packed), len(data), 0) * count
    end = struct.pack("<4H2IH", 0, 0, count, count, len(central), len(local), 0)
    return local + central + b"PK\x05\x06" + end


def build_hostile(dest: Path) -> list[Shape]:
    """Write every shape below ``dest`` (about 1 MB in all)."""
    dest.mkdir(parents=True, exist_ok=True)
    sibling = ("sibling.log", key_line("sibling"))
    only_sibling = frozenset({fake_key("sibling")})
    shapes = []

    for family, kinds in (("nested containers", NEST_KINDS), ("nested gzip", ("gz",))):
        label = "nest-" + "-".join(kinds)
        nest, names = nested_containers(dest / f".{label}", DEEP, key_line("deep"), kinds)
        (dest / f"{label}.zip").write_bytes(zip_of([sibling, (names[0], nest.read_bytes())]))
        nest.unlink()
        shapes.append(Shape(family, f"{label}.zip", ("limit",), only_sibling))

    here = dest / "deep-folders" / "deep"
    here.mkdir(parents=True)
    for _ in range(DEEP):
        here = here / "d"
        here.mkdir()
    (here / "bottom.log").write_bytes(key_line("deep"))
    (dest / "deep-folders" / sibling[0]).write_bytes(sibling[1])
    both = frozenset({fake_key("sibling"), fake_key("deep")})
    shapes.append(Shape("deep folders", "deep-folders", (), both))

    holes = b"".join(
        _sparse_member(f"hole{n}.log", 60 * GiB, b"after the hole\n") for n in range(4)
    )
    sparse = holes + tar_bytes([sibling])  # its members, then the end-of-archive blocks
    (dest / "sparse-holes.tar").write_bytes(sparse)
    shapes.append(Shape("sparse tar members", "sparse-holes.tar", ("limit",) * 4, only_sibling))

    overlapping = zip_of([sibling, ("bomb.zip", shared_stream_zip(3000))])
    (dest / "overlapping.zip").write_bytes(overlapping)
    shapes.append(Shape("overlapping zip members", "overlapping.zip", ("corrupt",), only_sibling))

    many = b"".join(key_line("many") for _ in range(MANY)) + b"".join(
        key_line(f"many-{n}") for n in range(100)
    )
    (dest / "many-keys.log").write_bytes(many)
    keys = frozenset({fake_key("many"), *(fake_key(f"many-{n}") for n in range(100))})
    shapes.append(Shape("many-key logs", "many-keys.log", (), keys))

    locked = zipcrypto_zip([sibling], ODD_PASSWORD)
    (dest / "odd-password.zip").write_bytes(locked)
    passwords = (NOT_UTF8_PASSWORD, ODD_PASSWORD.encode("latin-1"), ODD_PASSWORD)
    shapes.append(Shape("odd passwords", "odd-password.zip", (), only_sibling, passwords))
    only_odd = (NOT_UTF8_PASSWORD,)
    shapes.append(
        Shape("odd passwords", "odd-password.zip", ("wrong-password",), frozenset(), only_odd)
    )
    # Names that are not UTF-8: a file in a folder and a tar member (PEP 383 gives U+DCFF).
    bad_name = os.fsdecode(b"bad\xff.log")
    (dest / "bad-names").mkdir()
    (dest / "bad-names" / bad_name).write_bytes(key_line("bad-name"))
    (dest / "bad-names.tar").write_bytes(tar_bytes([(bad_name, key_line("bad-member"))]))
    shapes.append(Shape("non-UTF-8 names", "bad-names", (), frozenset({fake_key("bad-name")})))
    bad_member = frozenset({fake_key("bad-member")})
    shapes.append(Shape("non-UTF-8 names", "bad-names.tar", (), bad_member))
    shapes += _links(dest)
    return shapes


def _links(dest: Path) -> list[Shape]:
    """Links out of the evidence and special files in a folder, and link members in a tar."""
    outside = dest / "outside.log"  # beside the folder: read only if a link were followed
    outside.write_bytes(key_line("outside"))
    folder = dest / "links"
    folder.mkdir()
    (folder / "inside.log").write_bytes(key_line("inside"))
    for name, target in (
        ("kernel.log", "/proc/kmsg"),  # blocks a reader forever
        ("self", "/proc/self"),  # the root folder through /proc/self/root
        ("outside.log", "../outside.log"),
        ("loop", "."),
    ):
        (folder / name).symlink_to(target)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe.log")
    members = io.BytesIO()
    with tarfile.open(fileobj=members, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, target, kind in (
            ("kernel.log", "/proc/kmsg", tarfile.SYMTYPE),
            ("passwd.log", "/etc/passwd", tarfile.LNKTYPE),
            ("up.log", "../../outside.log", tarfile.SYMTYPE),
            ("pipe.log", "", tarfile.FIFOTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = kind, target, BASE_EPOCH
            archive.addfile(info)
        data = key_line("tar-inside")
        info = tarfile.TarInfo("inside.log")
        info.size, info.mtime = len(data), BASE_EPOCH
        archive.addfile(info, io.BytesIO(data))
    (dest / "links.tar").write_bytes(members.getvalue())
    return [
        Shape("links and special files", "links", (), frozenset({fake_key("inside")})),
        Shape("links and special files", "links.tar", (), frozenset({fake_key("tar-inside")})),
    ]


def remove_tree(root: Path) -> None:
    """``shutil.rmtree`` without recursion (it recurses, and 1000 folders exhaust the stack)."""
    folders, stack = [], [root]
    while stack:
        folder = stack.pop()
        folders.append(folder)
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                stack.append(entry)
            else:
                entry.unlink()
    for folder in reversed(folders):
        folder.rmdir()
