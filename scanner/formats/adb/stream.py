"""The Android backup stream (``adb backup`` ``.ab``), versions 1-5, plain, zlib or AES-256.

Public: ``AndroidBackup`` reads it from the start of a file, ``MiuiBackup`` after its own
header (``open_body``, ``walk_body``, ``header_problem``, ``HEADER_LIMIT``, ``NO_APP_DATA``).

One forward pass, in bounded memory: file -> AES-256-CBC (``adb_crypto``) -> zlib (both
in ``adb_body``, decoded ahead in a worker thread when read from disk) -> tar
(``formats/tar``), whose members are yielded one by one with their device paths.
The header is parsed from a bounded prefix (``layout.py``).

Damage is reported only after the tar has given every member it still can: the body
decoder never raises in the middle (tarfile would turn that into a vague error, or end
quietly); it records what went wrong and ends, the tar reader says where its data
stopped (inside which member), and ``walk_body`` raises the body's problem with the
tar's words. Kinds:
``truncated`` (the zlib stream, the AES data or the tar ends early; a final AES block with
bad padding is dropped and counts as a cut when the tar is incomplete), ``corrupt`` (bad
header fields, bad zlib data, bad final padding after a complete tar, data after the end of
the zlib stream or of the tar), ``unsupported`` (version > 5, unknown cipher),
``needs-password`` / ``wrong-password`` (``adb_crypto.unlock``).

An app that forbids backups (``allowBackup=false``) leaves a bare header, or a header and an
empty tar. That is reported as kind ``unreadable`` with "no app data": nothing is damaged
(not ``corrupt``) and the format is understood (not ``unsupported``), but no app data can
be read from this file, and the input does not count as read.

Zeros after the tar's end-of-archive blocks are record padding; anything else there is
reported (``corrupt``), counted from its first non-zero byte.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import construct
from construct import ConstructError, StreamError

from scanner.artifacts import Artifact, Origin
from scanner.artifacts.artifact import read_up_to
from scanner.containers.readahead import ReadAhead
from scanner.context import ScanContext
from scanner.errors import Corrupt, ScanError, Truncated, Unreadable, Unsupported
from scanner.formats.adb.body import OUT_CHUNK, BodyDecoder, BodyStatus
from scanner.formats.adb.crypto import BLOCK as AES_BLOCK
from scanner.formats.adb.crypto import AesParams, CbcDecryptor, unlock
from scanner.formats.adb.layout import AES_256, AndroidBackupHeader
from scanner.formats.tar.container import Tar

HEADER_LIMIT = 8192  # real headers are 24-520 bytes
TAR_BLOCK = 512
MAX_ROUNDS = 1_000_000  # AOSP uses 10000; a huge count is damage (and would hang the scan)
NO_APP_DATA = (
    "no app data: the app forbids backups (allowBackup=false); the backup holds only a header"
)


@dataclass(frozen=True)
class AdbHeader:
    version: int
    compressed: bool
    aes: AesParams | None
    size: int  # the body starts at this offset of the header's bytes


def header_problem(error: ConstructError, at_eof: bool, what: str) -> ScanError:
    """A construct failure in a text header, as a problem kind with plain words."""
    path = (error.path or "").replace("(parsing)", "").strip(" ->")
    field = path.replace(" -> ", ".") or "start"
    if isinstance(error, StreamError):
        if at_eof:
            return Truncated(f"the {what} header ends early (at field {field})")
        return Corrupt(
            f"the {what} header has no line end in {HEADER_LIMIT:,} bytes (field {field})"
        )
    detail = str(error).split("\n", 1)[-1]
    return Corrupt(f"bad {what} header field {field}: {detail}")


def parse_header(prefix: bytes, at_eof: bool) -> AdbHeader:
    """The header at the start of ``prefix``; ``at_eof``: the file ends within ``prefix``."""
    try:
        parsed = AndroidBackupHeader.parse(prefix)
    except ConstructError as error:
        raise header_problem(error, at_eof, "Android backup") from error
    version = parsed.version
    if version < 1:
        raise Corrupt(f"version {version} is not an Android backup version")
    if version > 5:
        raise Unsupported(
            f"Android backup version {version} is newer than the versions 1-5 keyscan reads"
        )
    if parsed.compressed not in (0, 1):
        raise Corrupt(f"the compressed flag is {parsed.compressed}, not 0 or 1")
    if parsed.encryption not in ("none", AES_256):
        raise Unsupported(
            f"unknown encryption {parsed.encryption!r} (keyscan reads none and AES-256)"
        )
    aes = _check_aes(parsed.aes) if parsed.aes is not None else None
    return AdbHeader(version, bool(parsed.compressed), aes, parsed.header_size)


def _check_aes(fields: construct.Container) -> AesParams:
    params = AesParams(
        user_salt=fields.user_salt,
        checksum_salt=fields.checksum_salt,
        rounds=fields.rounds,
        user_iv=fields.user_iv,
        master_key_blob=fields.master_key_blob,
    )
    # AOSP always writes these sizes (PBKDF2_SALT_SIZE 512 bits, one AES block of IV).
    for name, value, size in (
        ("user password salt", params.user_salt, 64),
        ("master key checksum salt", params.checksum_salt, 64),
        ("user key IV", params.user_iv, 16),
    ):
        if len(value) != size:
            raise Corrupt(f"the {name} is {len(value)} bytes, not {size}: the header is damaged")
    if not 1 <= params.rounds <= MAX_ROUNDS:
        raise Corrupt(f"PBKDF2 round count {params.rounds} is implausible (adb uses 10000)")
    blob = params.master_key_blob
    if not blob or len(blob) % 16:
        raise Corrupt(f"the master key blob is {len(blob)} bytes, not whole AES blocks")
    return params


def open_body(
    stream: BinaryIO,
    ctx: ScanContext,
    provenance: tuple[str, ...] = ("(stream)",),
    prefix: bytes = b"",
    offset: int = 0,
) -> io.BufferedReader:
    """The decoded tar stream of the backup starting at ``prefix`` + ``stream``.

    Raises header and password problems; body problems are in ``result.raw.observed`` (a
    ``BodyStatus``). ``offset``: file bytes before ``prefix`` (a MIUI header), for
    messages. Decoded ahead in a worker thread when ``ctx`` allows (readahead.py).
    """
    return _open(stream, ctx, provenance, prefix, offset)[1]


def _open(
    stream: BinaryIO,
    ctx: ScanContext,
    provenance: tuple[str, ...],
    prefix: bytes,
    offset: int,
) -> tuple[AdbHeader, io.BufferedReader]:
    data = prefix + read_up_to(stream, max(0, HEADER_LIMIT - len(prefix)))
    header = parse_header(data, at_eof=len(data) < HEADER_LIMIT)
    decryptor = None
    if header.aes is not None:
        texts = (text for password in ctx.passwords(provenance) for text in password.texts())
        master = unlock(header.aes, header.version, texts)
        decryptor = CbcDecryptor(master.key, master.iv)
    body = BodyDecoder(
        stream,
        data[header.size :],
        decryptor,
        header.compressed,
        offset + header.size,
        ctx.limits.max_total_bytes,
        ctx.options.fast_inflate,
    )
    after = ctx.read_ahead_after()
    ahead = ReadAhead(body.next_chunk, body.status, body.close, thread_after=after)
    return header, io.BufferedReader(ahead, buffer_size=OUT_CHUNK)


def _drain(reader: BinaryIO) -> int:
    """Read to the end: how many bytes follow the first non-zero one (zeros are padding)."""
    total, first = 0, -1
    while chunk := reader.read(OUT_CHUNK):
        if first < 0 and chunk.count(0) < len(chunk):
            first = total + len(chunk) - len(chunk.lstrip(b"\0"))
        total += len(chunk)
    return 0 if first < 0 else total - first


def walk_body(
    artifact: Artifact, reader: io.BufferedReader, ctx: ScanContext, origin: Origin | None = None
) -> Iterator[Artifact]:
    """Yield the tar members of a decoded body, then report how the body ended; closes
    ``reader`` (and the decoding thread behind it) when done."""
    with reader:
        yield from _members(artifact, reader, ctx, origin)


def _members(
    artifact: Artifact, reader: io.BufferedReader, ctx: ScanContext, origin: Origin | None
) -> Iterator[Artifact]:
    body = cast("ReadAhead[BodyStatus]", reader.raw)
    if not any(body.head(TAR_BLOCK)):  # nothing, or an end-of-archive block: no member
        after = _drain(reader)
        if body.observed.failure is not None and body.observed.source_bytes:
            raise body.observed.failure
        if after:
            raise Corrupt(
                f"the tar starts with an end-of-archive block; {_bytes(after)} of data follow"
            )
        ctx.report(Unreadable(NO_APP_DATA), artifact.chain)
        return
    last = "(none)"
    try:
        for child in Tar().walk(artifact, reader, ctx):
            if origin is not None:  # a MIUI backup's members: the app its header names
                child.origin = origin
            yield child
            last = child.chain[-1]
    except ScanError as error:
        # The tar's words say where the data stopped; the body's say why. Damage in the
        # body can look like a bad tar header first: read on to find the root cause.
        if isinstance(error, (Corrupt, Truncated)) and body.observed.failure is None:
            _drain(reader)
        status = body.observed
        if status.failure is not None:
            raise type(status.failure)(f"{status.failure}; {error}") from error
        if status.bad_padding and isinstance(error, Truncated):
            raise Truncated(f"the encrypted body lacks its final padded block; {error}") from error
        raise
    after = _drain(reader)
    _check_end(artifact, body.observed, after, last, ctx)


def _check_end(
    artifact: Artifact, body: BodyStatus, after: int, last: str, ctx: ScanContext
) -> None:
    """``after``: bytes after the tar's end, from the first non-zero one."""
    if body.failure is not None:
        raise type(body.failure)(
            f"{body.failure}, after the end of the tar (every member was read; last: {last})"
        )
    if body.trailing:
        ctx.report(
            Corrupt(
                f"{_bytes(body.trailing)} after the end of the compressed stream were not read"
            ),
            artifact.chain,
        )
    # A damaged last AES block (bad padding) comes from a change in the block before it,
    # which CBC garbles whole: one damage, reported once, below.
    if after and not (body.bad_padding and after <= AES_BLOCK):
        unexpected = f"{_bytes(after)} of unexpected data after the end of the tar"
        ctx.report(Corrupt(f"{unexpected} (after {last}); not read"), artifact.chain)
    if body.bad_padding:
        raise Corrupt(
            "the last AES block of the body has bad padding (damaged); every member was read"
        )


def _bytes(count: int) -> str:
    return "1 byte" if count == 1 else f"{count:,} bytes"
