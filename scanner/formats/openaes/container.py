"""TWRP's OpenAES encryption: a sequence of independent 4096-byte OAES messages.

Each message has its own header and IV (layout in ``layout.py`` beside this file); the
file is read forward, ``BATCH`` messages at a time, decrypted by one AES call (ahead, in
a worker thread, when the context allows: ``ScanContext.read_ahead_after``). The key is
the password laid over ``01 02 .. 20`` and cut to 16, 24 or 32 bytes; there is no KDF
and no check value, so a password is accepted only when the first message decrypts to
something a backup holds (gzip, tar, zip, ... or text): a wrong one is reported, never
passed on as garbage.
"""

from __future__ import annotations

import codecs
import io
import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO

from construct import ConstructError
from construct import Container as Parsed
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scanner.artifacts import Artifact
from scanner.artifacts.artifact import read_up_to
from scanner.containers.base import Container
from scanner.containers.readahead import ReadAhead
from scanner.context import ScanContext
from scanner.errors import (
    Corrupt,
    NeedsPassword,
    ScanError,
    Truncated,
    Unsupported,
    WrongPassword,
)
from scanner.formats.openaes.layout import (
    BLOCK_SIZE,
    FLAG_PAD,
    HEADER_SIZE,
    IV_SIZE,
    MESSAGE_SIZE,
    OPTION_CBC,
    OPTION_ECB,
    OaesHeader,
)

_MIN_TEXT = 64  # shorter random plaintext is too often printable by chance


def oaes_key(password: bytes) -> bytes:
    """TWRP's key: the password's bytes over 01..20, cut to 16/24/32 bytes by its length."""
    raw = password[:32]
    buffer = bytearray(range(1, 33))
    buffer[: len(raw)] = raw
    size = 16 if len(raw) <= 16 else 24 if len(raw) <= 24 else 32
    return bytes(buffer[:size])


def _cbc(key: bytes) -> Any:
    """One AES-CBC decryptor for a whole file (OpenSSL's, through ``cryptography``: see
    adb/crypto.py's cbc_decryptor).

    Messages are fed whole, header and IV included: each body block is then decrypted
    against the block before it in the file, and its first block against the message's
    IV, which is exactly CBC under that IV. The header and IV blocks come out as garbage
    and are dropped, so one call covers any number of messages.
    """
    return Cipher(algorithms.AES(key), modes.CBC(bytes(BLOCK_SIZE))).decryptor()


def _header(message: bytes, index: int) -> Parsed:
    try:
        header = OaesHeader.parse(message[:HEADER_SIZE])
    except ConstructError as error:
        raise Corrupt(f"OpenAES message {index} has no valid OAES header") from error
    if header.options & (OPTION_CBC | OPTION_ECB) != OPTION_CBC:
        raise Unsupported(f"OpenAES options {header.options:#06x}: only CBC (TWRP's) is supported")
    return header


_PREFIX = OaesHeader.build({"options": OPTION_CBC, "flags": 0, "reserved": bytes(7)})[:6]


def _flags(message: bytes, index: int) -> int:
    """The flags of a message header; a quick byte test first (construct is slow per 4 KiB)."""
    if message[:6] == _PREFIX and message[6] & (OPTION_CBC | OPTION_ECB) == OPTION_CBC:
        return message[8]
    return int(_header(message, index).flags)  # the precise complaint


def _unpad(plain: bytes) -> bytes | None:
    """Strip OpenAES padding ``01 02 .. n`` (n = last byte, 1..16); None if it is not there."""
    n = plain[-1] if plain else 0
    if not 1 <= n <= BLOCK_SIZE or n > len(plain) or plain[-n:] != bytes(range(1, n + 1)):
        return None
    return plain[:-n]


def _decrypt(message: bytes, cbc: Any, index: int) -> tuple[bytes, bool]:
    """Plaintext of one message and whether its padding (if any) was valid (see ``_cbc``)."""
    flags = _flags(message, index)
    body = message[HEADER_SIZE + IV_SIZE :]
    if len(message) < HEADER_SIZE + IV_SIZE or len(body) % BLOCK_SIZE:
        raise Truncated(f"OpenAES file ends inside message {index}")
    plain = bytes(cbc.update(message))[HEADER_SIZE + IV_SIZE :]
    if flags & FLAG_PAD:
        unpadded = _unpad(plain)
        return (plain, False) if unpadded is None else (unpadded, True)
    return plain, True


def _is_text(sample: bytes) -> bool:
    try:
        # Not final: the sample may cut a UTF-8 sequence in two.
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)


def plausible(plain: bytes, padding_ok: bool, ctx: ScanContext) -> bool:
    """Does a decrypted first message look like a real file (so the password is right):
    one a registered format claims (gzip, as TWRP writes it, tar, zip...), or text?"""
    if not padding_ok:
        return False
    if ctx.recognises(plain):
        return True
    return len(plain) >= _MIN_TEXT and _is_text(plain[:512])


