"""TWRP's OpenAES files: the real sample, passwords, message framing and damage."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.samples.twrp import oaes_encrypt
from scanner.artifacts import Artifact
from scanner.context import ScanContext, ScanOptions
from scanner.errors import Corrupt
from scanner.formats.openaes.container import OpenAes, oaes_key
from scanner.pipeline import scan
from tests.helpers import scan_context

SAMPLE_SHA256 = "337b7a9dc76f4d53dd95332dd686d78462eb0afdd76bf4451aea224f3c88141a"


def _decrypt(data: bytes, passwords: list[str], name: str = "x.oaes") -> tuple[bytes, ScanContext]:
    """Run the container by hand: the one child's bytes (or b"") and the context."""
    ctx = scan_context(ScanOptions(passwords=passwords))
    artifact = Artifact(chain=(name,), opener=lambda: io.BytesIO(data))
    assert OpenAes.detect(data[:4096], artifact)
    out = b""
    try:
        for child in OpenAes().walk(artifact, io.BytesIO(data), ctx):
            assert child.chain == (
                name,
                name.removesuffix(".oaes") if name.endswith(".oaes") else name + ".decrypted",
            )
            with child.open() as handle:
                out = handle.read()
    except Exception as error:  # the pipeline's job, done here by hand
        from scanner.errors import as_scan_error
        from scanner.registry import LIBRARY_ERRORS

        ctx.report(as_scan_error(error, LIBRARY_ERRORS), (name,))
    return out, ctx


def _kinds(ctx: ScanContext) -> list[str]:
    return [p.kind for p in ctx.problems]


def test_real_sample_decrypts_to_the_exact_plain_file(real_samples: Path) -> None:
    oaes = (real_samples / "twrp-oaes" / "some-dir.tar.gz.oaes").read_bytes()
    plain, ctx = _decrypt(oaes, ["testkey"], "some-dir.tar.gz.oaes")
    assert ctx.problems == []
    assert hashlib.sha256(plain).hexdigest() == SAMPLE_SHA256
    assert plain == (real_samples / "twrp-oaes" / "some-dir.tar.gz").read_bytes()


def test_real_sample_tar_is_walked_by_the_pipeline(real_samples: Path) -> None:
    path = real_samples / "twrp-oaes" / "some-dir.tar.gz.oaes"
    with tarfile.open(real_samples / "twrp-oaes" / "some-dir.tar.gz") as archive:
        files = {m.name for m in archive.getmembers() if m.isfile()}
    assert files  # the sample holds files
    seen: dict[tuple[str, ...], str] = {}
    result = scan(
        [path], ScanOptions(passwords=["wrong", "testkey"]), lambda a, k: seen.update({a.chain: k})
    )
    assert result.problems == []
    top = (str(path),)
    assert seen[top] == "openaes"
    assert seen[(*top, "some-dir.tar.gz")] == "gzip"
    assert seen[(*top, "some-dir.tar.gz", "some-dir.tar")] == "tar"
    members = {chain[3] for chain in seen if len(chain) == 4}
    assert members == files


def test_wrong_password_is_a_problem_not_garbage(real_samples: Path) -> None:
    path = real_samples / "twrp-oaes" / "some-dir.tar.gz.oaes"
    seen: list[tuple[str, ...]] = []
    result = scan(
        [path], ScanOptions(passwords=["nope", "testkey2"]), lambda a, k: seen.append(a.chain)
    )
    assert [(p.kind, p.provenance) for p in result.problems] == [("wrong-password", (str(path),))]
    assert "2 passwords" in result.problems[0].message
    assert seen == [(str(path),)]  # nothing decrypted was passed on


def test_no_password_is_needs_password(real_samples: Path) -> None:
    path = real_samples / "twrp-oaes" / "some-dir.tar.gz.oaes"
    result = scan([path])
    assert [(p.kind, p.provenance) for p in result.problems] == [("needs-password", (str(path),))]


def test_a_typed_password_is_used(real_samples: Path) -> None:
    path = real_samples / "twrp-oaes" / "some-dir.tar.gz.oaes"
    asked: list[tuple[str, ...]] = []

    def ask(provenance: tuple[str, ...], failed: int) -> str | None:
        asked.append(provenance)
        return "testkey" if len(asked) == 1 else None

    result = scan([path], ScanOptions(ask_password=ask))
    assert result.problems == []
    assert asked == [(str(path),)]


