"""The byte-level prefilter never drops a document a reader would find a key in.

Every corpus input and real sample is scanned with the prefilter and with it switched off
(every JSON / XML document parsed and walked; every SQLite table read, with the LIKE
terms, and every JSON-shaped value parsed): the candidates and devices must be the same,
in the same order. Hand-made documents cover the spellings the corpus lacks.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.common import BASE_EPOCH, Expected, fake_key, write
from scanner.context import ScanOptions
from scanner.formats.json import extractor as json_extractor
from scanner.formats.sqlite import rows, worth
from scanner.formats.xml import extractor as xml_extractor
from scanner.model import ScanResult
from scanner.pipeline import scan
from scanner.vocab import prefilter
from scanner.vocab.keys import vocabulary
from scanner.vocab.prefilter import Markup, may_hold_key
from tools import mutate

KEY = fake_key("prefilter")


def _switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (json_extractor, xml_extractor, rows):
        monkeypatch.setattr(module, "may_hold_key", lambda document, markup: True)
    monkeypatch.setattr(worth, "mentions_key_fields", lambda in_image, schema: True)
    monkeypatch.setattr(worth, "may_hold_key_or_hint", lambda sql: True)


def _facts(result: ScanResult) -> tuple[list[object], list[object]]:
    return list(result.candidates), list(result.devices)


def _both_ways(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> ScanResult:
    passwords = [line for p in paths for line in _passwords(p)]
    with_filter = scan(paths, ScanOptions(passwords=passwords))
    with monkeypatch.context() as patched:
        _switched_off(patched)
        without = scan(paths, ScanOptions(passwords=passwords))
    assert _facts(with_filter) == _facts(without)
    return with_filter


def _passwords(root: Path) -> list[str]:
    listed = root / "passwords.txt"
    return listed.read_text().split() if listed.is_file() else []


def test_every_corpus_input_gives_the_same_candidates(
    corpus: tuple[Path, dict[str, Expected]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, expected = corpus
    inputs = sorted(root / name for name in expected)
    result = _both_ways(inputs, monkeypatch)
    assert len(result.candidates) > 20  # the corpus is full of keys: the scan did read it


def _scan_damaged(
    seed: mutate.Seed, data: bytes, workdir: Path, passwords: list[str]
) -> ScanResult:
    """``mutate.scan_damaged`` with fixed file times: both scans see the same mtimes."""
    shutil.rmtree(workdir, ignore_errors=True)
    path = workdir / seed.name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    for name, companion in seed.companions:
        (path.parent / name).write_bytes(companion)
    for written in path.parent.iterdir():
        os.utime(written, (BASE_EPOCH, BASE_EPOCH))
    target = path.parent if seed.companions else path
    return scan([target], ScanOptions(passwords=passwords))


def test_every_mutated_corpus_input_gives_the_same_candidates(
    corpus: tuple[Path, dict[str, Expected]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Damaged copies (bit flips, cuts) of every corpus file: names and keys cut in half,
    quotes flipped, documents that no longer parse and fall back to the line search."""
    root, _ = corpus
    passwords = _passwords(root)
    compared = 0
    for seed in mutate.seeds_below(root):
        rng = random.Random(f"prefilter:{seed.label}")
        offsets = mutate.cut_offsets(len(seed.data), None, 4)
        for _, data in (*mutate.flips(seed.data, rng, 2), *mutate.cuts(seed.data, offsets)):
            with_filter = _scan_damaged(seed, data, tmp_path, passwords)
            with monkeypatch.context() as patched:
                _switched_off(patched)
                without = _scan_damaged(seed, data, tmp_path, passwords)
            assert _facts(with_filter) == _facts(without), seed.label
            compared += 1
    assert compared > 500


