"""Archives keyscan recognises by their magic but cannot open: an ``unsupported`` problem
that names the format, never silence (a 7z or RAR export would otherwise be read as an
unknown blob and end as "no key").

One container per format, so that ``keyscan ls`` names it. Magics are from each format's
own specification: 7-Zip's 7zFormat.txt, RARLAB's technote (RAR 1.5-4 and 5.0), the LZ4
frame format (frame and legacy), lzip's manual, lzop's header, ncompress's ``.Z`` header
(flag bits 5-6 zero, 9-16 bits per code), Microsoft's CAB header, RFC 4880's ASCII armor
(Neo Backup's PGP mode writes OpenPGP messages; binary ones have no fixed magic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import Unsupported


def _compress_z(head: bytes) -> bool:
    """``1F 9D`` and a flags byte that ncompress can have written."""
    return len(head) >= 3 and head[:2] == b"\x1f\x9d" and _valid_compress_flags(head[2])


def _valid_compress_flags(flags: int) -> bool:
    return flags & 0x60 == 0 and 9 <= flags & 0x1F <= 16


def _prefix(magic: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magic)


# (name shown to the user, test of the first bytes)
MAGICS: list[tuple[str, Callable[[bytes], bool]]] = [
    ("7z", _prefix(b"7z\xbc\xaf\x27\x1c")),
    ("RAR 5", _prefix(b"Rar!\x1a\x07\x01\x00")),
    ("RAR", _prefix(b"Rar!\x1a\x07\x00")),
    ("lz4", _prefix(b"\x04\x22\x4d\x18")),
    ("lz4 legacy", _prefix(b"\x02\x21\x4c\x18")),
    ("lzip", lambda head: head.startswith(b"LZIP") and head[4:5] in (b"\x00", b"\x01")),
    ("lzop", _prefix(b"\x89LZO\x00\r\n\x1a\n")),
    ("compress (.Z)", _compress_z),
    ("cab", _prefix(b"MSCF\x00\x00\x00\x00")),
    ("OpenPGP message", _prefix(b"-----BEGIN PGP MESSAGE-----")),
]


class _Unsupported(Container):
    matches: Callable[[bytes], bool]

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return cls.matches(head)

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        raise Unsupported(f"a {self.name} archive: keyscan recognises it but cannot open it")
        yield  # a generator, like every walk


def _format(name: str, matches: Callable[[bytes], bool]) -> type[Container]:
    return type(
        f"Unsupported_{name}",
        (_Unsupported,),
        {"name": name, "matches": staticmethod(matches)},
    )


UNSUPPORTED_ARCHIVES: list[type[Container]] = [_format(name, test) for name, test in MAGICS]
