"""Android backup encryption: unlocking the master key, and a streaming AES-256-CBC decryptor.

Source: AOSP ``BackupManagerService`` / ``PerformAdbRestoreTask.decryptAesBackupHeader`` and
``PasswordUtils`` (see ``layout.py``; ``../shared/docs/formats.md``).

- user key = PBKDF2-HMAC-SHA1(password, user salt, rounds, 32 bytes). Version 1 backups were
  made with ``PBKDF2WithHmacSHA1And8bit`` (the low 8 bits of each UTF-16 unit); version >= 2
  with UTF-8. Both forms are tried, the version's own first, so every real backup opens.
- the master key blob decrypts (user key, user IV, PKCS#7) to body IV, master key, checksum.
- checksum = PBKDF2(master key as Java chars, checksum salt, rounds, 32). Java widens each
  signed byte to a char, so under UTF-8 (v >= 2) a byte b >= 0x80 becomes U+FF00|b
  ("mangled"); under the 8-bit form (v1) it is the raw byte. Both are tried.

A password is right only if the checksum matches. A blob that decrypts to a well-formed
master key record whose checksum never matches is a damaged header, not a wrong password:
a wrong key gives valid padding and the exact 16/32/32 record shape about once in 2^32.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from construct import ConstructError
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scanner.errors import Corrupt, NeedsPassword, WrongPassword
from scanner.formats.adb.layout import MasterKeyBlob

BLOCK = 16
KEY_BYTES = 32

HOW_TO_GIVE_A_PASSWORD = (
    "give its password with --password (repeatable), --password-file (one per line) or "
    "KEYSCAN_PASSWORD, or run in a terminal to be asked"
)


@dataclass(frozen=True)
class AesParams:
    """The five AES lines of the header, already checked for length."""

    user_salt: bytes
    checksum_salt: bytes
    rounds: int
    user_iv: bytes
    master_key_blob: bytes


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    iv: bytes


def pbkdf2(secret: bytes, salt: bytes, rounds: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha1", secret, salt, rounds, KEY_BYTES)


def password_forms(password: str, version: int) -> list[bytes]:
    """The byte forms Android may have fed PBKDF2, the version's own form first."""
    utf8 = password.encode("utf-8", "surrogatepass")
    # Java chars are UTF-16 units; the 8-bit form keeps the low byte of each.
    units = password.encode("utf-16-be", "surrogatepass")
    eight_bit = units[1::2]
    forms = [eight_bit, utf8] if version == 1 else [utf8, eight_bit]
    return list(dict.fromkeys(forms))


def checksum_forms(master_key: bytes, version: int) -> list[bytes]:
    """The master key as PBKDF2 saw it: mangled (v >= 2, UTF-8) and raw (v1, 8-bit)."""
    mangled = b"".join(
        chr(0xFF00 | b).encode("utf-8") if b >= 0x80 else bytes([b]) for b in master_key
    )
    forms = [master_key, mangled] if version == 1 else [mangled, master_key]
    return list(dict.fromkeys(forms))


def unpad(block: bytes) -> bytes | None:
    """PKCS#7 removed, or None if the padding is not valid."""
    if not block or len(block) % BLOCK:
        return None
    pad = block[-1]
    if not 1 <= pad <= BLOCK or block[-pad:] != bytes([pad]) * pad:
        return None
    return block[:-pad]


def cbc_decryptor(key: bytes, iv: bytes) -> Any:
    """OpenSSL's AES-CBC (through ``cryptography``): unlike pycryptodome's, it is not slowed
    down after ISA-L's inflate has run, and it never starts a program (no_subprocess.py)."""
    return Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()


def open_blob(aes: AesParams, user_key: bytes) -> tuple[MasterKey, bytes] | None:
    """(master key, stored checksum) if this key decrypts the blob to a well-formed record."""
    plain = unpad(cbc_decryptor(user_key, aes.user_iv).update(aes.master_key_blob))
    if plain is None:
        return None
    try:
        record = MasterKeyBlob.parse(plain)
    except ConstructError:
        return None
    if len(record.iv) != BLOCK or len(record.key) != KEY_BYTES or not record.checksum:
        return None
    return MasterKey(key=record.key, iv=record.iv), record.checksum


def try_password(aes: AesParams, version: int, password: str) -> tuple[MasterKey | None, bool]:
    """(master key, whether some form opened the blob) for one password."""
    opened = False
    for form in password_forms(password, version):
        found = open_blob(aes, pbkdf2(form, aes.user_salt, aes.rounds))
        if found is None:
            continue
        opened = True
        master, checksum = found
        for mk_form in checksum_forms(master.key, version):
            if hmac.compare_digest(pbkdf2(mk_form, aes.checksum_salt, aes.rounds), checksum):
                return master, True
    return None, opened


def unlock(aes: AesParams, version: int, passwords: Iterable[str]) -> MasterKey:
    """The master key, from the first password that opens the backup.

    ``passwords`` is consumed lazily, so an interactive prompt is reached only when every
    known password has failed.
    """
    tried = 0
    opened_by: int | None = None
    seen: set[str] = set()
    for password in passwords:
        if password in seen:  # the same password from two sources
            continue
        seen.add(password)
        tried += 1
        master, opened = try_password(aes, version, password)
        if master is not None:
            return master
        if opened and opened_by is None:
            opened_by = tried
    if tried == 0:
        raise NeedsPassword(f"the backup is encrypted (AES-256); {HOW_TO_GIVE_A_PASSWORD}")
    if opened_by is not None:
        raise Corrupt(
            f"password #{opened_by} opens the master key, but its checksum does not match: "
            "the header's checksum salt, round count or key blob is damaged"
        )
    plural = "password" if tried == 1 else "passwords"
    raise WrongPassword(f"the password is wrong: tried {tried} {plural}")


class CbcDecryptor:
    """AES-256-CBC over a stream fed in chunks; PKCS#7 is removed only at the real end.

    The last whole block is held back until ``finish`` says no more data follows.
    """

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._cipher = cbc_decryptor(key, iv)
        self._held = b""
        self.total = 0  # ciphertext bytes fed

    def feed(self, data: bytes) -> bytes:
        self.total += len(data)
        if self._held:
            data = self._held + data
        spare = len(data) % BLOCK or BLOCK
        usable = len(data) - spare
        if usable <= 0:
            self._held = data
            return b""
        self._held = data[usable:]
        return bytes(self._cipher.update(data[:usable]))

    def finish(self) -> tuple[bytes, str | None]:
        """The last plaintext and what was wrong at the end: None, "cut" or "bad-padding".

        "cut": the ciphertext is not a whole number of blocks. "bad-padding": the final
        block is returned whole, since whether it is a cut or damage is decided later.
        """
        held, self._held = self._held, b""
        if len(held) % BLOCK:
            return b"", "cut"
        if not held:
            return b"", None
        block = bytes(self._cipher.update(held))
        plain = unpad(block)
        if plain is None:
            return block, "bad-padding"
        return plain, None
