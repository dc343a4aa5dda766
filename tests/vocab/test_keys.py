"""The key vocabulary: one table, every search form derived from it.

A new field name is one line in ``KEY_FIELDS``; these tests add one (``pair_secret``, whose
last word is no other name's) and check that every reader and engine then finds a key
under it, and that none did before.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpus.common import fake_key, fake_mac, write
from scanner.artifacts import Artifact
from scanner.carving import carver as carving
from scanner.extractors import base as extractor_base
from scanner.extractors import patterns
from scanner.extractors.text_keys import keys_in_text
from scanner.formats.logs import extractor as log
from scanner.model import Method, ScanResult
from scanner.pipeline import scan
from scanner.vocab import keys
from scanner.vocab.keys import KEY_FIELDS, KeyField, Vocabulary

NEW_FIELD = KeyField(("pair", "secret"))
KEY = {where: fake_key(f"vocab-{where}") for where in ("log", "json", "xml", "column", "nested")}
KEY |= {where: fake_key(f"vocab-{where}") for where in ("deleted", "carved")}
MAC = fake_mac("vocab-band")


@pytest.fixture
def with_new_name(monkeypatch: pytest.MonkeyPatch) -> Vocabulary:
    """The table with one more line."""
    extended = Vocabulary((*KEY_FIELDS, NEW_FIELD))
    monkeypatch.setattr(keys, "VOCABULARY", extended)
    return extended


def _evidence(root: Path) -> Path:
    """A folder with a key under the new name in each kind of file."""
    write(
        root / "device.log",
        f"2024-02-28 21:14:03.512|3.26.0i|I|Bind|paired mac={MAC} pair_secret=0x{KEY['log']}\n"
        "2024-02-28 21:14:04.000|3.26.0i|I|Bind|done\n".encode(),
    )
    write(root / "answer.json", json.dumps({"data": {"pairSecret": KEY["json"]}}).encode())
    prefs = (
        f'<map><string name="PAIR-SECRET">{KEY["xml"]}</string><int name="seq" value="1"/></map>'
    )
    write(root / "prefs.xml", prefs.encode())
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA secure_delete = 0")
    connection.execute(
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, MAC TEXT, PAIR_SECRET TEXT, INFO TEXT)"
    )
    connection.executemany(
        "INSERT INTO DEVICE VALUES (?, ?, ?, ?)",
        [
            (1, MAC, KEY["column"], None),
            (2, MAC, None, json.dumps({"bind": {"pair_secret": KEY["nested"]}})),
            (3, MAC, KEY["deleted"], "x" * 200),
        ],
    )
    connection.commit()
    connection.execute("DELETE FROM DEVICE WHERE _id = 3")
    connection.commit()
    write(root / "band.db", connection.serialize())
    connection.close()
    filler = bytes(range(256)) * 256  # binary and big enough: only the carver reads it
    text = f'{{"pairSecret": "0x{KEY["carved"]}"}}'.encode()
    write(root / "disk.img", filler + text + filler)
    return root


def _found(result: ScanResult) -> dict[str, tuple[str, Method, bool]]:
    by_key = {value: where for where, value in KEY.items()}
    return {
        by_key[c.key]: (c.field, c.method, c.deleted) for c in result.candidates if c.key in by_key
    }


EXPECTED = {
    "log": ("pair_secret", Method.LOG, False),
    "json": ("pairSecret", Method.JSON, False),
    "xml": ("PAIR-SECRET", Method.XML, False),
    "column": ("PAIR_SECRET", Method.SQLITE, False),
    "nested": ("pair_secret", Method.SQLITE, False),
    "deleted": ("PAIR_SECRET", Method.CARVE, True),
    "carved": ("pairSecret", Method.CARVE, False),
}


@pytest.fixture(params=["python", "re2", "hyperscan"])
def line_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run with each key-search engine (built after the table changed)."""
    name = str(request.param)
    try:
        patterns.ENGINES[name]()
    except Exception:
        pytest.skip(f"{name} is not installed")

    def made(wanted: str | None = None) -> patterns.Engine:
        return patterns.ENGINES[name]()

    monkeypatch.setattr(patterns, "default_engine", made)
    monkeypatch.setattr(log, "default_engine", made)
    monkeypatch.setattr(extractor_base, "default_engine", made)  # engine_for(ctx)
    return name


@pytest.fixture(params=["python", "hyperscan"])
def carving_engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    if request.param == "python":
        monkeypatch.setattr(carving, "fast_engine", lambda wanted=None: None)
    elif carving.fast_engine() is None:
        pytest.skip("hyperscan (the optional fast extra) is not installed")
    yield str(request.param)


def test_every_reader_finds_a_key_under_a_new_name(
    tmp_path: Path, line_engine: str, carving_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _evidence(tmp_path)
    assert _found(scan([root])) == {}  # not a key field yet
    monkeypatch.setattr(keys, "VOCABULARY", Vocabulary((*KEY_FIELDS, NEW_FIELD)))
    assert _found(scan([root])) == EXPECTED


def test_forms_of_the_new_name(with_new_name: Vocabulary) -> None:
    assert keys.is_key_field("Pair_Secret") and not keys.is_weak_field("pairsecret")
    assert with_new_name.endings == (b"key", b"token", b"secret")
    assert "%pair%secret%" in with_new_name.like_terms
    assert b"pairsecret" in with_new_name.folded_names
    line = f"bind pair-secret: {KEY['log']}".encode()
    assert [(hit.field, hit.key) for hit in keys_in_text(line)] == [("pair-secret", KEY["log"])]
    before = b'"pair_Secret": "0x'[::-1]  # what the carver reads back from a value
    assert with_new_name.named_reversed.match(before)
    assert not Vocabulary(KEY_FIELDS).named_reversed.match(before)


def test_each_line_engine_points_at_the_new_name(with_new_name: Vocabulary) -> None:
    block = f"a\nnoise pairSecret=0x{KEY['log']}\n".encode()
    for name, engine in patterns.available().items():
        ends, _ = engine.scan(block)
        assert len(block) - 1 in ends, name
    artifact = Artifact(chain=("x.log",), opener=lambda: io.BytesIO(block))
    found = [c.key for c in log.scan_lines(artifact, io.BytesIO(block))]
    assert found == [KEY["log"]]


def test_the_default_table_spells_what_it_always_did() -> None:
    """The derived forms of today's table, as they were written by hand before."""
    vocab = Vocabulary(KEY_FIELDS)
    assert vocab.names == {"authkey", "huamiauthkey", "encryptkey", "token"}
    assert vocab.weak_names == {"token"}
    assert vocab.endings == (b"key", b"token")
    assert vocab.like_terms == ("%auth%key%", "%encrypt%key%", "%token%")
    for name in ("authkey", "auth_key", "AUTH-KEY", "huamiAuthKey", "encrypt_key", "TOKEN"):
        assert vocab.name_regex.fullmatch(name.encode()), name
        assert vocab.named_reversed.match(f'{name}="0x'.encode()[::-1]), name
    assert not vocab.named_reversed.match(b'keyboard="0x'[::-1])
