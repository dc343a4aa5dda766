"""The corpus builder writes only names every desktop accepts: Windows refuses
``<>:"/\\|?*``, control characters, names ending in a dot or space, and device names
(CON, NUL, COM1...). Names inside archives and images keep the phone's own spelling."""

from __future__ import annotations

import re
from pathlib import Path

from corpus.common import Expected

REFUSED = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
DEVICE_NAMES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def test_no_corpus_file_name_is_refused_by_windows(
    corpus: tuple[Path, dict[str, Expected]],
) -> None:
    root, _ = corpus
    names = [path.name for path in root.rglob("*")]
    assert len(names) > 50
    refused = [
        name
        for name in names
        if REFUSED.search(name) or name.endswith((".", " ")) or DEVICE_NAMES.fullmatch(name)
    ]
    assert refused == []
