"""zip via pyzipper: stored, deflated, bzip2, lzma, Zip64, ZipCrypto and WinZip AES.

A zip needs random access: one that is not a plain file on disk (a member of another
container) is spooled first, since seeking backwards in a compressed member restarts its
decompression. The archive and the spool are closed when the walk ends, on every path,
so members are yielded as forward-only: the pipeline reads (or spools) each one before
asking for the next.
"""

from __future__ import annotations

import io
import itertools
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, BinaryIO, ClassVar

import pyzipper

from scanner.artifacts import Artifact, spool
from scanner.artifacts.device_paths import member_device_path
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import (
    Corrupt,
    LibraryErrors,
    LimitExceeded,
    NeedsPassword,
    ScanError,
    Truncated,
    Unsupported,
    WrongPassword,
)
from scanner.formats.zip.bounds import ZipBudget, overlapping
from scanner.formats.zip.times import member_time
from scanner.passwords import Password

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_RATIO_FLOOR = 1 << 20  # small members may compress very well; bombs are large
_CHECK_BYTES = 1 << 20  # a member this small is read whole (CRC / HMAC) to test a password


def _password_forms(password: Password) -> list[bytes]:
    """As given; then its text in UTF-8 (7-Zip, Info-ZIP on Linux), CP437 (old Windows
    tools: the OEM code page) and Latin-1."""
    return password.encoded("utf-8", "cp437", "latin-1")


# pyzipper carries its own copy of zipfile, with its own exception classes.
_BAD_ZIP = (pyzipper.BadZipFile, pyzipper.LargeZipFile, zipfile.BadZipFile, zipfile.LargeZipFile)


def _is_apk(infos: list[zipfile.ZipInfo]) -> bool:
    names = {info.filename for info in infos}
    return "AndroidManifest.xml" in names and "classes.dex" in names


class _MemberStream(io.RawIOBase):
    """A member being read: the size limit, and pyzipper's errors in our words."""

    def __init__(
        self, handle: BinaryIO, name: str, limit: int, charge: Callable[[int], None]
    ) -> None:
        self._charge = charge
        self._handle = handle
        self._name = name
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        try:
            data = self._handle.read(len(view))
        except EOFError as error:
            raise Truncated(f"zip member {self._name} ends early") from error
        except (*_BAD_ZIP, zlib.error, OSError, lzma.LZMAError) as error:
            # "Bad CRC-32", "Bad HMAC check", inflate errors: the member is damaged.
            raise Corrupt(f"zip member {self._name} is damaged: {error}") from error
        self._count += len(data)
        if self._count > self._limit:
            raise LimitExceeded(f"zip member {self._name} is larger than {self._limit:,} bytes")
        self._charge(len(data))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._handle.close()
        super().close()


def _open_archive(stream: BinaryIO) -> pyzipper.AESZipFile:
    try:
        return pyzipper.AESZipFile(stream)
    except NotImplementedError as error:  # "zip file version 8.4": a newer spec, or damage
        raise Unsupported(f"zip uses a feature keyscan cannot read: {error}") from error
    except (*_BAD_ZIP, ValueError, EOFError) as error:
        text = str(error).lower()
        if "not a zip file" in text or "truncated" in text or "end of central" in text:
            # The head had a zip signature, so a missing central directory means a cut.
            raise Truncated(f"zip central directory missing or cut off: {error}") from error
        raise Corrupt(f"not a readable zip: {error}") from error


