"""``keyscan scan --report DIR``: every file, its rows, provenance and times; the digests of
every input equal hashlib's, taken in the scan's one read pass; refusals; CSV injection."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac
from scanner.artifacts.metered import MeteredFile
from scanner.cli import app
from scanner.pipeline import scan
from scanner.reports.examiner import ExaminerReport, cell, shown_command
from tests.helpers import cli_json, runner, tar_of, zip_of

OLD, NEW = fake_key("report-old"), fake_key("report-new")
MAC = fake_mac("report")


def _log(lines: int = 3) -> bytes:
    """``lines`` sightings of OLD on 2024-01-01.., then one of NEW on 2024-03-01."""
    rows = [
        f"2024-01-{day:02d} 10:00:00.000 I/Band: mac={MAC} authKey={OLD}\n"
        for day in range(1, lines + 1)
    ]
    rows.append(f"2024-03-01 09:30:00.000 I/Band: mac={MAC} authKey={NEW}\n")
    return "".join(rows).encode()


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "band.log").write_bytes(_log())
    (evidence / "app.tar").write_bytes(tar_of([("prefs/x.txt", b"nothing here\n")]))
    return evidence, tmp_path / "report"


def test_report_files_hold_the_scan(case: tuple[Path, Path]) -> None:
    evidence, out = case
    result = runner.invoke(app, ["scan", str(evidence), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "candidates.csv", "case.json", "keys.json", "report.html", "timeline.csv",
    ]  # fmt: skip
    code, document = cli_json([str(evidence)])
    assert code == 0
    assert json.loads((out / "keys.json").read_text(encoding="utf-8")) == document

    timeline = _rows(out / "timeline.csv")
    log = f"{evidence} > band.log"
    assert [(r["key"], r["timestamp"], r["provenance"]) for r in timeline] == [
        ("0x" + OLD, "2024-01-01T10:00:00", f"{log} > line 1"),
        ("0x" + OLD, "2024-01-02T10:00:00", f"{log} > line 2"),
        ("0x" + OLD, "2024-01-03T10:00:00", f"{log} > line 3"),
        ("0x" + NEW, "2024-03-01T09:30:00", f"{log} > line 4"),
    ]
    assert {r["timestamp_source"] for r in timeline} == {"log line time (local, no zone)"}
    assert {r["device_mac"] for r in timeline} == {MAC}

    candidates = {r["key"]: r for r in _rows(out / "candidates.csv")}
    assert candidates["0x" + NEW]["chosen"] == "yes"
    assert candidates["0x" + OLD]["chosen"] == "no"
    assert candidates["0x" + OLD]["sightings"] == "3"
    assert candidates["0x" + OLD]["timestamp"] == "2024-01-03T10:00:00"  # the newest of 3

    record = json.loads((out / "case.json").read_text(encoding="utf-8"))
    assert record["tool"] == "keyscan"
    assert record["command_line"] == shown_command(["keyscan", *sys.argv[1:]])  # the process's
    assert record["started_utc"] <= record["ended_utc"]
    assert record["started_utc"].endswith("Z")
    assert record["sightings"] == 4
    files = {Path(f["path"]).name: f for f in record["files"]}
    assert set(files) == {"band.log", "app.tar"}
    for name, entry in files.items():
        data = (evidence / name).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["md5"] == hashlib.md5(data).hexdigest()


def test_hashes_of_a_zip_read_out_of_order(tmp_path: Path) -> None:
    """A zip's directory at its end is read first: still the right digests."""
    members = [(f"m{n}.txt", f"authKey={fake_key(str(n))}\n".encode() * 50) for n in range(5)]
    (tmp_path / "in.zip").write_bytes(zip_of(members))
    out = tmp_path / "report"
    assert (
        runner.invoke(app, ["scan", str(tmp_path / "in.zip"), "--report", str(out)]).exit_code == 0
    )
    (entry,) = json.loads((out / "case.json").read_text(encoding="utf-8"))["files"]
    data = (tmp_path / "in.zip").read_bytes()
    assert (entry["sha256"], entry["md5"], entry["size"]) == (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data).hexdigest(),
        len(data),
    )


def _opens_and_bytes(paths: list[Path], report: ExaminerReport | None) -> tuple[int, int]:
    """Opens of the evidence (an audit hook sees every open, the hash's too) and bytes read."""
    read: list[MeteredFile] = []

    def opened(chain: tuple[str, ...], size: int, file: MeteredFile) -> None:
        read.append(file)

    before = len(OPENS)
    hook = report.on_open(opened) if report else opened
    LISTENING.append(True)
    try:
        result = scan(paths, on_open=hook, on_sighting=report.on_sighting if report else None)
        if report:
            report.finish(result, 0, ["keyscan"])
    finally:
        LISTENING.clear()
    evidence = [o for o in OPENS[before:] if str(paths[0]) in o]
    return len(evidence), sum(f.consumed for f in read)


OPENS: list[str] = []
LISTENING: list[bool] = []  # an audit hook cannot be removed: it records only while set


def _heard(event: str, args: tuple[object, ...]) -> None:
    # io.open's event has a mode; the os.open of its opener (O_NONBLOCK) raises a second one
    # without, for the same open.
    if LISTENING and event == "open" and args[1] is not None:
        OPENS.append(str(args[0]))


sys.addaudithook(_heard)


