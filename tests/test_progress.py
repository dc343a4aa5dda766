"""The progress line: bytes read of a big file's size (share, time left), files read for
folders, never "0 files" while a big input is read, counts whole at 80 columns, nothing
when stderr is not a terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from corpus.samples.adb_backups import Band, ab_bytes, zepp_members
from scanner.artifacts import Artifact
from scanner.artifacts.metered import MeteredFile
from scanner.pipeline import scan
from scanner.reports.progress import ScanProgress, human

GiB = 1 << 30
LONG = "/media/examiner/case-2024-0117/exhibit-03/phone-dump/" + "sub-folder/" * 6


def _terminal(width: int = 80) -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=width), screen


def _file(tmp_path: Path, consumed: int) -> MeteredFile:
    path = tmp_path / "big.ab"
    path.write_bytes(b"x")
    meter = MeteredFile(path, "rb")
    meter.consumed = consumed
    return meter


def test_a_big_file_shows_bytes_of_its_size(tmp_path: Path) -> None:
    console, _ = _terminal()
    progress = ScanProgress(console)
    meter = _file(tmp_path, consumed=3 * GiB // 2)
    progress.opened((LONG + "backup.ab",), 3 * GiB, meter)
    line = progress.line(80).plain
    assert line.startswith("1.5 GiB of 3 GiB 50%")
    assert "0 files" not in line  # nothing recognised yet, but it is being read
    assert line.endswith("backup.ab") and len(line) <= 80 - 12
    meter.close()


def test_counts_are_never_cut_at_80_columns(tmp_path: Path) -> None:
    console, _ = _terminal()
    progress = ScanProgress(console, inputs=12)
    meter = _file(tmp_path, consumed=123_456_789_012)
    progress.opened((LONG, "member.tar"), 987_654_321_098, meter)
    for n in range(12_345):
        progress.update(Artifact(chain=(LONG, f"f{n}"), opener=io.BytesIO), "log")
    line = progress.line(80).plain
    counts = progress.counts()
    assert counts == "input 1 of 12, 12,345 files, 115 GiB of 920 GiB 12%"
    assert line.startswith(counts) and len(line) <= 80 - 12
    assert line.endswith("f12344") and "…" in line
    meter.close()


def test_a_folder_shows_files_read() -> None:
    console, _ = _terminal()
    progress = ScanProgress(console)
    for n in range(3):
        progress.update(Artifact(chain=("exports", f"a{n}.json"), opener=io.BytesIO), "json")
    assert progress.line(80).plain == "3 files  exports > a2.json"


def test_the_scan_reports_each_file_opened_and_its_bytes_read(tmp_path: Path) -> None:
    band = Band("progress")
    path = tmp_path / "big.ab"
    path.write_bytes(ab_bytes(zepp_members(band, filler=2 << 20), label=band.label))
    opened: list[tuple[tuple[str, ...], int, MeteredFile]] = []
    result = scan([path], on_open=lambda chain, size, file: opened.append((chain, size, file)))
    assert result.devices
    assert [(chain, size) for chain, size, _ in opened] == [((str(path),), path.stat().st_size)]
    assert opened[0][2].consumed >= path.stat().st_size  # every byte was read (and counted)


def test_nothing_is_drawn_when_stderr_is_not_a_terminal() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=False, width=80)
    with ScanProgress(console) as progress:
        assert progress.on_open is None  # files are not even counted
        progress.update(Artifact(chain=("x",), opener=io.BytesIO), "log")
        progress.refresh()
    assert screen.getvalue() == ""


def test_the_line_drawn_holds_the_counts(tmp_path: Path) -> None:
    console, screen = _terminal(80)
    meter = _file(tmp_path, consumed=GiB)
    with ScanProgress(console) as progress:
        progress.opened((LONG + "backup.ab",), 4 * GiB, meter)
        progress.refresh()
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "1 GiB of 4 GiB 25%" in drawn
    meter.close()


def test_human_sizes() -> None:
    assert [human(n) for n in (0, 1023, 1024, 1536 << 20, 5 << 40)] == [
        "0 B", "1023 B", "1 KiB", "1.5 GiB", "5 TiB",
    ]  # fmt: skip
