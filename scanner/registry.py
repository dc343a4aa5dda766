"""Every format keyscan recognises, one line each, in the order they are asked.

A file's first bytes (never its name) decide: the first format that claims them reads it,
as its role says (``scanner.roles.Role``): a container is walked, a grouped format holds
the file for its group, an extractor reads it for keys, and the fallback carves a binary
nothing else claimed. Each format declares, beside its code, its name, its ``detect``,
its role and the library exceptions it raises (``raises``); the pipeline knows no format.
"""

from __future__ import annotations

import io

from scanner.artifacts import Artifact
from scanner.carving.raw_image import RawImage, UnclaimedImage
from scanner.containers.base import Container
from scanner.containers.grouped import Grouper
from scanner.errors import LibraryErrors
from scanner.extractors.base import Extractor
from scanner.formats.adb.container import AndroidBackup
from scanner.formats.compressed.container import Bzip2, Gzip, Xz
from scanner.formats.compressed.zstd import Zstd
from scanner.formats.json.extractor import JsonDocument
from scanner.formats.logs.extractor import LogLines
from scanner.formats.miui.container import MiuiBackup
from scanner.formats.neo.group import NeoBackups
from scanner.formats.openaes.container import OpenAes
from scanner.formats.sqlite.family import SqliteFamilies
from scanner.formats.tar.container import Tar
from scanner.formats.unsupported.container import UNSUPPORTED_ARCHIVES
from scanner.formats.xml.extractor import XmlPrefs
from scanner.formats.zip.container import Zip
from scanner.roles import Role

Format = type[Container] | type[Grouper] | type[Extractor]

FORMATS: tuple[Format, ...] = (
    AndroidBackup,  # container: "ANDROID BACKUP\n"
    MiuiBackup,  # container: MIUI's text header, then an Android backup
    OpenAes,  # container: "OAES" (TWRP encryption)
    Gzip,  # container
    Bzip2,  # container
    Xz,  # container
    Zstd,  # container
    Zip,  # container
    Tar,  # container
    *UNSUPPORTED_ARCHIVES,  # containers: 7z, RAR, lz4...: an unsupported problem naming each
    RawImage,  # container: an ext4 superblock
    SqliteFamilies,  # grouped: a database with its -wal and -journal
    NeoBackups,  # grouped: a Neo Backup's properties JSON, which claims its .enc archives
    JsonDocument,  # extractor
    XmlPrefs,  # extractor
    LogLines,  # extractor, last: any other text file
    UnclaimedImage,  # fallback: a big binary nothing above claimed, carved
)

CONTAINERS: list[type[Container]] = [
    f for f in FORMATS if issubclass(f, Container) and f.role is Role.CONTAINER
]
GROUPERS: list[type[Grouper]] = [f for f in FORMATS if issubclass(f, Grouper)]
EXTRACTORS: list[type[Extractor]] = [f for f in FORMATS if issubclass(f, Extractor)]

# What every format's libraries raise, and the problem each means (a stream read inside
# one format may be decoded by another: a zip member inside a tar).
LIBRARY_ERRORS: LibraryErrors = {
    error: meaning for fmt in FORMATS for error, meaning in fmt.raises.items()
}


def claimant(head: bytes, artifact: Artifact) -> Format | None:
    """The first format that claims a file by its first bytes; None: nothing does."""
    for fmt in FORMATS:
        if fmt.detect(head, artifact):
            return fmt
    return None


def recognises(head: bytes) -> bool:
    """Does a container or grouped format claim these bytes by their own marks (magic,
    header)? Extractors and the fallback, which take any text or blob, do not count."""
    anywhere = Artifact(chain=("(bytes)",), opener=lambda: io.BytesIO(head))
    return any(
        fmt.detect(head, anywhere) for fmt in FORMATS if fmt.role in (Role.CONTAINER, Role.GROUPED)
    )


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
