"""Large database images kept in a private temporary file of ours, read a piece at a time.

A database up to ``SMALL_IMAGE`` bytes is read into memory and handed to SQLite with
``deserialize()``. A larger one would be in memory twice (our bytes and SQLite's copy), so
its image (the main file padded and patched, or with a WAL applied or a journal rolled
back) is written, a piece at a time, into a new temporary file: SQLite opens that file
read-only (``mode=ro&immutable=1``: no lock, no journal, nothing written beside it), and
the carver and the header checks read slices of it. It is never the evidence, and it is
deleted when closed. When no temporary folder has room, the image is built in memory as
for a small database (within the database budget, ``Limits.max_sqlite_bytes``).
"""

from __future__ import annotations

import io
import os
import tempfile
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import IO, BinaryIO, overload

from scanner.artifacts.artifact import read_up_to
from scanner.artifacts.spooling import temp_folders
from scanner.errors import LimitExceeded
from scanner.formats.sqlite.layout import DATABASE_HEADER_SIZE, WRITE_VERSION_OFFSET
from scanner.formats.sqlite.wal import (
    Journal,
    MainPlan,
    Overlay,
    Pages,
    WalLog,
    journal_overlay,
    overlaid_in_memory,
    plan_main,
    prepare_main,
    wal_overlay,
)

SMALL_IMAGE = 4 << 20  # bytes: a database up to this is read in memory
_PIECE = 1 << 20
_PAGE_COUNT_OFFSET = 28


class FileImage:
    """A database image in a private temporary file: sliced like ``bytes`` (each slice
    is read from the file), opened by SQLite through ``uri``."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self._file = file
        self._size = size

    @property
    def uri(self) -> str:
        path = urllib.parse.quote(os.path.abspath(self._file.name))
        return f"file:{path}?mode=ro&immutable=1"

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> bytes: ...
    def __getitem__(self, index: int | slice) -> int | bytes:
        if isinstance(index, int):
            at = index + self._size if index < 0 else index
            if not 0 <= at < self._size:
                raise IndexError("image index out of range")
            return self._read(at, 1)[0]
        start, stop, step = index.indices(self._size)
        if step != 1:
            raise ValueError("a FileImage is sliced with step 1 only")
        return self._read(start, stop - start)

    def __contains__(self, needle: bytes) -> bool:
        overlap = max(0, len(needle) - 1)  # a needle across a cut is found in the next piece
        return any(
            needle in self[at : at + _PIECE + overlap] for at in range(0, self._size, _PIECE)
        )

    def _read(self, at: int, size: int) -> bytes:
        if size <= 0:
            return b""
        self._file.seek(at)
        return self._file.read(size)

    def close(self) -> None:
        self._file.close()  # an _ImageFile: removed on close


Image = bytes | bytearray | FileImage


@dataclass(frozen=True)
class MainImage:
    """``wal.MainImage``, its image held either way."""

    image: Image
    page_size: int
    truncated: str | None  # plain words when the file ended early


def _in_memory(raw: bytes, cap: int) -> MainImage:
    main = prepare_main(raw, cap)
    return MainImage(main.image, main.page_size, main.truncated)


def close_image(image: Image | None) -> None:
    if isinstance(image, FileImage):
        image.close()


class _ImageFile(io.BufferedRandom):
    """A private temporary file (mode 0600) that SQLite may open by its name while we hold
    it: not ``NamedTemporaryFile``, which Windows opens for no one else. Removed on close."""

    def close(self) -> None:
        path = self.name
        super().close()
        with suppress(FileNotFoundError):
            os.unlink(path)


def _image_file(folder: str) -> IO[bytes]:
    """A new private temporary file in ``folder``, deleted when closed (the one place an
    image file is made; tests fill it)."""
    handle, path = tempfile.mkstemp(prefix="keyscan-", suffix=".sqlite", dir=folder)
    try:
        raw = io.FileIO(handle, "r+b", closefd=True)
    except BaseException:
        os.close(handle)
        os.unlink(path)
        raise
    file = _ImageFile(raw)
    raw.name = path  # a FileIO made from a descriptor is named by the number
    return file


class _NoRoom(Exception):
    """The temporary file's folder refused a write: try the next one."""


