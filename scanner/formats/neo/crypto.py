"""Neo Backup's password encryption of an archive, decrypted as a stream.

Verified against Neo Backup's ``CryptoUtils.kt`` (commit b27516fcef24, tag 8.3.18) and
its 4.0.3 ``Crypto.java`` (docs/inputs.md, "Neo Backup"):
- 5.0.0 on: AES-256-GCM, 16-byte tag appended (no header, no associated data); key by
  PBKDF2-HMAC-SHA256, 2020 iterations, 32 bytes; IV from the properties (zero before 7.0).
- up to 4.0.x: AES-128-CBC with PKCS#5 padding and a zero IV; PBKDF2-HMAC-SHA1, 1000
  iterations, 16 bytes.
Both use the fixed salt b"oandbackupx" and the password's UTF-8 bytes.

The plaintext is a gzip, zstd or tar stream: its first bytes tell a wrong password at once
(GCM and CBC give no other sign before the end). Everything decrypted before the GCM tag is
checked is unauthenticated; ``DecryptedStream.failure`` says whether the end checked out.
"""

from __future__ import annotations

import hashlib
import io
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scanner.errors import Corrupt, ScanError, Truncated, Unreadable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

SALT = b"oandbackupx"  # FALLBACK_SALT; no Neo Backup version writes another (research notes)
TAG_SIZE = 16
BLOCK = 16
CHUNK = 1 << 20
ZERO_IV = bytes(16)
# Enough plaintext to see a tar header's "ustar" at offset 257.
PROBE = 512


class Scheme(StrEnum):
    GCM = "AES/GCM/NoPadding"
    CBC = "AES/CBC/PKCS5Padding"  # 4.x
    PGP = "AES_256"  # 8.3.12+ OpenPGP to the user's key: no password opens it


def derive_key(password: bytes, scheme: Scheme) -> bytes:
    if scheme is Scheme.CBC:
        return hashlib.pbkdf2_hmac("sha1", password, SALT, 1000, 16)
    return hashlib.pbkdf2_hmac("sha256", password, SALT, 2020, 32)


def looks_decrypted(plain: bytes) -> bool:
    """gzip, zstd or tar: what Neo Backup encrypts (tar, then compressed, then encrypted)."""
    return plain.startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd")) or plain[257:262] == b"ustar"


class _Cipher(Protocol):
    hold: int  # ciphertext bytes kept back until the end (the GCM tag)

    def update(self, data: bytes) -> bytes: ...

    def finish(self, held: bytes) -> bytes: ...


class _Gcm:
    hold = TAG_SIZE

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._decryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).decryptor()

    def update(self, data: bytes) -> bytes:
        return self._decryptor.update(data)

    def finish(self, held: bytes) -> bytes:
        if len(held) < TAG_SIZE:
            raise Truncated("shorter than its 16-byte GCM tag")
        try:
            return self._decryptor.finalize_with_tag(held)
        except InvalidTag as error:
            raise Corrupt(
                "its GCM tag does not match: the file is cut or damaged (its plaintext "
                "started as it should, so the password is right)"
            ) from error


class _Cbc:
    hold = 0

    def __init__(self, key: bytes) -> None:
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()  # holds the last block back

    def update(self, data: bytes) -> bytes:
        return self._unpadder.update(self._decryptor.update(data))

    def finish(self, held: bytes) -> bytes:
        try:
            self._decryptor.finalize()
        except ValueError as error:
            raise Truncated("not a whole number of AES blocks: the file is cut") from error
        try:
            return self._unpadder.finalize()
        except ValueError as error:
            raise Corrupt("its last block has no valid PKCS#5 padding: cut or damaged") from error


def cipher(scheme: Scheme, key: bytes, iv: bytes) -> _Cipher:
    return _Cbc(key) if scheme is Scheme.CBC else _Gcm(key, iv)


def opens(scheme: Scheme, key: bytes, iv: bytes, first: bytes) -> bool:
    """Whether ``key`` turns the first ciphertext bytes into gzip, zstd or tar."""
    usable = first[: max(0, len(first) - TAG_SIZE)] if scheme is Scheme.GCM else first
    probe = usable[:PROBE] if len(usable) >= PROBE else usable[: len(usable) // BLOCK * BLOCK]
    return looks_decrypted(cipher(scheme, key, iv).update(probe))


class DecryptedStream(io.RawIOBase):
    """The plaintext of ``first`` + the rest of ``source``, decrypted in 1 MiB steps.

    A failure at the end (tag, padding, cut) is not raised to the reader, which may be a
    decompressor that already stopped: it is kept in ``failure`` once ``finished``.
    """

    def __init__(self, source: BinaryIO, decrypt: _Cipher, first: bytes) -> None:
        self._source = source
        self._cipher = decrypt
        self._pending = first  # ciphertext read but not decrypted yet
        self._out = memoryview(b"")
        self.finished = False
        self.failure: ScanError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._out and not self.finished:
            self._step()
        view = memoryview(buffer)
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _step(self) -> None:
        try:
            chunk = self._source.read(CHUNK)
        except OSError as error:
            raise Unreadable(f"cannot read: {error.strerror or error}") from error
        data = self._pending + chunk
        keep = min(self._cipher.hold, len(data))
        body, self._pending = data[: len(data) - keep], data[len(data) - keep :]
        out = self._cipher.update(body) if body else b""
        if not chunk:
            self.finished = True
            try:
                out += self._cipher.finish(self._pending)
            except ScanError as error:
                self.failure = error
        self._out = memoryview(out)

    def drain(self) -> None:
        """Decrypt to the end, so that the tag is checked; nothing is kept."""
        while not self.finished:
            self._out = memoryview(b"")
            self._step()

    def close(self) -> None:
        self._source.close()
        super().close()
