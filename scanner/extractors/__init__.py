"""Extractors: turn a file into key candidates. One module per file kind; one line each.

SQLite databases are handled apart (``sqlite.extract_family``) because a database, its
``-wal`` and its ``-journal`` are read together.
"""

from __future__ import annotations

from scanner.artifacts import Artifact
from scanner.extractors.base import Extractor
from scanner.extractors.json_doc import JsonDocument
from scanner.extractors.log import LogLines
from scanner.extractors.xml_prefs import XmlPrefs

EXTRACTORS: list[type[Extractor]] = [
    JsonDocument,
    XmlPrefs,
    LogLines,  # last: any other text file
]


def extractor_for(head: bytes, artifact: Artifact) -> Extractor | None:
    for extractor in EXTRACTORS:
        if extractor.detect(head, artifact):
            return extractor()
    return None


__all__ = ["EXTRACTORS", "Extractor", "extractor_for"]
