"""Every corpus sample scans to exactly what its builder planted: the end-to-end contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.common import Expected
from scanner.context import ScanOptions
from scanner.model import ScanResult
from scanner.pipeline import scan

Corpus = tuple[Path, dict[str, Expected]]


@pytest.fixture(scope="module")
def scans(corpus: Corpus) -> dict[str, ScanResult]:
    root, expected = corpus
    return {
        name: scan([root / name], ScanOptions(passwords=list(e.passwords)))
        for name, e in expected.items()
    }


def test_the_corpus_has_every_family(corpus: Corpus) -> None:
    families = {name.split("/")[0] for name in corpus[1]}
    assert families >= {
        "app_data", "mi_fitness", "log_bundle", "gadgetbridge", "server_answer", "decoys",
        "deleted", "handed_over", "adb", "miui", "twrp", "archives", "huami_token",
        "text_logs", "neo_backup",
    }  # fmt: skip


def test_every_sample_gives_its_devices_keys_and_problems(
    corpus: Corpus, scans: dict[str, ScanResult]
) -> None:
    _, expected = corpus
    mismatches = []
    for name, want in sorted(expected.items()):
        result = scans[name]
        chosen = {d.device.mac or f"key:{d.chosen.key}": d.chosen.key for d in result.devices}
        keys = {c.key for c in result.candidates}
        kinds = {p.kind for p in result.problems}
        if want.devices and any(chosen.get(mac) != key for mac, key in want.devices.items()):
            mismatches.append((name, "devices", want.devices, chosen))
        if not want.keys <= keys:
            mismatches.append((name, "missing keys", want.keys - keys))
        if want.absent & keys:
            mismatches.append((name, "decoys reported", want.absent & keys))
        if not want.problems <= kinds:
            mismatches.append((name, "problems", want.problems, kinds))
        if not want.problems and kinds:
            mismatches.append((name, "unexpected problems", kinds))
    assert mismatches == []


def test_decoys_are_never_chosen(corpus: Corpus, scans: dict[str, ScanResult]) -> None:
    _, expected = corpus
    decoys = set().union(*(e.absent for e in expected.values()))
    chosen = {d.chosen.key for result in scans.values() for d in result.devices}
    assert decoys and not decoys & chosen
