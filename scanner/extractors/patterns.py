"""The key-field search over text blocks, by the fastest engine installed.

``log.scan_lines`` reads text in blocks of whole lines and asks an engine which lines may
matter; only those lines go through the exact (Python ``re``) rules of ``text_keys.keys_in_text``
and ``tool_output``. An engine therefore only has to find a *superset* of the lines that
matter, and every engine gives the same candidates. It reports, for one block:

- the end offsets of loose key matches (``Vocabulary.loose``: a key field name's last
  word, 1-16 separator bytes, then 32 hex, any case). Every match of
  ``Vocabulary.text_key`` contains one, and none crosses a line end;
- the start offsets (after the block's first line) of lines that may begin huami-token
  output: first byte (after leading blanks) ``|``, ``+``, ``\\xe2`` (box drawing) or the
  word ``Device``. Other lines are no-ops for ``ToolOutput`` while it is inactive.

Engines, fastest first (figures: docs/performance.md): hyperscan (PyPI ``hyperscan``),
google-re2, and the pure-Python engine (``re`` over the lowered block, one pattern per
name ending; ``re`` with one case-insensitive pattern is far slower).
``ScanOptions.pattern_engine`` forces one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Protocol

from scanner.vocab.keys import HEX32, Vocabulary, vocabulary

TOOL_LINE = rb"\n(?:[ \t][ \t\r\x0b\x0c]*)?(?:Device|[|+\xe2])"
HEX_RUN = HEX32  # where a carved key may be (sqlite_carve.ANCHOR)
_MAX_HEX_ENDS = 20_000  # past this many, a hex-heavy file: callers look page by page
# The same at the very start of a block (every block starts at a line start).
TOOL_AT_START = re.compile(rb"(?:[ \t][ \t\r\x0b\x0c]*)?(?:Device|[|+\xe2])")
# Bytes per call of ``re``, RE2, ``lower`` or ``count``: these keep the GIL while they
# run, and the decoding thread (containers/readahead.py) waits for it after each inflate
# call, so smaller pieces mean shorter waits. Hyperscan lets the GIL go itself.
PIECE = 64 << 10


class Engine(Protocol):
    name: str

    def scan(self, block: bytes) -> tuple[list[int], list[int]]:
        """(key match ends, tool line starts after offset 0), in any order, maybe repeated."""
        ...

    def count_words(self, data: bytes | bytearray, words: tuple[bytes, ...]) -> list[int]:
        """How often each lowercase ``word`` occurs in ``data``, in any case (ASCII), as
        ``data.lower().count(word)``; no word may overlap itself ("aa" would)."""
        ...

    def hex_run_ends(self, data: bytes | bytearray) -> list[int] | None:
        """Where each run of 32 hex digits ends (a longer run: every end past the 32nd
        digit), when the engine finds them much faster than ``re``; else None."""
        ...


def _count_lowered(data: bytes | bytearray, words: tuple[bytes, ...]) -> list[int]:
    """``data.lower().count(word)`` for each word, a piece at a time. A piece's slice runs
    ``len(word) - 1`` bytes past it for that word, so each occurrence is counted in the
    piece where it starts, and only there."""
    counts = [0] * len(words)
    longest = max((len(word) for word in words), default=1)
    step = PIECE * 4  # lower() and count() are faster per byte than re
    for at in range(0, len(data), step):
        lowered = data[at : at + step + longest - 1].lower()  # ASCII only, as re.IGNORECASE
        for index, word in enumerate(words):
            counts[index] += lowered.count(word, 0, step + len(word) - 1)
    return counts


def _line_pieces(block: bytes) -> Iterator[tuple[int, bytes]]:
    """(offset, piece) of about ``PIECE`` bytes, each but the first starting at a line end:
    no match of ``Vocabulary.loose`` or ``TOOL_LINE`` holds a line end after its first byte, so
    none crosses a cut."""
    start, size = 0, len(block)
    while start < size:
        cut = block.find(b"\n", start + PIECE) if start + PIECE < size else -1
        stop = size if cut < 0 else cut
        yield start, block[start:stop]
        start = stop


class PythonEngine:
    """Pure Python: ``re`` over the lowered text, one pattern per field-name ending, so
    that each starts with a literal: ``re`` then skips to it in C instead of trying the
    pattern at every ``k`` and ``t`` (faster than ``bytes.find`` of each name, one
    ``key|token`` pattern, or ``re.IGNORECASE``)."""

    name = "python"
    _tool = re.compile(TOOL_LINE)

    def __init__(self) -> None:
        # A match holds its name, then only separators, "0x" and hex digits: no other name
        # starts inside it, so the non-overlapping matches are all the matches.
        self._keys = vocabulary().loose_by_ending  # applied to the lowered block

    def scan(self, block: bytes) -> tuple[list[int], list[int]]:
        ends: list[int] = []
        tools: list[int] = []
        for at, piece in _line_pieces(block):
            lowered = piece.lower()  # ASCII only, as re.IGNORECASE on bytes
            ends += [at + m.end() for pattern in self._keys for m in pattern.finditer(lowered)]
            tools += [at + m.start() + 1 for m in self._tool.finditer(piece)]
        return ends, tools

    def count_words(self, data: bytes | bytearray, words: tuple[bytes, ...]) -> list[int]:
        return _count_lowered(data, words)

    def hex_run_ends(self, data: bytes | bytearray) -> list[int] | None:
        return None  # re is slow at this: the callers' own search is cheaper


class Re2Engine:
    """google-re2: one linear-time pass per pattern."""

    name = "re2"

    def __init__(self) -> None:
        import re2

        caseless = re2.Options()
        caseless.case_sensitive = False
        caseless.encoding = re2.Options.Encoding.LATIN1  # bytes, not UTF-8
        exact = re2.Options()
        exact.encoding = re2.Options.Encoding.LATIN1
        self._key = re2.compile(vocabulary().loose, caseless)
        self._tool = re2.compile(TOOL_LINE, exact)

    def scan(self, block: bytes) -> tuple[list[int], list[int]]:
        ends: list[int] = []
        tools: list[int] = []
        for at, piece in _line_pieces(block):  # RE2 keeps the GIL too
            ends += [at + m.end() for m in self._key.finditer(piece)]
            tools += [at + m.start() + 1 for m in self._tool.finditer(piece)]
        return ends, tools

    def count_words(self, data: bytes | bytearray, words: tuple[bytes, ...]) -> list[int]:
        return _count_lowered(data, words)  # C speed already; RE2 has no faster count

    def hex_run_ends(self, data: bytes | bytearray) -> list[int] | None:
        return None


class HyperscanEngine:
    """Hyperscan (Intel's multi-pattern matcher; the PyPI wheel bundles the library)."""

    name = "hyperscan"

    def __init__(self) -> None:
        import hyperscan

        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[vocabulary().loose, TOOL_LINE],
            ids=[0, 1],
            elements=2,
            flags=[hyperscan.HS_FLAG_CASELESS, 0],
        )
        self._scratch = hyperscan.Scratch(self._db)

    def scan(self, block: bytes) -> tuple[list[int], list[int]]:
        ends: list[int] = []
        tool_ends: list[int] = []
        found = (ends, tool_ends)

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            found[ident].append(end)

        self._db.scan(block, match_event_handler=on_match, scratch=self._scratch)
        # Hyperscan reports where a match ends: the line starts after the last "\n".
        tools = [block.rfind(b"\n", 0, end) + 1 for end in tool_ends]
        return ends, tools

    def count_words(self, data: bytes | bytearray, words: tuple[bytes, ...]) -> list[int]:
        database, scratch = _word_database(words)
        counts = [0] * len(words)

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            counts[ident] += 1

        database.scan(data, match_event_handler=on_match, scratch=scratch)
        return counts

    def hex_run_ends(self, data: bytes | bytearray) -> list[int] | None:
        database, scratch = _hex_database()
        ends: list[int] = []

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> bool:
            ends.append(end)
            return len(ends) > _MAX_HEX_ENDS  # True stops the scan

        database.scan(data, match_event_handler=on_match, scratch=scratch)
        return None if len(ends) > _MAX_HEX_ENDS else ends