def test_every_real_sample_gives_the_same_candidates(
    real_samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _both_ways([real_samples], monkeypatch)


DROPPED = [
    (b'{"keyboard": "shown", "keyguard": true, "status": "refresh token expired"}', Markup.JSON),
    (b'{"token_count": 3, "apiKeyId": "' + KEY.encode() + b'"}', Markup.JSON),
    (b'{"md5": "' + KEY.encode() + b'", "msg": "key rotated"}', Markup.JSON),
    (b"<map><boolean name='keyboard_shown' value='true' /></map>", Markup.XML),
    (b"<map><string name='last_error'>token expired</string></map>", Markup.XML),
    (b'<map><string name="msg">\\u0041 &amp; &#10; done</string></map>', Markup.XML),
    # a name's spelling as a value or a list item, not a name: a reader never takes it
    (b'[{"src": "token", "kind": "authKey"}, ["encrypt_key"]]', Markup.JSON),
    (b'{"a": "{\\"x\\": \\"auth_key\\"}"}', Markup.JSON),
]


@pytest.mark.parametrize(("document", "markup"), DROPPED)
def test_words_that_only_contain_a_name_are_dropped(document: bytes, markup: Markup) -> None:
    assert not may_hold_key(document, markup)


KEPT = [
    (b'{"auth_key": 1}', Markup.JSON),  # a name whatever its value
    (b'{"a": "{\\"encrypt-Key\\": 1}"}', Markup.JSON),  # nested JSON, escaped quotes
    (b'{"a": "{\\u0022TOKEN\\u0022: 1}"}', Markup.JSON),  # quotes as \u0022
    (b'{"a": "\\u0061uthkey"}', Markup.JSON),  # a letter escaped
    (b'{"a": "auth\\u004Bey"}', Markup.JSON),  # in capital hex
    (b'{"auth_key" \n\t : 1}', Markup.JSON),  # blanks before the colon
    (b'{"a": "{\\"token\\"\\n: 1}"}', Markup.JSON),  # an escaped blank too
    (b'{"a": "{\\"token\\"\\u003a 1}"}', Markup.JSON),  # the colon escaped
    (b'{"log": "authKey\\u003d0x' + KEY.encode() + b'"}', Markup.JSON),  # Gson's "="
    (b'{"log": "token:\\t' + KEY.encode() + b'"}', Markup.JSON),
    ('{"\u212authkey": 1}'.encode(), Markup.JSON),  # the Kelvin sign lowercases to k
    (b"<authKey>1</authKey>", Markup.XML),
    (b"<p:huami_auth_key/>", Markup.XML),
    (b"<map><string name='a'>{&quot;authkey&quot;: 1}</string></map>", Markup.XML),
    (b"<map><string name='a'>token=&quot;" + KEY.encode() + b"</string></map>", Markup.XML),
    (b"<map><string name='auth&#x5f;key'>1</string></map>", Markup.XML),
    (b"<map><string name='auth&#X5F;key'>1</string></map>", Markup.XML),
    (b"<?xml version='1.0' encoding='utf-7'?><map/>", Markup.XML),
]


@pytest.mark.parametrize(("document", "markup"), KEPT)
def test_names_and_keys_in_any_spelling_are_kept(document: bytes, markup: Markup) -> None:
    assert may_hold_key(document, markup)


def test_only_the_kelvin_sign_lowercases_to_ascii() -> None:
    """Names are compared lowercased: a non-ASCII character that lowercases to ASCII could
    spell a name that a byte search misses; the prefilter lets such documents through."""
    found = [chr(c).encode() for c in range(0x80, 0x110000) if chr(c).lower().isascii()]
    assert tuple(found) == prefilter._FOLDS_TO_ASCII


_FIELDS = st.sampled_from(["authKey", "auth_key", "AUTH-KEY", "huamiAuthKey", "encrypt_key"])
_NOISE = st.text(st.sampled_from("aK z=:\"'\\/<>&;_-\t\né中\u212a"), max_size=12)


@given(field=_FIELDS, noise=_NOISE, nested=st.integers(0, 3), ascii_only=st.booleans())
def test_a_key_field_in_json_is_never_dropped(
    tmp_path_factory: pytest.TempPathFactory,
    field: str,
    noise: str,
    nested: int,
    ascii_only: bool,
) -> None:
    value: object = {"note": noise, field: KEY}
    for _ in range(nested):  # JSON kept as a string inside JSON, escaped once more each time
        value = {"data": json.dumps(value, ensure_ascii=ascii_only)}
    document = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert may_hold_key(document, Markup.JSON)
    path = tmp_path_factory.mktemp("doc") / "answer.json"
    write(path, document)
    assert [c.key for c in scan([path]).candidates] == [KEY]


@given(line=st.sampled_from(["authKey=", "token: ", 'auth_key":"', "encryptKey> 0x"]))
def test_a_key_in_a_logged_line_inside_json_is_never_dropped(line: str) -> None:
    document = json.dumps({"log": [f"2024-01-01 sync {line}{KEY} ok"]}).encode()
    assert may_hold_key(document, Markup.JSON)
    escaped = line.replace('"', "&quot;")
    xml = f"<map><string name='log'>{escaped}{KEY}</string></map>"
    assert may_hold_key(xml.encode(), Markup.XML)


def _database(path: Path, payload: str, without_rowid: bool = False) -> None:
    connection = sqlite3.connect(":memory:")
    tail = " WITHOUT ROWID" if without_rowid else ""
    connection.execute(f"CREATE TABLE events (id INTEGER PRIMARY KEY, params TEXT){tail}")
    connection.execute("CREATE TABLE steps (id INTEGER PRIMARY KEY, day TEXT, steps INTEGER)")
    connection.executemany("INSERT INTO events VALUES (?, ?)", [(1, "token expired"), (2, payload)])
    connection.executemany("INSERT INTO steps VALUES (?, ?, ?)", [(1, "keyboard", 3)])
    connection.commit()
    write(path, connection.serialize())
    connection.close()


@pytest.mark.parametrize("without_rowid", [False, True])
def test_json_naming_a_key_in_a_table_without_key_columns_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, without_rowid: bool
) -> None:
    _database(tmp_path / "a.db", json.dumps({"band": {"auth_key": KEY}}), without_rowid)
    _database(tmp_path / "b.db", json.dumps({"keyboard": "token expired"}), without_rowid)
    result = _both_ways([tmp_path], monkeypatch)
    assert [(c.key, c.provenance[-1]) for c in result.candidates] == [
        (KEY, "events rowid 2 column params $.band.auth_key" if not without_rowid
         else "events row 2 column params $.band.auth_key")
    ]  # fmt: skip
    assert worth.mentions_key_fields(worth.names_in_text((tmp_path / "a.db").read_bytes()), [])
    assert not worth.mentions_key_fields(worth.names_in_text((tmp_path / "b.db").read_bytes()), [])


