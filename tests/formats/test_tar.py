"""tar headers read by our reader (scanner/formats/tar): the names, sizes, times and data
that tarfile gives, for ustar, GNU and pax headers, base-256 numbers and sparse members."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from corpus.samples import archives, twrp
from scanner.artifacts import Artifact
from scanner.context import Limits, ScanContext, ScanOptions
from scanner.errors import Corrupt, InputBudgetExceeded
from scanner.formats.tar.container import Tar
from scanner.pipeline import scan
from tests.helpers import scan_context

MTIME = 1709294400


def _walk(data: bytes, ctx: ScanContext | None = None) -> dict[str, tuple[bytes, float | None]]:
    """Every file member's bytes and time, read forward only as a backup body is."""
    stream = io.BufferedReader(_ForwardOnly(data))
    top = Artifact(chain=("x.tar",), opener=lambda: stream)
    got = {}
    for member in Tar().walk(top, stream, ctx or scan_context()):  # type: ignore[arg-type]
        with member.open() as handle:
            got[member.chain[-1]] = (handle.read(), member.mtime)
    return got


def _reference(data: bytes) -> dict[str, tuple[bytes, float | None]]:
    expected = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for info in archive.getmembers():
            handle = archive.extractfile(info) if info.isfile() else None
            if handle is not None:
                expected[info.name] = (handle.read(), float(info.mtime) or None)
    return expected


