"""The body of an adb backup (after its header): decrypted and inflated chunk by chunk.

``BodyDecoder`` reads the file forward once in bounded steps: AES-256-CBC
(``adb_crypto.CbcDecryptor``) when encrypted, zlib when compressed. It never raises in
the middle: it records the first problem and ends, and ``status()`` tells what happened
(``stream.walk_body`` words the problem with what the tar reader saw).
``stream.open_body`` reads it through ``readahead.ReadAhead``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from scanner.errors import Corrupt, LimitExceeded, ScanError, Truncated
from scanner.formats.adb.crypto import CbcDecryptor
from scanner.formats.compressed import inflate

# Big steps: fewer Python calls per byte pay for more than the page faults of buffers
# past glibc's mmap threshold.
SOURCE_CHUNK = 1024 * 1024  # bytes read from the file (and decrypted) per step
INFLATE_PIECE = 1024 * 1024  # compressed bytes fed to zlib per step
OUT_CHUNK = 1 << 20  # most bytes inflated per step (bounds memory on highly compressed data)


@dataclass(frozen=True)
class BodyStatus:
    """How far the body's decoding got: what ``walk_body`` needs to name its problems."""

    failure: ScanError | None = None  # the first problem, which ended the body
    bad_padding: bool = False  # the final AES block had bad padding (dropped)
    trailing: int = 0  # bytes after the end of the zlib stream
    source_bytes: int = 0  # body bytes read from the file


class BodyDecoder:
    """The decoded body (decrypted, inflated) of a backup, one chunk at a time.

    Problems are recorded, never raised: ``status()`` tells them. ``open_body`` reads it
    through ``readahead.ReadAhead``: in a worker thread once it is big enough, unless a
    container under it charges the input's budget.
    """

    def __init__(
        self,
        source: BinaryIO,
        first: bytes,
        decryptor: CbcDecryptor | None,
        compressed: bool,
        offset: int,
        limit: int,
        fast_inflate: bool = True,
    ) -> None:
        self._source = source
        self._first = first
        self._decryptor = decryptor
        self._inflater = inflate.decompressobj(fast=fast_inflate) if compressed else None
        self._offset = offset  # file bytes before the body, for messages
        self._limit = limit
        self._out = b""
        self._plain = memoryview(b"")  # decrypted bytes not yet inflated
        self._source_done = False
        self._finished = False
        self.source_bytes = 0  # body bytes read from the file
        self.produced = 0  # decoded bytes
        self.failure: ScanError | None = None
        self.bad_padding = False
        self.trailing = 0

    def next_chunk(self) -> bytes:
        """The next decoded bytes (about 1 MiB at most); b"" at the end."""
        while not self._out and not self._finished:
            self._fill()
        out, self._out = self._out, b""
        return out

    def status(self) -> BodyStatus:
        return BodyStatus(self.failure, self.bad_padding, self.trailing, self.source_bytes)

    def _record(self, problem: ScanError) -> None:
        if self.failure is None:
            self.failure = problem
        self._finished = True

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self.produced += len(data)
        self._out = self._out + data if self._out else data
        if self.produced > self._limit:
            self._record(LimitExceeded(f"the backup decodes to more than {self._limit:,} bytes"))

    def _inflate(self, data: bytes | memoryview) -> None:
        inflater = self._inflater
        assert inflater is not None
        if inflater.eof:
            self.trailing += len(data)
            return
        try:
            out = inflater.decompress(data, OUT_CHUNK)
        except inflate.ERRORS as error:
            at = self._offset + self.source_bytes
            self._record(Corrupt(f"bad compressed data before byte {at:,} of the file ({error})"))
            return
        self._emit(out)
        if inflater.eof:
            self.trailing += len(inflater.unused_data)

    def _take(self, plain: bytes) -> None:
        if self._inflater is not None:
            self._plain = memoryview(plain)  # inflated piece by piece by _fill
        else:
            self._emit(plain)

    def _read_source(self) -> bytes:
        if self._first:
            chunk, self._first = self._first, b""
        else:
            chunk = self._source.read(SOURCE_CHUNK)
        self.source_bytes += len(chunk)
        return chunk

    def _fill(self) -> None:
        if self._inflater is not None and self._inflater.unconsumed_tail:
            self._inflate(self._inflater.unconsumed_tail)
            return
        if self._plain and not self._finished:
            piece, self._plain = self._plain[:INFLATE_PIECE], self._plain[INFLATE_PIECE:]
            self._inflate(piece)
            return
        if not self._source_done:
            chunk = self._read_source()
            if chunk:
                self._take(self._decryptor.feed(chunk) if self._decryptor else chunk)
                return
            self._source_done = True
            if self._decryptor is not None:
                plain, status = self._decryptor.finish()
                end = self._offset + self.source_bytes
                if status == "cut":
                    self._record(
                        Truncated(
                            f"the encrypted body stops mid-block (the file ends at byte {end:,})"
                        )
                    )
                    return
                if status == "bad-padding":
                    self.bad_padding = True  # dropped: a cut or damage, decided by walk_body
                elif plain:
                    self._take(plain)
                    return
        self._finish()

    def _finish(self) -> None:
        inflater = self._inflater
        if inflater is not None and not inflater.eof:
            self._emit(inflater.flush())
            if not inflater.eof and self.source_bytes:
                end = self._offset + self.source_bytes
                self._record(
                    Truncated(f"the compressed stream ends early (the file ends at byte {end:,})")
                )
        self._finished = True

    def close(self) -> None:
        self._source.close()
