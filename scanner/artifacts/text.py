"""Is a file text? Asked by the text extractors' detectors and by the carver (to leave
text files alone), so it lives here, below both."""

from __future__ import annotations

import functools

_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\r\n\t"


@functools.lru_cache(maxsize=4)  # every detector asks about the same head in turn
def looks_like_text(head: bytes) -> bool:
    """Text files (logs, JSON, XML, tool output): no NUL and mostly printable UTF-8."""
    if not head or b"\x00" in head:
        return False
    odd = head.translate(None, _PRINTABLE_ASCII)  # C speed: most heads are plain ASCII
    if odd.isascii():  # only control characters are left: the rule below, without decoding
        return len(odd) <= 0.05 * len(head)
    sample = head.decode("utf-8", "replace")
    # Only bytes that do not decode count as damage (a few: the head may cut a character
    # in two); multi-byte text (Chinese log lines, box-drawing tables) is text.
    damaged = sample.count("\ufffd")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    return damaged <= max(4, len(sample) // 100) and printable >= 0.95 * len(sample)
