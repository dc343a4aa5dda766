"""Raw partition images and unknown blobs: carve what a file system walk would miss.

Not yet implemented: nothing is claimed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext


class RawImage(Container):
    name = "raw image"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return False

    @classmethod
    def wants_unclaimed(cls, head: bytes, artifact: Artifact) -> bool:
        """A file no container or extractor claimed: is it worth carving?"""
        return False

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        return iter(())
