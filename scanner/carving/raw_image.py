"""Raw partition images and unknown blobs: carve what a file system walk would miss.

``userdata.img``, TWRP ``.emmc.win`` and any large binary file no other reader claimed
are read once, front to back (``carving.Carver``), and every SQLite database, WAL and
key-bearing text fragment found in them becomes a child artifact named by its byte
offset: ``offset 0x0001f000 (carved sqlite, 12 pages)``. The SQLite, log, JSON and XML
extractors then read those like files; ``Origin.carved`` makes their method "carve".

Deleted or not: in an ext4 image, the block bitmap of the block holding a database
header or a key says whether a live file owns it ("no") or it is free space ("yes").
Elsewhere it is "unknown" (only "yes" counts as deleted).
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from scanner.artifacts import Artifact, Origin
from scanner.artifacts.artifact import as_binary, is_seekable, read_up_to, sniff
from scanner.artifacts.text import looks_like_text
from scanner.carving import carver as carving
from scanner.carving.carved import Carve
from scanner.carving.carver import Carver
from scanner.containers.base import Container
from scanner.context import ScanContext
from scanner.errors import LimitExceeded
from scanner.formats.ext4.reader import Ext4Map, is_ext4
from scanner.roles import Role

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MIN_UNCLAIMED = 64 << 10  # smaller unknown binaries are not worth a pass
# Inside an archive, unclaimed binaries are mostly app blobs and media; only big ones can
# be partition images. (A decompressed or decrypted stream has no size: it is carved.)
MIN_UNCLAIMED_MEMBER = 64 << 20
# Known formats that hold no databases or key text of their own: media, executables.
_NOT_IMAGES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"OggS", b"ID3", b"fLaC",
               b"\x7fELF", b"dex\n", b"\x1a\x45\xdf\xa3", b"%PDF")  # fmt: skip
# Streams that can be read again at any offset cheaply (not a decompressor restarting).
_CHEAP_SEEK = (io.BufferedReader, io.BufferedRandom, io.FileIO, io.BytesIO,
               tempfile.SpooledTemporaryFile)  # fmt: skip


class _Source:
    """The image's stream read in order by the carver and, if cheap, again by children."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.rereadable = is_seekable(stream) and isinstance(stream, _CHEAP_SEEK)
        self.base = stream.tell() if self.rereadable else 0
        self.offset = 0  # of the next sequential read
        self.lock = threading.Lock()  # the carver reads ahead in a thread

    def read_next(self, view: memoryview) -> int:
        with self.lock:
            if self.rereadable:
                self.stream.seek(self.base + self.offset)
            readinto = getattr(self.stream, "readinto", None)
            if readinto is not None:
                got = readinto(view) or 0
            else:
                data = self.stream.read(len(view))
                got = len(data)
                view[:got] = data
        self.offset += got
        return got

    def read_at(self, offset: int, size: int) -> bytes:
        with self.lock:
            self.stream.seek(self.base + offset)
            return read_up_to(self.stream, size)


class _Slice(io.RawIOBase):
    """A bounded, seekable view of carved pieces of the source: no copy of a database."""

    def __init__(self, source: _Source, runs: list[tuple[int, int]]) -> None:
        self._source, self._runs, self._pos = source, runs, 0
        self._length = sum(end - start for start, end in runs)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        want = max(0, self._length - self._pos)
        if size is not None and size >= 0:
            want = min(want, size)
        parts: list[bytes] = []
        skip = self._pos  # logical offset: find the piece holding it
        for start, end in self._runs:
            if want <= 0:
                break
            if skip >= end - start:
                skip -= end - start
                continue
            data = self._source.read_at(start + skip, min(want, end - start - skip))
            if not data:
                break
            parts.append(data)
            want -= len(data)
            self._pos += len(data)
            skip = 0
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class RawImage(Container):
    name = "raw image"

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return is_ext4(head)

    @classmethod
    def wants_unclaimed(cls, head: bytes, artifact: Artifact) -> bool:
        """A file no container or extractor claimed: is it worth carving?"""
        if not head or looks_like_text(head) or head.startswith(_NOT_IMAGES):
            return False
        if head[4:8] == b"ftyp":  # MP4, MOV, HEIC, 3GP
            return False
        if artifact.size is None:
            return True
        floor = MIN_UNCLAIMED if artifact.depth == 0 else MIN_UNCLAIMED_MEMBER
        return artifact.size >= floor

    def walk(self, artifact: Artifact, stream: BinaryIO, ctx: ScanContext) -> Iterator[Artifact]:
        head, stream = sniff(stream)
        source = _Source(stream)
        ext4 = Ext4Map.from_head(head, source.read_at if source.rereadable else None)
        carver = Carver(
            source.read_next,
            reread=source.rereadable,
            max_bytes=ctx.limits.max_sqlite_bytes,
            allocation=ext4,
            chunk_size=ctx.options.carve_chunk_size or carving.CHUNK_SIZE,
            engine=ctx.options.pattern_engine,
        )
        for count, carve in enumerate(carver.run()):
            for note in carver.notes:
                ctx.report(LimitExceeded(note), artifact.chain)
            carver.notes.clear()
            if count >= ctx.limits.max_entries:
                if carve.spool is not None:
                    carve.spool.close()
                raise LimitExceeded(
                    f"more than {ctx.limits.max_entries:,} carved pieces: the rest was not carved"
                )
            child = _child(artifact, carve, source, ext4)
            if carve.note:
                ctx.report(LimitExceeded(carve.note), child.chain)
            try:
                yield child
            finally:
                if carve.spool is not None:
                    carve.spool.close()
        if carver.error is not None and (artifact.reopenable or artifact.size is None):
            raise carver.error
        # Else a member of a sized, forward-only container (tar): the container meets the
        # same cut or limit as it reads on, and reports it naming this member.


class UnclaimedImage(RawImage):
    """The same carving for a binary no other format claimed and big enough to be an
    image (``wants_unclaimed``); asked last, and only when keys are extracted."""

    role = Role.FALLBACK

    @classmethod
    def detect(cls, head: bytes, artifact: Artifact) -> bool:
        return cls.wants_unclaimed(head, artifact)


def _child(artifact: Artifact, carve: Carve, source: _Source, ext4: Ext4Map | None) -> Artifact:
    detail = f"carved {carve.kind}" + (f", {carve.label}" if carve.label else "")
    opener: Callable[[], BinaryIO]
    reopenable = True
    if carve.data is not None:
        text = carve.data
        opener = lambda: io.BytesIO(text)  # noqa: E731
    elif carve.spool is not None:  # kept while the source passed: read once, now
        spool = carve.spool
        opener = lambda: spool  # noqa: E731
        reopenable = False
    else:
        runs = carve.runs
        opener = lambda: as_binary(_Slice(source, runs))  # noqa: E731
    return artifact.child(
        f"offset 0x{carve.offset:08x} ({detail})",
        opener,
        size=carve.length,
        mtime=artifact.mtime,
        mtime_source=f"{artifact.mtime_source} of the carved image",
        mtime_utc=artifact.mtime_utc,
        reopenable=reopenable,
        origin=Origin(carved_at=carve.offset, deleted=_deleted(ext4, carve.anchor)),
    )


def _deleted(ext4: Ext4Map | None, offset: int) -> bool | None:
    """Whether the block at ``offset`` is free in the image's ext4 bitmap; None: unknown."""
    status = ext4.status(offset) if ext4 is not None else "unknown"
    return {"yes": True, "no": False}.get(status)
