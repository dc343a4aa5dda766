"""TWRP's OpenAES encryption (OAES messages).

Not yet implemented: detect() answers False so the registry can already name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext


class OpenAes(Container):
    name = "openaes"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return False

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        return iter(())
