"""Single-stream compression: gzip (rotated logs, TWRP, .tar.gz), bzip2, xz.

Each holds exactly one file; its name is the outer name without the suffix.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import posixpath
from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.base import Container, limited
from scanner.context import ScanContext

_SUFFIXES = (".gz", ".tgz", ".bz2", ".tbz2", ".xz", ".txz")


def _inner_name(artifact: Artifact) -> str:
    base = artifact.name
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") and len(suffix) > 3 else stem
    return base + ".decompressed"


class _Compressed(Container):
    @staticmethod
    def decompress(stream: BinaryIO) -> BinaryIO:
        raise NotImplementedError

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        name = _inner_name(artifact)
        device_path = (
            posixpath.join(posixpath.dirname(artifact.device_path), name)
            if artifact.device_path
            else None
        )
        inner = limited(
            self.decompress(stream), ctx.limits.max_member_bytes, f"{self.name} stream {name}"
        )
        yield artifact.child(name, lambda: inner, device_path=device_path, reopenable=False)


class Gzip(_Compressed):
    name = "gzip"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:2] == b"\x1f\x8b"

    @staticmethod
    def decompress(stream: BinaryIO) -> BinaryIO:
        # Reads concatenated gzip members one after the other, without seeking.
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]


class Bzip2(_Compressed):
    name = "bzip2"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:3] == b"BZh" and head[3:4].isdigit()

    @staticmethod
    def decompress(stream: BinaryIO) -> BinaryIO:
        return bz2.BZ2File(stream)  # type: ignore[return-value]


class Xz(_Compressed):
    name = "xz"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:6] == b"\xfd7zXZ\x00"

    @staticmethod
    def decompress(stream: BinaryIO) -> BinaryIO:
        return lzma.LZMAFile(stream)  # type: ignore[return-value]
