"""Hygiene: evidence is never written, nothing goes on the network, passwords never leave
the process, and ``--redact`` masks every key in every report.

- Evidence: adds to tests/test_integrity.py (corpus bytes, mtimes, temp files) the real
  samples scanned in place, a scan of a read-only copy, and an audit hook (``sys.addaudithook``)
  that sees every open, rename, remove, chmod and sqlite3.connect: none may touch the
  evidence for writing, which holds even for root, whom ``chmod a-w`` does not stop.
- Offline: socket connects, ``create_connection``, ``urlopen`` and process spawning are
  refused during a full corpus scan (and the audit hook sees no socket or process either).
- Passwords and keys, through typer's CliRunner on ``scanner.cli.app``, on the corpus's
  encrypted inputs (adb AES-256, zip WinZip AES and ZipCrypto, TWRP OpenAES), with right
  and wrong passwords, with ``--debug`` too (its logged tracebacks are caught by ``caplog``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.common import Expected
from corpus.samples import adb_backups, archives, twrp
from scanner.cli import PASSWORD_ENV, app
from scanner.context import ScanOptions
from scanner.model import ScanResult
from scanner.pipeline import scan
from tools.mutate import REAL_PASSWORDS

runner = CliRunner()
Corpus = tuple[Path, dict[str, Expected]]

WRONG = "Wr0ng-Hygiene-Secret"  # never right for anything: must never be shown
# Every corpus input that takes a password, with its right one.
ENCRYPTED = {
    "adb/zepp-encrypted-v5.ab": adb_backups.PASSWORD_V5,
    "adb/zepp-encrypted-v1.ab": adb_backups.PASSWORD_V1,
    "archives/storage-export-aes.zip": archives.AES_PASSWORD,
    "archives/app-logs-zipcrypto.zip": archives.ZIPCRYPTO_PASSWORD,
    "twrp/TWRP/BACKUPS/a1b2c3d4/2024-03-03--12-00-00": twrp.PASSWORD,  # OpenAES files
}


# --- evidence is read-only -------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Audit events that change a file system entry (besides opening one for writing).
_CHANGES = {
    "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.utime", "os.chmod", "os.chown",
    "os.truncate", "os.link", "os.symlink", "shutil.copyfile", "shutil.rmtree",
}  # fmt: skip
_SPAWNS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"}
_events: list[tuple[str, tuple[object, ...]]] | None = None  # recording while a list
_hooked = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _events is not None and (
        event in ("open", "sqlite3.connect") or event in _CHANGES or event in _SPAWNS
        or event.startswith("socket.")
    ):  # fmt: skip
        _events.append((event, args))


@contextmanager
def audited() -> Iterator[list[tuple[str, tuple[object, ...]]]]:
    """Record the file, SQLite, process and socket events raised inside the block."""
    global _events, _hooked
    if not _hooked:  # audit hooks cannot be removed: one, idle outside this block
        sys.addaudithook(_audit)
        _hooked = True
    _events = []
    try:
        yield _events
    finally:
        _events = None


def _under(value: object, root: Path) -> bool:
    if not isinstance(value, (str, bytes, os.PathLike)):
        return False  # a file descriptor
    path = os.path.abspath(os.fsdecode(value))
    return path == str(root) or path.startswith(str(root) + os.sep)


def writes_under(events: list[tuple[str, tuple[object, ...]]], root: Path) -> list[str]:
    """Every event that opened something below ``root`` for writing, or changed it."""
    found = []
    for event, args in events:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(flags, int) and flags > 0 and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(ch in mode for ch in "wax+")
            )
            if writing and _under(path, root):
                found.append(f"open {path} {mode} {flags}")
        elif event in _CHANGES and any(_under(arg, root) for arg in args):
            found.append(f"{event} {args}")
        elif event == "sqlite3.connect" and args and _under(args[0], root):
            found.append(f"sqlite3.connect {args[0]}")  # it would write -wal/-shm beside
    return found


def _snapshot(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """Every entry below root: content hash, size, mtime (ns) and mode."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(path.relative_to(root))] = (digest, st.st_size, st.st_mtime_ns, st.st_mode)
    return state


def _temp_entries() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("keyscan-")}


def _corpus_passwords(root: Path) -> list[str]:
    return (root / "passwords.txt").read_text(encoding="utf-8").splitlines()


def test_the_audit_sees_writes_and_connections(tmp_path: Path) -> None:
    # The guard itself: what the tests below rely on it to notice, it notices.
    import sqlite3

    with audited() as events:
        (tmp_path / "new.txt").write_text("x")
        (tmp_path / "new.txt").read_bytes()
        os.utime(tmp_path / "new.txt", (0, 0))
        sqlite3.connect(tmp_path / "db").close()
    found = [line.split()[0] for line in writes_under(events, tmp_path)]
    assert found == ["open", "os.utime", "sqlite3.connect"]  # the read is not a write
    assert writes_under(events, tmp_path / "elsewhere") == []


