"""The key vocabulary: which field names hold a key, in which apps, for which devices.

``KEY_FIELDS`` is the one table of key field names. Every search form the scanner uses
(the Python regex, the loose hyperscan / RE2 patterns, the reversed form the carver reads
backwards, SQL ``LIKE`` terms, the words of the byte-level prefilters) is derived from it
by ``Vocabulary``, so a new field name is one line here. Modules that search ask
``vocabulary()`` when they build or use a form (not at import), so a test can swap in a
table with one more name and see every engine follow.

A 32-hex value is a candidate only beside a key field name (where-keys-live.md); what
the values look like is in ``vocab.values``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from scanner.model import Confidence


@dataclass(frozen=True)
class KeyField:
    """A key field name as its words, matched in any case, each word joined to the next
    by nothing, "_" or "-" (``auth_key``, ``authKey``, ``AUTH-KEY``)."""

    words: tuple[str, ...]
    weak: bool = False  # a common word: a key under it needs a wearable context


# Field names drift between app versions (authkey, auth_key, encryptKey, huamiAuthKey):
# they are matched as a set. Words are lowercase ASCII letters.
KEY_FIELDS: tuple[KeyField, ...] = (
    KeyField(("auth", "key")),
    KeyField(("huami", "auth", "key")),
    KeyField(("encrypt", "key")),
    KeyField(("token",), weak=True),  # also Mi Home device tokens
)
# Gadgetbridge wraps a preference's value: {"authkey": {"type": "String", "value": "0x…"}}.
WRAPPED_VALUE = "value"
# Vendor apps whose data holds wearable keys (where-keys-live.md, "Apps and their packages").
WEARABLE_APPS: frozenset[str] = frozenset(
    {
        "com.xiaomi.hm.health",  # Zepp Life, formerly Mi Fit
        "com.huami.watch.hmwatchmanager",  # Zepp, formerly Amazfit
        "com.xiaomi.wearable",  # Mi Fitness, formerly Xiaomi Wear
        "com.mi.health",  # Mi Health
        "nodomain.freeyourgadget.gadgetbridge",
    }
)
# Apps known to hold 32-hex look-alikes (Mi Home device tokens): never a wearable key.
LOOKALIKE_APPS: frozenset[str] = frozenset({"com.xiaomi.smarthome"})
WEARABLE_MODEL_PREFIXES = (
    "hmpace.",
    "huami.",
    "miwear.",
    "mijia.watch",
    "midr.watch",
    "xiaomi.watch",
    "zepp.",
    "amazfit.",
    "lchz.",  # Xiaomi Smart Band 8 Pro, Redmi Watch 4 (lchz.watch.m67*, n65*)
    "hqbd3.",
)
GADGETBRIDGE_DEFAULT_KEY = "0123456789@ABCDE"  # Gadgetbridge's placeholder, not a key

# What stands between a field name and its value in text: JSON quotes (escaped too),
# "=", ":", blanks, the ">" of an XML element.
SEPARATOR = rb"[\\\"':=\t >]"
SEPARATORS = SEPARATOR + rb"{1,16}"
HEX32 = rb"[0-9a-fA-F]{32}"
_THEN_HEX = SEPARATORS + rb"(?:0[xX])?" + HEX32  # a key's value after its name


def fold_name(name: str) -> str:
    """A name as the table compares it: without case, "_" or "-"."""
    return name.replace("_", "").replace("-", "").lower()


def _within(inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """Whether ``inner``'s words occur in ``outer``'s, in order (``auth key`` in
    ``huami auth key``): any text that spells ``outer`` then also holds ``inner``'s words."""
    rest = iter(outer)
    return all(word in rest for word in inner)


