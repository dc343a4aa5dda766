"""JSON documents: saved server answers, Gadgetbridge preference exports, any JSON with a key field.

Not yet implemented: detect() answers False so the registry can already name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.extractors.base import Extractor
from scanner.model import Candidate


class JsonDocument(Extractor):
    name = "json_doc"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return False

    def extract(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Candidate]:
        return iter(())
