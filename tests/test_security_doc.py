"""docs/security.md names only tests that exist: a renamed or deleted test breaks this one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _all_tests() -> set[str]:
    return {name for path in (ROOT / "tests").rglob("test_*.py") for name in _tests_in(path)}


def test_every_file_and_test_named_exists() -> None:
    text = DOC.read_text("utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text)
    assert len(named) >= 40  # the attack table: a broken pattern would pass vacuously
    missing = [
        f"{file}::{test}"
        for file, test in named
        if not (ROOT / file).is_file() or test not in _tests_in(ROOT / file)
    ]
    assert missing == []


def test_every_bare_test_name_exists() -> None:
    """Names given without their file, e.g. `test_sparse_holes_*` after the file."""
    text = DOC.read_text("utf-8")
    everything = _all_tests()
    for name in re.findall(r"`(test_\w+\*?)`", text):
        if name.endswith("*"):
            assert any(test.startswith(name[:-1]) for test in everything), name
        else:
            assert name in everything, name


def test_every_test_file_named_exists() -> None:
    text = DOC.read_text("utf-8")
    files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    assert files and [f for f in sorted(files) if not (ROOT / f).is_file()] == []
