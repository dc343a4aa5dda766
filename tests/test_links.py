"""Links and special files never lead out of the evidence (issue 16 item 2): links are
listed, not followed (``--follow-links`` follows those that stay inside the input), and
nothing but a regular file or a folder is ever opened. Cases that hang or walk the whole
disk when that fails run as a process with a timeout, so they fail instead of hanging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scanner.cli import app
from scanner.context import ScanOptions
from scanner.pipeline import scan
from tests.helpers import runner

ROOT = Path(__file__).resolve().parents[1]
KEY = "ab" * 16
OUTSIDE_KEY = "cd" * 16


def _case(tmp_path: Path) -> Path:
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "real.log").write_text(f"authKey={KEY}\n", encoding="utf-8")
    return folder


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args, "--no-input"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,  # today's failure is a hang or a walk of the whole disk
        check=False,
    )


def _found(doc: dict) -> list[tuple[str, list[str]]]:
    return [(c["key"], c["provenance"][1:]) for c in doc["candidates"]]


def _ls(args: list[str]) -> str:
    result = runner.invoke(app, ["ls", *args, "--no-input"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_links_into_proc_are_listed_not_followed(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    os.symlink("/proc/kmsg", folder / "kernel.log")  # blocked forever when read as root
    os.symlink("/proc/self", folder / "self")  # /proc/self/root: the examiner's whole disk
    for extra in ([], ["--follow-links"]):
        done = _cli(["scan", str(folder), "--json", *extra])
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert _found(doc) == [(KEY, ["real.log", "line 1"])]
        assert doc["problems"] == []
    listing = _ls([str(folder)])
    assert "kernel.log  ? B" in listing
    assert "[link -> /proc/kmsg, outside the input]" in listing
    assert "[link -> /proc/self, outside the input]" in listing


def test_a_fifo_in_a_folder_is_listed_never_opened(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    os.mkfifo(folder / "kernel.log")  # nobody ever writes: opening it would block
    os.symlink("kernel.log", folder / "pipe-link.log")
    done = _cli(["scan", str(folder), "--json", "--follow-links"])
    assert done.returncode == 0, done.stderr
    assert _found(json.loads(done.stdout)) == [(KEY, ["real.log", "line 1"])]
    listing = _ls([str(folder), "--follow-links"])
    assert "kernel.log  ? B" in listing and "[a FIFO: not read]" in listing
    assert listing.count("[a FIFO: not read]") == 2  # the link followed to it, too


def test_special_files_named_on_the_command_line_are_unsupported(tmp_path: Path) -> None:
    fifo = tmp_path / "evidence.log"
    os.mkfifo(fifo)
    done = _cli(["scan", str(fifo), "/proc/self/status", "--json"])
    problems = [
        (p["kind"], p["provenance"], p["message"]) for p in json.loads(done.stdout)["problems"]
    ]
    assert problems == [
        ("unsupported", [str(fifo)], "a FIFO: only regular files and folders are read"),
        (
            "unsupported",
            ["/proc/self/status"],
            "a file of the kernel's /proc or /sys: only regular files and folders are read",
        ),
    ]
    assert done.returncode == 2  # nothing readable


def test_a_link_to_a_file_outside_is_listed_and_never_read(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    secret = tmp_path / "examiner-notes.log"
    secret.write_text(f"authKey={OUTSIDE_KEY}\n", encoding="utf-8")
    os.symlink(secret, folder / "notes.log")
    os.symlink("../examiner-notes.log", folder / "relative.log")
    for extra in ([], ["--follow-links"]):
        result = scan([folder], ScanOptions(follow_links=bool(extra)))
        assert [(c.key, c.provenance[1:]) for c in result.candidates] == [
            (KEY, ("real.log", "line 1"))
        ]
        assert result.problems == []
    listing = _ls([str(folder)])
    assert f"[link -> {secret}, outside the input]" in listing
    assert "[link -> ../examiner-notes.log, outside the input]" in listing


def test_inside_links_are_followed_on_request_and_each_file_read_once(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    (folder / "z-dir").mkdir()
    (folder / "z-dir" / "inner.log").write_text(f"authKey={OUTSIDE_KEY}\n", encoding="utf-8")
    os.symlink("real.log", folder / "alias.log")
    os.symlink("z-dir", folder / "a-dir")
    plain = scan([folder], ScanOptions())
    assert sorted((c.key, c.provenance[1:]) for c in plain.candidates) == [
        (KEY, ("real.log", "line 1")),
        (OUTSIDE_KEY, ("z-dir/inner.log", "line 1")),
    ]
    followed = scan([folder], ScanOptions(follow_links=True))
    # Each file once, under the first name the sorted walk meets (the link's).
    assert sorted((c.key, c.provenance[1:]) for c in followed.candidates) == [
        (KEY, ("alias.log", "line 1")),
        (OUTSIDE_KEY, ("a-dir/inner.log", "line 1")),
    ]
    assert followed.problems == []
    listing = _ls([str(folder)])
    assert "[link -> real.log]" in listing and "[link -> z-dir]" in listing


def test_link_loops_end_with_the_keys_found_once(tmp_path: Path) -> None:
    folder = _case(tmp_path)
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")  # sub/up -> case/
    os.symlink("ping", folder / "pong")  # pong -> ping -> pong
    os.symlink("pong", folder / "ping")
    result = scan([folder], ScanOptions(follow_links=True))
    assert [(c.key, c.provenance[1:]) for c in result.candidates] == [(KEY, ("real.log", "line 1"))]
    assert sorted((p.kind, p.provenance[1:]) for p in result.problems) == [
        ("limit", ("sub/up",)),
        ("unreadable", ("ping",)),
        ("unreadable", ("pong",)),
    ]
    assert scan([folder], ScanOptions()).problems == []  # not followed: nothing to loop
