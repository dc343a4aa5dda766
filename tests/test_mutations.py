"""The bounded mutation run: damaged copies of every corpus file and every real sample.

Bit flips (header area and anywhere), truncations (inside headers and mid-body) and
spliced headers, from ``tools/mutate.py`` (which runs the longer version). Inputs are
read in place; damaged bytes are written to ``tmp_path`` only. No exception may escape
``scan()``, every problem has a known kind, and a key that lies before the damage is
still reported. The figures are printed whatever pytest's capture mode.
"""

from __future__ import annotations

import io
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from corpus.common import Expected
from corpus.samples import archives, twrp
from scanner.context import ScanOptions
from scanner.errors import ProblemKind
from scanner.formats.tar.container import is_tar_header
from scanner.model import ScanResult
from scanner.pipeline import scan
from tools.mutate import REAL_PASSWORDS, Figures, Seed, run, scan_damaged, seeds_below

Corpus = tuple[Path, dict[str, Expected]]

# CI's share: two rounds (fixed offsets, then seeded random ones) of 4 flips, 6 cuts and 3
# splices per head: about 1,500 inputs.
ROUND = {"rounds": 2, "seed": 0, "flip_count": 4, "cut_count": 6, "splice_count": 3}


def _passwords(root: Path) -> list[str]:
    return [*(root / "passwords.txt").read_text("utf-8").splitlines(), *REAL_PASSWORDS]


