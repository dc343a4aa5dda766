"""The type checker is part of the test suite: mypy, configured in pyproject.toml, passes
over scanner/, and it catches a free string where an enum or a typed error belongs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # where mypy finds the scanner package


def _mypy(cache: Path, *targets: str) -> tuple[str, int]:
    config = str(ROOT / "pyproject.toml")
    out, err, status = api.run(["--config-file", config, "--cache-dir", str(cache), *targets])
    return out + err, status


def test_scanner_type_checks(cache: Path) -> None:
    report, status = _mypy(cache, "scanner")
    assert status == 0, report
    assert "Success: no issues found" in report


def test_a_free_string_for_a_problem_kind_or_a_method_is_an_error(
    cache: Path, tmp_path: Path
) -> None:
    sample = tmp_path / "free_strings.py"
    sample.write_text(
        "from scanner.context import ScanContext\n"
        "from scanner.model import Candidate, Method, Problem\n"
        "ScanContext().report('corrupt', ('input',))\n"
        "Problem('corrupt', ('input',), 'words')\n"
        "Candidate(key='0' * 32, field='AUTHKEY', provenance=(), method='sqlite')\n"
        "Candidate(key='0' * 32, field='AUTHKEY', provenance=(), method=Method.SQLITE)\n",
        "utf-8",
    )
    report, status = _mypy(cache, str(sample))
    assert status == 1
    flagged = sorted(int(line.split(":")[1]) for line in report.splitlines() if ": error:" in line)
    assert flagged == [3, 4, 5], report  # line 6, with the enum, is fine
