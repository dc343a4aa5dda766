"""Spooling: a forward-only stream copied into a seekable one, memory first, then a private
temporary file (deleted when closed; never beside the evidence).

A temporary folder may be full or unusable (a small tmpfs, a quota, a read-only TMPDIR).
Then the copy so far moves to the next temporary folder, and when none takes it, stays in
memory up to the caller's fallback budget; past that it is a ``limit`` problem naming the
folders tried. ``_temp_file`` is the one place a spool makes a file (tests fill it).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, cast

from scanner.artifacts.artifact import PrefixedStream, as_binary
from scanner.errors import LimitExceeded

_PIECE = 1 << 20


def temp_folders() -> list[str]:
    """Where spools may go, the usual one (TMPDIR, ...) first."""
    others = ["/var/tmp", "/tmp", "/dev/shm"] if os.name == "posix" else []
    return list(dict.fromkeys([tempfile.gettempdir(), *(o for o in others if os.path.isdir(o))]))


def _temp_file(folder: str) -> io.RawIOBase:
    """A new private temporary file in ``folder``, unbuffered: a short write says exactly
    how much the file holds when its file system fills."""
    file = tempfile.TemporaryFile(prefix="keyscan-", dir=folder, buffering=0)  # noqa: SIM115
    return cast("io.RawIOBase", file)


class _Sink:
    """Bytes written in order: in memory up to ``memory_cap``, then in a temporary file,
    then (no temporary folder takes them) in memory up to ``fallback``."""

    def __init__(self, memory_cap: int, fallback: int) -> None:
        self._memory_limit = memory_cap
        self._fallback = max(fallback, memory_cap)
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: io.RawIOBase | None = None
        self._folder = ""  # the file's
        self._in_file = 0  # bytes the file holds
        self._folders = temp_folders()
        self._refused: list[str] = []  # "folder (why)"
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is not None:
            written = self._write_file(self._file, self._folder, data)
            if written < len(data):
                self._relocate(data[written:])
        elif self.size <= self._memory_limit:
            assert self._memory is not None
            self._memory.write(data)
        else:
            self._relocate(data)

    def _write_file(self, file: io.RawIOBase, folder: str, data: bytes) -> int:
        """Bytes of ``data`` written before the file system refused (all of them if not)."""
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):
                done += file.write(view[done:]) or 0
        except OSError as error:
            self._refused.append(f"{folder} ({error.strerror or error})")
        return done

    def _so_far(self) -> Iterator[bytes]:
        """What was written before ``pending``, from memory or from the failed file."""
        if self._memory is not None:
            yield self._memory.getvalue()
        elif self._file is not None:
            self._file.seek(0)
            left = self._in_file
            while left > 0 and (piece := self._file.read(min(_PIECE, left))):
                left -= len(piece)
                yield piece

    def _relocate(self, pending: bytes) -> None:
        """Everything so far, then ``pending``, into the next temporary folder that takes it;
        when none is left, into memory within the fallback budget, or a limit problem."""
        while self._folders:
            folder = self._folders.pop(0)
            try:
                new = _temp_file(folder)
            except OSError as error:
                self._refused.append(f"{folder} ({error.strerror or error})")
                continue
            held = 0
            for piece in (*self._so_far(), pending):
                written = self._write_file(new, folder, piece)
                held += written
                if written < len(piece):
                    new.close()
                    break
            else:
                self._replace(new, held)
                self._folder = folder
                return
        if self.size > self._fallback:
            self.close()
            raise LimitExceeded(
                f"no temporary folder has room for {self.size:,} bytes, and that is over the "
                f"{self._fallback:,}-byte memory budget; tried: {', '.join(self._refused)}"
            )
        memory = io.BytesIO()
        for piece in (*self._so_far(), pending):
            memory.write(piece)
        self._replace(None, 0)
        self._memory, self._memory_limit = memory, self._fallback

    def _replace(self, file: io.RawIOBase | None, held: int) -> None:
        if self._file is not None:
            self._file.close()
        self._memory = None
        self._file, self._in_file = file, held

    def result(self) -> BinaryIO:
        if self._file is not None:
            self._file.seek(0)
            return as_binary(io.BufferedReader(self._file))
        assert self._memory is not None
        self._memory.seek(0)
        return self._memory

    def close(self) -> None:
        self._replace(None, 0)


def spool(
    stream: BinaryIO,
    memory_cap: int,
    byte_cap: int | None = None,
    size_hint: int | None = None,
    memory_fallback: int = 0,
) -> BinaryIO:
    """Copy a forward-only stream into a seekable one: memory up to ``memory_cap``, then a
    private temporary file; ``memory_fallback`` bytes may stay in memory when no temporary
    folder has room (``memory_cap`` at least).

    ``size_hint`` (a tar or zip header's size) within ``memory_cap``: read in one piece,
    into a ``BytesIO`` that shares it (read back whole, it is not copied again); a header
    that lied is caught by the read past it. Raises ``LimitExceeded`` past ``byte_cap``,
    or when the bytes fit neither a temporary folder nor the memory budget.
    """
    if size_hint is not None and 0 < size_hint <= memory_cap:
        data = stream.read(size_hint)
        if byte_cap is not None and len(data) > byte_cap:
            raise LimitExceeded(f"member is larger than the {byte_cap:,}-byte limit")
        extra = stream.read(1) if len(data) == size_hint else b""
        if not extra:
            return io.BytesIO(data)
        stream = io.BufferedReader(PrefixedStream(data + extra, stream))
    sink = _Sink(memory_cap, memory_fallback)
    try:
        while chunk := stream.read(_PIECE):
            if byte_cap is not None and sink.size + len(chunk) > byte_cap:
                raise LimitExceeded(f"member is larger than the {byte_cap:,}-byte limit")
            sink.write(chunk)
    except BaseException:
        sink.close()  # the temp file goes with it
        raise
    return sink.result()