def test_real_samples_scanned_in_place_are_unchanged(real_samples: Path) -> None:
    before, temp_before = _snapshot(real_samples), _temp_entries()
    with audited() as events:
        result = scan([real_samples], ScanOptions(passwords=list(REAL_PASSWORDS)))
    assert result.files_seen >= len([p for p in real_samples.rglob("*") if p.is_file()])
    assert _snapshot(real_samples) == before  # bytes, mtimes, modes; nothing new beside
    assert _temp_entries() == temp_before
    assert writes_under(events, real_samples) == []
    assert [e for e, _ in events if e in _SPAWNS or e.startswith("socket.")] == []


def _keys_and_problems(result: ScanResult, root: Path) -> tuple[set[str], list[tuple]]:
    problems = sorted((p.kind, p.provenance[0].replace(str(root), "")) for p in result.problems)
    return {c.key for c in result.candidates}, problems


def test_a_read_only_copy_scans_the_same(corpus: Corpus, tmp_path: Path) -> None:
    root, expected = corpus
    copy = tmp_path / "evidence"
    shutil.copytree(root, copy, symlinks=True)
    passwords = _corpus_passwords(root)
    entries = [copy, *copy.rglob("*")]
    for path in entries:  # chmod -R a-w
        path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
    try:
        before = _snapshot(copy)
        with audited() as events:
            result = scan([copy], ScanOptions(passwords=passwords))
        assert _snapshot(copy) == before
        assert writes_under(events, copy) == []  # holds for root too, whom a-w does not stop
    finally:
        for path in entries:
            path.chmod(stat.S_IMODE(path.lstat().st_mode) | 0o200)
    original = scan([root], ScanOptions(passwords=passwords))
    assert _keys_and_problems(result, copy) == _keys_and_problems(original, root)
    every_key = set().union(*(e.keys for e in expected.values()))
    assert every_key <= {c.key for c in result.candidates}


# --- offline ----------------------------------------------------------------------------


def test_a_full_scan_uses_no_network_and_spawns_nothing(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = corpus
    calls: list[str] = []

    def refuse(what: str) -> Callable[..., None]:
        def refused(*args: object, **kwargs: object) -> None:
            calls.append(what)
            raise OSError(f"keyscan must not call {what}")

        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urllib.request.urlopen"))
    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    with audited() as events:
        result = scan([root], ScanOptions(passwords=_corpus_passwords(root)), jobs=1)
    assert result.files_seen > 50 and result.devices
    assert calls == []
    assert [e for e, _ in events if e in _SPAWNS or e.startswith("socket.")] == []


# --- passwords --------------------------------------------------------------------------


def _invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, args, env={PASSWORD_ENV: "", **(env or {})}, terminal_width=300)
    return result.exit_code, result.stdout, result.stderr


def _leaks(secret: str, *texts: str) -> list[str]:
    """Where ``secret`` shows up, also as JSON or repr escapes (``\\u00fc``, ``\\xfc``)."""
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], secret.encode().hex()}
    return [form for form in forms for text in texts if form in text]


@pytest.mark.parametrize("rel", sorted(ENCRYPTED), ids=lambda rel: rel.split("/")[-1])
@pytest.mark.parametrize("mode", [[], ["--json"], ["--all"], ["--debug"], ["--json", "--debug"]])
def test_passwords_are_never_printed_or_logged(
    corpus: Corpus, caplog: pytest.LogCaptureFixture, rel: str, mode: list[str]
) -> None:
    root, expected = corpus
    right = ENCRYPTED[rel]
    caplog.set_level(logging.DEBUG, logger="keyscan")
    path = str(root / rel)
    # A wrong one first, then the right one: both are handled, the key is found.
    code, out, err = _invoke(["scan", path, "--no-input", "-p", WRONG, "-p", right, *mode])
    assert code == 0
    assert expected_key_shown(expected, rel, out)
    # Wrong only: a wrong-password problem, whose words and traceback name no password.
    code_wrong, out_wrong, err_wrong = _invoke(["scan", path, "--no-input", "-p", WRONG, *mode])
    assert code_wrong == 3  # no key, and keys may be behind the password
    assert "wrong-password" in out_wrong
    logged = caplog.text
    assert _leaks(WRONG, out, err, out_wrong, err_wrong, logged) == []
    assert _leaks(right, out, err, out_wrong, err_wrong, logged) == []
    if "--debug" in mode and not rel.endswith(".zip"):  # zip reports a wrong one, not raises
        assert "Traceback" in logged  # the problem was logged with its traceback


def expected_key_shown(expected: dict[str, Expected], rel: str, out: str) -> bool:
    return all(key in out for key in expected[rel].keys)


