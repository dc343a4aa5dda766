"""No subprocess, ever, from the first import on (issue 16 item 8).

pycryptodome's ctypes backend (taken when cffi is missing or under ``python -OO``) calls
``platform.architecture()``, which runs ``file -b <python>`` looked up on PATH: a fake
``file`` in the examiner's PATH would run inside every scan. These tests run keyscan in a
fresh interpreter (so import time is seen too), on both pycryptodome backends:

- with fake ``file``, ``ldconfig``, ``gcc``, ``cc`` and ``uname`` first on PATH, each of
  which would write a marker file: ``--version``, ``-V``, ``--help`` and a scan of the
  corpus's AES zip, encrypted adb backup and OpenAES (TWRP) files; the marker is never
  written, and the keys are found;
- with an audit hook (``sys.addaudithook``) installed before keyscan is imported: no
  program is started (``subprocess.Popen``, ``os.posix_spawn``, ``os.exec``, ``os.system``,
  ``os.spawn`` events) during import, ``--version`` or the same scan, in this process or in
  the ``--jobs`` workers (forks of this interpreter, which inherit the hook: a fork runs
  no program, so ``os.fork`` itself is allowed);
- one input with ``--jobs 2``: its small files' workers (scanner/pool.py, started with
  ``spawn``) carry the same hook through a ``sitecustomize``, and start nothing either.

tests/test_hygiene.py refuses sockets and spawning during a full in-process corpus scan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.common import Expected

Corpus = tuple[Path, dict[str, Expected]]
REPO = Path(__file__).resolve().parents[1]
TOOLS = ("file", "ldconfig", "gcc", "cc", "uname")
ENCRYPTED = (
    "archives/storage-export-aes.zip",
    "adb/zepp-encrypted-v5.ab",
    "twrp/TWRP/BACKUPS/a1b2c3d4/2024-03-03--12-00-00",  # OpenAES parts
)
# -OO makes pycryptodome take its ctypes backend, the one that called platform.architecture.
BACKENDS = {"cffi": [], "ctypes": ["-OO"]}
_SPAWNS = ("subprocess.Popen", "os.posix_spawn", "os.exec", "os.system", "os.spawn")


def _fake_tools(folder: Path, marker: Path) -> None:
    folder.mkdir()
    for tool in TOOLS:
        script = folder / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{marker}"\n')
        script.chmod(0o755)


def _scan_args(root: Path) -> list[str]:
    inputs = [str(root / rel) for rel in ENCRYPTED]
    return ["scan", "--json", "--password-file", str(root / "passwords.txt"), *inputs]


def _expected_keys(expected: dict[str, Expected]) -> set[str]:
    return {"0x" + key for rel in ENCRYPTED for key in expected[rel].keys}


def _found_keys(out: str) -> set[str]:
    return set(re.findall(r"0x[0-9a-f]{32}", out))


@pytest.mark.skipif(os.name == "nt", reason="the fake tools are shell scripts")
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_tool_on_path_is_ever_run(corpus: Corpus, tmp_path: Path, backend: str) -> None:
    root, expected = corpus
    marker = tmp_path / "ran.txt"
    _fake_tools(tmp_path / "bin", marker)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("KEYSCAN_PASSWORD", None)
    python = [sys.executable, *BACKENDS[backend], "-m", "scanner"]
    outputs = {}
    for args in (["--version"], ["-V"], ["--help"], _scan_args(root)):
        done = subprocess.run(
            [*python, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        outputs[args[0]] = done.stdout
    assert not marker.exists(), marker.read_text()
    assert "keyscan" in outputs["--version"] and outputs["-V"] == outputs["--version"]
    assert _found_keys(outputs["scan"]) >= _expected_keys(expected)


_HOOKED_RUN = """
import json, os, sys
def hook(event, args):
    if event.startswith({spawns!r}):  # written at once: a worker's list would be lost
        os.write(2, ("\\nSPAWN " + event + " " + repr(args[:2])[:300] + "\\n").encode())
sys.addaudithook(hook)
import runpy
sys.argv = ["keyscan", *json.loads(sys.argv[1])]
try:
    runpy.run_module("scanner", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_audit_hook_sees_no_process_from_import_on(
    corpus: Corpus, backend: str, tmp_path: Path
) -> None:
    root, expected = corpus
    script = _HOOKED_RUN.format(spawns=_SPAWNS)
    env = {k: v for k, v in os.environ.items() if k != "KEYSCAN_PASSWORD"}
    for args in (["--version"], ["--help"], _scan_args(root)):
        done = subprocess.run(
            [sys.executable, *BACKENDS[backend], "-c", script, json.dumps(args)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert [line for line in done.stderr.splitlines() if line.startswith("SPAWN ")] == []
        if args[0] == "scan":
            assert _found_keys(done.stdout) >= _expected_keys(expected)


_SITE_HOOK = """
import os, sys
def _hook(event, args):
    if event.startswith({spawns!r}):
        os.write(2, ("\\nSPAWN " + event + " " + repr(args[:2])[:300] + "\\n").encode())
sys.addaudithook(_hook)
os.write(2, ("\\nHOOKED %d\\n" % os.getpid()).encode())
"""


def test_the_small_file_workers_start_no_program_either(corpus: Corpus, tmp_path: Path) -> None:
    """One input with --jobs 2: its small files go to worker processes (scanner/pool.py),
    fresh interpreters (multiprocessing's spawn) that do not inherit an audit hook, so the
    hook goes in a ``sitecustomize`` that every interpreter of the run imports."""
    root, _ = corpus
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITE_HOOK.format(spawns=_SPAWNS))
    marker = tmp_path / "ran.txt"
    _fake_tools(tmp_path / "bin", marker)
    env = {k: v for k, v in os.environ.items() if k != "KEYSCAN_PASSWORD"}
    env.update(
        PYTHONPATH=str(site),
        PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        KEYSCAN_POOL_AFTER="0",  # every small text file goes to a worker
    )
    args = ["scan", "--json", "--jobs", "2", str(root / "text_logs")]
    done = subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith("SPAWN ")] == []
    assert len({line for line in lines if line.startswith("HOOKED ")}) >= 3  # scan + 2 workers
    assert not marker.exists()
    alone = subprocess.run(
        [sys.executable, "-m", "scanner", *args, "--jobs", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.stdout == alone.stdout and len(_found_keys(done.stdout)) >= 5