@dataclass(frozen=True)
class Vocabulary:
    """Every search form of one table of key field names (built lazily, once each)."""

    fields: tuple[KeyField, ...]

    def __hash__(self) -> int:
        # Kept: the searches built from a vocabulary are cached by it and looked up per
        # file, and hashing every field's words each time cost as much as a search.
        return self._hash

    @cached_property
    def _hash(self) -> int:
        return hash(self.fields)

    @cached_property
    def names(self) -> frozenset[str]:
        """Folded names (``fold_name``) of every key field."""
        return frozenset("".join(field.words) for field in self.fields)

    @cached_property
    def weak_names(self) -> frozenset[str]:
        return frozenset("".join(field.words) for field in self.fields if field.weak)

    @cached_property
    def pattern(self) -> str:
        """A key field name as a regex, to compile without case. Longest first, so that
        ``huami_auth_key`` is taken whole rather than from ``auth``."""
        spelled = sorted(self.fields, key=lambda field: -len("".join(field.words)))
        return "|".join(r"[_-]?".join(map(re.escape, field.words)) for field in spelled)

    @cached_property
    def name_regex(self) -> re.Pattern[bytes]:
        """Searches bytes for a key field name, any case."""
        return re.compile(self.pattern.encode(), re.IGNORECASE)

    @cached_property
    def text_key(self) -> re.Pattern[bytes]:
        """A key field name (not inside a longer word), separators, then exactly 32 hex
        (not inside a longer hex run): how a key is written in a line of text."""
        return re.compile(
            rb"(?<![A-Za-z0-9_])(" + self.pattern.encode() + rb")" + SEPARATORS
            + rb"(?:0[xX])?(" + HEX32 + rb")(?![0-9a-fA-F])",
            re.IGNORECASE,
        )  # fmt: skip

    @cached_property
    def endings(self) -> tuple[bytes, ...]:
        """The last word of every name, lowercase (``key``, ``token``): folded text without
        any of them holds no key field name."""
        return tuple(dict.fromkeys(field.words[-1].encode() for field in self.fields))

    @cached_property
    def ending_texts(self) -> tuple[str, ...]:
        return tuple(word.decode() for word in self.endings)

    @cached_property
    def ending_spellings(self) -> tuple[bytes, ...]:
        """Each ending as written in practice: lower, Capitalised, UPPER."""
        return tuple(
            spelled for word in self.endings for spelled in (word, word.capitalize(), word.upper())
        )

    @cached_property
    def loose(self) -> bytes:
        """A name ending, separators, 32 hex: a superset of ``text_key``'s matches without
        look-arounds (neither hyperscan nor RE2 has them); compile without case."""
        return rb"(?:" + b"|".join(map(re.escape, self.endings)) + rb")" + _THEN_HEX

    @cached_property
    def loose_by_ending(self) -> tuple[re.Pattern[bytes], ...]:
        """``loose`` split by ending, each to run over lowered text: a pattern that starts
        with a literal lets ``re`` skip to it in C."""
        return tuple(re.compile(re.escape(word) + _THEN_HEX.lower()) for word in self.endings)

    @cached_property
    def carving_words(self) -> tuple[bytes, ...]:
        """What must end shortly before a carved key: a name ending, or the wrapper."""
        return (*self.endings, WRAPPED_VALUE.encode())

    @cached_property
    def carving_loose(self) -> bytes:
        """``loose`` with the wrapper too (a carved ``"value": "0x…"``); without case."""
        words = b"|".join(map(re.escape, self.carving_words))
        return rb"(?:" + words + rb")" + _THEN_HEX

    @cached_property
    def named_reversed(self) -> re.Pattern[bytes]:
        """Matches the bytes before a value read backwards: separators (and the "0x"),
        then a key field name."""
        names = "|".join(
            r"[_-]?".join(re.escape(word[::-1]) for word in reversed(field.words))
            for field in self.fields
        )
        return re.compile(rb"\A(?:[xX]0)?" + SEPARATORS + rb"(?:" + names.encode() + rb")", re.I)

    @cached_property
    def wrapped_reversed(self) -> re.Pattern[bytes]:
        """As ``named_reversed``, for the wrapper's ``value``."""
        word = re.escape(WRAPPED_VALUE[::-1]).encode()
        return re.compile(rb"\A(?:[xX]0)?" + SEPARATORS + word, re.I)

    @cached_property
    def folded_names(self) -> tuple[bytes, ...]:
        """``names`` as bytes, longest first."""
        return tuple(sorted((name.encode() for name in self.names), key=len, reverse=True))

    @cached_property
    def _spanning(self) -> tuple[KeyField, ...]:
        """The fields whose words no other field's words lie within: text that holds a name
        holds the words of one of these, in order."""
        return tuple(
            field
            for field in self.fields
            if not any(
                other.words != field.words and _within(other.words, field.words)
                for other in self.fields
            )
        )

    @cached_property
    def like_terms(self) -> tuple[str, ...]:
        """SQL ``LIKE`` patterns (ASCII case ignored) that every value naming a key field
        matches: a superset, Python decides."""
        return tuple("%" + "%".join(field.words) + "%" for field in self._spanning)


VOCABULARY = Vocabulary(KEY_FIELDS)


def vocabulary() -> Vocabulary:
    """The vocabulary in use (looked up at each use: tests swap in another table)."""
    return VOCABULARY


def is_key_field(name: str) -> bool:
    return fold_name(name) in VOCABULARY.names


def is_weak_field(name: str) -> bool:
    return fold_name(name) in VOCABULARY.weak_names


def is_wearable_model(value: str | None) -> bool:
    return value is not None and value.lower().startswith(WEARABLE_MODEL_PREFIXES)


def confidence_for(field: str, app: str | None, wearable_context: bool) -> Confidence | None:
    """How much a key found under ``field`` in ``app``'s data can be trusted.

    None: drop it (a look-alike app's token, or a bare ``token`` with no wearable near it).
    ``LOW`` values are listed with ``--all`` but never chosen as a device's key.
    """
    if app in LOOKALIKE_APPS:
        return None
    wearable_app = app in WEARABLE_APPS
    if is_weak_field(field):
        if wearable_context:
            return Confidence.MEDIUM
        return Confidence.LOW if wearable_app else None
    if wearable_app or wearable_context:
        return Confidence.HIGH
    return Confidence.MEDIUM
