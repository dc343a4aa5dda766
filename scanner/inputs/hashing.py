"""SHA-256 and MD5 of every file on disk the scan reads, in the scan's own read pass.

A tap on each opened file (``MeteredFile.taps``) feeds the digests the bytes the scan reads,
in file order: a read that starts at or before the hashed frontier extends it; bytes read
again (a seek back) are not hashed twice; a read past the frontier (a zip's directory at its
end, read first) cannot be hashed yet, as digests take bytes in order. Only what the scan
never read in order (skipped, or read ahead of the frontier) is read after the scan, from
the frontier to the end (``read_after``); a file read straight through is read once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from scanner.artifacts.metered import MeteredFile

CHUNK = 1 << 20


@dataclass
class FileDigest:
    """One file on disk: where it was met, and its digests so far."""

    path: str  # as the user gave it (``-`` for standard input)
    location: str  # where it is on disk (standard input: its private spool)
    provenance: tuple[str, ...]
    size: int  # as stat() gave it when opened
    sha256: Any = field(default_factory=hashlib.sha256)
    md5: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    frontier: int = 0  # bytes [0, frontier) are hashed
    opens: int = 0
    read_by_scan: int = 0  # every byte the scan read, read again or not
    read_after: int = 0  # bytes read after the scan, for the hash only
    error: str | None = None

    def heard(self, offset: int, data: memoryview) -> None:
        self.read_by_scan += len(data)
        end = offset + len(data)
        if offset <= self.frontier < end:
            fresh = data[self.frontier - offset :]
            self.sha256.update(fresh)
            self.md5.update(fresh)
            self.frontier = end

    def finish(self) -> None:
        """Hash what the scan did not read in order: from the frontier to the end of file."""
        if self.frontier >= self.size or self.error is not None:
            return
        try:
            with open(self.location, "rb") as handle:
                handle.seek(self.frontier)
                while chunk := handle.read(CHUNK):
                    self.sha256.update(chunk)
                    self.md5.update(chunk)
                    self.frontier += len(chunk)
                    self.read_after += len(chunk)
        except OSError as error:
            self.error = f"cannot read for the hash: {error.strerror or error}"

    def as_dict(self) -> dict[str, object]:
        complete = self.error is None
        return {
            "path": self.path,
            "provenance": list(self.provenance),
            "size": self.frontier if complete else self.size,
            "sha256": self.sha256.hexdigest() if complete else None,
            "md5": self.md5.hexdigest() if complete else None,
            "bytes_read_by_scan": self.read_by_scan,
            "bytes_read_for_hash_only": self.read_after,
            **({"error": self.error} if self.error else {}),
        }


class InputHashes:
    """The ``on_open`` hook that puts a hashing tap on every file the scan opens."""

    def __init__(self) -> None:
        self.files: dict[str, FileDigest] = {}  # by path, in the order first opened

    def opened(self, chain: tuple[str, ...], size: int, file: MeteredFile) -> None:
        name = file.name
        location = chain[0] if isinstance(name, int) else os.fsdecode(name)
        digest = self.files.get(location)
        if digest is None:
            digest = FileDigest(str(name), location, chain, size)
            self.files[location] = digest
        digest.opens += 1
        file.taps = (*file.taps, digest.heard)

    def finish(self) -> list[FileDigest]:
        for digest in self.files.values():
            digest.finish()
        return list(self.files.values())
