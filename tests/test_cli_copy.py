"""``scan --copy``: the OSC 52 sequence carries base64 of exactly ``0x`` + the first
device's key, goes to the terminal only (stderr first, so that --json on stdout stays
clean), and is never written when neither stream is a terminal."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import fake_key, fake_mac
from scanner.cli import app
from scanner.reports.clipboard import osc52
from tests.helpers import saved_answer

pexpect = pytest.importorskip("pexpect", reason="pexpect (test extra) drives a pty; POSIX only")
if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX only", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
OSC52 = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")
runner = CliRunner()


def _run_in_pty(command: str, cwd: Path) -> bytes:
    """``command`` (a shell line) in a pty: everything the terminal received, raw."""
    env = {k: v for k, v in os.environ.items() if k not in ("KEYSCAN_PASSWORD", "COLUMNS")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color")
    child = pexpect.spawn("/bin/sh", ["-c", command], cwd=str(cwd), env=env, timeout=60)
    raw = child.read()
    child.close()
    assert child.exitstatus == 0, raw
    return raw


def _keyscan(args: str) -> str:
    return f"{sys.executable} -m scanner scan --no-input {args}"


def _copied(raw: bytes) -> list[str]:
    return [base64.b64decode(payload).decode("ascii") for payload in OSC52.findall(raw)]


def test_sequence_holds_base64_of_the_key() -> None:
    key = "0x" + fake_key("copy")
    assert osc52(key) == f"\x1b]52;c;{base64.b64encode(key.encode()).decode()}\x07"
    for bad in ("0x" + fake_key("copy").upper(), "key\x07\x1b]0;t", ""):
        with pytest.raises(ValueError):
            osc52(bad)


def test_one_device_key_copied_in_a_terminal(tmp_path: Path) -> None:
    key = fake_key("copy")
    saved_answer(tmp_path / "answer.json", fake_mac("copy"), key)
    raw = _run_in_pty(_keyscan("answer.json --copy"), tmp_path)
    assert _copied(raw) == ["0x" + key]
    assert b"asked the terminal to put the key on the clipboard" in raw


def test_first_of_several_devices_copied_and_said(tmp_path: Path) -> None:
    keys = [fake_key(f"copy-{n}") for n in range(3)]
    for n, key in enumerate(keys):
        saved_answer(tmp_path / f"answer{n}.json", fake_mac(f"copy-{n}"), key)
    raw = _run_in_pty(_keyscan(". --copy"), tmp_path)
    listed_first = re.search(rb"0x[0-9a-f]{32}", raw)  # the report's first line (in colour)
    assert listed_first is not None
    (copied,) = _copied(raw)
    assert copied == listed_first.group().decode() and copied[2:] in keys
    assert b"the key of device 1 of 3" in raw


def test_json_on_stdout_stays_clean_and_stderr_gets_the_sequence(tmp_path: Path) -> None:
    key = fake_key("copy")
    saved_answer(tmp_path / "answer.json", fake_mac("copy"), key)
    raw = _run_in_pty(_keyscan("answer.json --copy --json > out.json"), tmp_path)
    assert _copied(raw) == ["0x" + key]
    document = (tmp_path / "out.json").read_bytes()
    assert b"\x1b" not in document
    assert json.loads(document)["devices"][0]["key"] == key


def test_nothing_sent_when_no_stream_is_a_terminal(tmp_path: Path) -> None:
    saved_answer(tmp_path / "answer.json", fake_mac("copy"), fake_key("copy"))
    raw = _run_in_pty(_keyscan("answer.json --copy > out.txt 2> err.txt"), tmp_path)
    assert raw == b""
    written = (tmp_path / "out.txt").read_bytes() + (tmp_path / "err.txt").read_bytes()
    assert b"\x1b" not in written
    assert b"not run in a terminal, nothing copied" in written
    result = runner.invoke(app, ["scan", str(tmp_path / "answer.json"), "--copy"])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "nothing copied" in result.stderr


def test_copy_with_redact_is_a_usage_error(tmp_path: Path) -> None:
    answer = saved_answer(tmp_path / "answer.json", fake_mac("copy"), fake_key("copy"))
    result = runner.invoke(app, ["scan", str(answer), "--copy", "--redact"])
    assert result.exit_code == 2 and "--copy" in result.stderr


def test_help_says_which_key_and_where() -> None:
    result = runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "200"})
    words = " ".join(result.stdout.replace("│", " ").split())  # the help's box, unwrapped
    assert "--copy" in words and "OSC 52" in words and "the first listed" in words
