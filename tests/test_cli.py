"""The command line: every output mode and exit code, through typer's CliRunner."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import fake_key, fake_mac
from scanner.cli import app
from tests.helpers import saved_answer

runner = CliRunner()
KEY = fake_key("cli-band")
MAC = fake_mac("cli-band")


@pytest.fixture()
def answer(tmp_path: Path) -> Path:
    """A saved Zepp server answer with one band."""
    return saved_answer(tmp_path / "answer.json", MAC, KEY)


def test_scan_json_prints_only_the_contract(answer: Path) -> None:
    result = runner.invoke(app, ["scan", str(answer), "--json", "--no-input"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1
    assert [(d["mac"], d["key"], d["gadgetbridge"]) for d in doc["devices"]] == [
        (MAC, KEY, "0x" + KEY)
    ]
    assert doc["devices"][0]["timestamp"] == "2024-03-01T12:00:00Z"
    (candidate,) = doc["candidates"]
    assert candidate["provenance"] == [str(answer), "$.items[0].additionalInfo.auth_key"]
    assert candidate["method"] == "json"
    assert doc["problems"] == []


def test_scan_table_shows_the_whole_key_with_0x(answer: Path) -> None:
    result = runner.invoke(app, ["scan", str(answer), "--no-input"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"0x{KEY}  {MAC}")
    assert "0x prefix" in result.stdout


def test_scan_all_lists_every_candidate(answer: Path) -> None:
    result = runner.invoke(app, ["scan", str(answer), "--all", "--no-input"], terminal_width=200)
    assert result.exit_code == 0
    assert "Every candidate" in result.stdout
    assert "auth_key" in result.stdout


def test_redact_masks_all_but_the_last_four(answer: Path) -> None:
    result = runner.invoke(app, ["scan", str(answer), "--json", "--redact", "--no-input"])
    device = json.loads(result.stdout)["devices"][0]
    assert device["key"] == "*" * 28 + KEY[-4:]
    assert device["gadgetbridge"] == "0x" + "*" * 28 + KEY[-4:]
    assert KEY not in result.stdout


def test_no_key_exits_1(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing to see here\n", encoding="utf-8")
    result = runner.invoke(app, ["scan", str(tmp_path), "--no-input"])
    assert result.exit_code == 1
    assert "No wearable key found" in result.stdout


def test_unreadable_input_exits_2_with_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.ab"
    result = runner.invoke(app, ["scan", str(missing), "--json", "--no-input"])
    assert result.exit_code == 2
    problems = json.loads(result.stdout)["problems"]
    assert problems == [
        {"kind": "unreadable", "provenance": [str(missing)], "message": "no such file or folder"}
    ]


def test_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["scan"]).exit_code == 2
    assert runner.invoke(app, ["scan", "--no-such-option", "x"]).exit_code == 2


def test_help_names_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "scan" in result.stdout and "ls" in result.stdout


def test_scan_help_gives_examples_and_exit_codes() -> None:
    result = runner.invoke(app, ["scan", "--help"], terminal_width=120)
    assert result.exit_code == 0
    assert "keyscan scan backup.ab" in result.stdout
    assert "Exit codes: 0 a key was found; 1 none was found" in result.stdout


def test_password_option_warns_on_stderr(answer: Path) -> None:
    result = runner.invoke(app, ["scan", str(answer), "--password", "hunter2", "--no-input"])
    assert result.exit_code == 0
    assert "visible to other users" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_missing_password_file_is_a_usage_error(answer: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    result = runner.invoke(app, ["scan", str(answer), "--password-file", str(missing)])
    assert result.exit_code == 2
    assert "cannot read --password-file" in result.stderr


def test_ls_lists_nested_members_and_kinds(tmp_path: Path, answer: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(answer, "saved/answer.json")
    result = runner.invoke(app, ["ls", str(archive), "--no-input"], terminal_width=200)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{archive}  ") and lines[0].endswith("[zip]")
    assert lines[1].startswith("  saved/answer.json  ") and "[json_doc]" in lines[1]
