"""MIUI local backups (``.bak``): a MIUI text header, then a normal Android backup stream.

The header (``layout.py``) names the app; its members appear directly under
the ``.bak`` in the provenance chain, with that app in their ``Origin``.
Types 1 and 21 use MIUI's own encryption, which is not documented: ``unsupported``.
Damage and empty backups are reported as for ``.ab`` files (``formats/adb/stream.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from construct import ConstructError

from scanner.artifacts import Artifact, Origin
from scanner.artifacts.artifact import read_up_to
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Corrupt, Truncated, Unreadable, Unsupported
from scanner.formats.adb import layout as adb_layout
from scanner.formats.adb.container import AndroidBackup
from scanner.formats.adb.stream import (
    HEADER_LIMIT,
    NO_APP_DATA,
    header_problem,
    open_body,
    walk_body,
)
from scanner.formats.miui.layout import (
    ENCRYPTED,
    ENCRYPTED_USER,
    MAGIC,
    PLAIN,
    PLAIN_USER,
    SUPPORTED_VERSION,
    MiuiBackupHeader,
)

MIUI_ENCRYPTION = "MIUI's own backup encryption is not documented; keyscan cannot open it"


@dataclass(frozen=True)
class MiuiHeader:
    package: str
    label: str
    feature_id: int
    type: int
    user_id: int | None
    size: int  # the Android backup stream starts at this offset


def parse_header(prefix: bytes, at_eof: bool) -> MiuiHeader:
    """The MIUI header at the start of ``prefix``; ``at_eof``: the file ends within it."""
    try:
        parsed = MiuiBackupHeader.parse(prefix)
    except ConstructError as error:
        raise header_problem(error, at_eof, "MIUI backup") from error
    if parsed.version != SUPPORTED_VERSION:
        raise Unsupported(
            f"MIUI backup version {parsed.version}; keyscan reads version {SUPPORTED_VERSION}, "
            "the only one MIUI itself reads"
        )
    if parsed.type in (ENCRYPTED, ENCRYPTED_USER):
        raise Unsupported(MIUI_ENCRYPTION)
    if parsed.type not in (PLAIN, PLAIN_USER):
        raise Unsupported(f"unknown MIUI backup type {parsed.type} (known: 0, 1, 20, 21)")
    package, _, label = parsed.app.partition(" ")
    return MiuiHeader(
        package=package,
        label=label,
        feature_id=parsed.feature_id,
        type=parsed.type,
        user_id=parsed.user_id,
        size=parsed.header_size,
    )


class MiuiBackup(Container):
    name = "miui_backup"
    raises = AndroidBackup.raises  # the same body after its own header

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head.startswith(MAGIC)

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        prefix = read_up_to(stream, HEADER_LIMIT)
        at_eof = len(prefix) < HEADER_LIMIT
        header = parse_header(prefix, at_eof)
        rest = prefix[header.size :]
        magic = adb_layout.MAGIC
        if not rest and at_eof:
            ctx.report(Unreadable(NO_APP_DATA), artifact.chain)
            return
        if not rest.startswith(magic):
            if at_eof and magic.startswith(rest):
                raise Truncated("the Android backup header after the MIUI header ends early")
            raise Corrupt("no Android backup stream follows the MIUI header")
        reader = open_body(stream, ctx, artifact.chain, rest, header.size)
        origin = Origin(package=header.package, label=header.label)
        yield from walk_body(artifact, reader, ctx, origin)
