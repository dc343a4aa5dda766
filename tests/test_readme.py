"""README's one-command blocks stay what CI and a new user run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(heading: str, language: str = "sh") -> str:
    section = README.split(f"## {heading}", 1)[1]
    match = re.search(rf"```{language}\n(.*?)\n```", section, re.DOTALL)
    assert match, f"no {language} block under {heading}"
    return match.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    command = _block("Run the tests (one command)")
    assert "\n" not in command
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1] == command


def test_corpus_command_installs_into_a_virtual_environment() -> None:
    for language in ("sh", "powershell"):
        command = _block("Try it on the bundled corpus (one command)", language)
        assert "\n" not in command
        assert "-m venv .venv" in command and "-m corpus corpus-out" in command
        assert "keyscan scan corpus-out --password-file corpus-out" in command


def test_readme_names_the_distribution() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] != "keyscan"  # taken on PyPI by an unrelated project
    assert f"**`{project['name']}`**" in README
    assert project["scripts"]["keyscan"] == "scanner.cli:main"
