"""What part a registered format plays in the scan (``scanner/registry.py``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CONTAINER = "container"  # holds files: walked, and its members dispatched in turn
    GROUPED = "grouped"  # read together with other files of its container level
    EXTRACTOR = "extractor"  # read for keys
    FALLBACK = "fallback"  # a container for what nothing else claimed; only when extracting