class _Writer:
    """Writes into one image file; a refused write is ``_NoRoom``, never the evidence's error."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    def write(self, data: bytes | bytearray | memoryview, at: int | None = None) -> None:
        try:
            if at is not None:
                self.file.seek(at)
            self.file.write(data)
        except OSError as error:
            raise _NoRoom from error

    def zeros(self, count: int) -> None:
        self.file.seek(0, os.SEEK_END)
        while count > 0:
            self.write(bytes(min(count, _PIECE)))
            count -= _PIECE

    def size(self) -> int:
        return self.file.seek(0, os.SEEK_END)


def _write_image(fill: Callable[[_Writer], None]) -> FileImage | None:
    """A new image file written by ``fill`` (run again from the start in the next folder
    when one has no room); None when no temporary folder takes it."""
    for folder in temp_folders():
        try:
            file = _image_file(folder)
        except OSError:
            continue
        writer = _Writer(file)
        try:
            fill(writer)
            try:
                file.flush()
            except OSError as error:
                raise _NoRoom from error
        except _NoRoom:
            file.close()
            continue
        except BaseException:
            file.close()
            raise
        return FileImage(file, writer.size())
    return None


def _make_readable(writer: _Writer) -> None:
    """``wal.make_readable`` on the file: a WAL-mode header (bytes 18-19 = 2) made rollback mode."""
    writer.file.seek(WRITE_VERSION_OFFSET)
    versions = writer.file.read(2)
    for index, version in enumerate(versions):
        if version == 2:
            writer.write(b"\x01", at=WRITE_VERSION_OFFSET + index)


Reading = Callable[[], AbstractContextManager[BinaryIO]]


def _copy(reading: Reading, writer: _Writer, cap: int) -> tuple[bytes, int]:
    """The file's first 100 bytes and its size, once copied; LimitExceeded past ``cap``."""
    with reading() as stream:
        head = read_up_to(stream, DATABASE_HEADER_SIZE)
        writer.write(head)
        copied = len(head)
        while piece := stream.read(_PIECE):
            copied += len(piece)
            if copied > cap:
                raise LimitExceeded(f"database is larger than the {cap:,}-byte limit")
            writer.write(piece)
    return head, copied


def load_bytes(
    reading: Reading, size: int | None, read_all: Callable[[], bytes], cap: int
) -> bytes | FileImage:
    """A companion's bytes (a WAL or a journal): in memory when small, else copied into a
    file of ours (in memory after all when no temporary folder has room)."""
    if size is not None and size <= SMALL_IMAGE:
        return read_all()

    def fill(writer: _Writer) -> None:
        _copy(reading, writer, cap)

    return _write_image(fill) or read_all()


def load_main(
    reading: Reading,
    size: int | None,
    read_all: Callable[[], bytes],
    cap: int,
) -> MainImage:
    """The main database file as an image SQLite will read (``wal.prepare_main``): in memory
    when small (``size``, if known, within ``SMALL_IMAGE``), else in a file of ours.

    ``reading`` gives the file's bytes from its start; ``read_all`` the whole file in
    memory (LimitExceeded past ``cap``).
    """
    if size is not None and size <= SMALL_IMAGE:
        return _in_memory(read_all(), cap)
    plan: MainPlan | None = None

    def fill(writer: _Writer) -> None:
        nonlocal plan
        head, copied = _copy(reading, writer, cap)
        plan = plan_main(head, copied, cap)  # Truncated or Corrupt: as for a small one
        if plan.page_count is not None:
            writer.write(plan.page_count.to_bytes(4, "big"), at=_PAGE_COUNT_OFFSET)
        writer.zeros(plan.size - copied)  # missing pages read as empty ones
        _make_readable(writer)

    image = _write_image(fill)
    if image is None:  # no temporary folder has room: in memory, as a small one
        return _in_memory(read_all(), cap)
    assert plan is not None
    return MainImage(image, plan.page_size, plan.truncated)


def overlay(base: Image | None, size: int, pages: Pages) -> FileImage | None:
    """A new image file of ``size`` bytes: ``base`` (cut or padded with empty pages) with
    ``pages`` ((offset, bytes), later ones replacing earlier ones) written over it, made
    readable; None when no temporary folder has room."""

    def fill(writer: _Writer) -> None:
        for at in range(0, min(size, len(base or b"")), _PIECE):
            assert base is not None
            writer.write(base[at : min(at + _PIECE, size)])
        writer.zeros(size - writer.size())
        for at, page in pages():
            writer.write(page, at=at)
        _make_readable(writer)

    return _write_image(fill)


def _built(base: Image | None, plan: Overlay | None) -> Image | None:
    """The image ``plan`` builds over ``base``: in a file of ours when ``base`` is one."""
    if plan is None:
        return None
    if isinstance(base, FileImage) or plan[0] > SMALL_IMAGE:
        image = overlay(base, *plan)
        if image is not None:
            return image
    if isinstance(base, FileImage):
        base = base[:]  # no temporary folder has room: in memory, within the database budget
    return overlaid_in_memory(base, *plan)


def image_with_wal(base: Image | None, data: Image, log: WalLog) -> Image | None:
    """``wal.apply_wal`` over a main image held either way."""
    return _built(base, wal_overlay(None if base is None else len(base), data, log))


def image_rolled_back(base: Image | None, journal: Journal) -> Image | None:
    """``wal.roll_back`` over a main image held either way."""
    return _built(base, journal_overlay(None if base is None else len(base), journal))
