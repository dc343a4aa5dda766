"""GzipChunks (scanner/formats/compressed/inflate.py): gzip decoded as gzip(1) would."""

from __future__ import annotations

import gzip
import io
import random
import zlib
from types import ModuleType

import pytest

from scanner.formats.compressed import inflate

LIBRARIES: dict[str, ModuleType] = {"zlib": zlib}
try:
    from isal import isal_zlib

    LIBRARIES["isal"] = isal_zlib
except ImportError:  # the optional extra is not installed
    pass

RNG = random.Random(11)
NOISE = RNG.randbytes(300_000)  # incompressible: many input pieces
ZEROS = b"\0" * 3_000_000  # compresses 1000:1: many output steps per input piece
TWO_MEMBERS = (
    gzip.compress(NOISE + ZEROS, mtime=0)
    + b"\0" * 700  # padding between members, as gzip(1) accepts
    + gzip.compress(b"", mtime=0)
    + gzip.compress(b"second member\n", mtime=0)
    + b"\0" * 9
)
EXPECTED = NOISE + ZEROS + b"second member\n"


@pytest.fixture(params=sorted(LIBRARIES))
def library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    chosen = (str(request.param), LIBRARIES[request.param])
    monkeypatch.setattr(inflate, "library", lambda fast=True: chosen)
    return str(request.param)


def _read(data: bytes, chunk: int) -> tuple[bytes, int]:
    """Everything, at most ``chunk`` bytes at a time; and the largest chunk given."""
    chunks = inflate.GzipChunks(io.BytesIO(data), chunk)
    out, biggest = [], 0
    while piece := chunks.next():
        biggest = max(biggest, len(piece))
        out.append(piece)
    return b"".join(out), biggest


@pytest.mark.parametrize("chunk", [1, 4096, 1 << 20])
def test_members_and_padding_decode_to_the_same_bytes_as_gzip(library: str, chunk: int) -> None:
    data = TWO_MEMBERS if chunk > 1 else gzip.compress(b"tiny\n" * 3, mtime=0)
    out, biggest = _read(data, chunk)
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as reference:
        assert out == reference.read()
    assert out == (EXPECTED if chunk > 1 else b"tiny\n" * 3)
    assert biggest <= chunk  # output is bounded by the limit, bombs included


def test_a_cut_gives_every_decoded_byte_then_eoferror(library: str) -> None:
    cut = TWO_MEMBERS[: len(TWO_MEMBERS) // 2]
    chunks = inflate.GzipChunks(io.BytesIO(cut), 1 << 16)
    got = io.BytesIO()
    with pytest.raises(EOFError):
        while piece := chunks.next():
            got.write(piece)
    before_cut = zlib.decompressobj(31).decompress(cut)
    assert got.getvalue() == before_cut
    assert len(before_cut) > 100_000


def test_data_after_the_last_member_is_not_gzip(library: str) -> None:
    with pytest.raises(gzip.BadGzipFile, match="not a gzip member after the last one"):
        _read(TWO_MEMBERS + b"PK\x03\x04", 1 << 16)


def test_a_damaged_member_fails_its_check(library: str) -> None:
    damaged = bytearray(gzip.compress(b"a log line\n" * 50, mtime=0))
    damaged[-6] ^= 0x40  # inside the CRC-32 of the trailer
    with pytest.raises(LIBRARIES[library].error):
        _read(bytes(damaged), 1 << 16)
