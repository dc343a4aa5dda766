"""Decode ahead in a worker thread, so that inflate runs while the scan reads earlier bytes.

Inflate (zlib, isal, zlib-ng), bzip2, xz, AES (pycryptodome) and file reads release the
GIL: with a second core, a compressed backup costs about the larger of the decoding and
the scan's own work, not their sum.

Results never depend on timing. The reader gets exactly what a plain loop over
``produce()`` would give it, in the same order: the same chunks, the same exception at the
same place, and the producer's state (``observed``) as it was just after the chunk being
read, never a later one. Small streams start no thread: the first ``thread_after`` bytes
are produced in the reader's own thread; ``thread_after=None`` never starts one.

The container decides (``ScanContext.read_ahead_after``): a decoder runs ahead only when
no container above it charges the input's budget (``ScanContext.charging``: decompressed
streams, zip members and sparse tar members do), so every charge is made in the scan's
thread, in the same order as without threads. Decoders nested in a backup or an OpenAES
file may run ahead too: the inner one's thread reads the outer one's chunks while the
scan's thread reads only the inner one, and the scan goes back to the outer one only
after closing the inner one, which ends its thread.
"""

from __future__ import annotations

import io
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Generic, TypeVar

from scanner.context import THREAD_AFTER

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_T = TypeVar("_T")
DEPTH = 4  # chunks decoded ahead: memory is DEPTH x the producer's chunk size
_POLL = 0.1  # seconds between a blocked producer's checks for close()
# The producer needs the GIL for a moment after each C call; at CPython's default 5 ms
# switch interval it can wait that long behind the scan's Python code.
SWITCH_INTERVAL = 2e-5
# A chunk, the producer's state just after it, and the error that ended it, if any.
_Item = tuple[bytes, _T, "Exception | None"]


@contextmanager
def quick_switching() -> Iterator[None]:
    """CPython's thread switch interval at ``SWITCH_INTERVAL`` for a scan, then restored.
    It is process-wide: used only when ``ScanOptions.quick_switching`` asks for it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _step(produce: Callable[[], bytes], observe: Callable[[], _T]) -> _Item[_T]:
    try:
        data = produce()
    except Exception as error:  # handed to the reader, raised there at the same place
        return b"", observe(), error
    return data, observe(), None


def _work(
    produce: Callable[[], bytes],
    observe: Callable[[], _T],
    chunks: queue.Queue[_Item[_T]],
    stop: threading.Event,
) -> None:
    # Holds no reference to the ReadAhead: dropping the reader closes it, which stops this.
    while not stop.is_set():
        item = _step(produce, observe)
        while not stop.is_set():
            try:
                chunks.put(item, timeout=_POLL)
                break
            except queue.Full:
                continue
        if item[2] is not None or not item[0]:
            return


class ReadAhead(io.RawIOBase, Generic[_T]):
    """The bytes of ``produce()`` (one chunk per call, ``b""`` at the end), read forward.

    ``observe()`` snapshots the producer's state after each chunk; ``observed`` is the
    snapshot of the chunk being read. ``close_inner`` runs on close, after the thread ended.
    """

    def __init__(
        self,
        produce: Callable[[], bytes],
        observe: Callable[[], _T],
        close_inner: Callable[[], None] | None = None,
        *,
        thread_after: int | None = THREAD_AFTER,
        depth: int = DEPTH,
    ) -> None:
        self._produce = produce
        self._observe = observe
        self._close_inner = close_inner
        self._thread_after = -1 if thread_after is None else thread_after
        self._depth = depth
        self._chunk = memoryview(b"")
        self._produced = 0
        self._ended = False
        self._error: Exception | None = None
        self._chunks: queue.Queue[_Item[_T]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.observed: _T = observe()

    def readable(self) -> bool:
        return True

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        while not self._chunk:
            if not self._next():
                return 0
        n = min(len(view), len(self._chunk))
        view[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n

    def head(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end), without consuming them."""
        while len(self._chunk) < size:
            before = bytes(self._chunk)
            self._chunk = memoryview(b"")
            try:
                more = self._next()
            finally:
                self._chunk = memoryview(before + bytes(self._chunk))
            if not more:
                break
        return bytes(self._chunk[:size])

    def _next(self) -> bool:
        """Take the next chunk; False at the end. Raises the producer's error, every time."""
        if self._ended:
            if self._error is not None:
                raise self._error
            return False
        if self._chunks is None and 0 <= self._thread_after <= self._produced:
            self._start()
        if self._chunks is None:
            data, observed, error = _step(self._produce, self._observe)
        else:
            data, observed, error = self._chunks.get()
        self.observed = observed
        self._produced += len(data)
        if error is not None:
            self._ended, self._error = True, error
            raise error
        if not data:
            self._ended = True
            return False
        self._chunk = memoryview(data)
        return True

    def _start(self) -> None:
        self._chunks = queue.Queue(self._depth)
        self._thread = threading.Thread(
            target=_work,
            args=(self._produce, self._observe, self._chunks, self._stop),
            name="keyscan-readahead",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        if self.closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()  # before the inner stream closes under it
        self._chunk = memoryview(b"")
        try:
            if self._close_inner is not None:
                self._close_inner()
        finally:
            super().close()
