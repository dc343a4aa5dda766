"""Property tests: damaged bytes make every parser raise a ScanError, never anything else.

Seeds are real layouts (the corpus builders' own files), mutated at chosen offsets (headers
first), so the damage reaches deep code, not just the magic check. Through
``scanner.pipeline.scan`` nothing may raise at all, and every problem has a known kind.

Examples are derandomized and few (CI must stay quick and repeatable). For a long random
run: ``KEYSCAN_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz_parsers.py``;
``tools/mutate.py`` damages whole corpus files.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import BinaryIO
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.common import Expected
from corpus.samples import adb_backups, archives, gadgetbridge, miui_backup, twrp
from scanner.artifacts import Artifact
from scanner.containers.base import Container
from scanner.context import ScanContext, ScanOptions
from scanner.errors import ProblemKind, ScanError
from scanner.extractors.base import Extractor
from scanner.extractors.text_keys import keys_in_text
from scanner.formats.adb import stream as adb
from scanner.formats.adb.container import AndroidBackup
from scanner.formats.compressed.container import Bzip2, Gzip, Xz
from scanner.formats.json.extractor import JsonDocument
from scanner.formats.logs.extractor import LogLines
from scanner.formats.logs.tool_output import ToolOutput
from scanner.formats.miui import container as miui
from scanner.formats.openaes.container import OpenAes, plausible
from scanner.formats.sqlite import extractor as sqlite
from scanner.formats.sqlite.wal import (
    apply_wal,
    prepare_main,
    read_journal,
    read_wal,
    roll_back,
)
from scanner.formats.tar.container import Tar
from scanner.formats.tar.reader import repair_pax
from scanner.formats.xml.extractor import XmlPrefs
from scanner.formats.zip.container import Zip
from scanner.pipeline import scan
from scanner.registry import CONTAINERS, EXTRACTORS, GROUPERS
from tests.helpers import scan_context

Corpus = tuple[Path, dict[str, Expected]]

_LONG_RUN = os.environ.get("KEYSCAN_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_LONG_RUN or 40),
    deadline=None,
    derandomize=not _LONG_RUN,  # CI: the same examples on every run
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Values that break size and count fields: zero, one, sign bits, all ones.
_EDGES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
PASSWORD = "fuzz-pass"


@st.composite
def damaged(draw: st.DrawFn, seed: bytes, hot: int = 512) -> bytes:
    """``seed`` with 1-4 edits; each lands in the first ``hot`` bytes half of the time."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        span = len(data) if draw(st.booleans()) else min(len(data), hot)
        if span == 0:
            data += draw(st.binary(min_size=1, max_size=32))
            continue
        at = draw(st.integers(0, span - 1))
        edit = draw(st.sampled_from(("flip", "byte", "edge", "cut", "insert", "delete")))
        if edit == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "byte":
            data[at] = draw(st.integers(0, 255))
        elif edit == "edge":  # a big- or little-endian 32-bit edge value over a field
            order = draw(st.sampled_from(("big", "little")))
            data[at : at + 4] = draw(st.sampled_from(_EDGES)).to_bytes(4, order)
        elif edit == "cut":
            del data[at:]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


def _ctx(passwords: tuple[str, ...] = ()) -> ScanContext:
    return scan_context(ScanOptions(passwords=list(passwords)))


def _artifact(name: str, data: bytes) -> Artifact:
    return Artifact(chain=(name,), opener=lambda: io.BytesIO(data), size=len(data))


def _drain(stream: BinaryIO) -> None:
    while stream.read(1 << 16):
        pass


def walk_all(
    container: Container, data: bytes, name: str = "input", passwords: tuple[str, ...] = ()
) -> None:
    """Walk a container over ``data`` and read every member to its end, as a scan would."""
    artifact = _artifact(name, data)
    for child in container.walk(artifact, io.BytesIO(data), _ctx(passwords)):
        with closing(child.open()) as stream:
            _drain(stream)


def only_scan_errors(run: Callable[[], object]) -> None:
    """Call ``run``; a ScanError is a fine answer to damage, anything else fails the test."""
    try:
        run()
    except ScanError as error:
        assert error.kind in set(ProblemKind)
        assert str(error)  # plain words, never an empty message


def extract_all(extractor: Extractor, data: bytes, name: str) -> None:
    for _ in extractor.extract(_artifact(name, data), io.BytesIO(data), _ctx()):
        pass


# --- seeds: valid files from the corpus builders ---------------------------------------


@cache
def _band() -> adb_backups.Band:
    return adb_backups.Band("fuzz")


