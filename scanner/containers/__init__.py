"""Containers: formats that hold files. One module per format; one line each below.

The pipeline asks each, in order, whether a file's first bytes are its format.
"""

from __future__ import annotations

from scanner.artifacts import Artifact
from scanner.containers.android_backup import AndroidBackup
from scanner.containers.base import Container
from scanner.containers.compressed import Bzip2, Gzip, Xz
from scanner.containers.miui_backup import MiuiBackup
from scanner.containers.openaes import OpenAes
from scanner.containers.raw_image import RawImage
from scanner.containers.tar import Tar
from scanner.containers.zip import Zip
from scanner.containers.zstd import Zstd

CONTAINERS: list[type[Container]] = [
    AndroidBackup,
    MiuiBackup,
    OpenAes,
    Gzip,
    Bzip2,
    Xz,
    Zstd,  # only with the zstandard package
    Zip,
    Tar,
    RawImage,  # last: an ext4 superblock; other unclaimed blobs reach it as a fallback
]


def container_for(head: bytes, artifact: Artifact) -> Container | None:
    for container in CONTAINERS:
        if container.detect(head, artifact):
            return container()
    return None


__all__ = ["CONTAINERS", "Container", "container_for"]
