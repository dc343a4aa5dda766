"""zip bombs that keep every member under the per-member limits (issue 16 item 5)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from corpus.samples import archives, twrp
from scanner.artifacts import Artifact
from scanner.context import ScanContext
from scanner.errors import LimitExceeded
from scanner.formats.zip.container import Zip
from scanner.formats.zip.times import LOCAL_TIME, NTFS_TIME, UT_TIME
from scanner.pipeline import scan
from scanner.reports.json_report import to_dict
from tests.helpers import scan_context

MiB = 1 << 20
DOS_TIME, DOS_DATE = 0x6000, 0x5861  # 2024-03-01 12:00:00


def _local(name: bytes, method: int, crc: int, stored: int, size: int) -> bytes:
    fields = (20, 0, method, DOS_TIME, DOS_DATE, crc, stored, size, len(name), 0)
    return b"PK\x03\x04" + struct.pack("<5H3I2H", *fields) + name


def _central(name: bytes, method: int, crc: int, stored: int, size: int, offset: int) -> bytes:
    fields = (20, 20, 0, method, DOS_TIME, DOS_DATE, crc, stored, size, len(name))
    rest = (0, 0, 0, 0, 0o644 << 16, offset)
    return b"PK\x01\x02" + struct.pack("<6H3I5H2I", *fields, *rest) + name


def _end(count: int, central: bytes, at: int) -> bytes:
    return b"PK\x05\x06" + struct.pack("<4H2IH", 0, 0, count, count, len(central), at, 0)


def shared_stream_zip(count: int) -> bytes:
    """``count`` central entries, each a 1 MiB member, all pointing at one local header
    and its deflate stream (1 KB): no member is over any per-member limit."""
    data = bytes(MiB)
    packed = zlib.compress(data, 9, wbits=-15)
    crc = zlib.crc32(data)
    local = _local(b"zeros.bin", 8, crc, len(packed), len(data)) + packed
    central = b"".join(
        _central(b"zeros.bin", 8, crc, len(packed), len(data), 0) for _ in range(count)
    )
    return local + central + _end(count, central, len(local))


def quoted_zip() -> bytes:
    """Fifield's "quoted" overlap: a stored member whose data holds the next member's local
    header and data, so both members read the same bytes."""
    inner_data = b"inner data\n"
    inner = _local(b"b.txt", 0, zlib.crc32(inner_data), len(inner_data), len(inner_data))
    outer_data = inner + inner_data
    crc = zlib.crc32(outer_data)
    local = _local(b"a.txt", 0, crc, len(outer_data), len(outer_data)) + outer_data
    n = len(inner_data)
    central = _central(b"a.txt", 0, crc, len(outer_data), len(outer_data), 0) + _central(
        b"b.txt", 0, zlib.crc32(inner_data), n, n, 30 + 5
    )
    return local + central + _end(2, central, len(local))


def _read_capped(data: bytes, ctx: ScanContext, cap: int) -> dict[str, int]:
    """Bytes read from each member, stopping the test (not hanging it) past ``cap``."""
    stream = io.BytesIO(data)
    top = Artifact(chain=("x.zip",), opener=lambda: stream)
    total = 0
    got: dict[str, int] = {}
    for member in Zip().walk(top, stream, ctx):
        with member.open() as handle:
            try:
                while piece := handle.read(MiB):
                    total += len(piece)
                    got[member.chain[-1]] = got.get(member.chain[-1], 0) + len(piece)
                    assert total <= cap, f"more than {cap:,} bytes made"
            except LimitExceeded as error:
                ctx.report(error, member.chain)
    return got


def test_members_sharing_one_deflate_stream_are_corrupt() -> None:
    data = shared_stream_zip(3000)
    assert len(data) < 200_000  # 3000 members of 1 MiB: 3 GiB from 164 KB
    ctx = scan_context()
    assert _read_capped(data, ctx, cap=64 * MiB) == {}
    assert [(p.kind, p.provenance, p.message) for p in ctx.problems] == [
        (
            "corrupt",
            ("x.zip",),
            "3,000 members share their bytes with other members (a zip bomb's "
            "construction); they are not read",
        )
    ]


def test_quoted_members_are_corrupt_and_the_others_read(tmp_path: Path) -> None:
    mac, key = archives.device("beside-quoted")
    good = archives.zip_bytes([(archives.WATCH_LOG, twrp.device_log(mac, key).encode())])
    ctx = scan_context()
    assert _read_capped(quoted_zip(), ctx, cap=MiB) == {}
    assert [(p.kind, p.provenance) for p in ctx.problems] == [("corrupt", ("x.zip",))]
    (tmp_path / "quoted.zip").write_bytes(quoted_zip())
    (tmp_path / "good.zip").write_bytes(good)
    result = scan([tmp_path])
    assert [(p.kind, p.provenance[1:]) for p in result.problems] == [("corrupt", ("quoted.zip",))]
    assert [c.provenance[1] for c in result.candidates] == ["good.zip"]


def test_all_members_of_one_zip_share_one_budget() -> None:
    """70 distinct members of 1 MiB of zeros (1 KB each packed): each is allowed alone, but
    together they pass the zip's budget (200 times its size, at least 64 MiB)."""
    members = [(f"zeros{n:02}.bin", bytes(MiB)) for n in range(70)]
    data = archives.zip_bytes(members)
    assert len(data) < 120_000
    ctx = scan_context()
    got = _read_capped(data, ctx, cap=80 * MiB)
    assert got == {f"zeros{n:02}.bin": MiB for n in range(64)}  # then the 65th trips it
    assert [(p.kind, p.provenance) for p in ctx.problems] == [("limit", ("x.zip", "zeros64.bin"))]
    assert ctx.problems[0].message == (
        f"the members of this zip expand past {64 * MiB:,} bytes, over 200:1 of its "
        f"{len(data):,} bytes (zip bomb?); the rest of the zip is skipped"
    )