class _ForwardOnly(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def _tar(format_: int, members: list[tarfile.TarInfo], datas: list[bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=format_) as archive:
        for info, data in zip(members, datas, strict=True):
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _info(name: str, mtime: float = MTIME, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.type = mtime, kind
    return info


LONG = "data/data/com.xiaomi.hm.health/" + "/".join(f"folder{i:03}" for i in range(30))


@pytest.mark.parametrize("format_", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_names_sizes_times_and_data_are_tarfiles(format_: int) -> None:
    names = ["a.log", "sdcard/" + "x" * 90 + "/" + "y" * 60 + ".log"]  # a ustar prefix
    if format_ != tarfile.USTAR_FORMAT:
        names += [LONG + "/origin_db", "Download/日本語.log"]  # long name, UTF-8
    members = [_info(name) for name in names]
    datas = [b"line %d\n" % i * (i + 1) * 100 for i in range(len(names))]
    members.insert(1, _info("folder/", kind=tarfile.DIRTYPE))
    datas.insert(1, b"")
    link = _info("link", kind=tarfile.SYMTYPE)
    link.linkname = LONG if format_ != tarfile.USTAR_FORMAT else "a.log"  # GNU 'K', pax
    members.append(link)
    datas.append(b"")
    if format_ == tarfile.PAX_FORMAT:
        members.append(_info("fraction.log", mtime=MTIME + 0.25))  # a pax mtime record
        datas.append(b"quarter\n")
    data = _tar(format_, members, datas)
    got = _walk(data)
    assert got == _reference(data)
    assert sorted(got) == sorted(names + (["fraction.log"] if format_ == 2 else []))
    if format_ == tarfile.PAX_FORMAT:
        assert got["fraction.log"][1] == MTIME + 0.25


def _with_field(header: bytes, at: int, value: bytes) -> bytes:
    block = bytearray(header)
    block[at : at + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def test_base_256_numbers() -> None:
    """GNU tar writes numbers too big for octal (sizes of 8 GiB and more, times before
    1970) in base 256 after a 0x80 (or 0xFF, negative) byte."""
    body = b"base-256 sized\n"
    header = _info("big.log").tobuf(tarfile.GNU_FORMAT)
    header = _with_field(header, 124, b"\x80" + len(body).to_bytes(11, "big"))
    header = _with_field(header, 136, b"\x80" + (MTIME + 7).to_bytes(11, "big"))
    data = header + body.ljust(512, b"\0") + archives.tar_bytes([("after.log", b"next\n")])
    assert _walk(data) == {
        "big.log": (body, float(MTIME + 7)),
        "after.log": (b"next\n", float(archives.epoch(2024, 2, 28))),
    }
    assert _walk(data) == _reference(data)


@pytest.mark.parametrize("signed", [False, True])
def test_header_checksums_as_tarfile_takes_them(signed: bool) -> None:
    """A header's sum over unsigned bytes, or over signed ones (some old tars), is taken;
    any other sum is a corrupt header."""
    block = bytearray(_info("ünïcode.log").tobuf(tarfile.GNU_FORMAT))  # bytes over 127
    block[148:156] = b" " * 8
    total = sum(b - 256 if signed and b > 127 else b for b in block)
    after = archives.tar_bytes([("after.log", b"next\n")])
    block[148:156] = b"%06o\0 " % total
    data = bytes(block) + after
    assert sorted(_walk(data)) == ["after.log", "ünïcode.log"]
    assert _walk(data) == _reference(data)
    block[148:156] = b"%06o\0 " % (total + 1)
    with pytest.raises(Corrupt, match="bad checksum"):
        _walk(bytes(block) + after)


def _pax(records: list[tuple[str, str]], kind: bytes = tarfile.XHDTYPE) -> bytes:
    body = b"".join(_record(k.encode(), v.encode()) for k, v in records)
    info = _info("././@PaxHeader", kind=kind)
    info.size = len(body)
    return info.tobuf(tarfile.USTAR_FORMAT) + body.ljust(-(-len(body) // 512) * 512, b"\0")


def _record(keyword: bytes, value: bytes) -> bytes:
    body = keyword + b"=" + value
    size = len(body) + 3
    while len(b"%d %s\n" % (size, body)) != size:
        size += 1
    return b"%d %s\n" % (size, body)


def _file(name: str, stored: bytes) -> bytes:
    info = _info(name)
    info.size = len(stored)
    return info.tobuf(tarfile.USTAR_FORMAT) + stored.ljust(-(-len(stored) // 512) * 512, b"\0")


PIECES = [(0, b"start of the file\n"), (6000, b"middle\n"), (20000, b"end\n")]
REAL_SIZE = 20004
EXPECTED = bytearray(REAL_SIZE)
for _at, _piece in PIECES:
    EXPECTED[_at : _at + len(_piece)] = _piece
STORED = b"".join(piece for _, piece in PIECES)


def _sparse_00() -> bytes:
    records = [("GNU.sparse.size", str(REAL_SIZE)), ("GNU.sparse.numblocks", "3")]
    for at, piece in PIECES:
        records += [("GNU.sparse.offset", str(at)), ("GNU.sparse.numbytes", str(len(piece)))]
    return _pax(records) + _file("logs/sparse.log", STORED)


def _sparse_01() -> bytes:
    numbers = ",".join(f"{at},{len(piece)}" for at, piece in PIECES)
    records = [
        ("GNU.sparse.size", str(REAL_SIZE)),
        ("GNU.sparse.numblocks", "3"),
        ("GNU.sparse.map", numbers),
        ("GNU.sparse.name", "logs/sparse.log"),
    ]
    return _pax(records) + _file("GNUSparseFile.0/sparse.log", STORED)


def _sparse_10() -> bytes:
    lines = [b"3"] + [b"%d\n%d" % (at, len(piece)) for at, piece in PIECES]
    sparse_map = (b"\n".join(lines) + b"\n").ljust(512, b"\0")
    records = [
        ("GNU.sparse.major", "1"),
        ("GNU.sparse.minor", "0"),
        ("GNU.sparse.name", "logs/sparse.log"),
        ("GNU.sparse.realsize", str(REAL_SIZE)),
    ]
    return _pax(records) + _file("GNUSparseFile.0/sparse.log", sparse_map + STORED)


def _sparse_old() -> bytes:
    header = bytearray(_info("logs/sparse.log").tobuf(tarfile.GNU_FORMAT))
    header[124:136] = b"%011o\0" % len(STORED)
    header[156:157] = tarfile.GNUTYPE_SPARSE
    for index, (at, piece) in enumerate(PIECES):
        header[386 + 24 * index : 410 + 24 * index] = b"%011o\0%011o\0" % (at, len(piece))
    header = bytearray(_with_field(bytes(header), 483, b"%011o\0" % REAL_SIZE))
    return bytes(header) + STORED.ljust(512, b"\0")


@pytest.mark.parametrize("build", [_sparse_00, _sparse_01, _sparse_10, _sparse_old])
def test_sparse_members_of_every_gnu_format(build: object) -> None:
    data = build() + archives.tar_bytes([("after.log", b"next\n")])  # type: ignore[operator]
    got = _walk(data)
    assert got["logs/sparse.log"][0] == bytes(EXPECTED)
    assert got["after.log"][0] == b"next\n"
    assert got == _reference(data)


# --- sparse members as an attack (issue 16 item 4) ---------------------------------------

GiB = 1 << 30


def _one_hole(name: str, hole: int, build: str) -> bytes:
    """A member of a few bytes of data after a hole of ``hole`` bytes."""
    tail = b"after the hole\n"
    if build == "old":
        header = bytearray(_info(name).tobuf(tarfile.GNU_FORMAT))
        header[124:136] = b"%011o\0" % len(tail)
        header[156:157] = tarfile.GNUTYPE_SPARSE
        # Past 8 GiB, GNU tar writes numbers in base 256.
        header[386:410] = _base_256(hole) + b"%011o\0" % len(tail)
        header = bytearray(_with_field(bytes(header), 483, _base_256(hole + len(tail))))
        return bytes(header) + tail.ljust(512, b"\0")
    if build == "pax 1.0":  # the map opens the member's data
        sparse_map = b"1\n%d\n%d\n" % (hole, len(tail))
        records = [
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", name),
            ("GNU.sparse.realsize", str(hole + len(tail))),
        ]
        return _pax(records) + _file("GNUSparseFile.0/x", sparse_map.ljust(512, b"\0") + tail)
    records = [
        ("GNU.sparse.size", str(hole + len(tail))),
        ("GNU.sparse.map", f"{hole},{len(tail)}"),
        ("GNU.sparse.name", name),
    ]
    return _pax(records) + _file("GNUSparseFile.0/x", tail)


def _base_256(value: int) -> bytes:
    return b"\x80" + value.to_bytes(11, "big")


def _read_capped(data: bytes, ctx: ScanContext, cap: int) -> dict[str, int]:
    """Bytes read from each member, stopping the test (not hanging it) past ``cap`` in all."""
    stream = io.BufferedReader(_ForwardOnly(data))
    top = Artifact(chain=("x.tar",), opener=lambda: stream)
    total = 0
    got = {}
    for member in Tar().walk(top, stream, ctx):  # type: ignore[arg-type]
        with member.open() as handle:
            count = 0
            while piece := handle.read(1 << 20):
                count += len(piece)
                total += len(piece)
                assert total <= cap, f"{member.chain[-1]}: more than {cap:,} bytes made"
            got[member.chain[-1]] = count
    return got


@pytest.mark.parametrize("build", ["old", "pax 0.1", "pax 1.0"])
def test_sparse_holes_out_of_proportion_are_a_limit(build: str) -> None:
    """4 members of 15 bytes of data after 60 GiB holes (a 22 KB tar that made 240 GiB of
    zeros): each is a limit problem, not read; the member after them is."""
    mac, key = archives.device("after-holes")
    holes = b"".join(_one_hole(f"logs/hole{n}.log", 60 * GiB, build) for n in range(4))
    data = holes + archives.tar_bytes([("logs/a.log", twrp.device_log(mac, key).encode())])
    assert len(data) < 22_000
    ctx = scan_context()
    got = _read_capped(data, ctx, cap=64 << 20)
    assert list(got) == ["logs/a.log"]
    assert [(p.kind, p.provenance) for p in ctx.problems] == [
        ("limit", ("x.tar", f"logs/hole{n}.log")) for n in range(4)
    ]
    assert ctx.problems[0].message == (
        "sparse member declares 64,424,509,455 bytes for 15 bytes of data, "
        "over the 200:1 limit; skipped"
    )


def test_sparse_attack_in_a_scan(tmp_path: Path) -> None:
    mac, key = archives.device("after-holes")
    holes = b"".join(_one_hole(f"logs/hole{n}.log", 60 * GiB, "old") for n in range(4))
    path = tmp_path / "holes.tar"
    path.write_bytes(
        holes + archives.tar_bytes([("logs/a.log", twrp.device_log(mac, key).encode())])
    )
    result = scan([path])
    assert [p.kind for p in result.problems] == ["limit"] * 4
    assert [c.provenance[1] for c in result.candidates if c.key == key] == ["logs/a.log"]


def test_a_sparse_map_that_goes_back_costs_that_member_only() -> None:
    bad = _pax(
        [
            ("GNU.sparse.size", "9000"),
            ("GNU.sparse.map", "5000,10,100,5"),
            ("GNU.sparse.name", "bad"),
        ]
    ) + _file("GNUSparseFile.0/bad", b"x" * 15)
    data = bad + archives.tar_bytes([("after.log", b"next\n")])
    ctx = scan_context()
    assert _walk(data, ctx) == {"after.log": (b"next\n", float(archives.epoch(2024, 2, 28)))}
    assert [(p.kind, p.provenance) for p in ctx.problems] == [("corrupt", ("x.tar", "bad"))]


def test_sparse_holes_count_against_the_expansion_budget() -> None:
    """Holes in proportion to the data are made (as zeros), and charged as expanded bytes."""
    data = _one_hole("logs/hole.log", 100 << 20, "pax 0.1") + bytes(1024)
    ctx = scan_context()
    got = _read_capped(data, ctx, cap=128 << 20)
    assert got == {"logs/hole.log": (100 << 20) + 15}
    assert ctx.expanded == 100 << 20
    small = scan_context(ScanOptions(limits=Limits(max_total_bytes=50 << 20)))
    with pytest.raises(InputBudgetExceeded):
        _read_capped(data, small, cap=128 << 20)


@pytest.mark.parametrize("mtime", ["inf", "nan", "1e300", "-1e300"])
def test_a_member_time_out_of_any_calendar_is_no_time(tmp_path: Path, mtime: str) -> None:
    """The key is kept; the time falls back to the tar file's own."""
    mac, key = archives.device("pax-time")
    line = f"deviceInfo = DeviceInfo(address={mac}, model=miwear.watch.n67cn, token={key})\n"
    info = _info("logs/a.log")
    info.pax_headers = {"mtime": mtime}
    path = tmp_path / "x.tar"
    path.write_bytes(_tar(tarfile.PAX_FORMAT, [info], [line.encode()]))
    result = scan([path])
    assert result.problems == []
    assert [(c.key, c.timestamp_source) for c in result.candidates] == [(key, "file mtime")]
