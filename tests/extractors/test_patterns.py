"""The pattern engines (scanner/extractors/patterns.py) give identical candidates.

Each engine only chooses which lines ``log.scan_lines`` looks at; ``EveryLine`` points at
every line, which is exactly the line-by-line reader the engines replace.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from corpus.common import Expected, fake_key
from scanner.artifacts import Artifact
from scanner.extractors import patterns
from scanner.extractors.base import looks_like_text
from scanner.extractors.patterns import PythonEngine, available
from scanner.formats.logs import extractor as log


class EveryLine:
    """The reference: every line is a candidate line."""

    name = "every-line"

    def scan(self, block: bytes) -> tuple[list[int], list[int]]:
        starts = [i + 1 for i in range(len(block)) if block[i] == 0x0A]
        return [], [0, *starts]  # every line start, as if each could open tool output


ENGINES = {"every-line": EveryLine(), **available()}


def _candidates(data: bytes, name: str, engine: object) -> list[tuple[object, ...]]:
    artifact = Artifact(chain=(name,), opener=lambda: io.BytesIO(data))
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    return [
        (c.key, c.field, c.provenance, c.method, c.device, c.timestamp, c.timestamp_source)
        for c in log.scan_lines(artifact, stream, engine=engine)  # type: ignore[arg-type]
    ]


def _same_everywhere(data: bytes, name: str = "x.log") -> list[tuple[object, ...]]:
    results = {engine: _candidates(data, name, e) for engine, e in ENGINES.items()}
    reference = results.pop("every-line")
    for engine, found in results.items():
        assert found == reference, engine
    return reference


def test_the_pure_python_engine_is_always_there() -> None:
    assert isinstance(available()["python"], PythonEngine)


def test_corpus_text_files(corpus: tuple[Path, dict[str, Expected]]) -> None:
    root, _ = corpus
    total = 0
    for path in sorted(root.rglob("*")):
        if path.is_file() and looks_like_text(path.read_bytes()[:4096]):
            total += len(_same_everywhere(path.read_bytes(), path.name))
    assert total > 0


K = [fake_key(f"pattern-{i}") for i in range(8)]
EDGE_LINES = [
    f"2024-03-01 12:00:01.123|3.26.0i|I|Dev_1_2|bind authKey={K[0]} mac=C8:0F:10:AA:BB:01",
    f"03-01 12:00:00.000  1873  1890 D Tag: token: {K[1]}",
    f"DeviceInfo(address=C8:0F:10:00:00:02, model=hmpace.watch.v7, token={K[2]}) "
    f"DeviceInfo(address=C8:0F:10:00:00:03, encryptKey={K[3]})",  # two keys, one line
    f"md5={K[4]} requestId={K[5]} keyboard shown, refresh token expired",  # decoys
    f"authKey={K[6]}00",  # a longer hex run: not a key
    f"tokenKEY=0X{K[3]} key=key={K[4]} token token:{K[5]}",  # names run together
    f"DeviceInfo(address=C8:0F:10:00:00:06, model=hmpace.watch.v7, token={K[5]})",
    f'{{"huami_auth_key":"0x{K[7].upper()}"}}',
    "Device 0:",
    "  MAC: C8:0F:10:11:22:33, Active: Yes",
    f"  Key: 0x{K[0]}",
    "| ID | ACT | MAC | auth_key |",
    "+----+-----+-------------------+----------------------------------+",
    f"| 1 | yes | C8:0F:10:11:22:44 | {K[1]} |",
    f"\u2502 2 \u2502 no \u2502 C8:0F:10:11:22:55 \u2502 {K[2]} \u2502",
    "    at com.example.Foo.run(Foo.java:1)",
    " \x0bDevice 3:",
    "\rDevice 4:",
    "Devices: none",
    "2024-03-01 12:00:00.000|no key here",
    "",
]


@pytest.mark.parametrize("seed", range(12))
def test_generated_lines_with_edge_cases(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    if seed % 2:  # tiny windows and blocks: keys across window and block borders
        monkeypatch.setattr(log, "_MAX_WINDOW", 256)
        monkeypatch.setattr(log, "_OVERLAP", 64)
        monkeypatch.setattr(log, "_MARGIN", 32)
        monkeypatch.setattr(log, "_BLOCK", rng.choice([64, 300]))
    lines = []
    for _ in range(200):
        line = rng.choice(EDGE_LINES)
        if rng.random() < 0.1:
            line = "x" * rng.randint(100, 700) + line  # over-long with the key at its end
        lines.append(line + rng.choice(["\n", "\n", "\r\n", " "]))
    data = "".join(lines).encode()
    for name in ("x.log", "freemyband/keys.txt"):
        assert _same_everywhere(data, name)
        assert _same_everywhere(data.rstrip(b"\n"), name)  # no line end at the end


WORDS = (b"auth", b"encrypt", b"token")


@pytest.mark.parametrize("seed", range(4))
def test_word_counts_are_the_same_in_every_engine(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [b"auth", b"AuThKey", b"ENCRYPT", b"encrypt_key", b"Token", b"tokn", b"\xc4\xb0", b"x"]
    data = b"".join(rng.choice(pieces) + rng.randbytes(rng.randint(0, 3)) for _ in range(3000))
    reference = [data.lower().count(word) for word in WORDS]
    assert min(reference) > 100  # each word occurs, in several cases
    for name, engine in available().items():
        assert engine.count_words(data, WORDS) == reference, name


@pytest.mark.parametrize("piece", [1, 2, 3, 5])
def test_word_counts_across_piece_borders(piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted a piece at a time (4 x PIECE bytes): a word across a border counts once."""
    monkeypatch.setattr(patterns, "PIECE", piece)
    rng = random.Random(piece)
    pieces = [b"auth", b"AuThKey", b"ENCRYPT", b"encrypt_key", b"Token", b"tokn", b"x"]
    data = b"".join(rng.choice(pieces) + rng.randbytes(rng.randint(0, 3)) for _ in range(500))
    reference = [data.lower().count(word) for word in WORDS]
    assert min(reference) > 20
    for name in ("python", "re2"):
        if name in available():
            assert available()[name].count_words(data, WORDS) == reference, name
            assert available()[name].count_words(bytearray(data), WORDS) == reference, name
    assert PythonEngine().count_words(b"", WORDS) == [0, 0, 0]