_PIECES = [
    b"huamiAuthKey", b"auth_key", b"authKey", b"encrypt-key", b"TOKEN", b"token", b"key",
    b'"', b"'", b";", b"<", b":", b">", b"/", b" ", b"\n", b"&", b"\\", b"\\u0022", b"x", b"_",
    b"\x00", "\u212a".encode(), b"\xe2", b"\x84\xaa",
]  # fmt: skip


def _names_by_hand(data: bytes) -> prefilter.NameCount:
    """The definition, one place at a time: a folded name with a quote (or an escape)
    before it and a quote-like character after it, or an XML tag's edges (whole); or so
    opened and then a 0 byte (cut); one more if the Kelvin sign (which lowercases to "k")
    is anywhere."""
    folded = data.lower().translate(None, b"_-")
    whole, cut = int("\u212a".encode() in data), 0
    for start in range(len(folded)):
        for name in vocabulary().folded_names:
            end = start + len(name)
            if not folded.startswith(name, start) or end >= len(folded):
                continue
            before, after = folded[start - 1 : start], folded[end : end + 1]
            escape = re.fullmatch(rb"\\u[0-9a-f]{4}", folded[max(0, start - 6) : start])
            opened_tag = before in (b"<", b":")
            quoted = before in (b'"', b"'", b";") or escape is not None
            tag = opened_tag and after in (b" ", b"\t", b"\r", b"\n", b"/", b">")
            whole += tag or (quoted and after in (b'"', b"'", b"&", b"\\"))
            cut += (opened_tag or quoted) and after == b"\x00"
    return prefilter.NameCount(whole, cut)


@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.integers(1, 9))
def test_names_are_counted_as_defined(pieces: list[bytes], piece: int) -> None:
    data = b"".join(pieces)
    assert prefilter.count_names(data, piece=piece) == _names_by_hand(data)


def test_a_word_in_text_is_no_whole_name() -> None:
    assert prefilter.count_whole_names(b'{"note": "token expired", "token": 1}') == 1
    assert prefilter.count_whole_names(b"<authKey>x</authKey> <a:token/>") == 2  # not </…


def _split_by_overflow(path: Path, cut: int) -> bytes:
    """A database with one JSON value of 6,000 bytes in a table without key columns, whose
    ``"auth_key"`` starts ``cut`` bytes before the end of the part kept in the row's cell:
    the rest is on an overflow page, after that page's 4-byte link. Returns the image."""
    # 4 KiB pages: 1,908 bytes of a 6,000-byte record stay in the cell (SQLite's file
    # format, "cell payload overflow"), 4 of them the record's header.
    head = 1908 - 4 - cut
    document = '{"note": "' + "n" * (head - 10) + '", "auth_key": "' + KEY + '", "pad": "'
    document += "p" * (6000 - len(document) - 2) + '"}'
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA page_size = 4096")
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, params TEXT)")
    connection.execute("INSERT INTO events VALUES (1, ?)", (document,))
    connection.commit()
    image = connection.serialize()
    connection.close()
    write(path, image)
    return image


def test_a_key_field_name_cut_by_an_overflow_page_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cuts = range(14)  # from before the opening quote to after the closing one
    images = [_split_by_overflow(tmp_path / f"events-{cut:02}.db", cut) for cut in cuts]
    assert sum(b'"auth_key"' not in image for image in images) >= 9  # cut in two
    result = _both_ways([tmp_path], monkeypatch)
    assert [(c.key, c.provenance[-2:]) for c in result.candidates] == [
        (KEY, (f"events-{cut:02}.db", "events rowid 1 column params $.auth_key")) for cut in cuts
    ]
