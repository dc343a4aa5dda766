"""A Neo Backup's properties JSON: which app, when, and how its archives are encrypted.

Fields as written by Neo Backup's ``Backup.kt`` (8.x, kotlinx.serialization: fields equal
to their default are left out) and its Gson-written 4.x-7.x files; facts in
docs/inputs.md, "Neo Backup". Where it lies:
- 5.0.0 on: ``<pkg>/<TS>-user_<n>.properties`` beside the folder ``<pkg>/<TS>-user_<n>/``
  (``<pkg>@<TS>-user_<n>`` with the flat-structure option);
- 4.x, or the properties-in-folder option: ``backup.properties`` inside the folder.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from scanner.errors import Corrupt
from scanner.formats.neo.crypto import ZERO_IV, Scheme

IN_FOLDER_NAME = "backup.properties"
# Fields only a Neo Backup properties file has beside packageName and backupDate.
_NEO_FIELDS = (b'"cpuArch"', b'"hasAppData"', b'"backupVersionCode"', b'"hasApk"', b'"iv"')
# <what>.tar[.gz|.zst].enc: what BaseAppAction names an encrypted archive.
ENCRYPTED_ARCHIVE = re.compile(
    r"(data|device_protected_files|external_files|obb_files|media_files)\.tar(\.gz|\.zst)?\.enc"
)
MAX_SIZE = 1 << 20  # a properties file is a few KiB (its permission list at most)


def is_properties(head: bytes) -> bool:
    """A JSON object naming a package, a backup date and a Neo-only field."""
    return (
        head.lstrip()[:1] == b"{"
        and b'"packageName"' in head
        and b'"backupDate"' in head
        and any(field in head for field in _NEO_FIELDS)
    )


def instance_of_properties(path: str) -> str:
    """The backup folder the properties at ``path`` describe."""
    if posixpath.basename(path) == IN_FOLDER_NAME:
        return posixpath.dirname(path)
    return path.removesuffix(".properties")


@dataclass(frozen=True)
class Properties:
    package: str
    backup_date: datetime | None  # local time of the phone, zone unknown
    scheme: Scheme | None  # None: not encrypted
    iv: bytes
    legacy: bool  # 4.x: no cpuArch, ``backup.properties`` in the folder

    @property
    def backup_time(self) -> float | None:
        """``backup_date`` as seconds since the epoch, as if it were UTC (it is not known)."""
        if self.backup_date is None:
            return None
        return self.backup_date.replace(tzinfo=UTC).timestamp()

    def scheme_for_encrypted(self) -> Scheme:
        """How an ``.enc`` archive of this backup is encrypted: as the properties say, else
        CBC for a 4.x backup, else GCM (Neo Backup's restore goes by the file that exists)."""
        if self.scheme is not None:
            return self.scheme
        return Scheme.CBC if self.legacy else Scheme.GCM


def parse(data: bytes, path: str) -> Properties:
    try:
        fields = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise Corrupt(f"Neo Backup properties are not valid JSON: {error}") from error
    if not isinstance(fields, dict) or not isinstance(fields.get("packageName"), str):
        raise Corrupt("Neo Backup properties without a packageName")
    return Properties(
        package=fields["packageName"],
        backup_date=_date(fields.get("backupDate")),
        scheme=_scheme(fields.get("cipherType")),
        iv=_iv(fields.get("iv")),
        legacy="cpuArch" not in fields and posixpath.basename(path) == IN_FOLDER_NAME,
    )


def _date(value: object) -> datetime | None:
    """Java's ISO_LOCAL_DATE_TIME (a fraction of up to 9 digits); Gson 4.x-7.x wrote
    LocalDateTime the same way. Anything else: no date."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?)(?:\.(\d{1,9}))?", value)
    if match is None:
        return None
    fraction = (match.group(2) or "").ljust(6, "0")[:6]
    try:
        return datetime.fromisoformat(match.group(1)).replace(microsecond=int(fraction))
    except ValueError:
        return None


def _scheme(value: object) -> Scheme | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return Scheme(value)
    except ValueError:
        raise Corrupt(f"Neo Backup properties name an unknown cipher {value!r}") from None


def _iv(value: object) -> bytes:
    """A JSON array of signed bytes (Kotlin ByteArray); missing or empty: 16 zero bytes, as
    Neo Backup itself decrypts backups made before 7.0."""
    if not isinstance(value, list) or not value:
        return ZERO_IV
    if not all(isinstance(b, int) and -128 <= b <= 127 for b in value):
        raise Corrupt("Neo Backup properties have an iv that is not a list of bytes")
    return bytes(b & 0xFF for b in value)
