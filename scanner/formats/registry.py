"""Every format keyscan recognises, one line each, in the order they are asked.

A file's first bytes (never its name) decide: the first container that claims them walks
it; SQLite files are grouped into families; an extractor reads what is left.
"""

from __future__ import annotations

from scanner.artifacts import Artifact
from scanner.carving.raw_image import RawImage
from scanner.containers.base import Container
from scanner.containers.grouped import Grouper
from scanner.extractors.base import Extractor
from scanner.formats.adb.container import AndroidBackup
from scanner.formats.compressed.container import Bzip2, Gzip, Xz
from scanner.formats.compressed.zstd import Zstd
from scanner.formats.json.extractor import JsonDocument
from scanner.formats.logs.extractor import LogLines
from scanner.formats.miui.container import MiuiBackup
from scanner.formats.openaes.container import OpenAes
from scanner.formats.sqlite.family import SqliteFamilies
from scanner.formats.tar.container import Tar
from scanner.formats.unsupported.container import UNSUPPORTED_ARCHIVES
from scanner.formats.xml.extractor import XmlPrefs
from scanner.formats.zip.container import Zip

CONTAINERS: list[type[Container]] = [
    AndroidBackup,
    MiuiBackup,
    OpenAes,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    Zip,
    Tar,
    *UNSUPPORTED_ARCHIVES,  # 7z, RAR, lz4...: an unsupported problem naming the format
    RawImage,  # last: an ext4 superblock; other unclaimed blobs reach it as a fallback
]

GROUPERS: list[type[Grouper]] = [
    SqliteFamilies,  # a database with its -wal and -journal
]

EXTRACTORS: list[type[Extractor]] = [
    JsonDocument,
    XmlPrefs,
    LogLines,  # last: any other text file
]


def container_for(head: bytes, artifact: Artifact) -> Container | None:
    for container in CONTAINERS:
        if container.detect(head, artifact):
            return container()
    return None


def extractor_for(head: bytes, artifact: Artifact) -> Extractor | None:
    for extractor in EXTRACTORS:
        if extractor.detect(head, artifact):
            return extractor()
    return None