def test_passwords_from_a_file_and_the_environment_are_not_printed(
    corpus: Corpus, tmp_path: Path
) -> None:
    root, _ = corpus
    secrets = tmp_path / "passwords.txt"
    secrets.write_text(f"{WRONG}\n{archives.AES_PASSWORD}\n", encoding="utf-8")
    code, out, err = _invoke(
        ["scan", str(root / "archives"), "--no-input", "--password-file", str(secrets)],
        env={PASSWORD_ENV: archives.ZIPCRYPTO_PASSWORD},
    )
    assert code == 0
    secrets_used = (WRONG, archives.AES_PASSWORD, archives.ZIPCRYPTO_PASSWORD)
    assert [s for s in secrets_used if _leaks(s, out, err)] == []


def test_ls_prints_no_password(corpus: Corpus) -> None:
    root, _ = corpus
    path = str(root / "adb/zepp-encrypted-v5.ab")
    for passwords, exit_code in (
        (["-p", WRONG], 3),
        (["-p", WRONG, "-p", adb_backups.PASSWORD_V5], 0),
    ):
        code, out, err = _invoke(["ls", path, "--no-input", *passwords])
        assert code == exit_code
        assert _leaks(WRONG, out, err) == _leaks(adb_backups.PASSWORD_V5, out, err) == []


# --- the --password warning -------------------------------------------------------------


def test_password_option_warns_and_names_the_safer_ways(corpus: Corpus) -> None:
    root, _ = corpus
    path = str(root / "adb/zepp-encrypted-v5.ab")
    code, out, err = _invoke(["scan", path, "--no-input", "--json", "-p", adb_backups.PASSWORD_V5])
    assert code == 0
    json.loads(out)  # the warning goes to stderr only: stdout stays the JSON contract
    warning = " ".join(err.split())
    assert "visible to other users" in warning
    for way in ("--password-file", PASSWORD_ENV, "prompt"):
        assert way in warning


def test_file_and_environment_passwords_give_no_warning(corpus: Corpus, tmp_path: Path) -> None:
    root, expected = corpus
    rel = "adb/zepp-encrypted-v5.ab"
    secrets = tmp_path / "pw.txt"
    secrets.write_text(adb_backups.PASSWORD_V5 + "\n", encoding="utf-8")
    by_file = _invoke(["scan", str(root / rel), "--no-input", "--password-file", str(secrets)])
    by_env = _invoke(
        ["scan", str(root / rel), "--no-input"], env={PASSWORD_ENV: adb_backups.PASSWORD_V5}
    )
    for code, out, err in (by_file, by_env):
        assert code == 0
        assert expected_key_shown(expected, rel, out)
        assert "warning" not in err and "visible to other users" not in err


# --- --redact ---------------------------------------------------------------------------

_HEX_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def _masked(key: str) -> str:
    return "*" * (len(key) - 4) + key[-4:]


def test_redact_masks_keys_in_the_table_and_the_all_table(corpus: Corpus) -> None:
    root, _ = corpus
    # Several devices, and a watch paired three times: older keys only in --all.
    targets = [str(root / "server_answer"), str(root / "log_bundle")]
    doc = json.loads(_invoke(["scan", *targets, "--json", "--no-input"])[1])
    chosen = {d["key"] for d in doc["devices"]}
    every = {c["key"] for c in doc["candidates"]}
    assert len(chosen) >= 3 and every > chosen
    for extra, shown in (([], chosen), (["--all"], every)):
        _, plain, _ = _invoke(["scan", *targets, "--no-input", *extra])
        assert [key for key in shown if key not in plain] == []  # unmasked, they are shown
        code, out, err = _invoke(["scan", *targets, "--no-input", "--redact", *extra])
        assert code == 0
        assert [key for key in every if key in out + err] == []
        assert [key for key in shown if _masked(key) not in out] == []
        assert _HEX_KEY.findall(out) == []  # no other 32-hex value slipped through


def test_redact_masks_keys_in_json_devices_and_candidates(corpus: Corpus) -> None:
    root, _ = corpus
    targets = [str(root / "server_answer"), str(root / "log_bundle")]
    code, out, _ = _invoke(["scan", *targets, "--json", "--no-input"])
    assert code == 0
    clean = json.loads(out)
    code, out, err = _invoke(["scan", *targets, "--json", "--redact", "--no-input"])
    doc = json.loads(out)
    keys = {c["key"] for c in clean["candidates"]}
    assert keys and [key for key in keys if key in out + err] == []
    assert [c["key"] for c in doc["candidates"]] == [_masked(c["key"]) for c in clean["candidates"]]
    assert [(d["key"], d["gadgetbridge"]) for d in doc["devices"]] == [
        (_masked(d["key"]), d["gadgetbridge"][:2] + _masked(d["key"]))
        if d["gadgetbridge"].startswith("0x")
        else (_masked(d["key"]), _masked(d["key"]))
        for d in clean["devices"]
    ]