@cache
def adb_seeds() -> dict[str, bytes]:
    members = adb_backups.zepp_members(_band())
    # Few PBKDF2 rounds, so a damaged round count stays cheap to try.
    with mock.patch.object(adb_backups, "ROUNDS", 16):
        encrypted = adb_backups.ab_bytes(members, version=5, password=PASSWORD, label="fuzz")
    return {
        "plain-v1": adb_backups.ab_bytes(members, version=1, compressed=False),
        "compressed-v5": adb_backups.ab_bytes(members, version=5),
        "encrypted-v5": encrypted,
    }


@cache
def miui_seed() -> bytes:
    body = adb_backups.ab_bytes(adb_backups.zepp_members(_band()), version=5, compressed=False)
    return miui_backup.miui_header(0) + body


@cache
def tar_seed() -> bytes:
    return twrp.split_tars()[0]  # GNU long names, pax records, a database


@cache
def zip_seeds() -> dict[str, bytes]:
    log = twrp.device_log(*archives.device("fuzz")).encode()
    members = [(archives.WATCH_LOG, log), ("Download/readme.txt", b"nothing here\n")]
    return {
        "deflated": archives.zip_bytes(members),
        "aes": archives.aes_zip_bytes(members, PASSWORD, "fuzz"),
        "zipcrypto": archives.zipcrypto_zip(members, PASSWORD),
    }


@cache
def oaes_seed() -> bytes:
    return twrp.oaes_encrypt(gzip.compress(tar_seed(), 9, mtime=0), PASSWORD, "fuzz")


# --- header parsers ---------------------------------------------------------------------


@FUZZ
@given(st.data())
def test_adb_header_parser_raises_only_scan_errors(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(sorted(adb_seeds().values())))
    prefix = data.draw(damaged(seed[: adb.HEADER_LIMIT], hot=600))
    only_scan_errors(lambda: adb.parse_header(prefix, at_eof=data.draw(st.booleans())))


@FUZZ
@given(st.binary(max_size=300))
def test_adb_header_parser_on_random_lines(tail: bytes) -> None:
    only_scan_errors(lambda: adb.parse_header(b"ANDROID BACKUP\n" + tail, at_eof=True))


@FUZZ
@given(st.data())
def test_miui_header_parser_raises_only_scan_errors(data: st.DataObject) -> None:
    prefix = data.draw(damaged(miui_seed()[:200], hot=120))
    only_scan_errors(lambda: miui.parse_header(prefix, at_eof=data.draw(st.booleans())))


# --- containers: walked and every member read to its end -------------------------------


@FUZZ
@given(st.data())
def test_android_backup_walk_raises_only_scan_errors(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(sorted(adb_seeds().values())))
    body = data.draw(damaged(seed, hot=1200))  # the encrypted header is ~550 bytes
    only_scan_errors(lambda: walk_all(AndroidBackup(), body, "x.ab", (PASSWORD,)))


@FUZZ
@given(st.data())
def test_miui_backup_walk_raises_only_scan_errors(data: st.DataObject) -> None:
    body = data.draw(damaged(miui_seed(), hot=200))
    only_scan_errors(lambda: walk_all(miui.MiuiBackup(), body, "x.bak"))


@FUZZ
@given(st.data())
def test_openaes_reader_raises_only_scan_errors(data: st.DataObject) -> None:
    seed = oaes_seed()
    body = data.draw(damaged(seed, hot=4200))  # the first message decides the password
    only_scan_errors(lambda: walk_all(OpenAes(), body, "data.ext4.win000", (PASSWORD,)))


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_openaes_plausibility_check_never_raises(plain: bytes, padding_ok: bool) -> None:
    plausible(plain, padding_ok, _ctx())


@FUZZ
@given(st.data())
def test_tar_walk_raises_only_scan_errors(data: st.DataObject) -> None:
    body = data.draw(damaged(tar_seed(), hot=3000))  # pax and long-name headers come first
    only_scan_errors(lambda: walk_all(Tar(), body, "data.ext4.win000"))


@FUZZ
@given(st.binary(max_size=200))
def test_pax_repair_never_raises(block: bytes) -> None:
    repair_pax(block)


@FUZZ
@given(st.data())
def test_zip_walk_raises_only_scan_errors(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(sorted(zip_seeds().values())))
    # Local headers first, the central directory last: damage both ends.
    body = data.draw(damaged(seed, hot=len(seed)))
    only_scan_errors(lambda: walk_all(Zip(), body, "export.zip", (PASSWORD,)))


@FUZZ
@given(st.data())
def test_compressed_streams_raise_only_scan_errors(data: st.DataObject) -> None:
    plain = tar_seed()
    kinds: list[tuple[Container, bytes]] = [
        (Gzip(), gzip.compress(plain, 9, mtime=0)),
        (Bzip2(), bz2.compress(plain, 9)),
        (Xz(), lzma.compress(plain)),
    ]
    container, seed = data.draw(st.sampled_from(kinds))
    body = data.draw(damaged(seed, hot=64))
    only_scan_errors(lambda: walk_all(container, body, "data.tar.gz"))