BATCH = 256  # messages read and decrypted at once (1 MiB): one AES call for all of them


def _decrypt_batch(data: bytes, cbc: Any, index: int) -> tuple[list[bytes], ScanError | None]:
    """The plaintexts of the messages in ``data`` (message ``index`` first), in order, up to
    the first bad one; and the problem with that one, if any.

    The whole messages before it go through one AES call (see ``_cbc``): fewer Python
    calls than message by message.
    """
    whole = 0
    padded: list[bool] = []
    error: ScanError | None = None
    for start in range(0, len(data) - MESSAGE_SIZE + 1, MESSAGE_SIZE):
        try:
            flags = _flags(data[start : start + HEADER_SIZE], index + whole)
        except ScanError as bad:
            error = bad
            break
        whole += 1
        padded.append(bool(flags & FLAG_PAD))
    plain = bytes(cbc.update(data[: whole * MESSAGE_SIZE])) if whole else b""
    plains: list[bytes] = []
    for number, pad in enumerate(padded):
        piece = plain[number * MESSAGE_SIZE + HEADER_SIZE + IV_SIZE : (number + 1) * MESSAGE_SIZE]
        if pad:
            unpadded = _unpad(piece)
            if unpadded is None:
                return plains, Corrupt(f"OpenAES message {index + number} has broken padding")
            piece = unpadded
        plains.append(piece)
    rest = data[whole * MESSAGE_SIZE :]
    if error is None and rest:  # the last message, the only short one
        try:
            piece, padding_ok = _decrypt(rest, cbc, index + whole)
        except ScanError as bad:
            return plains, bad
        if not padding_ok:
            return plains, Corrupt(f"OpenAES message {index + whole} has broken padding")
        plains.append(piece)
    return plains, error


class OaesChunks:
    """The plaintext of the OAES messages, ``BATCH`` messages per ``next()`` (forward
    only); a bad message is raised by the call after the one that gave the plaintext of
    the messages before it, and by every call after that."""

    def __init__(self, source: BinaryIO, key: bytes, first_plain: bytes) -> None:
        self._source = source
        self._cbc = _cbc(key)
        self._first = first_plain
        self._index = 1  # messages decrypted so far
        self._done = False
        self._error: ScanError | None = None

    def next(self) -> bytes:
        """The next plaintext; b"" at the end."""
        if self._first:
            first, self._first = self._first, b""
            return first
        while True:
            if self._error is not None:
                raise self._error
            if self._done:
                return b""
            data = read_up_to(self._source, BATCH * MESSAGE_SIZE)
            self._done = len(data) < BATCH * MESSAGE_SIZE  # only the last message is short
            plains, self._error = _decrypt_batch(data, self._cbc, self._index)
            self._index += len(plains)
            if plains:
                return b"".join(plains)

    def close(self) -> None:
        self._source.close()


def _inner_name(artifact: Artifact) -> str:
    base = artifact.name
    if base.lower().endswith(".oaes") and len(base) > len(".oaes"):
        return base[: -len(".oaes")]
    return base + ".decrypted"  # TWRP keeps the plain name (data.ext4.win000)


class OpenAes(Container):
    name = "openaes"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        if len(head) < HEADER_SIZE + IV_SIZE + BLOCK_SIZE or head[:4] != b"OAES":
            return False
        try:
            header = OaesHeader.parse(head[:HEADER_SIZE])
        except ConstructError:
            return False
        return header.flags in (0, FLAG_PAD)

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        first = read_up_to(stream, MESSAGE_SIZE)
        key, plain = self._unlock(first, artifact.chain, ctx)
        name = _inner_name(artifact)
        device_path = (
            posixpath.join(posixpath.dirname(artifact.device_path), name)
            if artifact.device_path
            else None
        )
        chunks = OaesChunks(stream, key, plain)
        # Decrypted ahead in a worker thread when the context allows (readahead.py).
        after = ctx.read_ahead_after()
        ahead = ReadAhead(chunks.next, lambda: None, chunks.close, thread_after=after)
        reader = io.BufferedReader(ahead, buffer_size=1 << 16)
        yield artifact.child(name, lambda: reader, device_path=device_path, reopenable=False)

    @staticmethod
    def _unlock(first: bytes, chain: tuple[str, ...], ctx: ScanContext) -> tuple[bytes, bytes]:
        """The key that turns the first message into a plausible file, and that plaintext."""
        _header(first, 0)  # a bad header is corrupt, not a wrong password
        tried = 0
        for password in ctx.passwords(chain):
            tried += 1
            key = oaes_key(password.raw)
            plain, padding_ok = _decrypt(first, _cbc(key), 0)
            if plausible(plain, padding_ok, ctx):
                return key, plain
        if tried == 0:
            raise NeedsPassword(
                "TWRP-encrypted (OpenAES) file: give the backup password with --password, "
                "--password-file or KEYSCAN_PASSWORD"
            )
        raise WrongPassword(
            f"none of the {tried} passwords tried decrypts this OpenAES file to a known file type"
        )
