"""Evidence is read-only and the scan is offline: proven over the whole corpus."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

import pytest

from scanner.context import ScanOptions
from scanner.pipeline import scan


def _snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and folder below root: content hash, size and mtime (ns)."""
    state: dict[str, tuple[str, int, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            state[str(path.relative_to(root))] = (digest, st.st_size, st.st_mtime_ns)
    return state


def _temp_entries() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("keyscan-")}


def _passwords(root: Path) -> list[str]:
    return (root / "passwords.txt").read_text(encoding="utf-8").splitlines()


def test_scan_changes_nothing_and_leaves_no_temp_files(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    before = _snapshot(root)
    temp_before = _temp_entries()
    result = scan([root], ScanOptions(passwords=_passwords(root)))
    assert result.files_seen > 0
    assert _snapshot(root) == before
    assert _temp_entries() == temp_before


def test_scan_opens_no_socket(corpus: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = corpus
    attempts: list[tuple] = []

    class NoSocket(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            attempts.append(args)
            raise OSError("keyscan must not open sockets")

    def no_connection(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("keyscan must not resolve or connect")

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket, "getaddrinfo", no_connection)
    result = scan([root], ScanOptions(passwords=_passwords(root)))
    assert result.files_seen > 0
    assert attempts == []
