"""Sample family `miui_backup`: MIUI local backup folders (``MIUI/backup/AllBackup/<date>/``).

Each ``<label>(<pkg>).bak`` is a MIUI header (``MIUI BACKUP``, version 2, ``<pkg> <label>``,
feature id, type; ``../shared/docs/formats.md``) followed by a normal Android backup
stream, as MIUI writes it: ``ANDROID BACKUP\\n5\\n0\\nnone\\n`` and a plain tar.
``descript.xml`` beside it describes the backup (no keys).

- ``miui/``: type 0 (plain) backup of Zepp Life: a DEVICE row key and a preference key;
- ``miui-encrypted/``: type 1 (MIUI's own, undocumented encryption, with an encryptedPwd
  line): must be reported as unsupported, with no key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from corpus.common import Expected, write
from corpus.samples.adb_backups import PACKAGE, Band, ab_bytes, zepp_members

LABEL = "Zepp Life"
FOLDER = "miui/MIUI/backup/AllBackup/20240301_120000"
ENCRYPTED_FOLDER = "miui-encrypted/MIUI/backup/AllBackup/20240302_090000"
BAK_NAME = f"{LABEL}({PACKAGE}).bak"


def miui_header(backup_type: int, extra_lines: tuple[str, ...] = (), feature_id: int = 0) -> bytes:
    lines = ["MIUI BACKUP", "2", f"{PACKAGE} {LABEL}", str(feature_id), str(backup_type)]
    return "".join(line + "\n" for line in (*lines, *extra_lines)).encode()


def descript_xml(size: int) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<MIUI-backup>\n"
        "  <bakVersion>2</bakVersion>\n  <brState>0</brState>\n"
        "  <device>cepheus</device>\n  <miuiVersion>V12.5.1.0.RFACNXM</miuiVersion>\n"
        f"  <date>1709294400000</date>\n  <size>{size}</size>\n"
        f"  <packages>\n    <package>\n      <packageName>{PACKAGE}</packageName>\n"
        f"      <appName>{LABEL}</appName>\n      <bakFile>{BAK_NAME}</bakFile>\n"
        "    </package>\n  </packages>\n</MIUI-backup>\n"
    )


def build(dest: Path) -> list[Expected]:
    band = Band("miui-zepp")
    bak = miui_header(0) + ab_bytes(zepp_members(band), version=5, compressed=False)
    write(dest / FOLDER / BAK_NAME, bak)
    write(dest / FOLDER / "descript.xml", descript_xml(len(bak)))

    # MIUI's encryption is undocumented: the body is opaque bytes to any reader.
    encrypted_pwd = hashlib.sha256(b"keyscan-corpus-miui-pwd").hexdigest()
    opaque = hashlib.shake_256(b"keyscan-corpus-miui-body").digest(4096)
    locked = miui_header(1, (encrypted_pwd,)) + opaque
    write(dest / ENCRYPTED_FOLDER / BAK_NAME, locked)
    write(dest / ENCRYPTED_FOLDER / "descript.xml", descript_xml(len(locked)))
    return [
        band.expected("miui"),
        Expected(input="miui-encrypted", problems={"unsupported"}),
    ]