@cache
def _word_database(words: tuple[bytes, ...]) -> tuple[Any, Any]:
    """A hyperscan database of literal words, any case (compiled once per word list)."""
    import hyperscan

    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[re.escape(word) for word in words],
        ids=list(range(len(words))),
        elements=len(words),
        flags=[hyperscan.HS_FLAG_CASELESS] * len(words),
    )
    return database, hyperscan.Scratch(database)


@cache
def _hex_database() -> tuple[Any, Any]:
    import hyperscan

    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[HEX_RUN], ids=[0], elements=1, flags=[0])
    return database, hyperscan.Scratch(database)


ENGINES: dict[str, Callable[[], Engine]] = {
    "hyperscan": HyperscanEngine,
    "re2": Re2Engine,
    "python": PythonEngine,
}


def available() -> dict[str, Engine]:
    """Every engine that loads here, fastest first."""
    found: dict[str, Engine] = {}
    for name, make in ENGINES.items():
        try:
            found[name] = make()
        except Exception:  # not installed, or a wheel that does not load on this CPU
            continue
    return found


def default_engine(wanted: str | None = None) -> Engine:
    """The engine named ``wanted`` (``ScanOptions.pattern_engine``) if it loads, else the
    fastest that does."""
    return _default_engine(vocabulary(), wanted)


@cache
def _default_engine(vocab: Vocabulary, wanted: str | None) -> Engine:  # one per vocabulary
    order = [wanted] if wanted is not None and wanted in ENGINES else list(ENGINES)
    for name in [*order, "python"]:
        try:
            return ENGINES[name]()
        except Exception:
            continue
    return PythonEngine()


__all__ = [
    "ENGINES",
    "TOOL_AT_START",
    "TOOL_LINE",
    "Engine",
    "HyperscanEngine",
    "PythonEngine",
    "Re2Engine",
    "available",
    "default_engine",
]