@FUZZ
@given(st.binary(max_size=4096))
def test_detection_never_raises(head: bytes) -> None:
    artifact = _artifact("x", head)
    for container in CONTAINERS:
        container.detect(head, artifact)
    for extractor in EXTRACTORS:
        extractor.detect(head, artifact)
    for grouper in GROUPERS:
        grouper.member_kind(head)


# --- SQLite: the main file, the WAL and the journal -------------------------------------


def _family_bytes(corpus: Corpus, folder: str) -> dict[str, bytes]:
    root, _ = corpus
    return {p.name: p.read_bytes() for p in (root / folder).iterdir()}


WAL_FAMILY = "app_data/com.xiaomi.hm.health/databases"
JOURNAL_FAMILY = "app_data/com.huami.watch.hmwatchmanager/databases"


def _one(files: dict[str, bytes], suffix: str) -> bytes:
    (data,) = [v for k, v in files.items() if k.endswith(suffix)]
    return data


@FUZZ
@given(data=st.data())
def test_wal_reader_raises_only_scan_errors(corpus: Corpus, data: st.DataObject) -> None:
    files = _family_bytes(corpus, WAL_FAMILY)
    wal = data.draw(damaged(_one(files, "-wal"), hot=64))  # header + first frame header
    main = prepare_main(_one(files, "5f364d"), 1 << 30).image

    def run() -> None:
        log = read_wal(wal)
        apply_wal(bytearray(main), wal, log)
        apply_wal(None, wal, log)

    only_scan_errors(run)


@FUZZ
@given(data=st.data())
def test_journal_reader_raises_only_scan_errors(corpus: Corpus, data: st.DataObject) -> None:
    files = _family_bytes(corpus, JOURNAL_FAMILY)
    journal = data.draw(damaged(_one(files, "-journal"), hot=64))
    main = prepare_main(_one(files, "origin_db"), 1 << 30).image

    def run() -> None:
        rolled = read_journal(journal)
        roll_back(bytearray(main), rolled)
        roll_back(None, rolled)

    only_scan_errors(run)


@FUZZ
@given(st.binary(max_size=200))
def test_wal_and_journal_readers_on_random_bytes(raw: bytes) -> None:
    for reader in (read_wal, read_journal, lambda d: prepare_main(d, 1 << 20)):
        only_scan_errors(lambda reader=reader: reader(raw))  # type: ignore[misc]


def _extract_family(db: bytes, wal: bytes | None = None, journal: bytes | None = None) -> None:
    family = sqlite.Family()
    for kind, raw in (("db", db), ("wal", wal), ("journal", journal)):
        if raw is not None:
            name = "origin_db" + ("" if kind == "db" else f"-{kind}")
            member = sqlite.Member(_artifact(name, raw), io.BytesIO(raw))
            setattr(family, kind, member)
    for _ in sqlite.extract_family(family, _ctx()):
        pass


@FUZZ
@given(data=st.data())
def test_sqlite_extractor_on_damaged_databases(corpus: Corpus, data: st.DataObject) -> None:
    files = _family_bytes(corpus, WAL_FAMILY)
    seed = _one(files, "5f364d")
    # The header (page size, counts), page 1's b-tree header and schema, and any page.
    db = data.draw(damaged(seed, hot=data.draw(st.sampled_from((100, 4096, len(seed))))))
    wal = data.draw(st.sampled_from((None, _one(files, "-wal"))))
    only_scan_errors(lambda: _extract_family(db, wal))


@FUZZ
@given(st.binary(min_size=100, max_size=2048))
def test_sqlite_extractor_on_random_pages(raw: bytes) -> None:
    db = b"SQLite format 3\x00" + raw
    only_scan_errors(lambda: _extract_family(db))


# --- text extractors --------------------------------------------------------------------


def _text_seeds(corpus: Corpus) -> list[tuple[Extractor, str, bytes]]:
    root, _ = corpus
    chosen = [
        (LogLines(), "log_bundle/Android/data/com.xiaomi.wearable/files/log/Wearable.log"),
        (LogLines(), "server_answer/huami-token.txt"),
        (LogLines(), "server_answer/freemyband/miband4.txt"),
        (JsonDocument(), "server_answer/devices.json"),
        (XmlPrefs(), gadgetbridge.DEVICESETTINGS),
        (XmlPrefs(), "gadgetbridge/Export_preference_C8_0F_10_B7_F4_6B"),
    ]
    return [(extractor, rel, (root / rel).read_bytes()) for extractor, rel in chosen]


