"""Android backups (``adb backup`` ``.ab``): the stream of ``stream.py`` from byte 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Corrupt
from scanner.formats.adb.layout import MAGIC
from scanner.formats.adb.stream import open_body, walk_body
from scanner.formats.compressed import inflate


class AndroidBackup(Container):
    name = "android_backup"
    raises = dict.fromkeys(inflate.ERRORS, Corrupt)  # the zlib body

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head.startswith(MAGIC)

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        reader = open_body(stream, ctx, artifact.chain)
        yield from walk_body(artifact, reader, ctx)
