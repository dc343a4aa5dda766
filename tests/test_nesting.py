"""Containers nested 1000 deep (issue 16 item 3): a `limit` problem for the deep branch only.

Folders are walked with a stack (``tests/test_pipeline.py``); containers are walked by Python
recursion, a few frames per level, so their depth has a ceiling whatever ``max_depth`` asks.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from corpus.common import fake_key
from corpus.hostile import key_line, nested_containers
from scanner.context import MAX_DEPTH_CEILING, Limits, ScanOptions
from scanner.pipeline import scan
from tests.helpers import keys_of, zip_of


def _shown_chain(names: tuple[str, ...]) -> tuple[str, ...]:
    """The provenance the scan shows: a gzip's one member is named after the gzip as shown,
    without ``.gz`` (or with ``.decompressed`` when it has no such suffix)."""
    shown = [names[0]]
    for outer, name in pairwise(names):
        if outer.endswith(".gz"):
            above = shown[-1]
            name = above[:-3] if above.endswith(".gz") else above + ".decompressed"
        shown.append(name)
    return tuple(shown)


def _evidence(tmp_path: Path, kinds: tuple[str, ...]) -> tuple[Path, tuple[str, ...]]:
    """``evidence.zip``: a key in ``sibling.log`` beside 1000 containers around another key."""
    nest, names = nested_containers(tmp_path / "nest", 1000, key_line("deep"), kinds)
    evidence = tmp_path / "evidence.zip"
    evidence.write_bytes(
        zip_of([("sibling.log", key_line("sibling")), (names[0], nest.read_bytes())])
    )
    return evidence, _shown_chain(names)


@pytest.mark.parametrize("kinds", [("zip", "tar", "gz"), ("gz",)], ids=["zip-tar-gz", "gz"])
@pytest.mark.parametrize("max_depth", [12, 1000])
def test_a_thousand_nested_containers_cost_the_deep_branch_only(
    tmp_path: Path, kinds: tuple[str, ...], max_depth: int
) -> None:
    # Before the ceiling, max_depth=1000 ended in RecursionError, reported as `internal`
    # (up to 200 of them for the gzip nest), at about 325 levels.
    evidence, chain = _evidence(tmp_path, kinds)
    result = scan([evidence], ScanOptions(limits=Limits(max_depth=max_depth)))
    deepest = min(max_depth, MAX_DEPTH_CEILING)
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("limit", (str(evidence), *chain[: deepest + 1]))
    ]
    assert result.problems[0].message == f"nested more than {deepest} containers deep"
    assert keys_of(result.candidates) == {fake_key("sibling")}


def test_a_nest_within_the_limit_is_read_to_its_bottom(tmp_path: Path) -> None:
    nest, names = nested_containers(tmp_path / "nest", 30, key_line("deep"))
    result = scan([nest], ScanOptions(limits=Limits(max_depth=40)))
    assert result.problems == []
    [found] = result.candidates
    assert found.key == fake_key("deep")
    assert found.provenance == (str(nest), *_shown_chain(names)[1:], "line 1")
