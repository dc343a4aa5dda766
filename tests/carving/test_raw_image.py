"""Raw images and unknown blobs: carved databases, WALs and key text, deleted or live."""

from __future__ import annotations

import gzip
import io
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from corpus.common import Expected, fake_key, fake_mac
from corpus.samples import raw_image as sample
from corpus.sqlite_files import Database, wal_file
from scanner.artifacts import Artifact, Origin
from scanner.carving import carver as carving
from scanner.carving.carved import Carve
from scanner.carving.carver import Carver
from scanner.carving.raw_image import RawImage
from scanner.context import Limits, ScanOptions
from scanner.formats.sqlite.layout import SQLITE_MAGIC
from scanner.model import ScanResult
from scanner.pipeline import scan

needs_e2fsprogs = pytest.mark.skipif(
    not sample.have_e2fsprogs(),
    reason="mkfs.ext4 / debugfs (e2fsprogs) not installed: the ext4 sample is not built",
)
Seen = list[tuple[tuple[str, ...], str, Origin]]


@pytest.fixture(autouse=True, params=["python", "hyperscan"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with the pure-Python anchor search and with hyperscan's."""
    if request.param == "python":
        monkeypatch.setattr(carving, "fast_engine", lambda wanted=None: None)
    elif carving.fast_engine() is None:
        pytest.skip("hyperscan (the optional fast extra) is not installed")
    return str(request.param)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    root = tmp_path_factory.mktemp("raw_image")
    return root, {e.input: e for e in sample.build(root)}


def _scan(path: Path, options: ScanOptions | None = None) -> tuple[ScanResult, Seen]:
    seen: Seen = []
    result = scan([path], options, on_artifact=lambda a, k: seen.append((a.chain[1:], k, a.origin)))
    return result, seen


def _facts(result: ScanResult) -> set[tuple]:
    """What a candidate says, without the input's own name."""
    return {
        (c.key, c.field, c.method, c.deleted, c.device, c.provenance[-2:], c.timestamp)
        for c in result.candidates
    }


def _carves(data: bytes, chunk_size: int) -> list[tuple[str, int, int, str, bytes]]:
    """Every carve of ``data`` read as a forward-only stream, with its bytes."""
    out = []
    carver = Carver(
        io.BytesIO(data).readinto, reread=False, max_bytes=1 << 30, chunk_size=chunk_size
    )
    for carve in carver.run():
        out.append((carve.kind, carve.offset, carve.length, carve.label, _bytes(carve)))
    return out


def _bytes(carve: Carve) -> bytes:
    if carve.data is not None:
        return carve.data
    assert carve.spool is not None
    with carve.spool:
        return carve.spool.read()


# --- the corpus samples --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [pytest.param("raw_image/userdata.img", marks=needs_e2fsprogs), "raw_image/mmcblk0p42.bin"],
)
def test_expected(samples: tuple[Path, dict[str, Expected]], name: str) -> None:
    root, expected = samples
    want = expected[name]
    result, _ = _scan(root / name)
    found = {c.key for c in result.candidates}
    assert want.keys <= found
    assert not want.absent & found
    assert {d.device.mac: d.chosen.key for d in result.devices} == want.devices
    assert {c.method for c in result.candidates} == {"carve"}


@needs_e2fsprogs
def test_deleted_database_and_log_come_back_from_free_blocks(
    samples: tuple[Path, dict[str, Expected]],
) -> None:
    root, _ = samples
    image = root / "raw_image/userdata.img"
    data = image.read_bytes()
    db_at = data.find(SQLITE_MAGIC)
    pages = int.from_bytes(data[db_at + 28 : db_at + 32], "big")
    log_at = data.find(b"2024-02-28 10:11:00.345|")
    prefs_at = data.find(b"<?xml version=")
    result, _ = _scan(image)
    by_key = {c.key: c for c in result.candidates}
    assert len(result.candidates) == 3

    band = by_key[fake_key("raw-a")]  # the deleted Zepp Life database
    assert (band.method, band.deleted, band.field) == ("carve", True, "AUTHKEY")
    assert band.device.mac == fake_mac("raw-a")
    # The database's blocks go around a bitmap block of the file system: "in 2 pieces".
    name = rf"offset 0x{db_at:08x} \(carved sqlite, {pages} pages(, in \d+ pieces)?\)"
    assert re.fullmatch(name, band.provenance[1])

    watch = by_key[fake_key("raw-b")]  # the deleted Mi Fitness log
    assert (watch.method, watch.deleted, watch.field) == ("carve", True, "token")
    assert watch.provenance == (str(image), f"offset 0x{log_at:08x} (carved text)", "line 9")
    assert watch.device.mac == fake_mac("raw-b")
    assert watch.timestamp == datetime(2024, 2, 28, 10, 11, 7, 500000)

    live = by_key[fake_key("raw-c")]  # Gadgetbridge's preferences, still a file
    assert (live.method, live.deleted, live.field) == ("carve", False, "authkey")
    where = "string[@name='authkey']"
    assert live.provenance == (str(image), f"offset 0x{prefs_at:08x} (carved text)", where)
    assert live.device.mac == fake_mac("raw-c")


@needs_e2fsprogs
def test_decoy_digests_are_never_carved_or_reported(
    samples: tuple[Path, dict[str, Expected]],
) -> None:
    root, _ = samples
    image = root / "raw_image/userdata.img"
    data = image.read_bytes()
    decoy_at = data.find(sample.decoy_digests()[2].encode())  # only in the digest file
    assert decoy_at > 0
    result, seen = _scan(image)
    assert not {c.key for c in result.candidates} & set(sample.decoy_digests())
    carved = {origin.carved_at: chain[-1] for chain, _, origin in seen if origin.carved}
    assert not [name for at, name in carved.items() if at <= decoy_at < at + 4096]


@needs_e2fsprogs
def test_truncated_image_keeps_what_precedes_the_cut(
    samples: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    root, _ = samples
    data = (root / "raw_image/userdata.img").read_bytes()
    db_at = data.find(SQLITE_MAGIC)
    cut = tmp_path / "userdata-cut.img"
    cut.write_bytes(data[: db_at + 3 * 4096])  # header, schema and the DEVICE page
    result, seen = _scan(cut)
    assert {(c.key, c.deleted, c.method) for c in result.candidates} == {
        (fake_key("raw-a"), True, "carve")
    }
    carved = [chain for chain, kind, _ in seen if kind == "sqlite db"]
    assert len(carved) == 1
    assert ("truncated", (str(cut), *carved[0])) in {
        (p.kind, p.provenance) for p in result.problems
    }


def test_blob_pieces_and_wal(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    blob = root / "raw_image/mmcblk0p42.bin"
    result, seen = _scan(blob)
    assert [(chain, kind, origin.deleted) for chain, kind, origin in seen[1:]] == [
        ((f"offset 0x{sample.BLOB_LOG_AT + 1:08x} (carved text)",), "log", None),
        ((f"offset 0x{sample.BLOB_WAL_AT:08x} (carved wal, 2 frames)",), "sqlite wal", None),
        ((f"offset 0x{sample.BLOB_DB_AT:08x} (carved sqlite, 15 pages)",), "sqlite db", None),
    ]
    assert {c.deleted for c in result.candidates} == {False}  # unknown is not deleted


def test_forward_only_sources_give_the_same_candidates(
    samples: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    """Inside gzip nothing can be re-read: databases are kept while they pass, and the
    ext4 bitmaps are kept as the stream passes them."""
    root, expected = samples
    for name in expected:
        plain = root / name
        packed = tmp_path / (plain.name + ".gz")
        packed.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
        stat = plain.stat()
        os.utime(packed, (stat.st_atime, stat.st_mtime))  # the live file's time comes from it
        assert _facts(_scan(packed)[0]) == _facts(_scan(plain)[0])


def test_cut_gzip_stream_reports_the_cut_and_keeps_what_came_before(
    samples: tuple[Path, dict[str, Expected]], tmp_path: Path
) -> None:
    """A gzip'd image cut short: only its reader meets the cut, so the carver reports it."""
    root, _ = samples
    packed = gzip.compress((root / "raw_image/mmcblk0p42.bin").read_bytes(), mtime=0)
    path = tmp_path / "mmcblk0p42.bin.gz"
    path.write_bytes(packed[: len(packed) * 7 // 10])  # after the database, before the log
    result, _ = _scan(path)
    assert {c.key for c in result.candidates} == {fake_key("raw-d")}
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("truncated", (str(path), "mmcblk0p42.bin"))
    ]


@pytest.mark.parametrize("chunk_size", [4099, 37_160, 65_536])
def test_small_chunks_give_the_same_candidates(
    samples: tuple[Path, dict[str, Expected]], chunk_size: int
) -> None:
    root, expected = samples
    before = {name: _facts(_scan(root / name)[0]) for name in expected}
    small = ScanOptions(carve_chunk_size=chunk_size)
    assert {name: _facts(_scan(root / name, small)[0]) for name in expected} == before


def test_entry_limit(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    blob = root / "raw_image/mmcblk0p42.bin"
    result, seen = _scan(blob, ScanOptions(limits=Limits(max_entries=1)))
    assert len([origin for _, _, origin in seen if origin.carved]) == 1
    assert [(p.kind, p.provenance) for p in result.problems] == [("limit", (str(blob),))]


def test_database_larger_than_the_limit_is_cut(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    blob = root / "raw_image/mmcblk0p42.bin"
    result, _ = _scan(blob, ScanOptions(limits=Limits(max_sqlite_bytes=3 * 4096)))
    name = f"offset 0x{sample.BLOB_DB_AT:08x} (carved sqlite, 15 pages)"
    assert [a.size for a in _artifacts(blob, max_sqlite_bytes=3 * 4096) if a.chain[-1] == name] == [
        3 * 4096
    ]
    assert ("limit", (str(blob), name)) in {(p.kind, p.provenance) for p in result.problems}


def _artifacts(path: Path, **limits: int) -> list[Artifact]:
    found: list[Artifact] = []
    scan([path], ScanOptions(limits=Limits(**limits)), on_artifact=lambda a, k: found.append(a))
    return found


# --- the carver on its own ----------------------------------------------------------------

KEY = fake_key("carve-unit")
LINE = f"2024-01-05 08:00:00.000|3.20.1i|I|Ble_9_9|macAddress=C8:0F:10:00:00:01, authKey={KEY}\n"


def _database() -> bytes:
    db = Database("CREATE TABLE DEVICE (MAC TEXT, AUTHKEY TEXT);")
    db.run("INSERT INTO DEVICE VALUES ('C8:0F:10:00:00:02', ?)", [(fake_key("unit-db"),)])
    image = db.image()
    db.close()
    return image


def _blob() -> tuple[bytes, list[int]]:
    """Noise with a database and a log line; the offsets where each starts."""
    noise = bytes((n * 7919 + 13) % 251 for n in range(12_000))
    db, text = _database(), b"\0" + LINE.encode() + b"\0"
    data = noise[:5000] + db + noise[:3001] + text + noise
    return data, [5000, 5000 + len(db) + 3001 + 1]


def test_anchors_across_chunk_borders() -> None:
    data, starts = _blob()
    whole = sorted(_carves(data, carving.CHUNK_SIZE))
    assert [(kind, offset) for kind, offset, *_ in whole] == [
        ("sqlite", starts[0]),
        ("text", starts[1]),
    ]
    assert whole[1][4] == LINE.encode()
    # A border inside the database magic, inside the field name, inside the key.
    key_at = starts[1] + LINE.index(KEY)
    borders = [starts[0] + 5, starts[1] + LINE.index("authKey") + 3, key_at + 16, key_at + 31]
    for border in borders:
        for chunk_size in (border, border // 2, border // 3):
            assert sorted(_carves(data, chunk_size)) == whole, (border, chunk_size)


@pytest.mark.parametrize("phase", range(4))
@pytest.mark.parametrize("before", ["authKey=", "token=", '"auth_key": "', 'name="authkey">0x'])
def test_a_key_is_found_at_every_byte_phase(phase: int, before: str) -> None:
    """The hex search samples every 4th byte: a key must be found whatever its phase."""
    text = f"connect {before}{KEY} ok\n".encode()
    data = b"\0" * (4096 + phase) + text + b"\0" * 64
    assert [(kind, body) for kind, _, _, _, body in _carves(data, 1 << 20)] == [("text", text)]


def test_fragments_merge_and_bare_hex_is_not_carved() -> None:
    digest = fake_key("a digest")
    second = LINE.replace(KEY, fake_key("carve-unit-2"))
    text = f"md5 {digest}\n{LINE}some text\n{second}".encode()
    carves = _carves(b"\0" * 100 + text + b"\0" * 100, 1 << 20)
    assert [(kind, offset, data) for kind, offset, _, _, data in carves] == [("text", 100, text)]
    assert _carves(b"\0" * 100 + f"md5 {digest}\n".encode() * 50 + b"\0", 1 << 20) == []


def test_page_one_in_a_wal_frame_is_not_a_database() -> None:
    db = _database()
    pages = [db[i : i + 4096] for i in range(0, len(db), 4096)]
    wal = wal_file([(1, 0, pages[0]), (2, len(pages), pages[1])])
    carves = _carves(b"\0" * 4096 + wal + b"\0" * 4096, 1 << 20)
    assert [(kind, offset, length, label) for kind, offset, length, label, _ in carves] == [
        ("wal", 4096, len(wal), "2 frames")
    ]


def test_what_is_worth_carving() -> None:
    def artifact(size: int | None) -> Artifact:
        return Artifact(chain=("x",), opener=io.BytesIO, size=size)

    binary = bytes(range(256)) * 16
    assert RawImage.wants_unclaimed(binary, artifact(None))
    assert RawImage.wants_unclaimed(binary, artifact(64 << 10))
    assert not RawImage.wants_unclaimed(binary, artifact((64 << 10) - 1))
    assert not RawImage.wants_unclaimed(b"plain text\n" * 300, artifact(1 << 20))
    assert not RawImage.wants_unclaimed(b"\xff\xd8\xff\xe0" + binary, artifact(1 << 20))
    assert not RawImage.wants_unclaimed(b"\0\0\0\x18ftypheic" + binary, artifact(1 << 20))
    # Inside an archive only big members can be partition images: app blobs are skipped
    # (carving them cost a backup scan most of its time); a decompressed stream is carved.
    member = Artifact(chain=("x", "m"), opener=io.BytesIO, size=(64 << 20) - 1, depth=1)
    assert not RawImage.wants_unclaimed(binary, member)
    member.size = 64 << 20
    assert RawImage.wants_unclaimed(binary, member)
    member.size = None
    assert RawImage.wants_unclaimed(binary, member)


@needs_e2fsprogs
def test_ext4_is_detected_by_its_superblock(samples: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = samples
    head = (root / "raw_image/userdata.img").read_bytes()[:4096]
    assert RawImage.detect(head, Artifact(chain=("x",), opener=io.BytesIO))
    blob = (root / "raw_image/mmcblk0p42.bin").read_bytes()[:4096]
    assert not RawImage.detect(blob, Artifact(chain=("x",), opener=io.BytesIO))


# --- how many databases one search chunk may hold -----------------------------------------


def _small_database(index: int) -> bytes:
    """A one-table database of 2 pages of 512 bytes, with its own band and key."""
    db = Database("CREATE TABLE DEVICE (MAC TEXT, AUTHKEY TEXT);", page_size=512)
    db.run(
        "INSERT INTO DEVICE VALUES (?, ?)",
        [(fake_mac(f"packed-{index}"), fake_key(f"packed-{index}"))],
    )
    image = db.image()
    db.close()
    return image


@pytest.mark.parametrize("forward_only", [False, True])
def test_tightly_packed_databases_are_all_carved(tmp_path: Path, forward_only: bool) -> None:
    """Far more than 16 small databases back to back in one 8 MiB search chunk: every
    one is carved (none overlaps another), and no limit is met."""
    count = 300
    noise = bytes((n * 7919 + 13) % 251 for n in range(4096))
    data = bytearray(noise)
    starts = []
    for index in range(count):
        starts.append(len(data))
        data += _small_database(index)
    data += noise * 20  # an unknown blob of at least 64 KiB
    path = tmp_path / "packed.bin"
    path.write_bytes(gzip.compress(bytes(data), mtime=0) if forward_only else bytes(data))
    result, _ = _scan(path)
    assert len(starts) == count and len(data) < carving.CHUNK_SIZE
    assert {(c.key, c.method, c.provenance[-2]) for c in result.candidates} == {
        (fake_key(f"packed-{i}"), "carve", f"offset 0x{start:08x} (carved sqlite, 2 pages)")
        for i, start in enumerate(starts)
    }
    assert result.problems == []


def test_databases_that_overlap_past_the_bound_are_a_limit_problem(tmp_path: Path) -> None:
    """Headers 1 KiB apart that each claim 1000 pages: they really overlap, and the
    seventeenth onwards is a ``limit`` problem, never skipped in silence. (The image
    ends long before 1000 pages: each carved one is also ``truncated``.)"""
    image = _small_database(0)
    claims = image[:28] + (1000).to_bytes(4, "big") + image[32:]  # page count, still valid
    noise = bytes((n * 7919 + 13) % 251 for n in range(70_000))
    data = noise[:4096] + b"".join(claims[:1024] for _ in range(20)) + noise
    path = tmp_path / "overlap.bin"
    path.write_bytes(data)
    result, seen = _scan(path)
    carved = [chain[-1] for chain, kind, origin in seen if origin.carved]
    assert carved == [
        f"offset 0x{4096 + 1024 * i:08x} (carved sqlite, 1000 pages)" for i in range(16)
    ]
    limits = [(p.kind, p.provenance, p.message) for p in result.problems if p.kind == "limit"]
    assert limits == [
        ("limit", (str(path),),
         f"more than 16 databases overlap at offset 0x{4096 + 1024 * 16:08x}: not carved"),
        ("limit", (str(path),),
         f"more than 16 databases overlap at offset 0x{4096 + 1024 * 17:08x}: not carved"),
        ("limit", (str(path),),
         f"more than 16 databases overlap at offset 0x{4096 + 1024 * 18:08x}: not carved"),
        ("limit", (str(path),),
         f"more than 16 databases overlap at offset 0x{4096 + 1024 * 19:08x}: not carved"),
    ]  # fmt: skip
