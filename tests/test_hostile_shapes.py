"""Issue 16's hostile shapes, whole and mutated (item 10): each ends as its expected problem.

``corpus/hostile.py`` builds them (deep nests of containers and folders, sparse tar holes,
overlapping zip members, a many-key log, odd passwords, names that are not UTF-8, links out
of the evidence and a FIFO in a folder, link and FIFO members in a tar). Each
shape's scan gives exactly its problem kinds and keys and a JSON document that is UTF-8,
and the mutation run over them raises nothing and reports no ``internal`` problem. The
counts by family and by kind are printed to CI's log.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus.hostile import ODD_PASSWORD, Shape, build_hostile, remove_tree
from scanner.context import ScanOptions
from scanner.errors import ProblemKind
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.reports.json_report import write_json
from tools.mutate import Figures, Seed, run

Built = tuple[Path, list[Shape]]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("hostile")
    yield root, build_hostile(root)
    remove_tree(root)  # pytest's own clean-up recurses into the 1000 folders


@pytest.fixture(scope="module")
def results(hostile: Built) -> list[tuple[Shape, ScanResult]]:
    root, shapes = hostile
    return [
        (shape, scan([root / shape.name], ScanOptions(passwords=list(shape.passwords))))
        for shape in shapes
    ]


def counts_by_family(results: list[tuple[Shape, ScanResult]]) -> dict[str, str]:
    """One line per family: inputs, problems by kind, keys found."""
    inputs: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    keys: Counter[str] = Counter()
    for shape, result in results:
        inputs[shape.family] += 1
        kinds.setdefault(shape.family, Counter()).update(p.kind for p in result.problems)
        keys[shape.family] += len({c.key for c in result.candidates})
    return {
        family: f"{inputs[family]} inputs, problems: "
        + (", ".join(f"{k} {n}" for k, n in sorted(kinds[family].items())) or "none")
        + f"; keys found: {keys[family]}"
        for family in inputs
    }


def test_each_hostile_shape_ends_in_its_problem_with_the_other_keys_found(
    results: list[tuple[Shape, ScanResult]], capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():  # shown in CI's log with or without -s
        print("\n[hostile shapes]")
        for family, line in counts_by_family(results).items():
            print(f"  {family}: {line}")
    for shape, result in results:
        assert tuple(p.kind for p in result.problems) == shape.problems, shape
        assert {c.key for c in result.candidates} == shape.keys, shape


def test_the_counts_by_family(results: list[tuple[Shape, ScanResult]]) -> None:
    assert counts_by_family(results) == {
        "nested containers": "1 inputs, problems: limit 1; keys found: 1",
        "nested gzip": "1 inputs, problems: limit 1; keys found: 1",
        "deep folders": "1 inputs, problems: none; keys found: 2",
        "sparse tar members": "1 inputs, problems: limit 4; keys found: 1",
        "overlapping zip members": "1 inputs, problems: corrupt 1; keys found: 1",
        "many-key logs": "1 inputs, problems: none; keys found: 101",
        "odd passwords": "2 inputs, problems: wrong-password 1; keys found: 1",
        "non-UTF-8 names": "2 inputs, problems: none; keys found: 2",
        "links and special files": "2 inputs, problems: none; keys found: 2",
    }


def test_every_shapes_json_is_utf8_that_parses(results: list[tuple[Shape, ScanResult]]) -> None:
    for shape, result in results:
        out = io.StringIO()
        write_json(result, out)
        document = json.loads(out.getvalue().encode("utf-8").decode("utf-8"))
        assert len(document["candidates"]) == len(result.candidates), shape


def test_no_password_byte_shows_in_a_problem(results: list[tuple[Shape, ScanResult]]) -> None:
    for shape, result in results:
        for problem in result.problems:
            for password in shape.passwords:
                text = password if isinstance(password, str) else password.decode("latin-1")
                assert text not in problem.message
                assert ODD_PASSWORD[2:] not in problem.message


@pytest.fixture(scope="module")
def mutated(hostile: Built, tmp_path_factory: pytest.TempPathFactory) -> Figures:
    root, shapes = hostile
    files = sorted({shape.name for shape in shapes if (root / shape.name).is_file()})
    seeds = [Seed(f"hostile/{name}", name, (root / name).read_bytes()) for name in files]
    work = tmp_path_factory.mktemp("mutate-hostile")
    return run(seeds, [ODD_PASSWORD], work, rounds=2, flip_count=4, cut_count=6, splice_count=3)


def test_mutated_hostile_shapes_never_crash_a_scan(
    mutated: Figures, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print(f"\n[hostile shapes, mutated] {mutated.summary()}")
    assert [label for label, _ in mutated.crashes] == []
    assert mutated.internal == []
    assert mutated.unknown_kinds == []
    assert set(mutated.problems) <= set(ProblemKind)
    assert mutated.inputs > 100
    # The nests are too deep whatever is damaged above their limit.
    assert mutated.problems[ProblemKind.LIMIT] > 0
