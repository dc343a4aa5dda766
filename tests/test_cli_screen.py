"""What the person at the terminal reads: evidence text shown as it is, the key first and
whole at any width (rich consoles of 40, 80 and 120 columns; a pty test is in
test_cli_pty.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from corpus.common import fake_key, fake_mac
from scanner.artifacts import Artifact
from scanner.cli import app
from scanner.model import Candidate, DeviceInfo, DeviceKey, ScanResult
from scanner.reports import print_report
from scanner.reports.progress import ScanProgress

runner = CliRunner()
HOSTILE_MAC = "C8:CD:EF:12:34:56"  # ":cd:" is rich's emoji code for an optical disc
HOSTILE_KEY = fake_key("hostile")
FOLDER = "Zepp backup [old phone]"
MEMBER = "[bold]saved[/] :cd: \x1b]0;title\x07\nanswer.json"
NAME = "[bold]Band[/] :cd:"
MODEL = "Amazfit \x1b[31mred\x1b[0m\nBand 7"
WIDTHS = (40, 80, 120)


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    """A folder whose names, MAC, device name and model are all markup or control codes."""
    info = json.dumps({"auth_key": HOSTILE_KEY, "sn": "1", "productId": "hmpace.watch.v7"})
    item = {
        "macAddress": HOSTILE_MAC,
        "lastBindingTime": 1709294400,
        "additionalInfo": info,
        "deviceName": NAME,
        "model": MODEL,
    }
    folder = tmp_path / FOLDER
    folder.mkdir()
    with zipfile.ZipFile(folder / "export.zip", "w") as archive:
        archive.writestr(MEMBER, json.dumps({"items": [item]}))
    return folder


def _flat(text: str) -> str:
    """Without white space and box borders: finds a string however the screen wrapped it."""
    return re.sub(r"[\s│]", "", text)


def _assert_literal(shown: str, folder: bool = True) -> None:
    assert "\x1b" not in shown and "\x07" not in shown  # no control code reaches the terminal
    assert "💿" not in shown and "📀" not in shown  # no emoji code replaced
    flat = _flat(shown)
    assert _flat(FOLDER) in flat or not folder
    assert _flat("[bold]saved[/] :cd: \\x1b]0;title\\x07\\nanswer.json") in flat


def test_scan_table_shows_evidence_text_literally(hostile: Path) -> None:
    result = runner.invoke(
        app, ["scan", str(hostile), "--all", "--no-input"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0
    _assert_literal(result.stdout)
    assert HOSTILE_MAC in result.stdout
    assert NAME in result.stdout
    assert "Amazfit \\x1b[31mred\\x1b[0m\\nBand 7" in result.stdout


def test_ls_shows_member_names_literally(hostile: Path) -> None:
    result = runner.invoke(app, ["ls", str(hostile), "--no-input"], terminal_width=300)
    assert result.exit_code == 0
    _assert_literal(result.stdout, folder=False)


def test_problems_show_names_literally(hostile: Path) -> None:
    (hostile / "[red]cut \x1b[2J.zip").write_bytes(b"PK\x03\x04" + bytes(40))
    result = runner.invoke(app, ["scan", str(hostile), "--no-input"], terminal_width=300)
    assert "[red]cut \\x1b[2J.zip" in result.stdout
    assert "\x1b" not in result.stdout


def test_progress_line_shows_names_literally() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, emoji=False)
    artifact = Artifact(chain=(FOLDER, MEMBER), opener=lambda: io.BytesIO())
    with ScanProgress(console) as progress:
        progress.update(artifact, "json_doc")
        progress.refresh()
    drawn = screen.getvalue()
    assert "\x1b]0;" not in drawn and "\x07" not in drawn
    assert "\\x1b]0;title\\x07\\nanswer.json" in drawn
    assert "[bold]saved[/] :cd:" in drawn


# --- the answer first -----------------------------------------------------------------


def _device(label: str, name: str | None = "Mi Smart Band 6") -> DeviceKey:
    mac, key = fake_mac(label), fake_key(label)
    where = ("/home/someone/Phone backups/2024-03-01/backup.ab", "apps/com.xiaomi.hm.health")
    candidate = Candidate(
        key=key,
        field="AUTHKEY",
        provenance=(*where, "db/origin_db-wal", "DEVICE rowid 1 column AUTHKEY"),
        method="wal",
        device=DeviceInfo(mac=mac, name=name, model="hmpace.band.v6"),
        timestamp=datetime(2024, 2, 28, 10, 11, 12, tzinfo=timezone.utc),
        timestamp_source="row column BIND_TIME",
    )
    return DeviceKey(
        device=candidate.device, chosen=candidate, alternatives=[], reason="the only key seen"
    )


def _screen(result: ScanResult, width: int, show_all: bool = False) -> list[str]:
    out = io.StringIO()
    print_report(result, Console(file=out, width=width, emoji=False), show_all=show_all)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", WIDTHS)
def test_one_device_key_is_the_first_line(width: int) -> None:
    device = _device("one")
    lines = _screen(ScanResult(candidates=[device.chosen], devices=[device]), width)
    assert lines[0].startswith("0x" + device.chosen.key)
    assert all(len(line) <= width for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_many_devices_keys_come_first_then_details(width: int) -> None:
    devices = [_device(f"many-{n}") for n in range(3)]
    result = ScanResult(candidates=[d.chosen for d in devices], devices=devices)
    lines = _screen(result, width)
    keys = ["0x" + d.chosen.key for d in devices]
    key_lines = [n for n, line in enumerate(lines) if any(k in line for k in keys)]
    details = next(n for n, line in enumerate(lines) if line.startswith("Device 1 of 3"))
    first_keys = [line for line in lines[:details] if line.startswith("0x")]
    assert [line[:34] for line in first_keys] == keys  # the list, in order, before any detail
    assert min(key_lines) == 0
    # Every appearance of a key is whole, on one line.
    hex_runs = [m.group() for line in lines for m in re.finditer(r"0x[0-9a-f]+", line)]
    assert hex_runs and all(run in keys for run in hex_runs)


@pytest.mark.parametrize("width", WIDTHS)
def test_all_keeps_every_column_readable(width: int) -> None:
    devices = [_device("all-a"), _device("all-b", name=None)]
    result = ScanResult(candidates=[d.chosen for d in devices], devices=devices)
    lines = _screen(result, width, show_all=True)
    assert all(len(line) <= width for line in lines)
    start = next(n for n, line in enumerate(lines) if line.startswith("Every candidate"))
    block = lines[start:]
    text = "\n".join(block)
    for device in devices:
        chosen = device.chosen
        assert any(line.startswith("0x" + chosen.key) for line in block)
        assert chosen.device.mac in text and "AUTHKEY" in text
        assert "2024-02-28T10:11:12Z" in text
        assert _flat("DEVICE rowid 1 column AUTHKEY") in _flat(text)
    if width >= 80:  # short values never fold at 80 columns
        assert any("2024-02-28T10:11:12Z (row column BIND_TIME)" in line for line in block)


@pytest.mark.parametrize("width", WIDTHS)
def test_cli_table_width(width: int, tmp_path: Path) -> None:
    """Through the command (COLUMNS), one device: the key first, never wrapped."""
    key, mac = fake_key("cli-width"), fake_mac("cli-width")
    info = json.dumps({"auth_key": key, "sn": "1", "productId": "hmpace.watch.v7"})
    doc = {"items": [{"macAddress": mac, "lastBindingTime": 1709294400, "additionalInfo": info}]}
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["scan", str(path), "--no-input"], env={"COLUMNS": str(width)})
    lines = result.stdout.splitlines()
    assert lines[0].startswith("0x" + key)
    assert sum(("0x" + key) in line for line in lines) >= 2  # the list and the details
    assert all(len(line) <= width for line in lines)
