"""The named registry: formats declare themselves, the pipeline knows none, and an
exception no format declared is our bug (``internal``), never damage to the evidence."""

from __future__ import annotations

import ast
import bz2
import gzip
import io
import logging
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner import registry
from scanner.artifacts import Artifact
from scanner.context import ScanOptions
from scanner.errors import ProblemKind
from scanner.formats.json.extractor import JsonDocument
from scanner.model import Candidate
from scanner.pipeline import scan
from scanner.roles import Role
from tests.helpers import scan_context

ROOT = Path(__file__).resolve().parents[1]
KEY_A = "ab" * 16
KEY_C = "cd" * 16


def _evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.log").write_text(f"authKey={KEY_A}\n", encoding="utf-8")
    (folder / "b.json").write_text('{"x": 1}', encoding="utf-8")
    (folder / "c.log").write_text(f"authKey={KEY_C}\n", encoding="utf-8")
    return folder


def _json_raising(error: BaseException) -> object:
    def extract(self: JsonDocument, *args: object) -> Iterator[Candidate]:
        raise error
        yield  # a generator, as extractors are

    return extract


def test_an_exception_no_format_declared_is_internal_not_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _evidence(tmp_path)
    monkeypatch.setattr(JsonDocument, "extract", _json_raising(KeyError("slot")))
    result = scan([folder])
    assert sorted(c.key for c in result.candidates) == [KEY_A, KEY_C]
    assert [(p.kind, p.provenance) for p in result.problems] == [
        ("internal", (str(folder), "b.json"))
    ]
    message = result.problems[0].message
    assert "KeyError" in message and "please report it" in message and "--debug" in message


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (zipfile.BadZipFile("Bad magic number for file header"), "corrupt", None),
        (sqlite3.DatabaseError("file is not a database"), "corrupt", None),
        (EOFError("Compressed file ended before the end-of-stream marker was reached"),
         "truncated", None),
        (MemoryError(), "limit", "ran out of memory reading it"),
        (OSError(5, "Input/output error"), "unreadable", "Input/output error"),
    ],
)  # fmt: skip
def test_a_declared_library_exception_keeps_its_meaning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    kind: str,
    message: str | None,
) -> None:
    folder = _evidence(tmp_path)
    monkeypatch.setattr(JsonDocument, "extract", _json_raising(error))
    result = scan([folder])
    assert sorted(c.key for c in result.candidates) == [KEY_A, KEY_C]
    assert [p.kind for p in result.problems] == [kind]
    if message is not None:
        assert result.problems[0].message == message


def test_debug_logs_the_traceback_of_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _evidence(tmp_path)
    monkeypatch.setattr(JsonDocument, "extract", _json_raising(KeyError("slot")))
    with caplog.at_level(logging.DEBUG, logger="keyscan"):
        scan([folder], ScanOptions(debug=True))
    traced = [r for r in caplog.records if r.exc_info is not None]
    assert [r.exc_info[0] for r in traced if r.exc_info] == [KeyError]


def test_internal_is_a_documented_problem_kind() -> None:
    assert ProblemKind.INTERNAL == "internal"
    assert "`internal`" in (ROOT / "docs" / "json.md").read_text(encoding="utf-8")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data)


def _tar(data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", data)
    return out.getvalue()


@pytest.mark.parametrize(
    "head",
    [
        _gzip(b"x" * 100),
        bz2.compress(b"x" * 100),
        _tar(b"hello"),
        _zip(b"hello"),
        b"SQLite format 3\x00" + bytes(84),
        b"ANDROID BACKUP\n5\n1\nnone\n",
    ],
)
def test_the_context_recognises_what_a_registered_format_claims(head: bytes) -> None:
    assert scan_context().recognises(head[:4096])


@pytest.mark.parametrize(
    "head", [bytes(range(256)) * 16, b"2024-01-01 plain log line\n" * 20, b"", b"PK"]
)
def test_the_context_does_not_recognise_text_or_noise(head: bytes) -> None:
    assert not scan_context().recognises(head)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_pipeline_imports_no_format() -> None:
    imported = _imports(ROOT / "scanner" / "pipeline.py")
    libraries = {"sqlite3", "tarfile", "zipfile", "pyzipper", "zlib", "lzma", "bz2"}
    assert not {name for name in imported if name.split(".")[0] in libraries}
    formats = {name for name in imported if name.startswith(("scanner.formats", "scanner.carving"))}
    assert formats == set()
    assert "scanner.registry" in imported


def test_no_format_borrows_another_formats_private_names() -> None:
    for path in (ROOT / "scanner" / "formats").glob("*/*.py"):
        own = f"scanner.formats.{path.parent.name}"
        for name in _imports(path):
            module, _, last = name.rpartition(".")
            if module.startswith("scanner.") and not module.startswith(own):
                assert not last.startswith("_"), f"{path.relative_to(ROOT)} imports {name}"


def test_every_format_declares_its_name_and_role_once() -> None:
    names = [(fmt.name, fmt.role) for fmt in registry.FORMATS]
    assert len(set(names)) == len(names)
    assert {role for _, role in names} == set(Role)
    # One fallback, asked last: it takes what nothing else claimed.
    assert [fmt.role for fmt in registry.FORMATS][-1] is Role.FALLBACK
    assert [fmt.role for fmt in registry.FORMATS].count(Role.FALLBACK) == 1


def test_a_big_unclaimed_binary_reaches_the_fallback() -> None:
    blob = bytes(range(256)) * 512
    artifact = Artifact(chain=("blob.bin",), opener=lambda: io.BytesIO(blob), size=len(blob))
    fmt = registry.claimant(blob[:4096], artifact)
    assert fmt is not None and fmt.role is Role.FALLBACK
