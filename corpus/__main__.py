"""``python -m corpus DEST``: write the sample corpus below DEST."""

from __future__ import annotations

import sys
from pathlib import Path

from corpus.build import build_corpus


def main() -> None:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    expected = build_corpus(dest)
    print(f"wrote {len(expected)} sample inputs below {dest}/ (passwords in {dest}/passwords.txt)")


if __name__ == "__main__":
    main()
