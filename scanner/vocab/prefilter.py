"""Byte-level tests that let a reader skip a document no key can come from.

A JSON or XML document yields a key only (a) under a field whose whole name is a key
field name (``is_key_field``: a JSON name, an XML ``name="…"`` or tag, JSON kept in a
string), or (b) from a line of text inside a string value (``Vocabulary.text_key``: a
name, separators, 32 hex). ``may_hold_key`` looks for both in the raw bytes, with the
escapes each markup allows, and answers True whenever it cannot be sure: it is a superset
of what the readers find (tests compare every corpus input with and without it). Words
that merely contain a name's last word ("keyboard", "keyguard", "token expired") do not
pass. All searches are literal (``bytes.find``), then a check at each place found.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import NamedTuple, Protocol

from scanner.vocab.keys import SEPARATOR, Vocabulary, vocabulary


class Markup(StrEnum):
    JSON = "json"
    XML = "xml"


# Characters that lowercase to ASCII (what ``fold_name`` and ``re.IGNORECASE`` compare):
# only the Kelvin sign, U+212A (a test checks every code point).
_FOLDS_TO_ASCII = ("\u212a".encode(),)
# Escapes that may stand for any character: \u0061 in JSON, &#97; / &#x61; in XML.
# Without case, on the raw document: lowering a copy of it first cost more than the search.
_JSON_ESCAPE = re.compile(rb"\\u([0-9a-f]{4})", re.IGNORECASE)
_XML_ESCAPE = re.compile(rb"&#(x[0-9a-f]+|[0-9]+);", re.IGNORECASE)
# After a name's last word, as a value may be written in a string: separators (one may
# be escaped: \" \t \u003d &quot; &#61;), an optional 0x, 32 hex. Run on lowered text.
_ESCAPED_SEPARATOR = rb"\\[/bfnrt]|\\u[0-9a-f]{4}|&(?:quot|apos|gt|lt|amp);|&#x?[0-9a-f]+;"
_THEN_KEY = re.compile(rb"(?:" + SEPARATOR + rb"|" + _ESCAPED_SEPARATOR + rb")+(?:0x)?[0-9a-f]{32}")
_QUOTES_BEFORE = frozenset(b"\"';")  # ";": the end of &quot; or &#34; (JSON inside XML)
_QUOTES_AFTER = frozenset(b"\"'&\\")  # "\\": an escaped quote, \" or \u0022
_TAG_BEFORE = frozenset(b"<:")  # <authKey>, <ns:authKey>
_TAG_AFTER = frozenset(b" \t\r\n/>")
# What a JSON reader reads as a name is followed by its colon: after the closing quote
# (escaped for JSON kept in a string, maybe more than once), blanks (escaped too), ":".
_THEN_COLON = re.compile(rb"""(?:["' \t\r\n\\]|\\u[0-9a-f]{4}|\\[nrtbf])*(?::|\\u003a)""")
_XML_ENCODING = re.compile(rb"""\A[^\n]*?encoding\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_LOOK = 4096  # bytes around a piece of a large buffer (count_whole_names)
_LOWERED = bytes(range(256)).lower()  # a translate table: ASCII capitals to small letters
_PLAIN_ENCODINGS = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1"})


def may_hold_key(document: bytes, markup: Markup) -> bool:
    """False only if neither a key field name nor a key written in text can be read from
    ``document`` (the raw bytes of a JSON or XML document)."""
    if _escapes_a_name_character(document, markup):
        return True
    if not document.isascii() and _folds_to_ascii(document):
        return True
    vocab = vocabulary()
    folded = _fold(document)
    if not any(word in folded for word in vocab.endings):
        return False  # most documents: every name ends so, and text keys too
    lowered = document.lower()
    if any(text_key.search(lowered) for text_key in _text_keys(vocab)):  # (b) key as text
        return True
    for _, name in _name_searches(vocab):  # (a) a whole field name
        for found in name.finditer(folded):
            if found[1] is None and (
                markup is Markup.XML or _THEN_COLON.match(folded, found.end())
            ):
                return True
    return False


@cache
def _text_keys(vocab: Vocabulary) -> tuple[re.Pattern[bytes], ...]:
    """(b), over lowered text: a name ending, then what ``_THEN_KEY`` allows. Each starts
    with a literal, which ``re`` skips to without trying every position."""
    return tuple(re.compile(re.escape(word) + _THEN_KEY.pattern) for word in vocab.endings)


@cache
def _name_searches(vocab: Vocabulary) -> tuple[tuple[int, re.Pattern[bytes]], ...]:
    """Over folded text, one search per name: a key field name standing whole, quoted (a
    quote, or an escape that may be one, before it) or as an XML tag; or so opened and
    then a 0 byte, which the search's group holds (``count_names``). Each starts with its
    name as a literal, which ``re`` skips to in C; the edges are then looked at behind and
    ahead there, in C too (most places a name is found are words in text: "token
    expired")."""

    def one_of(characters: frozenset[int]) -> bytes:
        return b"[" + re.escape(bytes(sorted(characters))) + b"]"

    def search(name: bytes) -> bytes:
        name = re.escape(name)
        tag = b"(?<=" + one_of(_TAG_BEFORE) + name + b")"
        escape = b"(?<=\\\\u[0-9a-f]{4}" + name + b")"  # as _JSON_ESCAPE, with no group
        quote = b"(?<=" + one_of(_QUOTES_BEFORE) + name + b")|" + escape
        whole_tag = tag + b"(?=" + one_of(_TAG_AFTER) + b")"
        whole_quote = b"(?:" + quote + b")(?=" + one_of(_QUOTES_AFTER) + b")"
        cut = b"(?:" + tag + b"|" + quote + b")(\\x00)"  # the one group
        return name + b"(?:" + whole_tag + b"|" + whole_quote + b"|" + cut + b")"

    return tuple((len(name), re.compile(search(name))) for name in vocab.folded_names)


@cache
def _rest_of_a_name(vocab: Vocabulary) -> re.Pattern[bytes]:
    """Over folded text: what may follow where a name was cut in two (``may_continue_a_name``)."""
    after = re.escape(bytes(sorted(_QUOTES_AFTER | _TAG_AFTER)))
    rests = {name[cut:] for name in vocab.folded_names for cut in range(1, len(name))}
    names = b"|".join(re.escape(name) for name in vocab.folded_names)
    rest = b"|".join(re.escape(r) for r in sorted(rests, key=len, reverse=True))
    # the rest of a name, then its edge; or a name after at most the 5 last bytes of an
    # escape (\u0022) or its quote
    return re.compile(b"\\A(?:(?:" + rest + b")[" + after + b"]|[\\s\\S]{0,5}(?:" + names + b"))")


class ByteView(Protocol):
    """Bytes held or not (a database image in a file): its length, slices, ``in``."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> bytes | bytearray: ...
    def __contains__(self, needle: bytes, /) -> bool: ...


def count_whole_names(data: ByteView, piece: int = 256 << 10) -> int:
    """How many key field names stand whole (quoted, or as an XML tag) in ``data``, a piece
    at a time (a database image need not be copied whole); plus one if an escape may
    spell a name character, so that a count that does not grow means no new name."""
    return count_names(data, piece).whole


class NameCount(NamedTuple):
    whole: int  # names standing whole, plus one if an escape may spell a name character
    cut: int  # names opened as a quoted name or a tag is, then a 0 byte


def count_names(data: ByteView, piece: int = 256 << 10) -> NameCount:
    """``count_whole_names``, and the names opened as a quoted name or a tag is, then cut
    by a 0 byte: in a database, where a text value's part in its cell may end and the
    4-byte number of its first overflow page begins (below 2**24 pages its first byte)."""
    names = _name_searches(vocabulary())
    count = cut = 0
    folding_sign = False
    for at in range(0, len(data), piece):
        # Each piece is read with some bytes before (the quote before a name) and after
        # (a name spelled with "_" or "-" running past the cut); a name is counted in the
        # piece where its folded start is.
        own = bytes(data[at : at + piece])
        after = bytes(data[at + piece : at + piece + _LOOK])
        count += _escapes_a_name_character(own + after[:5], Markup.JSON)  # \u0061
        folding_sign = folding_sign or _folds_to_ascii(own) or _folds_to_ascii(own[-2:] + after[:2])
        before, folded = _fold(bytes(data[max(0, at - _LOOK) : at])), _fold(own)
        start, stop = len(before), len(before) + len(folded)
        if before or after:  # a piece of a large buffer; a small one is not copied
            folded = before + folded + _fold(after)
        for length, name in names:  # starting before ``stop``, the edge after it seen
            found = name.findall(folded, start, stop + length)  # the group: b"" or b"\x00"
            cut_here = found.count(b"\x00")
            count, cut = count + len(found) - cut_here, cut + cut_here
    return NameCount(count + folding_sign, cut)


def _folds_to_ascii(data: bytes) -> bool:
    """Whether ``data`` holds a character that lowercases to ASCII. Its first byte is
    looked for first: one byte is found much faster than a sequence (memchr)."""
    return any(raw[:1] in data and raw in data for raw in _FOLDS_TO_ASCII)


def _fold(data: bytes) -> bytes:
    """Lowered, without "_" and "-" (as ``keys.fold_name`` folds a name), in one pass."""
    return data.translate(_LOWERED, b"_-")


def may_continue_a_name(head: bytes) -> bool:
    """Whether text that starts with ``head`` may hold the rest of a key field name cut in
    two (a database's text running on to an overflow page, past that page's link): the
    rest of a name and its closing quote or tag end, or a name within its first bytes."""
    return _rest_of_a_name(vocabulary()).match(_fold(head)) is not None


def _escapes_a_name_character(document: bytes, markup: Markup) -> bool:
    """Whether an escape in the document may spell a letter, digit, "_" or "-" (then the
    literal search could miss a name or a key), or the encoding is not ASCII's."""
    # Most documents hold no escape: one byte is looked for first (memchr), fast.
    if markup is Markup.JSON:
        if b"\\" not in document:
            return False
        codes = (int(found[1], 16) for found in _JSON_ESCAPE.finditer(document))
    else:
        if document[:8].lower().removeprefix(b"\xef\xbb\xbf").startswith(b"<?xml"):
            declared = _XML_ENCODING.match(document)
            if declared and declared[1].lower() not in _PLAIN_ENCODINGS:
                return True
        if b"&" not in document or b"&#" not in document:
            return False
        found = _XML_ESCAPE.finditer(document)
        codes = (int(b"0" + f[1], 16 if f[1][:1] in (b"x", b"X") else 10) for f in found)
    for code in codes:
        if code > 0x10FFFF:
            continue
        spelled = chr(code).lower()
        if spelled.isascii() and (spelled.isalnum() or spelled in "_-"):
            return True
    return False
