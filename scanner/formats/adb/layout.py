"""The text header of an Android backup (``adb backup``, ``.ab``) and its master-key blob.

Sources: AOSP ``frameworks/base`` ``BackupManagerService`` (Android 4.0-7), later split into
``PerformAdbBackupTask`` / ``PerformAdbRestoreTask`` and ``PasswordUtils`` (Android 8+):
``BACKUP_FILE_HEADER_MAGIC = "ANDROID BACKUP\\n"``, ``BACKUP_FILE_VERSION = 5``,
``ENCRYPTION_ALGORITHM_NAME = "AES-256"``; ``readHeaderLine`` reads bytes up to ``\\n``;
``decryptAesBackupHeader`` reads, in order, the user password salt (hex), the master key
checksum salt (hex), the PBKDF2 round count (decimal), the user key IV (hex) and the
encrypted master key blob (hex). The blob, once decrypted, holds three length-prefixed
byte strings: master key IV, master key, master key checksum. See also
``../shared/docs/formats.md`` ("Android backup").

These structs only say where the fields are; what their values mean (supported versions,
lengths, which problem a bad value is) is decided in ``stream.py``.
"""

from __future__ import annotations

import re

from construct import (
    Adapter,
    Const,
    GreedyBytes,
    If,
    Int8ub,
    NullTerminated,
    Prefixed,
    StopIf,
    Struct,
    Tell,
    ValidationError,
    this,
)

MAGIC = b"ANDROID BACKUP\n"
AES_256 = "AES-256"

_DECIMAL = re.compile(rb"-?[0-9]{1,18}")
_HEX = re.compile(rb"(?:[0-9A-Fa-f]{2})*")

# One header line: bytes up to (not including) ``\n``; a missing ``\n`` is a StreamError.
Line = NullTerminated(GreedyBytes, term=b"\n")


class _Decimal(Adapter):
    """A line holding a decimal integer (Java ``Integer.parseInt``)."""

    def _decode(self, obj: bytes, context: object, path: str) -> int:
        if not _DECIMAL.fullmatch(obj):
            raise ValidationError(f"not a decimal number: {obj[:40]!r}", path=path)
        return int(obj)

    def _encode(self, obj: int, context: object, path: str) -> bytes:
        return str(obj).encode("ascii")


class _Hex(Adapter):
    """A line of hex digits (AOSP writes upper case; either case is read)."""

    def _decode(self, obj: bytes, context: object, path: str) -> bytes:
        if not _HEX.fullmatch(obj):
            raise ValidationError(f"not hex: {obj[:40]!r}", path=path)
        return bytes.fromhex(obj.decode("ascii"))

    def _encode(self, obj: bytes, context: object, path: str) -> bytes:
        return obj.hex().upper().encode("ascii")


class _Ascii(Adapter):
    """A short printable-ASCII line (the cipher name)."""

    def _decode(self, obj: bytes, context: object, path: str) -> str:
        if len(obj) > 64 or not all(0x20 <= b < 0x7F for b in obj):
            raise ValidationError(f"not a cipher name: {obj[:40]!r}", path=path)
        return obj.decode("ascii")

    def _encode(self, obj: str, context: object, path: str) -> bytes:
        return obj.encode("ascii")


DecimalLine = _Decimal(Line)
HexLine = _Hex(Line)
AsciiLine = _Ascii(Line)

# The five lines that follow ``AES-256`` (AOSP ``decryptAesBackupHeader``).
AesFields = Struct(
    "user_salt" / HexLine,  # PBKDF2 salt of the user key (64 bytes)
    "checksum_salt" / HexLine,  # PBKDF2 salt of the master key checksum (64 bytes)
    "rounds" / DecimalLine,  # PBKDF2 iterations (10000)
    "user_iv" / HexLine,  # IV of the master key blob (16 bytes)
    "master_key_blob" / HexLine,  # AES-256-CBC(user key, user IV) of MasterKeyBlob
)

AndroidBackupHeader = Struct(
    "magic" / Const(MAGIC),
    "version" / DecimalLine,  # 1..5; a newer format may differ after this line
    StopIf(this.version > 5),
    "compressed" / DecimalLine,  # 0 or 1: the body is a zlib stream
    "encryption" / AsciiLine,  # "none" or "AES-256"
    "aes" / If(this.encryption == AES_256, AesFields),
    "header_size" / Tell,  # the body starts here
)

# The decrypted master key blob (PKCS#7 already removed).
MasterKeyBlob = Struct(
    "iv" / Prefixed(Int8ub, GreedyBytes),  # body IV, 16 bytes
    "key" / Prefixed(Int8ub, GreedyBytes),  # master key, 32 bytes
    "checksum" / Prefixed(Int8ub, GreedyBytes),  # PBKDF2 of the mangled master key, 32 bytes
)