@pytest.mark.parametrize("piece", [1, 40, 200])
def test_line_pieces_miss_no_match(piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks searched in pieces cut at line ends: the same match ends and tool-line
    starts as one search over the whole block, and the same candidates."""
    rng = random.Random(piece)
    lines = [rng.choice(EDGE_LINES) + rng.choice(["\n", "\r\n"]) for _ in range(300)]
    block = "".join(lines).encode()
    whole = {name: engine.scan(block) for name, engine in available().items()}
    monkeypatch.setattr(patterns, "PIECE", piece)
    assert len(list(patterns._line_pieces(block))) > 10
    for name, engine in available().items():
        ends, tools = engine.scan(block)
        assert sorted(ends) == sorted(whole[name][0]), name
        assert sorted(set(tools)) == sorted(set(whole[name][1])), name
        assert ends and tools, name
    assert _same_everywhere(block)


def _hex_ends(data: bytes) -> list[int]:
    """Every end of 32 hex digits in a row (a run of 40 ends 9 times)."""
    ends, run = [], 0
    for index, byte in enumerate(data):
        run = run + 1 if byte in b"0123456789abcdefABCDEF" else 0
        if run >= 32:
            ends.append(index + 1)
    return ends


def test_hex_runs_are_found_exactly_or_not_at_all() -> None:
    rng = random.Random(7)
    key = fake_key("hex-runs").encode()
    data = b"".join(
        rng.choice([key, key[:31], key + b"ab", key.upper(), b"g" * 5]) + rng.randbytes(40)
        for _ in range(400)
    )
    reference = _hex_ends(data)
    assert len(reference) > 300
    for name, engine in available().items():
        found = engine.hex_run_ends(data)
        assert found is None or sorted(found) == reference, name
        assert found is not None or name != "hyperscan"  # its reason to exist
    assert available()["python"].hex_run_ends(data) is None  # the carver looks page by page
