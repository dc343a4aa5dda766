"""The text header of a MIUI local backup (``MIUI/backup/AllBackup/<date>/<label>(<pkg>).bak``).

Source: MIUI framework ``miui.app.backup.BackupFileResolver`` (``readMiuiHeader`` /
``writeMiuiHeader``, as decompiled in public MIUI framework dumps) and
``../shared/docs/formats.md`` ("MIUI local backup"). Lines end in ``\\n``:
``MIUI BACKUP``; version (the reader accepts only ``2``); ``<package> <app label>`` (split at
the first space; the label's own newlines were written as spaces, and it may be missing);
a feature id (``Integer.valueOf``); a type: ``0`` plain, ``1`` encrypted + an encryptedPwd
line, ``20`` plain + a user id line, ``21`` encrypted + encryptedPwd + user id. A normal
Android backup stream (``ANDROID BACKUP\\n...``) follows.

Meaning (supported versions and types, which problem a bad value is) is decided in
``container.py``.
"""

from __future__ import annotations

from construct import Adapter, Const, If, StopIf, Struct, Tell, ValidationError, this

from scanner.formats.adb.layout import DecimalLine, Line

MAGIC = b"MIUI BACKUP\n"
SUPPORTED_VERSION = 2
PLAIN, ENCRYPTED, PLAIN_USER, ENCRYPTED_USER = 0, 1, 20, 21


class _Utf8(Adapter):
    """A UTF-8 text line (the reader decodes lines as UTF-8)."""

    def _decode(self, obj: bytes, context: object, path: str) -> str:
        try:
            return obj.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValidationError(f"not UTF-8 text: {obj[:40]!r}", path=path) from error

    def _encode(self, obj: str, context: object, path: str) -> bytes:
        return obj.encode("utf-8")


Utf8Line = _Utf8(Line)

MiuiBackupHeader = Struct(
    "magic" / Const(MAGIC),
    "version" / DecimalLine,
    StopIf(this.version != SUPPORTED_VERSION),  # other versions are rejected by MIUI too
    "app" / Utf8Line,  # "<package> <label>"
    "feature_id" / DecimalLine,
    "type" / DecimalLine,
    "encrypted_pwd" / If(lambda ctx: ctx.type in (ENCRYPTED, ENCRYPTED_USER), Utf8Line),
    "user_id" / If(lambda ctx: ctx.type in (PLAIN_USER, ENCRYPTED_USER), DecimalLine),
    "header_size" / Tell,  # the Android backup stream starts here
)