@FUZZ
@given(data=st.data())
def test_text_extractors_raise_only_scan_errors(corpus: Corpus, data: st.DataObject) -> None:
    extractor, name, seed = data.draw(
        st.sampled_from(_text_seeds(corpus)), label="extractor and file"
    )
    text = data.draw(damaged(seed, hot=len(seed)))
    only_scan_errors(lambda: extract_all(extractor, text, name))


@FUZZ
@given(st.text(max_size=300), st.booleans())
def test_tool_output_reader_never_raises(text: str, freemyband: bool) -> None:
    reader = ToolOutput(freemyband)
    for line in ("Device 0:", "| ID | MAC | auth_key |", *text.splitlines(), text):
        reader.feed(line)


@FUZZ
@given(st.binary(max_size=400))
def test_key_finder_never_raises(text: bytes) -> None:
    keys_in_text(b"authKey=" + text)


# --- the whole pipeline: nothing escapes scan() -----------------------------------------


def _scan_seeds(corpus: Corpus) -> Iterator[tuple[str, bytes]]:
    yield from ((f"{k}.ab", v) for k, v in sorted(adb_seeds().items()))
    yield "Zepp Life(com.xiaomi.hm.health).bak", miui_seed()
    yield "data.ext4.win000", oaes_seed()
    yield from ((f"{k}.zip", v) for k, v in sorted(zip_seeds().items()))
    yield "data.ext4.win000.tar", tar_seed()
    yield "data.tar.gz", gzip.compress(tar_seed(), 9, mtime=0)
    yield "data.tar.xz", lzma.compress(tar_seed())
    for _, name, seed in _text_seeds(corpus):
        yield Path(name).name, seed
    files = _family_bytes(corpus, WAL_FAMILY)
    yield "origin_db", _one(files, "5f364d")


@settings(FUZZ, max_examples=FUZZ.max_examples * 2)  # many seeds share this one
@given(data=st.data())
def test_scan_of_damaged_input_never_raises(
    corpus: Corpus, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    name, seed = data.draw(st.sampled_from(list(_scan_seeds(corpus))), label="seed")
    damaged_bytes = data.draw(damaged(seed, hot=1024))
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(damaged_bytes)
    result = scan([path], ScanOptions(passwords=[PASSWORD]))
    assert {p.kind for p in result.problems} <= set(ProblemKind)


# --- what fuzzing found, kept as plain regressions --------------------------------------


def _scan_problems(tmp_path: Path, name: str, data: bytes) -> list[tuple[str, tuple[str, ...]]]:
    path = tmp_path / name
    path.write_bytes(data)
    return [(p.kind, p.provenance[1:]) for p in scan([path]).problems]


def test_zip_of_a_newer_version_is_unsupported(tmp_path: Path) -> None:
    data = bytearray(zip_seeds()["deflated"])
    entry = data.index(b"PK\x01\x02")  # central directory: "version needed" at +6
    data[entry + 6 : entry + 8] = (84).to_bytes(2, "little")  # 8.4 (pyzipper reads <= 6.3)
    only_scan_errors(lambda: walk_all(Zip(), bytes(data)))
    assert _scan_problems(tmp_path, "export.zip", bytes(data)) == [("unsupported", ())]


def test_zip_member_offset_before_the_file_is_corrupt(tmp_path: Path) -> None:
    data = bytearray(zip_seeds()["deflated"])
    end = data.rindex(b"PK\x05\x06")  # end record: central directory offset at +16
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    data[end + 16 : end + 20] = (offset + 1).to_bytes(4, "little")  # members at offset -1
    only_scan_errors(lambda: walk_all(Zip(), bytes(data)))
    # The first member is placed at -1; the second's header is then read off by one byte.
    assert _scan_problems(tmp_path, "export.zip", bytes(data)) == [
        ("corrupt", (archives.WATCH_LOG,)),
        ("corrupt", ("Download/readme.txt",)),
    ]


def test_tar_member_cut_short_is_truncated_when_read() -> None:
    data = tar_seed()
    with pytest.raises(ScanError) as caught:
        walk_all(Tar(), data[: len(data) // 2])
    assert caught.value.kind == "truncated"


def test_zip_member_without_a_name_is_corrupt(tmp_path: Path) -> None:
    data = bytearray(zip_seeds()["deflated"])
    entry = data.index(b"PK\x01\x02")  # central directory: the name starts at +46
    data[entry + 46] = 0  # zipfile cuts a name at its first NUL: an empty name
    only_scan_errors(lambda: walk_all(Zip(), bytes(data)))
    problems = _scan_problems(tmp_path, "export.zip", bytes(data))
    assert problems == [("corrupt", ())]
