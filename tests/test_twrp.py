"""TWRP backup folders: split, gzip'd and OpenAES .win files, libtar's pax records, --verify."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from corpus.common import Expected, epoch
from corpus.samples import twrp
from scanner.context import ScanOptions
from scanner.formats.tar import reader as tar_reader
from scanner.formats.tar.layout import Fault, HeaderFault
from scanner.formats.tar.reader import HeaderReader, Member
from scanner.inputs.twrp import verify_digests, verify_file
from scanner.model import ScanResult
from scanner.pipeline import scan
from tests.helpers import scan_context

Corpus = tuple[Path, dict[str, Expected]]
VARIANTS = ("plain", "gzip", "encrypted")
# What each variant puts between a .win file and its tar members.
PREFIX: dict[str, Callable[[str], tuple[str, ...]]] = {
    "plain": lambda part: (part,),
    "gzip": lambda part: (part, f"{part}.decompressed"),
    "encrypted": lambda part: (part, f"{part}.decrypted", f"{part}.decrypted.decompressed"),
}
WIN000, WIN001 = "data.ext4.win000", "data.ext4.win001"


def _scan(folder: Path, passwords: list[str]) -> tuple[ScanResult, dict[tuple[str, ...], str]]:
    seen: dict[tuple[str, ...], str] = {}
    result = scan(
        [folder], ScanOptions(passwords=passwords), lambda a, k: seen.update({a.chain: k})
    )
    return result, seen


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_split_is_walked_to_its_members(corpus: Corpus, variant: str) -> None:
    root, _ = corpus
    folder = root / twrp.FOLDERS[variant]
    result, seen = _scan(folder, [twrp.PASSWORD])
    assert result.problems == []
    top = str(folder)
    members = {chain[1:] for chain in seen if len(chain) > 1 + len(PREFIX[variant](WIN000))}
    assert members == {
        (*PREFIX[variant](WIN000), twrp.DB_MEMBER),
        (*PREFIX[variant](WIN000), twrp.LONG_MEMBER),
        (*PREFIX[variant](WIN001), twrp.LOG_MEMBER),
    }
    assert seen[(top, *PREFIX[variant](WIN001))] == "tar"
    assert seen[(top, *PREFIX[variant](WIN001), twrp.LOG_MEMBER)] == "log"


@pytest.mark.parametrize("variant", VARIANTS)
def test_log_key_found_through_every_variant(corpus: Corpus, variant: str) -> None:
    root, _ = corpus
    folder = root / twrp.FOLDERS[variant]
    result, _ = _scan(folder, [twrp.PASSWORD])
    found = [c for c in result.candidates if c.key == twrp.WATCH_KEY]
    assert [c.provenance for c in found] == [
        (str(folder), *PREFIX[variant](WIN001), twrp.LOG_MEMBER, "line 2")
    ]
    assert found[0].device.mac == twrp.WATCH_MAC
    assert found[0].app == "com.xiaomi.wearable"


@pytest.mark.parametrize("variant", VARIANTS)
def test_database_key_found_through_every_variant(corpus: Corpus, variant: str) -> None:
    """Needs the SQLite extractor."""
    root, _ = corpus
    folder = root / twrp.FOLDERS[variant]
    result, _ = _scan(folder, [twrp.PASSWORD])
    found = [c for c in result.candidates if c.key == twrp.BAND_KEY]
    assert [c.provenance for c in found] == [
        (str(folder), *PREFIX[variant](WIN000), twrp.DB_MEMBER, "DEVICE rowid 1 column AUTHKEY")
    ]
    assert found[0].app == "com.xiaomi.hm.health"


@pytest.mark.parametrize("variant", VARIANTS)
def test_expected_devices(corpus: Corpus, variant: str) -> None:
    root, expected = corpus
    sample = expected[twrp.FOLDERS[variant]]
    result = scan([root / sample.input], ScanOptions(passwords=sample.passwords))
    found = {c.key for c in result.candidates}
    assert sample.keys <= found
    assert not sample.absent & found
    assert {d.device.mac: d.chosen.key for d in result.devices} == sample.devices
    assert {p.kind for p in result.problems} == sample.problems


def test_member_device_paths_and_times(corpus: Corpus) -> None:
    root, _ = corpus
    folder = root / twrp.FOLDERS["plain"]
    artifacts = {}
    scan([folder], on_artifact=lambda a, k: artifacts.update({a.chain[-1]: a}))
    database, log = artifacts[twrp.DB_MEMBER], artifacts[twrp.LOG_MEMBER]
    assert database.device_path == "/data/data/com.xiaomi.hm.health/databases/origin_db"
    assert log.device_path == (
        "/sdcard/Android/data/com.xiaomi.wearable/files/log/XiaomiFit.device.log"
    )
    assert (database.mtime, database.mtime_source) == (
        epoch(2024, 2, 28, 10, 30),
        "tar member mtime",
    )
    assert database.app == "com.xiaomi.hm.health"


def test_encrypted_backup_without_or_with_a_wrong_password(corpus: Corpus) -> None:
    root, _ = corpus
    folder = root / twrp.FOLDERS["encrypted"]
    for passwords, kind in (([], "needs-password"), (["not-it"], "wrong-password")):
        result, seen = _scan(folder, passwords)
        assert [(p.kind, p.provenance) for p in result.problems] == [
            (kind, (str(folder), WIN000)),
            (kind, (str(folder), WIN001)),
        ]
        assert not [chain for chain in seen if len(chain) > 2]  # nothing decrypted


def test_cut_split_keeps_the_members_before_the_cut(corpus: Corpus, tmp_path: Path) -> None:
    root, _ = corpus
    data = (root / twrp.FOLDERS["plain"] / WIN000).read_bytes()
    db = _headers(data)[twrp.DB_MEMBER]
    cut = db.next_offset  # right after the database
    (tmp_path / WIN000).write_bytes(data[:cut])
    result, seen = _scan(tmp_path, [])
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("truncated", (str(tmp_path), WIN000))
    ]
    assert (str(tmp_path), WIN000, twrp.DB_MEMBER) in seen
    assert (str(tmp_path), WIN000, twrp.LONG_MEMBER) not in seen


def _headers(data: bytes) -> dict[str, Member]:
    """Every member header of a whole tar, by name (with our reader: tarfile 3.12.6+
    refuses libtar's flag records)."""
    stream = io.BytesIO(data)
    reader = HeaderReader(stream)
    members = {}
    while True:
        try:
            member = reader.next()
        except HeaderFault as fault:
            assert fault.fault is Fault.END
            return members
        members[member.name] = member
        stream.seek(member.next_offset)


# --- libtar's pax records -----------------------------------------------------------------

_STRICT_RECORD = re.compile(rb"(\d+) ([^=\n]+)=")


def _strict_pax(buf: bytes) -> dict[bytes, bytes]:
    """pax records as POSIX (and tarfile 3.12.6+) demand them: ``<len> <kw>=<value>\\n``."""
    records: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(buf) and buf[pos] != 0:
        match = _STRICT_RECORD.match(buf, pos)
        assert match, buf[pos:]
        end = pos + int(match.group(1))
        assert buf[end - 1] == 0x0A
        records[match.group(2)] = buf[match.end() : end - 1]
        pos = end
    return records


def test_repair_pax_makes_twrp_records_valid() -> None:
    selinux = twrp._pax_record(b"RHT.security.selinux", b"u:object_r:app_data_file:s0")
    capability = twrp._pax_record(b"SCHILY.xattr.security.capability", b"\x01\n=\x00")
    flags = twrp._pax_record(b"ANDROID.user.default", None)
    assert flags == b"24 ANDROID.user.default\n"  # as libtar writes it: no '='
    buf = selinux + flags + capability + twrp._pax_record(b"ANDROID.user.inode_cache", None)
    repaired = tar_reader.repair_pax(buf + bytes(100))
    assert _strict_pax(repaired) == {
        b"RHT.security.selinux": b"u:object_r:app_data_file:s0",
        b"ANDROID.user.default": b"",
        b"SCHILY.xattr.security.capability": b"\x01\n=\x00",
        b"ANDROID.user.inode_cache": b"",
    }
    assert repaired.endswith(bytes(100))
    assert tar_reader.repair_pax(selinux + capability) == selinux + capability


def test_twrp_pax_headers_are_read_exactly(corpus: Corpus) -> None:
    root, _ = corpus
    data = (root / twrp.FOLDERS["plain"] / WIN000).read_bytes()
    members = {name: member.pax_headers for name, member in _headers(data).items()}
    context = "u:object_r:app_data_file:s0:c512,c768"
    capability = "\x01\x00\x00\x02\n=\x00" + "\x00" * 13
    assert members[twrp.DB_MEMBER] == {
        "RHT.security.selinux": context,
        "SCHILY.xattr.security.capability": capability,
        "ANDROID.user.default": "",
        "ANDROID.user.inode_cache": "",
    }
    assert members[twrp.LONG_MEMBER] == {
        "RHT.security.selinux": context,
        "SCHILY.xattr.security.capability": capability,
    }
    directory = members["data/data/com.xiaomi.hm.health"]
    assert directory["TWRP.security.fscrypt"].startswith("0\x02\x01\x04\x02")
    assert list(members) == [
        "data/data/com.xiaomi.hm.health",
        "data/data/com.xiaomi.hm.health/databases",
        twrp.DB_MEMBER,
        twrp.LONG_MEMBER,
    ]


# --- --verify -------------------------------------------------------------------------------


def _verify(folder: Path, root: Path | None = None, verify: bool = True) -> list[tuple]:
    ctx = scan_context(ScanOptions(verify=verify))
    verify_digests(folder, ctx, root)
    return [(p.kind, p.provenance) for p in ctx.problems]


def test_verify_reports_the_deliberately_wrong_digest(corpus: Corpus) -> None:
    root, _ = corpus
    plain = root / twrp.FOLDERS["plain"]
    assert _verify(plain) == [("corrupt", (str(plain), WIN001))]
    assert _verify(plain, root) == [("corrupt", (str(root), f"{twrp.FOLDERS['plain']}/{WIN001}"))]
    assert _verify(plain, verify=False) == []
    assert _verify(root / twrp.FOLDERS["gzip"]) == []  # .md5
    assert _verify(root / twrp.FOLDERS["encrypted"]) == []  # digest of the encrypted file


def test_verify_finds_changed_missing_and_empty(corpus: Corpus, tmp_path: Path) -> None:
    root, _ = corpus
    folder = tmp_path / "backup"
    shutil.copytree(root / twrp.FOLDERS["gzip"], folder)
    damaged = bytearray((folder / WIN000).read_bytes())
    damaged[100] ^= 1
    (folder / WIN000).write_bytes(damaged)
    (folder / WIN001).unlink()
    (folder / "boot.emmc.win.sha2").write_text("not a digest\n")
    problems = _verify(folder)
    assert problems == [
        ("corrupt", (str(folder), "boot.emmc.win.sha2")),
        ("corrupt", (str(folder), WIN000)),
        ("unreadable", (str(folder), WIN001)),
    ]


def test_verify_a_win_file_given_on_its_own(corpus: Corpus) -> None:
    root, _ = corpus
    plain = root / twrp.FOLDERS["plain"]
    for name, problems in ((WIN000, []), (WIN001, [("corrupt", (str(plain / WIN001),))])):
        ctx = scan_context(ScanOptions(verify=True))
        verify_file(plain / name, ctx)
        assert [(p.kind, p.provenance) for p in ctx.problems] == problems