def test_the_digest_reads_nothing_more(tmp_path: Path) -> None:
    """Same opens of the evidence and the same bytes read with the report as without, and
    nothing read for the digests alone: the scan's one read pass is hashed."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "band.log").write_bytes(_log())
    (evidence / "big.log").write_bytes(b"just text, no key\n" * 200_000)  # 3.6 MB, many reads
    plain = _opens_and_bytes([evidence], None)
    report = ExaminerReport(tmp_path / "report", [evidence])
    assert _opens_and_bytes([evidence], report) == plain
    assert plain[0] == 2
    record = json.loads((tmp_path / "report" / "case.json").read_text(encoding="utf-8"))
    for entry in record["files"]:
        data = Path(entry["path"]).read_bytes()
        assert entry["bytes_read_for_hash_only"] == 0
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_bytes_the_scan_skips_are_read_for_the_digest_only(case: tuple[Path, Path]) -> None:
    """A tar's end blocks are never read by the scan: read once after it, for the digest."""
    evidence, out = case
    report = ExaminerReport(out, [evidence / "app.tar"])
    result = scan([evidence / "app.tar"], on_open=report.on_open(), on_sighting=report.on_sighting)
    report.finish(result, 1, ["keyscan"])
    (entry,) = json.loads((out / "case.json").read_text(encoding="utf-8"))["files"]
    data = (evidence / "app.tar").read_bytes()
    assert 0 < entry["bytes_read_for_hash_only"] < len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_formula_cells_are_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("=HYPERLINK(1).log").write_bytes(_log(1))
    assert runner.invoke(app, ["scan", "=HYPERLINK(1).log", "--report", "out"]).exit_code == 0
    provenance = [r["provenance"] for r in _rows(tmp_path / "out" / "timeline.csv")]
    assert provenance == ["'=HYPERLINK(1).log > line 1", "'=HYPERLINK(1).log > line 2"]
    assert [cell(v) for v in ("+1", "-1", "@x", "\tx", "\rx", "0x12", None)] == [
        "'+1", "'-1", "'@x", "'\tx", "'\rx", "0x12", "",
    ]  # fmt: skip


def test_passwords_are_not_in_case_json() -> None:
    assert shown_command(["keyscan", "-p", "s3", "--password", "s4", "--password=s5", "-ps6"]) == [
        "keyscan", "-p", "***", "--password", "***", "--password=***", "-p***",
    ]  # fmt: skip


@pytest.mark.parametrize("where", ["inside", "beside", "taken"])
def test_refused_folders(case: tuple[Path, Path], where: str) -> None:
    evidence, out = case
    folder = {"inside": evidence / "r", "beside": evidence, "taken": out}[where]
    target = evidence / "band.log" if where == "beside" else evidence
    if where == "taken":
        out.mkdir()
        (out / "case.json").write_text("{}")
    before = sorted(p.name for p in evidence.iterdir())
    result = runner.invoke(app, ["scan", str(target), "--report", str(folder)])
    assert result.exit_code == 2
    assert "--report" in result.stderr
    assert sorted(p.name for p in evidence.iterdir()) == before
    if where == "taken":
        assert (out / "case.json").read_text() == "{}"


_PEAK_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['keyscan', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('scanner', run_name='__main__')\n"
    "finally:\n"
    "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def _peak_kib(log: Path, out: Path) -> int:
    """Peak RSS of ``keyscan scan LOG --report OUT`` in its own process (ru_maxrss, KiB)."""
    run = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, "scan", str(log), "--report", str(out)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return int(run.stderr.strip().splitlines()[-1])


def test_100000_sightings_are_streamed(tmp_path: Path) -> None:
    """Every sighting is a timeline row, none held: 100,000 sightings of a key take no more
    memory than one (issue 16 item 6; before aggregation --json alone took 488 MiB)."""
    line = f"mac={MAC} authKey={OLD}\n".encode()
    (tmp_path / "one.log").write_bytes(line)
    (tmp_path / "many.log").write_bytes(line * 100_000)
    one = _peak_kib(tmp_path / "one.log", tmp_path / "one")
    many = _peak_kib(tmp_path / "many.log", tmp_path / "many")
    with open(tmp_path / "many" / "timeline.csv", encoding="utf-8") as rows:
        assert sum(1 for _ in rows) == 100_001
    assert many - one < 16 * 1024, f"{one} KiB for 1 sighting, {many} KiB for 100,000"


def test_the_report_is_the_same_with_workers(tmp_path: Path) -> None:
    """--jobs 2 sends one input's small files to worker processes: the sightings come back to
    this process in order, so every file of the report is what --jobs 1 writes."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for n in range(12):
        (evidence / f"band{n:02d}.log").write_bytes(_log(n % 4 + 1))
    (evidence / "other.log").write_bytes(f"authKey={fake_key('report-other')}\n".encode())
    every_file = {"KEYSCAN_POOL_AFTER": "0"}  # every small text file goes to a worker
    written = {}
    for jobs in (1, 2):
        out = tmp_path / f"report-{jobs}"
        args = ["scan", str(evidence), "--report", str(out), "--jobs", str(jobs)]
        result = runner.invoke(app, args, env=every_file)
        assert result.exit_code == 0, result.output
        case = json.loads((out / "case.json").read_text(encoding="utf-8"))
        digests = [(f["path"], f["sha256"], f["bytes_read_by_scan"]) for f in case["files"]]
        written[jobs] = [
            *((out / name).read_bytes() for name in ("keys.json", "candidates.csv")),
            (out / "timeline.csv").read_bytes(),
            (out / "report.html").read_bytes(),
            digests,
        ]
    assert written[2] == written[1]
    assert (
        len(_rows(tmp_path / "report-2" / "timeline.csv")) == sum(n % 4 + 2 for n in range(12)) + 1
    )
