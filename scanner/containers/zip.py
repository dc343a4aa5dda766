"""zip via pyzipper: stored, deflated, bzip2, lzma, Zip64, ZipCrypto and WinZip AES.

A zip needs random access: a nested zip (a member of another container) is spooled
first, since seeking backwards in a compressed member restarts its decompression.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO

import pyzipper

from scanner.artifacts import Artifact, spool
from scanner.artifacts.device_paths import storage_member_to_device_path
from scanner.containers.base import Container, limited
from scanner.context import ScanContext
from scanner.errors import Corrupt, LimitExceeded, NeedsPassword, Truncated, WrongPassword


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    try:
        # DOS times carry no zone; read them as UTC, like the other member times.
        return datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _password_forms(text: str) -> Iterator[bytes]:
    """UTF-8 first (7-Zip, Info-ZIP on Linux); then Latin-1 (old Windows tools)."""
    yield text.encode("utf-8")
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        return
    if latin != text.encode("utf-8"):
        yield latin


class Zip(Container):
    name = "zip"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        if artifact.depth > 0 or not stream.seekable():
            stream = spool(stream, ctx.limits.spool_memory, ctx.limits.max_member_bytes)
        try:
            archive = pyzipper.AESZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            if "truncated" in str(error).lower() or "end of central" in str(error).lower():
                raise Truncated(f"zip central directory missing or cut off: {error}") from error
            raise Corrupt(f"not a readable zip: {error}") from error
        with archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            if len(infos) > ctx.limits.max_entries:
                raise LimitExceeded(f"{len(infos):,} members, over the {ctx.limits.max_entries:,} limit")
            password: bytes | None = None
            locked = False  # no password opened this zip: skip its other encrypted members
            for info in infos:
                where = (*artifact.chain, info.filename)
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 1 << 20 and ratio > ctx.limits.max_ratio:
                    ctx.problem(
                        "limit",
                        where,
                        f"compression ratio {ratio:,.0f}:1 is over the {ctx.limits.max_ratio}:1 "
                        "limit (zip bomb?); skipped",
                    )
                    continue
                if info.flag_bits & 0x1:
                    if locked:
                        continue
                    try:
                        password = self._password_for(archive, info, artifact.chain, ctx, password)
                    except (NeedsPassword, WrongPassword) as error:
                        ctx.report(error, artifact.chain)
                        locked = True
                        continue
                yield artifact.child(
                    info.filename,
                    self._opener(archive, info, password, ctx),
                    size=info.file_size,
                    mtime=_zip_time(info),
                    mtime_source="zip member mtime",
                    device_path=storage_member_to_device_path(info.filename),
                )

    @staticmethod
    def _opener(archive: pyzipper.AESZipFile, info: zipfile.ZipInfo, password: bytes | None, ctx: ScanContext):  # noqa: ANN205
        def open_member() -> BinaryIO:
            handle = archive.open(info, pwd=password if info.flag_bits & 0x1 else None)
            return limited(handle, ctx.limits.max_member_bytes, f"zip member {info.filename}")

        return open_member

    @staticmethod
    def _password_for(
        archive: pyzipper.AESZipFile,
        info: zipfile.ZipInfo,
        chain: tuple[str, ...],
        ctx: ScanContext,
        known: bytes | None,
    ) -> bytes:
        """The first password that opens ``info`` (the last one that worked is tried first).

        The check value in the header is short (1 byte for ZipCrypto, 2 for AES), so a
        password is only accepted once the first bytes decrypt and decompress.
        """
        typed = (form for text in ctx.passwords(chain) for form in _password_forms(text))
        tried = 0
        for pwd in itertools.chain([known] if known else [], typed):
            tried += 1
            try:
                with archive.open(info, pwd=pwd) as handle:
                    handle.read(1 << 16)
                return pwd
            except Exception:  # noqa: BLE001 - RuntimeError, BadZipFile, zlib.error: wrong key
                continue
        if tried == 0:
            raise NeedsPassword(
                f"encrypted zip member {info.filename}: give a password with --password, "
                "--password-file or KEYSCAN_PASSWORD"
            )
        raise WrongPassword(f"none of the {tried} password forms tried opens {info.filename}")
