"""tar in every compression, zip (stored, deflated, ZipCrypto, AES, Zip64), nesting, spools."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from corpus.common import Expected
from corpus.samples import archives, twrp
from scanner.artifacts import Artifact
from scanner.context import Limits, ScanOptions
from scanner.errors import LimitExceeded, Truncated
from scanner.formats.tar.container import Tar
from scanner.formats.zip import container as zip_container
from scanner.model import ScanResult
from scanner.pipeline import scan
from tests.helpers import scan_context

Corpus = tuple[Path, dict[str, Expected]]
LOG_LINE = "line 2"
ARCHIVE_INPUTS = [
    "archives/storage-export-aes.zip",
    "archives/storage-export-cut.zip",
    "archives/app-logs-zipcrypto.zip",
    "archives/bugreport-a1b2c3-2024-03-01-12-00-00.zip",
    "archives/app-data.tar",
    "archives/app-data.tar.gz",
    "archives/app-data.tar.bz2",
    "archives/app-data.tar.xz",
    "archives/nested.zip",
    "archives/zip-bomb.zip",
    "archives/bomb.tar.gz",
    "archives/deep-nest.zip",
    "archives/terabyte.tar",
]


def _scan(
    path: Path, passwords: list[str] | None = None, limits: Limits | None = None
) -> tuple[ScanResult, dict[tuple[str, ...], tuple[str, Artifact]]]:
    seen: dict[tuple[str, ...], tuple[str, Artifact]] = {}
    options = ScanOptions(passwords=list(passwords or []), limits=limits or Limits())
    result = scan([path], options, lambda a, k: seen.update({a.chain[1:]: (k, a)}))
    return result, seen


def _problems(result: ScanResult, path: Path) -> list[tuple[str, tuple[str, ...]]]:
    return [(p.kind, p.provenance[1:]) for p in result.problems if p.provenance[0] == str(path)]


def test_every_archive_sample_is_listed(corpus: Corpus) -> None:
    _, expected = corpus
    assert sorted(i for i in expected if i.startswith("archives/")) == sorted(ARCHIVE_INPUTS)


@pytest.mark.parametrize("name", ARCHIVE_INPUTS)
def test_expected(corpus: Corpus, name: str) -> None:
    """Keys, devices and problem kinds of each sample (the .db ones need the SQLite extractor)."""
    root, expected = corpus
    sample = expected[name]
    result = scan([root / name], ScanOptions(passwords=sample.passwords))
    found = {c.key for c in result.candidates}
    assert sample.keys <= found
    assert not sample.absent & found
    assert {d.device.mac: d.chosen.key for d in result.devices} == sample.devices
    assert {p.kind for p in result.problems} == sample.problems


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("app-data.tar", ["tar"]),
        ("app-data.tar.gz", ["gzip", "tar"]),
        ("app-data.tar.bz2", ["bzip2", "tar"]),
        ("app-data.tar.xz", ["xz", "tar"]),
    ],
)
def test_tar_in_every_compression(corpus: Corpus, name: str, kinds: list[str]) -> None:
    root, _ = corpus
    result, seen = _scan(root / "archives" / name)
    assert result.problems == []
    levels = [()] if len(kinds) == 1 else [(), ("app-data.tar",)]
    assert [seen[chain][0] for chain in levels] == kinds
    inner = levels[-1]
    database = seen[(*inner, archives.ORIGIN_DB)][1]
    assert database.device_path == "/data/data/com.xiaomi.hm.health/databases/origin_db"
    assert sorted(c for c in seen if len(c) == len(inner) + 1) == [
        (*inner, archives.ORIGIN_DB),
        (*inner, "data/data/com.xiaomi.hm.health/files/notes.bin"),
    ]


def test_compression_is_detected_by_content_not_name(corpus: Corpus, tmp_path: Path) -> None:
    root, _ = corpus
    for source, kind in (("app-data.tar.gz", "gzip"), ("app-data.tar.bz2", "bzip2")):
        renamed = tmp_path / f"{kind}.bin"
        shutil.copy(root / "archives" / source, renamed)
        result, seen = _scan(renamed)
        assert result.problems == []
        assert seen[()][0] == kind
        assert seen[(f"{kind}.bin.decompressed",)][0] == "tar"


@pytest.mark.parametrize(
    ("name", "member", "password"),
    [
        ("storage-export-aes.zip", archives.WATCH_LOG, archives.AES_PASSWORD),
        ("app-logs-zipcrypto.zip", "sdcard/" + archives.WATCH_LOG, archives.ZIPCRYPTO_PASSWORD),
    ],
)
def test_encrypted_zip(corpus: Corpus, name: str, member: str, password: str) -> None:
    root, _ = corpus
    path = root / "archives" / name
    label = "aes-export" if "aes" in name else "zipcrypto"
    key = archives.device(label)[1]
    result, seen = _scan(path, ["first-wrong", password])
    assert result.problems == []
    assert [c.provenance for c in result.candidates if c.key == key] == [
        (str(path), member, LOG_LINE)
    ]
    assert seen[(member,)][1].device_path == "/sdcard/" + archives.WATCH_LOG
    for passwords, kind in (([], "needs-password"), (["nope"], "wrong-password")):
        result, seen = _scan(path, passwords)
        assert _problems(result, path) == [(kind, ())]
        assert (member,) not in seen
        assert key not in {c.key for c in result.candidates}


def test_zip64(tmp_path: Path) -> None:
    mac, key = archives.device("zip64")
    path = tmp_path / "zip64.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(archives.WATCH_LOG, date_time=archives.DATE_TIME)
        with archive.open(info, "w", force_zip64=True) as handle:
            handle.write(twrp.device_log(mac, key).encode())
    assert b"\x01\x00\x10\x00" in path.read_bytes()  # the Zip64 extra field (id 1, 16 bytes)
    result, _ = _scan(path)
    assert result.problems == []
    assert [c.provenance for c in result.candidates if c.key == key] == [
        (str(path), archives.WATCH_LOG, LOG_LINE)
    ]


def test_bugreport_members_map_to_device_paths(corpus: Corpus) -> None:
    root, _ = corpus
    name = "bugreport-a1b2c3-2024-03-01-12-00-00.zip"
    result, seen = _scan(root / "archives" / name)
    assert result.problems == []
    database = seen[("FS/" + archives.ORIGIN_DB,)][1]
    assert database.device_path == "/data/data/com.xiaomi.hm.health/databases/origin_db"
    assert database.app == "com.xiaomi.hm.health"
    assert database.mtime_source == "zip member time (local, zone unknown)"  # DOS time only
    assert not database.mtime_utc


def test_nested_zip_in_tar_gz_in_zip(corpus: Corpus) -> None:
    root, _ = corpus
    path = root / "archives" / "nested.zip"
    result, seen = _scan(path)
    assert result.problems == []
    chain = ("backups/phone.tar.gz", "phone.tar", "exports/logs.zip", archives.WATCH_LOG)
    assert [seen[chain[:n]][0] for n in range(5)] == ["zip", "gzip", "tar", "zip", "log"]
    assert seen[chain][1].depth == 4
    key = archives.device("nested")[1]
    assert [c.provenance for c in result.candidates if c.key == key] == [
        (str(path), *chain, LOG_LINE)
    ]


def test_cut_zip_is_truncated(corpus: Corpus) -> None:
    root, _ = corpus
    path = root / "archives" / "storage-export-cut.zip"
    result, _ = _scan(path)
    assert _problems(result, path) == [("truncated", ())]


def test_damaged_member_costs_that_member_only(tmp_path: Path) -> None:
    mac, key = archives.device("damaged")
    text = b"".join(b"line %d of a note\n" % i for i in range(400))
    log = twrp.device_log(mac, key).encode()
    data = bytearray(archives.zip_bytes([("first.txt", text), (archives.WATCH_LOG, log)]))
    data[30 + len("first.txt") + 40] ^= 0xFF  # inside first.txt's deflate stream
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    result, _ = _scan(path)
    assert _problems(result, path) == [("corrupt", ("first.txt",))]
    assert key in {c.key for c in result.candidates}


def test_spools_are_closed_on_every_path(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spools: list[object] = []
    real_spool = zip_container.spool

    def recording_spool(*args: object, **kwargs: object) -> object:
        spooled = real_spool(*args, **kwargs)  # type: ignore[arg-type]
        spools.append(spooled)
        return spooled

    monkeypatch.setattr(zip_container, "spool", recording_spool)
    root, _ = corpus
    good = archives.zip_bytes([("a.txt", b"x")])
    broken = archives.zip_bytes([("bad.zip", b"PK\x03\x04" + bytes(200)), ("good.zip", good)])
    (tmp_path / "broken.zip").write_bytes(broken)
    limits = Limits(spool_memory=1)  # every spool rolls over to a real temporary file
    result, _ = _scan(root / "archives" / "nested.zip", limits=limits)
    assert result.problems == []
    result, _ = _scan(tmp_path / "broken.zip", limits=limits)
    assert _problems(result, tmp_path / "broken.zip") == [("truncated", ("bad.zip",))]
    assert len(spools) == 3
    assert all(not isinstance(s, io.BytesIO) and s.closed for s in spools)  # type: ignore[attr-defined]


def test_corpus_bytes_are_reproducible(tmp_path: Path) -> None:
    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    for builder in (archives, twrp):
        builder.build(tmp_path / "one")
        builder.build(tmp_path / "two")
    assert digests(tmp_path / "one") == digests(tmp_path / "two")
    assert (tmp_path / "one" / "archives" / "zip-bomb.zip").stat().st_size < 300_000


@pytest.mark.parametrize("suffix", ["gz", "bz2", "xz"])
def test_cut_compressed_tar_keeps_the_members_before_the_cut(tmp_path: Path, suffix: str) -> None:
    key = archives.device("cut-tar")[1]
    log = twrp.device_log(archives.device("cut-tar")[0], key).encode()
    noise = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(8000))  # incompressible
    data = archives.tar_bytes([(archives.WATCH_LOG, log), ("noise.bin", noise)])
    compress = {
        "gz": lambda b: gzip.compress(b, mtime=0),
        "bz2": lambda b: bz2.compress(b, 1),  # 100 kB blocks: the first ones survive the cut
        "xz": lzma.compress,
    }
    packed = compress[suffix](data)
    path = tmp_path / f"cut.tar.{suffix}"
    path.write_bytes(packed[: len(packed) * 7 // 10])
    result, seen = _scan(path)
    assert [(p.kind, p.provenance[1:]) for p in result.problems] == [("truncated", ("cut.tar",))]
    if suffix == "gz":
        assert result.problems[0].message == (
            "gzip stream cut.tar ends early: the data stops before the end-of-stream marker"
        )
    assert ("cut.tar", "noise.bin") in seen
    assert [c.provenance for c in result.candidates if c.key == key] == [
        (str(path), "cut.tar", archives.WATCH_LOG, LOG_LINE)
    ]


def test_apks_are_not_walked(tmp_path: Path) -> None:
    apk = archives.zip_bytes(
        [("AndroidManifest.xml", b"\x03\x00\x08\x00"), ("classes.dex", b"dex\n035\x00")]
    )
    path = tmp_path / "base.apk"
    path.write_bytes(apk)
    seen: list[tuple[str, ...]] = []
    result = scan([path], on_artifact=lambda artifact, kind: seen.append(artifact.chain))
    assert seen == [(str(path),)]
    assert result.problems == []


def test_storage_member_paths_map_to_device_paths() -> None:
    from scanner.artifacts.device_paths import storage_member_to_device_path as mapped

    assert mapped("./data/data/com.xiaomi.wearable/databases/device_db") == (
        "/data/data/com.xiaomi.wearable/databases/device_db"
    )
    assert mapped("FS/data/media/0/Download/x.zip") == "/sdcard/Download/x.zip"
    assert mapped("Download/wearablelog/1log.zip") == "/sdcard/Download/wearablelog/1log.zip"
    assert mapped("../data/data/evil") is None
    assert mapped("random/file.txt") is None


def test_zstd_tar_is_walked(tmp_path: Path) -> None:
    mac, key = archives.device("zstd")
    log = twrp.device_log(mac, key).encode()
    body = zstandard.ZstdCompressor().compress(archives.tar_bytes([(archives.WATCH_LOG, log)]))
    path = tmp_path / "storage.tar.zst"
    path.write_bytes(body)
    result, _ = _scan(path)
    assert [(c.key, c.provenance[:3]) for c in result.candidates] == [
        (key, (str(path), "storage.tar", archives.WATCH_LOG))
    ]
    path.write_bytes(body[: len(body) // 2])
    cut, _ = _scan(path)
    assert {p.kind for p in cut.problems} == {"truncated"}


def _zstd_frames() -> bytes:
    """Frames of several header shapes: checksum or not, content size or not (a single
    segment with a 1-byte size), a skippable frame, an RLE-heavy frame (16 MiB of one
    byte in a few hundred bytes). No dictionary id: the corpus has no zstd dictionary."""
    plain = zstandard.ZstdCompressor(write_checksum=False, write_content_size=False)
    checked = zstandard.ZstdCompressor(write_checksum=True, level=19)
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    return (
        plain.compress(b"first frame\n" * 1000)
        + skippable
        + checked.compress(b"a" * (16 << 20))
        + checked.compress(b"")
    )


def test_zstd_frame_ends_tell_a_cut_from_the_end() -> None:
    from scanner.formats.compressed.zstd import FrameEnds

    data = _zstd_frames()
    whole, byte_by_byte = FrameEnds(), FrameEnds()
    whole.feed(data)
    for at in range(len(data)):
        byte_by_byte.feed(data[at : at + 1])
    assert whole.between_frames and byte_by_byte.between_frames
    assert not whole.lost and not byte_by_byte.lost
    inside = [n for n in range(1, len(data), 13) if not _ends_between(data[:n])]
    assert len(inside) > 0.9 * len(range(1, len(data), 13))  # frame ends are few
    garbage = FrameEnds()
    garbage.feed(data + b"PK\x03\x04")
    assert garbage.lost


def _ends_between(data: bytes) -> bool:
    from scanner.formats.compressed.zstd import FrameEnds

    frames = FrameEnds()
    frames.feed(data)
    return frames.between_frames


def test_zstd_decodes_in_bounded_chunks() -> None:
    from scanner.formats.compressed import inflate
    from scanner.formats.compressed.zstd import _ZstdChunks

    data = _zstd_frames()
    chunks = _ZstdChunks(io.BytesIO(data))
    sizes = []
    while piece := chunks.next():
        sizes.append(len(piece))
    assert sum(sizes) == 12_000 + (16 << 20)
    assert max(sizes) <= inflate.CHUNK  # a bomb cannot make one huge piece
    cut = _ZstdChunks(io.BytesIO(data[: len(data) - 3]))  # inside the last checksum
    with pytest.raises(Truncated, match="zstd stream ends inside a frame"):
        while cut.next():
            pass


def _gnu_sparse_member(name: str, pieces: list[tuple[int, bytes]], real_size: int) -> bytes:
    """A GNU tar 'S' (old sparse) member: only ``pieces`` are stored, the rest are holes."""
    stored = b"".join(data for _, data in pieces)
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(stored), 1709294400
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    for index, (offset, data) in enumerate(pieces):  # up to 4 map entries in the header
        at = 386 + 24 * index
        header[at : at + 24] = b"%011o\0%011o\0" % (offset, len(data))
    header[483:495] = b"%011o\0" % real_size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])
    return bytes(header[:512]) + stored + b"\0" * (-len(stored) % 512)


def test_sparse_members_and_the_members_after_them(tmp_path: Path) -> None:
    """Member data is read straight from the stream, except sparse members (holes are
    tarfile's to fill in); every member reads to tarfile's bytes, and the member after a
    sparse one is still found where it starts."""
    mac, key = archives.device("after-sparse")
    log = twrp.device_log(mac, key).encode()
    sparse = _gnu_sparse_member("logs/sparse.bin", [(0, b"start\n"), (8192, b"end\n")], 8196)
    data = sparse + archives.tar_bytes([("logs/a.log", log), ("logs/b.bin", b"\0" * 1024)])
    expected = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as reference:
        for info in reference.getmembers():
            handle = reference.extractfile(info)
            assert handle is not None
            expected[info.name] = handle.read()
    assert expected["logs/sparse.bin"] == b"start\n" + b"\0" * 8186 + b"end\n"
    forward_only = io.BufferedReader(_ForwardOnly(data))
    top = Artifact(chain=("x.tar",), opener=lambda: forward_only)
    got = {}
    for member in Tar().walk(top, forward_only, scan_context()):  # type: ignore[arg-type]
        with member.open() as stream:
            got[member.chain[-1]] = stream.read()
    assert got == expected
    path = tmp_path / "sparse.tar"
    path.write_bytes(data)
    result, _ = _scan(path)
    assert result.problems == []
    assert {(c.key, c.provenance[1]) for c in result.candidates} == {(key, "logs/a.log")}


class _ForwardOnly(io.RawIOBase):
    """A stream that cannot seek, like a decompressed backup body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


@pytest.mark.parametrize("claimed", [5000, 4000, 6000, 9000])  # true size: 5000
def test_spool_with_a_size_from_a_header(claimed: int) -> None:
    """A header's size within the memory cap is read in one piece; a size that lied (too
    small, or past the cap) still gives every byte, through the usual spool (in memory
    too: 5000 bytes are within the cap)."""
    from scanner.artifacts import spooling as artifact_module

    data = hashlib.sha256(b"spool").digest() * 156 + b"tail...."  # 5000 bytes
    stream = io.BufferedReader(_ForwardOnly(data))
    spooled = artifact_module.spool(stream, 8000, 10_000, size_hint=claimed)
    assert isinstance(spooled, io.BytesIO)
    assert spooled.read() == data
    with pytest.raises(LimitExceeded):
        artifact_module.spool(io.BufferedReader(_ForwardOnly(data)), 8000, 4999, size_hint=5000)
