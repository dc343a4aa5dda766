"""The carver's fast engine: hyperscan proposes every anchor in one pass.

Kept apart from ``carver.py`` (the pass itself and the checks that decide), as the log
search keeps its engines in ``extractors/patterns.py``.
"""

from __future__ import annotations

from functools import cache
from typing import cast

from scanner.vocab.keys import Vocabulary, vocabulary


class FastEngine:
    """Hyperscan (the optional ``fast`` extra, as for logs): every anchor in one pass,
    faster than the pure-Python search on text full of digests. It only proposes places;
    the checks in carving.py decide, so both engines give the same carves (tests run both)."""

    def __init__(self, vocab: Vocabulary) -> None:
        import hyperscan

        key = vocab.carving_loose
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[rb"\x37\x7f\x06[\x82\x83]\x00\x2d\xe2\x18", rb"SQLite format 3\x00", key],
            ids=[0, 1, 2],
            elements=3,
            flags=[0, 0, hyperscan.HS_FLAG_CASELESS],
        )
        self._scratch = hyperscan.Scratch(self._db)

    def scan(self, data: memoryview) -> tuple[list[int], list[int], list[int]]:
        """Where WAL headers, database headers and key-shaped text end in ``data``."""
        found: tuple[list[int], list[int], list[int]] = ([], [], [])

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            found[ident].append(end)

        # hyperscan reads any buffer (no copy); its stubs only name str and bytes.
        self._db.scan(cast(bytes, data), match_event_handler=on_match, scratch=self._scratch)
        return found


def fast_engine(wanted: str | None = None) -> FastEngine | None:
    """Hyperscan when it loads, unless ``wanted`` (``ScanOptions.pattern_engine``) names
    another engine."""
    return _fast_engine(vocabulary(), wanted)


@cache
def _fast_engine(vocab: Vocabulary, wanted: str | None) -> FastEngine | None:  # one per vocabulary
    if wanted not in (None, "hyperscan"):
        return None
    try:
        return FastEngine(vocab)
    except Exception:  # not installed, or a wheel that does not load on this CPU
        return None
