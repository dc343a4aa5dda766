"""The command in a pseudo-terminal, the screen rendered as a user sees it (pexpect + pyte):
the password prompt stays visible while it waits, says which file and when a password was
wrong, and the key is the first thing on the screen."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac
from corpus.samples.adb_backups import PASSWORD_V5, Band, ab_bytes, zepp_members

pexpect = pytest.importorskip("pexpect", reason="pexpect (test extra) drives a pty; POSIX only")
pyte = pytest.importorskip("pyte", reason="pyte (test extra) renders the pty's screen")
if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pseudo-terminals are POSIX only", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
QUIET = 0.6  # seconds with nothing drawn: what a user waiting at the prompt would see


class Terminal:
    """``keyscan`` in a pty of ``cols`` x ``rows``, its output fed to a pyte screen."""

    def __init__(self, args: list[str], cols: int = 80, rows: int = 150) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("KEYSCAN_PASSWORD", "COLUMNS")}
        env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color")
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "scanner", *args],
            cwd=str(ROOT),
            env=env,
            dimensions=(rows, cols),
            timeout=60,
        )

    def _feed(self) -> None:
        self._stream.feed(self.child.before or b"")
        if isinstance(self.child.after, bytes):
            self._stream.feed(self.child.after)

    def expect(self, text: str) -> None:
        self.child.expect_exact(text.encode())
        self._feed()

    def settle(self) -> None:
        """Everything drawn until nothing more comes for a moment (or the program ends)."""
        self.child.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=QUIET)
        self._feed()

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self._feed()
        self.child.close()
        return self.child.exitstatus

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    @property
    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()


def _locked_backup(folder: Path) -> tuple[Path, set[str]]:
    band = Band("pty")
    path = folder / "locked.ab"
    path.write_bytes(ab_bytes(zepp_members(band), password=PASSWORD_V5, label=band.label))
    return path, {band.key, band.prefs_key}


def _answer(folder: Path) -> tuple[Path, str]:
    key, mac = fake_key("pty-answer"), fake_mac("pty-answer")
    info = json.dumps({"auth_key": key, "sn": "1", "productId": "hmpace.watch.v7"})
    doc = {"items": [{"macAddress": mac, "lastBindingTime": 1709294400, "additionalInfo": info}]}
    path = folder / "answer.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path, key


def _flat(text: str) -> str:
    return "".join(text.split())


def test_prompt_stays_visible_and_wrong_passwords_are_said(tmp_path: Path) -> None:
    backup, _ = _locked_backup(tmp_path)
    answer, answer_key = _answer(tmp_path)
    term = Terminal(["scan", str(backup), str(answer)])
    term.expect("skip): ")
    term.settle()  # the progress line must not draw over the prompt meanwhile
    assert _flat(f"Password for {backup} (empty to skip):") in _flat(term.text)
    assert term.cursor_line.endswith("skip):")  # the cursor waits at the prompt
    for attempt in (2, 3):
        term.child.sendline(f"not-it-{attempt}")
        term.expect("skip): ")
        term.settle()
        assert _flat(f"Wrong password for {backup} (try {attempt} of 3).") in _flat(term.text)
        assert term.cursor_line.endswith("skip):")
    term.child.sendline("not-it-4")
    assert term.finish() == 0  # the other input's key was found
    screen = term.text
    assert "not-it" not in screen  # typed passwords are not echoed
    assert "wrong-password" in screen
    assert "0x" + answer_key in screen


def test_right_password_after_a_wrong_one(tmp_path: Path) -> None:
    backup, keys = _locked_backup(tmp_path)
    term = Terminal(["scan", str(backup)], cols=40)
    term.expect("skip): ")
    term.child.sendline("nope")
    term.expect("skip): ")
    term.settle()
    assert "Wrong password" in term.text
    term.child.sendline(PASSWORD_V5)
    assert term.finish() == 0
    lines = term.screen.display
    shown = {line.strip()[2:34] for line in lines if line.startswith("0x")}
    assert shown == keys  # whole keys, each at the start of its own line, at 40 columns
    assert PASSWORD_V5 not in term.text


def test_one_device_key_first_on_screen(tmp_path: Path) -> None:
    answer, key = _answer(tmp_path)
    term = Terminal(["scan", str(answer)], cols=40)
    assert term.finish() == 0
    assert term.screen.display[0].rstrip() == "0x" + key  # its MAC follows on the next line