def test_key_is_the_password_over_01_to_20() -> None:
    assert oaes_key(b"testkey") == b"testkey" + bytes(range(8, 17))
    assert oaes_key(b"") == bytes(range(1, 17))
    assert oaes_key(b"a" * 16) == b"a" * 16
    assert oaes_key(b"a" * 17) == b"a" * 17 + bytes(range(18, 25))
    assert oaes_key(b"b" * 25) == b"b" * 25 + bytes(range(26, 33))
    assert oaes_key(b"c" * 40) == b"c" * 32  # TWRP's buffer holds 32 bytes


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=3 * 4064 + 40), password=st.text(min_size=1, max_size=40))
def test_any_length_round_trips(body: bytes, password: str) -> None:
    data = b"\x1f\x8b\x08" + body  # starts like TWRP's gzip, so the password is accepted
    plain, ctx = _decrypt(oaes_encrypt(data, password, "prop"), [password])
    assert ctx.problems == []
    assert plain == data


@pytest.mark.parametrize("size", [13, 4064 - 3, 4064, 4065, 2 * 4064])
def test_message_boundaries(size: int) -> None:
    data = b"\x1f\x8b\x08" + bytes(size - 3)
    encrypted = oaes_encrypt(data, "pw", "edge")
    messages = -(-size // 4064)
    assert len(encrypted) == 32 * messages + size + (-(size % 4064) % 16 if size % 4064 else 0)
    assert _decrypt(encrypted, ["pw"])[0] == data


def test_text_is_plausible_plaintext() -> None:
    data = b"2024-02-28 10:11:12.345|3.25.0i|I|DeviceManager|hello\n" * 20
    plain, ctx = _decrypt(oaes_encrypt(data, "pw", "text"), ["bad", "pw"])
    assert (plain, ctx.problems) == (data, [])


def test_binary_plaintext_without_a_magic_is_refused_as_wrong_password() -> None:
    data = bytes(range(256)) * 40
    plain, ctx = _decrypt(oaes_encrypt(data, "pw", "bin"), ["pw"])
    assert plain == b""
    assert _kinds(ctx) == ["wrong-password"]


def test_cut_inside_a_message_is_truncated() -> None:
    noise = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(400))
    encrypted = oaes_encrypt(gzip.compress(noise, mtime=0), "pw", "cut")
    assert len(encrypted) > 2 * 4096
    _, ctx = _decrypt(encrypted[: 4096 + 100], ["pw"])
    assert _kinds(ctx) == ["truncated"]
    assert "message 1" in ctx.problems[0].message


def test_damaged_later_header_is_corrupt() -> None:
    encrypted = bytearray(oaes_encrypt(b"\x1f\x8b\x08" + bytes(9000), "pw", "hdr"))
    encrypted[4096:4100] = b"XXXX"
    _, ctx = _decrypt(bytes(encrypted), ["pw"])
    assert _kinds(ctx) == ["corrupt"]


def test_broken_padding_is_corrupt() -> None:
    encrypted = bytearray(oaes_encrypt(b"\x1f\x8b\x08" + bytes(5000), "pw", "pad"))
    encrypted[-1] ^= 0xFF  # the last block decrypts to garbage, so its padding is gone
    _, ctx = _decrypt(bytes(encrypted), ["pw"])
    assert _kinds(ctx) == ["corrupt"]


@pytest.mark.parametrize("bad", [5, 300, 513])  # in the first batch, the second, the third
def test_damage_in_a_batch_comes_after_the_messages_before_it(bad: int) -> None:
    """Messages are decrypted BATCH at a time; a damaged header is reported after exactly
    the plaintext of the messages before it was read, whatever its place in the batch."""
    from scanner.formats.openaes.container import BATCH, OaesChunks

    digests = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(80_000))
    data = b"\x1f\x8b\x08" + digests  # 2.56 MB that start like a gzip file
    encrypted = bytearray(oaes_encrypt(data, "pw", "batch"))
    assert len(encrypted) > 2 * BATCH * 4096 and bad < len(encrypted) // 4096
    encrypted[bad * 4096 : bad * 4096 + 4] = b"XXXX"
    first = OpenAes._unlock(bytes(encrypted[:4096]), ("x",), scan_context(ScanOptions(["pw"])))
    source = io.BytesIO(bytes(encrypted))
    source.seek(4096)
    chunks = OaesChunks(source, *first)
    got = io.BytesIO()
    with pytest.raises(Corrupt, match=f"OpenAES message {bad} has no valid OAES header"):
        while chunk := chunks.next():
            got.write(chunk)
    assert got.getvalue() == data[: bad * 4064]
    with pytest.raises(Corrupt):
        chunks.next()  # and again: nothing after the damage is passed on


def test_detects_by_content_only() -> None:
    good = oaes_encrypt(b"\x1f\x8b\x08" + bytes(100), "pw", "d")
    artifact = Artifact(chain=("a.txt",), opener=lambda: io.BytesIO(good))
    assert OpenAes.detect(good, artifact)
    assert not OpenAes.detect(b"OAES\x02\x02" + good[6:], artifact)  # version 2
    assert not OpenAes.detect(b"OAES\x01\x01" + good[6:], artifact)  # a key file, not a message
    assert not OpenAes.detect(good[:20], artifact)
    assert not OpenAes.detect(b"OA" + bytes(100), artifact)