@pytest.fixture(scope="module")
def corpus_run(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Figures:
    root, _ = corpus
    seeds = seeds_below(root, "corpus/")
    return run(seeds, _passwords(root), tmp_path_factory.mktemp("mutate-corpus"), **ROUND)


@pytest.fixture(scope="module")
def real_run(
    corpus: Corpus, real_samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> Figures:
    root, _ = corpus
    seeds = seeds_below(real_samples, "real/")
    return run(seeds, _passwords(root), tmp_path_factory.mktemp("mutate-real"), **ROUND)


def _report(figures: Figures, what: str, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():  # shown in CI's log with or without -s
        print(f"\n[{what}] {figures.summary()}")


def _check(figures: Figures) -> None:
    assert [label for label, _ in figures.crashes] == []
    assert figures.unknown_kinds == []
    assert set(figures.problems) <= set(ProblemKind)
    # Damage must be noticed: most damaged inputs report a problem.
    assert sum(figures.problems.values()) > figures.inputs // 4


def test_mutated_corpus_never_crashes_a_scan(
    corpus_run: Figures, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(corpus_run, "corpus", capsys)
    assert corpus_run.inputs > 500
    _check(corpus_run)


def test_mutated_real_samples_never_crash_a_scan(
    real_run: Figures, capsys: pytest.CaptureFixture[str]
) -> None:
    _report(real_run, "real samples", capsys)
    assert real_run.inputs > 100
    _check(real_run)


def test_every_failure_in_the_run_is_a_typed_problem(corpus_run: Figures) -> None:
    # An exception that no format declared is our bug, reported as kind "internal".
    assert corpus_run.internal == []


# --- keys before the damage survive it -------------------------------------------------


@dataclass(frozen=True)
class Span:
    name: str
    start: int  # where the member's header starts in the file
    end: int  # where its data ends


def tar_spans(data: bytes) -> list[Span]:
    """Members of the first plain tar inside ``data`` (after an adb or MIUI header)."""
    at = data.find(b"ustar")
    while at >= 0 and not is_tar_header(data[at - 257 : at + 255]):
        at = data.find(b"ustar", at + 1)
    start = at - 257
    spans = []
    with tarfile.open(fileobj=io.BytesIO(data[start:]), mode="r:") as archive:
        for member in archive.getmembers():
            if member.isfile():
                end = start + member.offset_data + member.size
                spans.append(Span(member.name, start + member.offset, end))
    return spans


def _keys(result: ScanResult) -> set[str]:
    return {c.key for c in result.candidates}


def _scan_bytes(seed: Seed, data: bytes, workdir: Path) -> ScanResult:
    return scan_damaged(seed, data, workdir, [])


TAR_SAMPLES = [
    "archives/app-data.tar",
    "adb/zepp-plain-v1.ab",
    "twrp/TWRP/BACKUPS/a1b2c3d4/2024-03-01--12-00-00/data.ext4.win000",
    "miui/MIUI/backup/AllBackup/20240301_120000/Zepp Life(com.xiaomi.hm.health).bak",
]


@pytest.mark.parametrize("rel", TAR_SAMPLES, ids=lambda rel: Path(rel).name)
def test_keys_in_members_before_the_damage_are_still_found(
    corpus: Corpus, tmp_path: Path, rel: str
) -> None:
    root, _ = corpus
    path = root / rel
    data = path.read_bytes()
    seed = Seed(rel, rel, data)
    clean = scan([path])
    assert clean.problems == []
    spans = {span.name: span for span in tar_spans(data)}
    # Each key with the member it came from (provenance: input, member, row or element).
    found = {c.key: spans[c.provenance[1]] for c in clean.candidates}
    assert found, "the sample must hold keys in its members"
    # Past the last member's padded data come the end-of-archive zero blocks: a cut in
    # them loses nothing, and tar readers rightly accept it.
    trailer = -(-max(span.end for span in spans.values()) // 512) * 512
    rng = random.Random(rel)
    for key, span in found.items():
        after = range(span.end, len(data))
        assert len(after) > 8, "the sample must go on after the key's member"
        for cut in sorted({span.end, span.end + 7, rng.choice(after), len(data) - 1}):
            result = _scan_bytes(seed, data[:cut], tmp_path / "cut")
            assert key in _keys(result), f"cut at {cut} lost the key of {span.name}"
            if cut < trailer:
                assert "truncated" in {p.kind for p in result.problems}, f"cut at {cut}"
        for offset in rng.sample(range(span.end, len(data)), 4):
            damaged = bytearray(data)
            damaged[offset] ^= 1 << rng.randrange(8)
            result = _scan_bytes(seed, bytes(damaged), tmp_path / "flip")
            assert key in _keys(result), f"flip at {offset} lost the key of {span.name}"


def test_log_keys_before_a_cut_are_still_found(corpus: Corpus, tmp_path: Path) -> None:
    root, _ = corpus
    rel = "log_bundle/Android/data/com.xiaomi.wearable/files/log/Wearable.log"
    data = (root / rel).read_bytes()
    seed = Seed(rel, rel, data)
    clean = scan([root / rel])
    line_ends = [i + 1 for i, byte in enumerate(data) if byte == 0x0A]
    for candidate in clean.candidates:
        line = int(candidate.provenance[-1].removeprefix("line "))
        end = line_ends[line - 1]
        for cut in (end, end + 1, (end + len(data)) // 2):
            result = _scan_bytes(seed, data[:cut], tmp_path / "log")
            assert candidate.key in _keys(result), f"cut at {cut} lost line {line}"
            assert result.problems == []  # a log cut at any byte is still a log


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    return archives.tar_bytes(members)


def test_a_cut_database_does_not_lose_its_complete_neighbour(tmp_path: Path) -> None:
    mac, key = archives.device("neighbour")
    folder = "data/data/com.xiaomi.hm.health/databases/"
    whole = twrp.origin_db(mac, key)
    other = twrp.origin_db(*archives.device("cut-neighbour"))
    data = _tar([(folder + "z_origin_db", whole), (folder + "a_origin_db", other)])
    cut_span = tar_spans(data)[1]
    path = tmp_path / "app-data.tar"
    path.write_bytes(data[: cut_span.end - 100])  # inside a_origin_db, after z_origin_db
    result = scan([path], ScanOptions())
    assert key in _keys(result)
    assert {p.kind for p in result.problems} == {"truncated"}
