"""Neo Backup folders: the properties JSON claims the encrypted archives of its backup.

An ``.enc`` archive is ciphertext with no header, so nothing in its bytes says what it
is; the properties file, recognised by its content, names its backup folder and says
how the archives there are encrypted (``properties.py``). ``NeoBackups`` holds what the
properties of one container level said, and hands each ``<what>.tar[.gz|.zst].enc`` in
that folder to ``NeoArchive``, which decrypts it as a stream and yields the plaintext
(a gzip, zstd or tar stream that the registry's containers walk as usual). Plain
archives need no help: their own magic claims them.

The backup's date is the decrypted archive's time (local, zone unknown): members with a
time of their own (tar member mtimes) keep theirs.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator
from typing import BinaryIO

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import Origin, read_up_to
from scanner.containers.base import Container
from scanner.containers.grouped import Grouper, Guard
from scanner.context import ScanContext
from scanner.errors import NeedsPassword, Unsupported, WrongPassword
from scanner.formats.neo.crypto import CHUNK, DecryptedStream, Scheme, cipher, derive_key, opens
from scanner.formats.neo.properties import (
    ENCRYPTED_ARCHIVE,
    MAX_SIZE,
    Properties,
    instance_of_properties,
    is_properties,
    parse,
)

TIME_SOURCE = "Neo Backup date"

# (container level: every chain element but the last; backup folder inside it)
_Folder = tuple[tuple[str, ...], str]


def _folder_of(chain: tuple[str, ...]) -> _Folder:
    return chain[:-1], posixpath.dirname(chain[-1])


class NeoArchive(Container):
    """One encrypted archive of a Neo Backup, decrypted with its properties' scheme and IV."""

    name = "neo-backup archive"

    def __init__(self, properties: Properties) -> None:
        self.properties = properties

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return False  # ciphertext: only its properties claim it (NeoBackups.claim)

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        props = self.properties
        scheme = props.scheme_for_encrypted()
        if scheme is Scheme.PGP:
            raise Unsupported(
                "Neo Backup archive encrypted with OpenPGP (cipherType AES_256): it needs the "
                "user's OpenPGP secret key, not a password"
            )
        first = read_up_to(stream, CHUNK)
        key = self._unlock(scheme, first, artifact.chain, ctx)
        decrypted = DecryptedStream(stream, cipher(scheme, key, props.iv), first)
        reader = io.BufferedReader(decrypted, buffer_size=1 << 16)
        yield artifact.child(
            posixpath.basename(artifact.chain[-1]).removesuffix(".enc"),
            lambda: reader,
            mtime=props.backup_time,
            mtime_source=TIME_SOURCE,
            mtime_utc=False,
            reopenable=False,
            origin=Origin(package=props.package),
        )
        decrypted.drain()  # the GCM tag is at the very end, after what the reader needed
        if decrypted.failure is not None:
            raise decrypted.failure

    def _unlock(
        self, scheme: Scheme, first: bytes, chain: tuple[str, ...], ctx: ScanContext
    ) -> bytes:
        tried = 0
        for password in ctx.passwords(chain):
            tried += 1
            # Java's PBKDF2 takes the password's chars as UTF-8: the text form first.
            for form in reversed(password.encoded("utf-8")):
                key = derive_key(form, scheme)
                if opens(scheme, key, self.properties.iv, first):
                    return key
        if tried == 0:
            raise NeedsPassword(
                "Neo Backup encrypted archive: give the backup password with --password, "
                "--password-file or KEYSCAN_PASSWORD"
            )
        raise WrongPassword(
            f"none of the {tried} passwords tried decrypts this Neo Backup archive "
            "to a gzip, zstd or tar stream"
        )


class NeoBackups(Grouper):
    """The properties files of one container level, and the encrypted archives they name."""

    name = "neo-backup"

    def __init__(self, ctx: ScanContext, guard: Guard) -> None:
        super().__init__(ctx, guard)
        self.backups: dict[_Folder, Properties] = {}

    @classmethod
    def member_kind(cls, head: bytes) -> str | None:
        return "properties" if is_properties(head) else None

    def add(self, kind: str, artifact: Artifact, stream_source: Callable[[], BinaryIO]) -> None:
        props = parse(read_up_to(stream_source(), MAX_SIZE), artifact.chain[-1])
        self.backups[(artifact.chain[:-1], instance_of_properties(artifact.chain[-1]))] = props

    def claim(self, artifact: Artifact) -> Container | None:
        if not ENCRYPTED_ARCHIVE.fullmatch(posixpath.basename(artifact.chain[-1])):
            return None
        props = self.backups.get(_folder_of(artifact.chain))
        return NeoArchive(props) if props is not None else None

    def next_artifact(self, artifact: Artifact) -> None:
        pass  # a backup's archives may come after other folders: kept for the whole level

    def flush(self) -> None:
        self.backups.clear()
