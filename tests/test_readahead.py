"""Decoding ahead in a thread (scanner/containers/readahead.py) changes no result.

The reader must get what a plain loop over the producer gives: the same bytes, the same
error at the same place, the producer's state as of the chunk being read.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
import zipfile
from contextlib import nullcontext
from pathlib import Path

import pytest

from corpus.common import Expected
from corpus.samples.adb_backups import ab_bytes
from corpus.samples.archives import tar_bytes
from corpus.samples.twrp import PASSWORD as TWRP_PASSWORD
from scanner.containers import readahead
from scanner.containers.readahead import ReadAhead
from scanner.context import ScanOptions
from scanner.errors import Corrupt
from scanner.formats.adb.layout import MAGIC as ADB_MAGIC
from scanner.formats.miui.layout import MAGIC as MIUI_MAGIC
from scanner.formats.openaes.layout import MAGIC as OAES_MAGIC
from scanner.pipeline import scan
from scanner.reports.json_report import to_json
from tests.helpers import scan_context


class Producer:
    """Chunks b"0000", b"1111", ...; then ``Corrupt`` (or the end) after ``count`` of them."""

    def __init__(self, count: int, fail: bool) -> None:
        self.count, self.fail = count, fail
        self.made = 0
        self.closed_after: int | None = None

    def produce(self) -> bytes:
        if self.made == self.count:
            if self.fail:
                raise Corrupt(f"damaged after chunk {self.made}")
            return b""
        self.made += 1
        return str(self.made % 10).encode() * 4

    def observe(self) -> int:
        return self.made

    def close(self) -> None:
        self.closed_after = self.made


def _read_all(ahead: ReadAhead[int]) -> tuple[list[tuple[bytes, int]], str | None]:
    """(bytes read, observed state) per read of 3 bytes; and the error that ended it."""
    seen: list[tuple[bytes, int]] = []
    buffer = bytearray(3)
    try:
        while count := ahead.readinto(buffer):
            seen.append((bytes(buffer[:count]), ahead.observed))
    except Corrupt as error:
        return seen, str(error)
    return seen, None


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.001)


@pytest.mark.parametrize("fail", [False, True])
def test_a_thread_gives_the_same_bytes_states_and_error_as_a_plain_loop(fail: bool) -> None:
    plain_producer, ahead_producer = Producer(9, fail), Producer(9, fail)
    plain = ReadAhead(plain_producer.produce, plain_producer.observe, thread_after=-1)
    ahead = ReadAhead(ahead_producer.produce, ahead_producer.observe, thread_after=0, depth=2)
    assert plain.head(6) == ahead.head(6) == b"111122"  # a look ahead consumes nothing
    _wait_until(lambda: ahead_producer.made >= 3)  # the thread is ahead of the reader
    plain_seen, plain_error = _read_all(plain)
    ahead_seen, ahead_error = _read_all(ahead)
    assert ahead.threaded and not plain.threaded
    assert ahead_seen == plain_seen
    assert ahead_error == plain_error == ("damaged after chunk 9" if fail else None)
    # The state is the one of the chunk being read, though the thread ran ahead of it.
    assert ahead_seen[:5] == [(b"111", 2), (b"122", 2), (b"22", 2), (b"333", 3), (b"3", 3)]
    with pytest.raises(Corrupt) if fail else nullcontext():
        ahead.readinto(bytearray(3))  # the error is raised again; the end stays the end


def test_close_stops_a_blocked_thread_before_closing_the_inner_stream() -> None:
    producer = Producer(1000, fail=False)
    ahead = ReadAhead(producer.produce, producer.observe, producer.close, thread_after=0, depth=2)
    assert ahead.read(2) == b"11"
    _wait_until(lambda: producer.made >= 4)  # blocked on a full queue
    thread = ahead._thread
    assert thread is not None and thread.is_alive()
    ahead.close()
    assert not thread.is_alive()
    assert producer.closed_after is not None and producer.closed_after < 10
    assert producer.made == producer.closed_after  # nothing produced after the close


def test_small_streams_start_no_thread() -> None:
    producer = Producer(3, fail=False)
    ahead = ReadAhead(producer.produce, producer.observe)  # THREAD_AFTER: 4 MiB
    assert ahead.read() == b"111122223333"
    assert not ahead.threaded


def test_no_thread_when_told_so() -> None:
    producer = Producer(3, fail=False)
    ahead = ReadAhead(producer.produce, producer.observe, thread_after=None)
    assert ahead.read() == b"111122223333"
    assert not ahead.threaded


@pytest.mark.parametrize(
    ("environ", "after"),
    [({}, readahead.THREAD_AFTER), ({"KEYSCAN_NO_READAHEAD": "1"}, None)],
)
def test_the_environment_switch_is_read_once_into_the_options(
    environ: dict[str, str], after: int | None
) -> None:
    ctx = scan_context(ScanOptions.from_environment(environ))
    assert ctx.read_ahead_after() == after
    with ctx.charging():  # below a container that charges the budget: never
        assert ctx.read_ahead_after() is None
    assert ctx.read_ahead_after() == after


def test_quick_switching_is_restored() -> None:
    before = sys.getswitchinterval()
    with readahead.quick_switching():
        assert sys.getswitchinterval() == pytest.approx(min(before, readahead.SWITCH_INTERVAL))
    assert sys.getswitchinterval() == before


def _damaged_copies(root: Path, folder: Path) -> list[Path]:
    """Cuts and flipped bytes in the corpus's compressed and encrypted inputs."""
    made = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.stat().st_size < 2048:
            continue
        data = path.read_bytes()
        if not data.startswith((ADB_MAGIC, b"\x1f\x8b", MIUI_MAGIC, OAES_MAGIC)):
            continue
        middle = len(data) // 2
        flipped = data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :]
        for label, damaged in (
            ("cut", data[: len(data) * 2 // 3]),
            ("flip", flipped),
            ("tail", data + b"\x01" * 40),
        ):
            out = folder / f"{path.stem}.{label}{path.suffix}"
            out.write_bytes(damaged)
            made.append(out)
    return made


def test_scans_are_identical_with_and_without_threads(
    corpus: tuple[Path, dict[str, Expected]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, expected = corpus
    paths = [root / name for name in sorted(expected)] + _damaged_copies(root, tmp_path)
    passwords = [line for line in (root / "passwords.txt").read_text("utf-8").split("\n") if line]
    started: list[str] = []
    real_start = ReadAhead._start

    def counted_start(self: ReadAhead[object]) -> None:
        started.append(threading.current_thread().name)
        real_start(self)

    monkeypatch.setattr(ReadAhead, "_start", counted_start)
    every = ScanOptions(passwords=passwords, read_ahead_after=0)  # every decoder: a thread
    threaded = to_json(scan(paths, every))
    assert len(started) > 10
    started.clear()
    plain = to_json(scan(paths, ScanOptions(passwords=passwords, read_ahead=False)))
    assert started == []
    assert threaded == plain
    assert '"kind": "truncated"' in plain and '"kind": "corrupt"' in plain
    assert '"candidates": []' not in plain


def _producers(
    paths: list[Path], passwords: list[str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The kinds of decoders that got a thread in a scan where every stream could."""
    started: list[str] = []
    real_start = ReadAhead._start

    def counted_start(self: ReadAhead[object]) -> None:
        started.append(type(getattr(self._produce, "__self__", None)).__name__)
        real_start(self)

    monkeypatch.setattr(ReadAhead, "_start", counted_start)
    scan(paths, ScanOptions(passwords=passwords, read_ahead_after=0))
    return started


def test_nested_decoders_get_a_thread_unless_a_budget_is_charged_above(
    corpus: tuple[Path, dict[str, Expected]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encrypted TWRP split: the OpenAES file and the gzip in it both run ahead. A
    .tar.gz inside a backup runs ahead; one inside a zip (whose reads charge the input's
    budget) or a gzip'd tar does not: every charge stays in the scan's thread."""
    root, _ = corpus
    split = root / "twrp/TWRP/BACKUPS/a1b2c3d4/2024-03-03--12-00-00/data.ext4.win000"
    assert _producers([split], [TWRP_PASSWORD], monkeypatch) == ["OaesChunks", "GzipChunks"]
    inner = gzip.compress(tar_bytes([("a.log", b"a line\n" * 100)]), mtime=0)
    backup = tmp_path / "nested.ab"
    backup.write_bytes(ab_bytes([("apps/x.y/f/inner.tar.gz", inner)]))
    assert _producers([backup], [], monkeypatch) == ["BodyDecoder", "GzipChunks"]
    zipped = tmp_path / "nested.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("inner.tar.gz", inner)
    assert _producers([zipped], [], monkeypatch) == []
    outer = tmp_path / "outer.tar.gz"
    outer.write_bytes(gzip.compress(tar_bytes([("inner.tar.gz", inner)]), mtime=0))
    assert _producers([outer], [], monkeypatch) == ["GzipChunks"]