class Zip(Container):
    name = "zip"
    # What zipfile / pyzipper (and the decompressors under them) raise on damage.
    raises: ClassVar[LibraryErrors] = {
        zipfile.BadZipFile: Corrupt,
        pyzipper.BadZipFile: Corrupt,
        zlib.error: Corrupt,
        lzma.LZMAError: Corrupt,
    }

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        with ExitStack() as cleanup:
            if artifact.depth > 0 or not stream.seekable():
                stream = spool(stream, ctx.limits.spool_memory, ctx.limits.max_member_bytes)
                cleanup.callback(stream.close)  # the temp file goes with it
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
            archive = cleanup.enter_context(_open_archive(stream))
            yield from self._members(archive, stream, artifact, ZipBudget(ctx, size), ctx)

    def _members(
        self,
        archive: pyzipper.AESZipFile,
        stream: BinaryIO,
        artifact: Artifact,
        budget: ZipBudget,
        ctx: ScanContext,
    ) -> Iterator[Artifact]:
        limits = ctx.limits
        every = archive.infolist()
        nameless = [info for info in every if not info.filename]
        if nameless:  # a name starting with NUL (zipfile cuts names there): damage
            ctx.report(Corrupt(f"{len(nameless)} member(s) without a name"), artifact.chain)
        infos = [info for info in every if info.filename and not info.is_dir()]
        if len(infos) > limits.max_entries:
            raise LimitExceeded(f"{len(infos):,} members, over the {limits.max_entries:,} limit")
        shared = {id(every[index]) for index in overlapping(every, stream)}
        if shared:
            ctx.report(
                Corrupt(
                    f"{len(shared):,} members share their bytes with other members (a zip "
                    "bomb's construction); they are not read"
                ),
                artifact.chain,
            )
        if _is_apk(infos):
            return  # an app's code and resources (TWRP data/app, adb "a" domain): no keys there
        password: bytes | None = None
        locked = False  # no password opened this zip: skip its other encrypted members
        for info in infos:
            if budget.exhausted:
                return  # reported where it happened
            if id(info) in shared:
                continue
            where = (*artifact.chain, info.filename)
            refusal = self._refusal(info, ctx)
            if refusal is not None:
                ctx.report(refusal, where)
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
            mtime, mtime_source, mtime_utc = member_time(info)
            member = artifact.child(
                info.filename,
                self._opener(archive, info, password, budget, ctx),
                size=info.file_size,
                mtime=mtime,
                mtime_source=mtime_source,
                mtime_utc=mtime_utc,
                device_path=member_device_path(info.filename),
                reopenable=False,  # the archive closes when the walk ends
            )
            with ctx.charging():  # its reads count against the input's budget
                yield member

    @staticmethod
    def _refusal(info: zipfile.ZipInfo, ctx: ScanContext) -> ScanError | None:
        """Why a member is not read at all, from its header alone."""
        limits = ctx.limits
        if info.header_offset < 0:  # a damaged central directory: seeking there fails
            return Corrupt("the central directory places this member before the zip's start")
        if info.compress_type not in _METHODS:  # pyzipper gives AES members' real method
            return Unsupported(f"compression method {info.compress_type} is not supported")
        if info.file_size > limits.max_member_bytes:
            return LimitExceeded(
                f"member claims {info.file_size:,} bytes, over the "
                f"{limits.max_member_bytes:,}-byte limit; skipped"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            return LimitExceeded(
                f"compression ratio {ratio:,.0f}:1 is over the {limits.max_ratio}:1 "
                "limit (zip bomb?); skipped"
            )
        return None

    @staticmethod
    def _opener(
        archive: pyzipper.AESZipFile,
        info: zipfile.ZipInfo,
        password: bytes | None,
        budget: ZipBudget,
        ctx: ScanContext,
    ) -> Callable[[], BinaryIO]:
        def open_member() -> BinaryIO:
            try:
                handle = archive.open(info, pwd=password if info.flag_bits & 0x1 else None)
            except NotImplementedError as error:  # strong encryption, patched data
                raise Unsupported(f"zip member {info.filename}: {error}") from error
            except (*_BAD_ZIP, ValueError) as error:  # a bad local header or its offset
                raise Corrupt(f"zip member {info.filename}: {error}") from error
            limit = ctx.limits.max_member_bytes
            member = _MemberStream(handle, info.filename, limit, budget.charge)
            return io.BufferedReader(member, buffer_size=1 << 16)

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
        password is only accepted once the first bytes decrypt and decompress (a small
        member is read whole, so its CRC or HMAC is checked too).
        """
        typed = (form for password in ctx.passwords(chain) for form in _password_forms(password))
        tried: set[bytes] = set()
        for pwd in itertools.chain([known] if known else [], typed):
            if pwd in tried:
                continue
            tried.add(pwd)
            try:
                with archive.open(info, pwd=pwd) as handle:
                    handle.read(_CHECK_BYTES)
                return pwd
            except Exception:  # "Bad password", bad CRC or HMAC, inflate garbage: not this one
                continue
        if not tried:
            raise NeedsPassword(
                f"encrypted zip member {info.filename}: give a password with --password, "
                "--password-file or KEYSCAN_PASSWORD"
            )
        raise WrongPassword(f"none of the {len(tried)} password forms tried opens {info.filename}")
