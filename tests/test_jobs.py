"""``--jobs``: top-level inputs scanned in worker processes give the same JSON as one process."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import Expected
from scanner.cli import app
from scanner.context import ScanOptions
from scanner.pipeline import scan
from scanner.reports.json_report import to_json

runner = CliRunner()


def _inputs(root: Path, expected: dict[str, Expected]) -> list[Path]:
    """Every corpus input, in a fixed order: files, folders, encrypted backups."""
    return [root / name for name in sorted(expected)]


def _passwords(root: Path) -> list[str]:
    return [line for line in (root / "passwords.txt").read_text("utf-8").split("\n") if line]


def test_corpus_json_is_identical_with_one_and_two_jobs(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    root, expected = corpus
    paths = _inputs(root, expected)
    assert len(paths) > 2
    options = ScanOptions(passwords=_passwords(root))
    one = to_json(scan(paths, options, jobs=1))
    two = to_json(scan(paths, ScanOptions(passwords=_passwords(root)), jobs=2))
    assert one == two
    assert '"candidates": []' not in one  # the corpus has keys: the comparison means something


@pytest.mark.parametrize("redact", [False, True])
def test_cli_json_is_identical_with_one_and_two_jobs(
    corpus: tuple[Path, dict[str, Expected]], redact: bool
) -> None:
    root, expected = corpus
    paths = [str(path) for path in _inputs(root, expected)]
    common = ["--json", "--no-input", "--password-file", str(root / "passwords.txt")]
    common += ["--redact"] if redact else []
    one = runner.invoke(app, ["scan", *paths, *common, "--jobs", "1"])
    two = runner.invoke(app, ["scan", *paths, *common, "--jobs", "2"])
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_input_order_is_kept_whatever_finishes_first(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    """The biggest input first: with two workers the small ones finish before it."""
    root, expected = corpus
    paths = sorted(_inputs(root, expected), key=_size, reverse=True)
    options = ScanOptions(passwords=_passwords(root))
    one = scan(paths, options, jobs=1)
    two = scan(paths, ScanOptions(passwords=_passwords(root)), jobs=2)
    assert [c.provenance for c in one.candidates] == [c.provenance for c in two.candidates]
    assert [p.provenance for p in one.problems] == [p.provenance for p in two.problems]
    assert one.files_seen == two.files_seen


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