@pytest.mark.parametrize("count", [1, 2])
def test_members_that_do_not_overlap_are_read(count: int) -> None:
    data = archives.zip_bytes([(f"m{n}.txt", b"text %d\n" % n) for n in range(count)])
    ctx = scan_context()
    assert _read_capped(data, ctx, cap=MiB) == {f"m{n}.txt": 7 for n in range(count)}
    assert ctx.problems == []


# --- member times (issue 14 item 7) ------------------------------------------------------

KEY_LINE = "deviceInfo = DeviceInfo(address={mac}, model=miwear.watch.n67cn, token={key})\n"
UTC_NOON = 1709294400  # 2024-03-01 12:00:00 UTC


def _ut(mtime: int) -> bytes:
    return struct.pack("<HHBi", 0x5455, 5, 1, mtime)


def _ntfs(seconds: float) -> bytes:
    ticks = round(seconds * 10_000_000) + 116_444_736_000_000_000
    return struct.pack("<HHIHH3Q", 0x000A, 32, 0, 1, 24, ticks, ticks, ticks)


def _timed_zip(path: Path, label: str, date_time: tuple[int, ...], extra: bytes) -> str:
    mac, key = archives.device(label)
    info = zipfile.ZipInfo("notes.txt", date_time=date_time)  # type: ignore[arg-type]
    info.extra = extra
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, KEY_LINE.format(mac=mac, key=key))
    return key


@pytest.mark.parametrize(
    ("label", "date_time", "extra", "timestamp", "source"),
    [
        # Made in UTC+8: the DOS time is 20:00 local, the UT field 12:00 UTC.
        ("ut", (2024, 3, 1, 20, 0, 0), _ut(UTC_NOON), "2024-03-01T12:00:00Z", UT_TIME),
        (
            "ntfs",
            (2024, 3, 1, 20, 0, 0),
            _ntfs(UTC_NOON + 0.5),
            "2024-03-01T12:00:00.500000Z",
            NTFS_TIME,
        ),
        ("dos", (2024, 3, 1, 20, 0, 0), b"", "2024-03-01T20:00:00", LOCAL_TIME),
        (  # a UT field whose flags promise an mtime that is not there: the DOS time
            "short-ut",
            (2024, 3, 1, 20, 0, 0),
            b"UT\x01\x00\x01",
            "2024-03-01T20:00:00",
            LOCAL_TIME,
        ),
    ],
)
def test_member_times(
    tmp_path: Path,
    label: str,
    date_time: tuple[int, ...],
    extra: bytes,
    timestamp: str,
    source: str,
) -> None:
    path = tmp_path / f"{label}.zip"
    key = _timed_zip(path, label, date_time, extra)
    document = to_dict(scan([path]))
    assert [(c["key"], c["timestamp"], c["timestamp_source"]) for c in document["candidates"]] == [
        (key, timestamp, source)
    ]
    assert document["problems"] == []


def test_a_utc_member_time_ranks_above_a_local_one_at_the_same_moment(tmp_path: Path) -> None:
    """One device, two keys, both timed 12:00: one by a UT field, one by a bare DOS time."""
    mac, first = archives.device("zone")
    second = archives.device("zone-2")[1]
    for name, key, extra in (("local.zip", first, b""), ("utc.zip", second, _ut(UTC_NOON))):
        info = zipfile.ZipInfo("notes.txt", date_time=(2024, 3, 1, 12, 0, 0))
        info.extra = extra
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr(info, KEY_LINE.format(mac=mac, key=key))
    devices = scan([tmp_path]).devices
    assert [(d.device.mac, d.chosen.key) for d in devices] == [(mac, second)]
    assert "zone is known" in devices[0].reason
