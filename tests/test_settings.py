"""Settings in one place: the library reads no environment and changes nothing process-wide
unless told to; ``ScanOptions.from_environment`` (the CLI's) reads the ``KEYSCAN_*``
tuning variables once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from corpus.common import Expected
from scanner.containers import readahead
from scanner.context import ScanOptions
from scanner.pipeline import scan
from tests.helpers import scan_context

TUNING = {
    "KEYSCAN_NO_READAHEAD": "1",
    "KEYSCAN_NO_FAST_INFLATE": "1",
    "KEYSCAN_PATTERN_ENGINE": " Python ",
}


def test_from_environment_reads_the_tuning_variables() -> None:
    default = ScanOptions.from_environment({})
    assert (default.read_ahead, default.fast_inflate, default.pattern_engine) == (
        True,
        True,
        None,
    )
    told = ScanOptions.from_environment(TUNING, verify=True)
    assert (told.read_ahead, told.fast_inflate, told.pattern_engine, told.verify) == (
        False,
        False,
        "python",
        True,
    )
    assert ScanOptions.from_environment({"KEYSCAN_NO_READAHEAD": "0"}).read_ahead
    assert ScanOptions.from_environment({"KEYSCAN_PATTERN_ENGINE": "grep"}).pattern_engine is None
    # What the caller gives wins over the environment.
    assert ScanOptions.from_environment(TUNING, read_ahead=True).read_ahead


def test_the_library_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TUNING.items():
        monkeypatch.setenv(name, value)
    options = ScanOptions()
    assert (options.read_ahead, options.fast_inflate, options.pattern_engine) == (
        True,
        True,
        None,
    )
    assert scan_context(options).read_ahead_after() == readahead.THREAD_AFTER


def test_scanning_leaves_the_switch_interval_alone_unless_asked(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    root, expected = corpus
    before = sys.getswitchinterval()
    assert before > readahead.SWITCH_INTERVAL  # CPython's default, 5 ms
    path = root / sorted(expected)[0]
    during: list[float] = []
    scan([path], ScanOptions(), on_artifact=lambda *_: during.append(sys.getswitchinterval()))
    assert during and set(during) == {before}
    during.clear()
    asked = ScanOptions(quick_switching=True)
    scan([path], asked, on_artifact=lambda *_: during.append(sys.getswitchinterval()))
    assert during and all(value == pytest.approx(readahead.SWITCH_INTERVAL) for value in during)
    assert sys.getswitchinterval() == before
