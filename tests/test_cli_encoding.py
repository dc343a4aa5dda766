"""Names that are not UTF-8 (issue 16 item 1): the real command, as a process, under
locales that cannot show them. ``--json`` stays valid UTF-8 that parses; the table and
``ls`` never end in a ``UnicodeEncodeError``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import tar_of

ROOT = Path(__file__).resolve().parents[1]
FOLDER_KEY = "ab" * 16
TAR_KEY = "ef" * 16
LOCALES = [{"LC_ALL": "C"}, {"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}]


def _evidence(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "case"
    folder.mkdir()
    bad = os.fsencode(folder) + b"/bad\xff.log"
    with open(bad, "wb") as handle:
        handle.write(f"authKey={FOLDER_KEY}\n".encode())
    archive = tmp_path / "member.tar"
    # A ustar name is bytes: this one is not UTF-8 (read back as U+DCFF, PEP 383).
    archive.write_bytes(tar_of([("bad\udcff.log", f"authKey={TAR_KEY}\n".encode())]))
    return folder, archive


def _run(args: list[str], locale: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIO"))}
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=ROOT,
        env={**env, **locale, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("locale", LOCALES, ids=lambda env: ",".join(env.values()))
def test_json_of_undecodable_names_is_utf8_that_parses(
    tmp_path: Path, locale: dict[str, str]
) -> None:
    folder, archive = _evidence(tmp_path)
    done = _run(["scan", str(folder), str(archive), "--json", "--no-input"], locale)
    assert b"Traceback" not in done.stderr, done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0
    doc = json.loads(done.stdout.decode("utf-8"))  # strict UTF-8: no raw 0xFF byte
    found = {c["key"]: c["provenance"] for c in doc["candidates"]}
    # The undecodable byte is its PEP 383 escape: os.fsencode() gives the name back.
    assert found == {
        FOLDER_KEY: [str(folder), "bad\udcff.log", "line 1"],
        TAR_KEY: [str(archive), "bad\udcff.log", "line 1"],
    }
    assert os.fsencode(found[FOLDER_KEY][1]) == b"bad\xff.log"
    assert b'"bad\\udcff.log"' in done.stdout
    assert doc["problems"] == []


@pytest.mark.parametrize("locale", LOCALES, ids=lambda env: ",".join(env.values()))
@pytest.mark.parametrize("command", [["scan", "--all"], ["ls"]], ids=["table", "ls"])
def test_every_other_output_survives_any_locale(
    tmp_path: Path, locale: dict[str, str], command: list[str]
) -> None:
    folder, archive = _evidence(tmp_path)
    # Names no ASCII or Latin-1 terminal can show, one of them in a problem.
    (folder / "ключ-café.log").write_text(f"authKey={'cd' * 16}\n", encoding="utf-8")
    (folder / "damaged-\u2603.zip").write_bytes(b"PK\x03\x04 cut short")
    done = _run([*command, str(folder), str(archive), "--no-input"], locale)
    assert b"Traceback" not in done.stderr, done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert "bad\\xff.log" in out  # the byte shown as itself, never raw
    assert "damaged-\u2603.zip" in (err if command == ["ls"] else out)
    if command[0] == "scan":
        assert {"0x" + FOLDER_KEY, "0x" + TAR_KEY, "0x" + "cd" * 16} <= set(out.split())
    else:
        assert "ключ-café.log" in out
