"""Command-line conventions: ``-`` for standard input, ``-V``, completion, help without
Python type names, and one test per documented exit code (docs/usage.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import Expected, fake_key, fake_mac
from scanner import __version__
from scanner.cli import ExitCode, app
from tests.helpers import cli_json, saved_answer

runner = CliRunner()
Corpus = tuple[Path, dict[str, Expected]]
KEY, MAC = fake_key("conventions"), fake_mac("conventions")


@pytest.fixture()
def answer(tmp_path: Path) -> Path:
    return saved_answer(tmp_path / "answer.json", MAC, KEY)


def _scan(*args: str, **kwargs: object) -> tuple[int, dict]:
    return cli_json([*args, "--no-input"], **kwargs)


def test_dash_reads_one_input_from_standard_input(corpus: Corpus) -> None:
    root, expected = corpus
    name = "adb/zepp-compressed-v5.ab"
    code, doc = _scan("-", input=(root / name).read_bytes())
    assert code == ExitCode.FOUND
    assert {d["key"] for d in doc["devices"]} == expected[name].keys
    assert {c["provenance"][0] for c in doc["candidates"]} == {"<stdin>"}


def test_dash_twice_or_from_a_terminal_is_a_usage_error(answer: Path) -> None:
    result = runner.invoke(app, ["scan", "-", "-", "--no-input"], input=b"x")
    assert result.exit_code == ExitCode.USAGE
    assert "once" in result.stderr


def test_short_and_long_version() -> None:
    for flag in ("-V", "--version"):
        result = runner.invoke(app, [flag])
        assert (result.exit_code, result.stdout) == (0, f"keyscan {__version__}\n")


@pytest.mark.parametrize("args", [["--help"], ["scan", "--help"], ["ls", "--help"]])
def test_help_names_no_python_type(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert re.findall(r"<[a-z]+(?:\[[^\]]*\])?>|<int range>", result.stdout) == []
    assert "list[" not in result.stdout and "Path" not in result.stdout


def test_help_offers_shell_completion() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_scan_help_lists_options_and_exit_codes() -> None:
    result = runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "120"})
    for option in ("--json", "--all", "--password", "--password-file", "--no-input", "--jobs"):
        assert option in result.stdout
    flat = " ".join(result.stdout.split())
    assert "Exit codes: 0 a key was found; 1 none was found in what was read; 2 usage" in flat
    assert "3 no key found and some input needs a password" in flat


# --- one test per exit code ------------------------------------------------------------


def test_exit_0_when_a_key_is_found(answer: Path) -> None:
    assert _scan(str(answer))[0] == ExitCode.FOUND == 0


def test_exit_1_when_what_was_read_holds_no_key(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing to see here\n", encoding="utf-8")
    assert _scan(str(tmp_path))[0] == ExitCode.NO_KEY == 1


def test_exit_1_for_a_backup_without_app_data(corpus: Corpus) -> None:
    root, _ = corpus
    code, doc = _scan(str(root / "adb/empty-allowbackup-false.ab"))
    assert code == ExitCode.NO_KEY == 1  # read: it holds nothing, which is an answer
    assert "allowBackup=false" in doc["problems"][0]["message"]


def test_exit_2_for_usage_errors_and_nothing_readable(tmp_path: Path) -> None:
    assert runner.invoke(app, ["scan"]).exit_code == ExitCode.USAGE == 2
    assert runner.invoke(app, ["scan", "--no-such-option", "x"]).exit_code == 2
    missing = str(tmp_path / "missing.ab")
    assert _scan(missing)[0] == 2
    assert _scan(missing, "--password-file", str(tmp_path / "nope.txt"))[0] == 2


def test_exit_3_when_no_key_and_an_input_is_locked(corpus: Corpus, tmp_path: Path) -> None:
    root, _ = corpus
    locked = str(root / "adb/zepp-encrypted-v5.ab")
    (tmp_path / "notes.txt").write_text("nothing\n", encoding="utf-8")
    env = {"KEYSCAN_PASSWORD": ""}
    assert _scan(locked, str(tmp_path), env=env)[0] == ExitCode.LOCKED == 3  # needs-password
    assert _scan(locked, "-p", "wrong", env=env)[0] == 3  # wrong-password


@pytest.mark.parametrize(
    "command", [["scan"], ["scan", "--json"], ["scan", "--all"], ["ls"]], ids=" ".join
)
def test_a_reader_that_stops_early_leaves_the_exit_code_as_found(
    answer: Path, command: list[str]
) -> None:
    """``keyscan scan x | head -1``: the pipe closes before the output is written. What
    was found is what the code says (not 1, "no key"), with no traceback; ``ls`` stops."""
    scan = subprocess.Popen(
        [sys.executable, "-m", "scanner", *command, str(answer), "--no-input"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUTF8": "1"},
    )
    assert scan.stdout is not None and scan.stderr is not None
    scan.stdout.close()  # the reader is gone before anything is written
    errors = scan.stderr.read().decode()
    assert scan.wait(timeout=120) == ExitCode.FOUND
    assert "Traceback" not in errors and "BrokenPipe" not in errors and "Errno" not in errors
