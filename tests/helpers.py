"""What many tests build or ask: archives in memory, a scan context, keys of a result, the CLI's
JSON. One copy here; a test file keeps only what is particular to it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from corpus.common import write
from corpus.samples import archives
from scanner import registry
from scanner.cli import app
from scanner.context import ScanContext, ScanOptions
from scanner.model import Candidate

MARCH_2024 = 1709294400  # 2024-03-01 12:00 UTC: the member time the tests' archives carry

runner = CliRunner()


def tar_of(members: list[tuple[str, bytes]], mtime: int = MARCH_2024) -> bytes:
    """A POSIX (pax) tar of (name, data) members, all with one modification time."""
    return archives.tar_bytes(members, mtime)


def laid_out(members: list[tuple[str, bytes]], root: Path, container: str) -> Path:
    """``members`` as a tar (``container`` "tar") or as the files of a folder, in ``root``."""
    if container == "tar":
        target = root / "backup.tar"
        target.write_bytes(tar_of(members))
    else:
        target = root / "files"
        for name, data in members:
            write(target / name, data)
    return target


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def scan_context(options: ScanOptions | None = None) -> ScanContext:
    """A context as the pipeline makes one (it knows the registry's formats)."""
    return ScanContext(options, recognise=registry.recognises)


def keys_of(candidates: Iterable[Candidate]) -> set[str]:
    return {c.key for c in candidates}


def cli_json(args: list[str], **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """``keyscan scan ARGS --json``: the exit code and the parsed document ({} if none)."""
    result = runner.invoke(app, ["scan", *args, "--json"], **kwargs)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def saved_answer(path: Path, mac: str, key: str) -> Path:
    """A saved Zepp server answer (device list) with one band bound on 2024-03-01."""
    info = json.dumps({"auth_key": key, "sn": "12345", "productId": "hmpace.watch.v7"})
    doc = {"items": [{"macAddress": mac, "lastBindingTime": MARCH_2024, "additionalInfo": info}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
