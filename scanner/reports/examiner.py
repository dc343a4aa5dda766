"""``--report DIR``: the examiner's report, written into a folder outside the evidence.

``keys.json`` (the ``--json`` document), ``candidates.csv`` (one row per finding),
``timeline.csv`` (every sighting, written as it is found: never held, issue 16 item 6),
``report.html`` (scanner/reports/html_report.py) and ``case.json`` (tool, command line,
times, and the digests of every file read, taken in the scan's own read pass:
scanner/inputs/hashing.py). docs/report.md describes each file.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from scanner import __version__
from scanner.artifacts.metered import MeteredFile, OnOpen
from scanner.inputs.hashing import InputHashes
from scanner.model import Candidate, ScanResult
from scanner.reports.common import gadgetbridge_form, iso
from scanner.reports.html_report import KeySpan, write_html
from scanner.reports.json_report import write_json

FILES = ("keys.json", "candidates.csv", "timeline.csv", "report.html", "case.json")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PASSWORD_OPTIONS = ("-p", "--password")
SIGHTING_COLUMNS = (
    "key", "device_mac", "device_name", "device_model", "timestamp", "timestamp_source",
    "provenance", "field", "app", "method", "confidence", "deleted",
)  # fmt: skip
CANDIDATE_COLUMNS = (
    "key", "chosen", "device_mac", "device_name", "device_model", "timestamp",
    "timestamp_source", "provenance", "field", "app", "method", "confidence", "deleted",
    "sightings", "note", "incomplete",
)  # fmt: skip


class ReportRefused(Exception):
    """The report folder cannot be used (inside an input, beside one, or not empty of ours)."""


def cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formula starts get a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def shown_command(argv: Sequence[str]) -> list[str]:
    """The command line with every password given on it masked."""
    shown: list[str] = []
    masking = False
    for arg in argv:
        if masking:
            shown.append("***")
            masking = False
        elif arg in PASSWORD_OPTIONS:
            shown.append(arg)
            masking = True
        elif arg.startswith("--password="):
            shown.append("--password=***")
        elif arg.startswith("-p") and not arg.startswith("--"):
            shown.append("-p***")
        else:
            shown.append(arg)
    return shown


def check_folder(folder: Path, inputs: Iterable[Path]) -> Path:
    """The report folder, resolved; refused inside an input, or where an input lies."""
    where = folder.resolve()
    for given in inputs:
        if str(given) == "-":
            continue  # standard input: nothing on disk to keep clear of
        evidence = Path(given).resolve()
        if where.is_relative_to(evidence):
            raise ReportRefused(f"{folder} is inside the input {given}: never write into evidence")
        if evidence.parent == where:
            raise ReportRefused(f"{folder} holds the input {given}: never write beside evidence")
    if where.exists() and not where.is_dir():
        raise ReportRefused(f"{folder} exists and is not a folder")
    taken = [name for name in FILES if (where / name).exists()]
    if taken:
        raise ReportRefused(f"{folder} already holds {', '.join(taken)}: never overwritten")
    return where


def _open(path: Path, errors: str = "backslashreplace") -> TextIO:
    # "x": never overwrite; undecodable names (lone surrogates) shown as \udcxx
    return open(path, "x", encoding="utf-8", errors=errors, newline="")


def _device_cells(candidate: Candidate) -> list[object]:
    device = candidate.device
    return [device.mac, device.name, device.model]


class ExaminerReport:
    """Opened before the scan (hooks ``on_open`` and ``on_sighting``), finished after it."""

    def __init__(self, folder: Path, inputs: Sequence[Path], redacted: bool = False) -> None:
        self.folder = check_folder(folder, inputs)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.inputs = [str(given) for given in inputs]
        self.redacted = redacted
        self.started = datetime.now(timezone.utc)
        self.hashes = InputHashes()
        self.spans: dict[str, KeySpan] = {}
        self.sightings = 0
        self._timeline = _open(self.folder / "timeline.csv")
        self._rows = csv.writer(self._timeline)
        self._rows.writerow(SIGHTING_COLUMNS)

    def on_open(self, also: OnOpen | None = None) -> OnOpen:
        """The hook for ``scan(on_open=...)``: hashes every file, then calls ``also``."""

        def opened(chain: tuple[str, ...], size: int, file: MeteredFile) -> None:
            self.hashes.opened(chain, size, file)
            if also is not None:
                also(chain, size, file)

        return opened

    def on_sighting(self, candidate: Candidate) -> None:
        """One sighting: a timeline row now, nothing kept but the key's span."""
        self.sightings += 1
        self.spans.setdefault(candidate.key, KeySpan()).add(candidate.timestamp)
        self._rows.writerow(
            cell(value)
            for value in [
                gadgetbridge_form(candidate.key, self.redacted),
                *_device_cells(candidate),
                iso(candidate.timestamp),
                candidate.timestamp_source,
                " > ".join(candidate.provenance),
                candidate.field,
                candidate.app,
                candidate.method,
                candidate.confidence,
                candidate.deleted,
            ]
        )

    def finish(self, result: ScanResult, exit_code: int, argv: Sequence[str]) -> None:
        self._timeline.close()
        files = self.hashes.finish()
        with _open(self.folder / "keys.json", errors="surrogateescape") as out:
            write_json(result, out, redacted=self.redacted)
            out.write("\n")
        self._write_candidates(result)
        with _open(self.folder / "report.html") as out:
            write_html(result, self.spans, out, redacted=self.redacted)
        case: dict[str, Any] = {
            "tool": "keyscan",
            "version": __version__,
            "command_line": shown_command(argv),
            "started_utc": iso(self.started),
            "ended_utc": iso(datetime.now(timezone.utc)),
            "exit_code": exit_code,
            "inputs": self.inputs,
            "sightings": self.sightings,
            "files": [digest.as_dict() for digest in files],
            "report_files": list(FILES),
        }
        with _open(self.folder / "case.json") as out:
            json.dump(case, out, indent=2, ensure_ascii=False)
            out.write("\n")

    def _write_candidates(self, result: ScanResult) -> None:
        chosen = {id(device.chosen) for device in result.devices}
        with _open(self.folder / "candidates.csv") as out:
            rows = csv.writer(out)
            rows.writerow(CANDIDATE_COLUMNS)
            for c in result.candidates:
                values: list[object] = [
                    gadgetbridge_form(c.key, self.redacted),
                    "yes" if id(c) in chosen else "no",
                    *_device_cells(c),
                    iso(c.timestamp),
                    c.timestamp_source,
                    " > ".join(c.provenance),
                    c.field,
                    c.app,
                    c.method,
                    c.confidence,
                    c.deleted,
                    c.sightings,
                    c.note,
                    c.incomplete,
                ]
                rows.writerow(cell(value) for value in values)


def default_argv() -> list[str]:
    return ["keyscan", *sys.argv[1:]]
