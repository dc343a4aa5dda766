"""Every password source of the command line, on the corpus's encrypted adb backup."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from corpus.common import Expected
from corpus.samples.adb_backups import PASSWORD_V5
from scanner import cli
from scanner.cli import app
from tests.helpers import cli_json

runner = CliRunner()
SAMPLE = "adb/zepp-encrypted-v5.ab"


@pytest.fixture()
def backup(corpus: tuple[Path, dict[str, Expected]]) -> tuple[Path, Expected]:
    root, expected = corpus
    return root / SAMPLE, expected[SAMPLE]


def _scan(args: list[str], **kwargs: object) -> tuple[int, dict]:
    return cli_json(args, **kwargs)


def _keys(doc: dict) -> set[str]:
    return {device["key"] for device in doc["devices"]}


def test_password_option(backup: tuple[Path, Expected]) -> None:
    path, expected = backup
    code, doc = _scan([str(path), "--no-input", "--password", "wrong", "-p", PASSWORD_V5])
    assert code == 0
    assert _keys(doc) == expected.keys
    assert doc["problems"] == []


def test_password_file(backup: tuple[Path, Expected], tmp_path: Path) -> None:
    path, expected = backup
    secrets = tmp_path / "pw.txt"
    secrets.write_text(f"first-guess\n{PASSWORD_V5}\n", encoding="utf-8")
    code, doc = _scan([str(path), "--no-input", "--password-file", str(secrets)])
    assert (code, _keys(doc)) == (0, expected.keys)


def test_environment_variable(backup: tuple[Path, Expected]) -> None:
    path, expected = backup
    code, doc = _scan([str(path), "--no-input"], env={"KEYSCAN_PASSWORD": PASSWORD_V5})
    assert (code, _keys(doc)) == (0, expected.keys)


def test_no_password_is_a_needs_password_problem(backup: tuple[Path, Expected]) -> None:
    path, _ = backup
    code, doc = _scan([str(path), "--no-input"], env={"KEYSCAN_PASSWORD": ""})
    assert code == 3  # keys may be behind the password
    assert [(p["kind"], p["provenance"]) for p in doc["problems"]] == [
        ("needs-password", [str(path)])
    ]
    assert "--password-file" in doc["problems"][0]["message"]


def test_wrong_password_is_a_wrong_password_problem(backup: tuple[Path, Expected]) -> None:
    path, _ = backup
    code, doc = _scan([str(path), "--no-input", "-p", "nope"], env={"KEYSCAN_PASSWORD": ""})
    assert code == 3
    assert [p["kind"] for p in doc["problems"]] == ["wrong-password"]


def test_prompt_when_interactive(
    backup: tuple[Path, Expected], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = backup
    asked: list[str] = []

    def typed(self: Console, prompt: object = "", *, password: bool = False, **_: object) -> str:
        asked.append(str(prompt))
        assert password  # masked
        return PASSWORD_V5

    monkeypatch.setattr(cli, "can_prompt", lambda: True)
    monkeypatch.setattr(Console, "input", typed)
    code, doc = _scan([str(path)], env={"KEYSCAN_PASSWORD": ""})
    assert (code, _keys(doc)) == (0, expected.keys)
    assert len(asked) == 1 and SAMPLE.split("/")[-1] in asked[0]


def test_no_input_never_prompts(
    backup: tuple[Path, Expected], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = backup
    monkeypatch.setattr(cli, "can_prompt", lambda: True)
    monkeypatch.setattr(Console, "input", lambda *a, **k: pytest.fail("prompted"))
    code, doc = _scan([str(path), "--no-input"], env={"KEYSCAN_PASSWORD": ""})
    assert code == 3
    assert [p["kind"] for p in doc["problems"]] == ["needs-password"]


def test_ls_shows_backup_members_as_device_paths(backup: tuple[Path, Expected]) -> None:
    path, _ = backup
    result = runner.invoke(
        app, ["ls", str(path), "--no-input", "-p", PASSWORD_V5], terminal_width=300
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(path)) and lines[0].endswith("[android_backup]")
    db_lines = [line for line in lines if "/db/origin_db" in line]
    assert db_lines and "-> /data/data/com.xiaomi.hm.health/databases/origin_db" in db_lines[0]
    assert "[sqlite db]" in db_lines[0]


def test_prompt_after_given_passwords_says_they_failed(
    backup: tuple[Path, Expected], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = backup
    shown: list[str] = []

    def typed(self: Console, prompt: object = "", *, password: bool = False, **_: object) -> str:
        return PASSWORD_V5

    monkeypatch.setattr(cli, "can_prompt", lambda: True)
    monkeypatch.setattr(Console, "input", typed)
    monkeypatch.setattr(
        Console, "print", lambda self, *a, **k: shown.append(str(a[0]) if a else "")
    )
    code, doc = _scan([str(path), "-p", "one", "-p", "two"], env={"KEYSCAN_PASSWORD": ""})
    assert (code, _keys(doc)) == (0, expected.keys)
    assert f"None of the 2 passwords tried opens {path}." in shown
