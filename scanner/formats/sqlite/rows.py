"""Every table and row of a database image: key columns, JSON columns, row context.

Generic on purpose (where-keys-live.md: the vendors' other columns are undocumented): a
key is a key-field column or a key field inside JSON text; the device around it is found
by the SHAPE of the row's values (a MAC, a model code, an epoch), not by column names,
except that a name is taken from a name-like column and times prefer time-like columns.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scanner.artifacts import Artifact
from scanner.errors import Corrupt
from scanner.extractors.base import make_candidate
from scanner.formats.json.walk import parse_json_text, walk_json
from scanner.formats.sqlite import worth
from scanner.formats.sqlite.image import FileImage, Image
from scanner.formats.sqlite.records import TableShape, affinity
from scanner.formats.sqlite.worth import NAME_COLUMNS
from scanner.model import Candidate, DeviceHints, DeviceInfo, Method
from scanner.vocab.keys import fold_name, is_key_field, is_wearable_model, vocabulary
from scanner.vocab.prefilter import Markup, may_hold_key
from scanner.vocab.values import epoch_to_datetime, key_for_field, looks_like_model, normalise_mac

log = logging.getLogger("keyscan")

_TIME_WORDS = ("time", "date", "bind")
_MAC_WORDS = ("mac", "address", "identifier")
# Android databases declare these collations; SQLite needs them only to compare, but an
# index or view using one must still compile.
_ANDROID_COLLATIONS = ("LOCALIZED", "UNICODE", "PHONEBOOK")
# A row can hold a key only if a key column is set or some text contains a key field
# name (in JSON), and can be a hint only with a MAC-shaped value: SQLite skips the other
# rows itself, which matters for tables of millions of activity rows. The LIKE patterns
# (``Vocabulary.like_terms``) are a superset of the key field names; Python decides.
_MAC_LIKE = ("__:__:__:__:__:__", "__-__-__-__-__-__")
# What ``str.strip()`` strips (a test checks every code point), as SQL: a value's shape is
# looked at past the same blanks in SQL as in Python, so that SQL drops no row Python reads.
BLANKS = (
    "".join(map(chr, (*range(9, 14), *range(28, 33), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B))))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_SQL_BLANKS = f"'{BLANKS}'"  # a literal: char(...) would be built again for every row
_WITHOUT_ROWID = re.compile(r"\)\s*without\s+rowid\s*[;,]?\s*$", re.IGNORECASE)
# What SQLite raises on damaged pages; a damaged schema can also give an error message
# (or a column name) that is not UTF-8, which Python then fails to decode.
SQLITE_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)
_NO_DEVICE = DeviceInfo()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _compare(left: str, right: str) -> int:
    return (left > right) - (left < right)


@dataclass(frozen=True)
class Finding:
    """A key-shaped value under a key field in one row, with the row's device context."""

    table: str
    row: str  # "rowid 3", "row 3" in a WITHOUT ROWID table, "" for a carved record
    column: str
    json_path: str | None  # "$.auth_key" for a key inside a JSON text column
    key: str
    field: str
    device: DeviceInfo
    timestamp: datetime | None
    timestamp_source: str | None
    wearable: bool
    place: str = ""  # where in the file a recovered record was: "page 7 offset 1200 freeblock"

    @property
    def where(self) -> str:
        """The last provenance step: ``[place] DEVICE rowid 1 column AUTHKEY [$.path]``."""
        return f"{self.place} {self._row_where}" if self.place else self._row_where

    @property
    def _row_where(self) -> str:
        row = f"{self.table} {self.row}" if self.row else self.table
        place = f"{row} column {self.column}"
        return f"{place} {self.json_path}" if self.json_path else place

    @property
    def identity(self) -> tuple[str, str]:
        """Same row, same value: how a WAL or journal view is compared with the main one."""
        return (self._row_where, self.key)

    @property
    def slot(self) -> tuple[str, str, str | None, str]:
        """Same table column, same value: a deleted copy of a live key adds nothing."""
        return (self.table, self.column, self.json_path, self.key)


@dataclass(frozen=True)
class _RowContext:
    device: DeviceInfo
    timestamp: datetime | None
    timestamp_source: str | None
    wearable: bool


class _Columns:
    """What the column names of one table suggest, worked out once per table."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        folded = [fold_name(name) for name in names]
        self.key = [is_key_field(name) for name in names]
        self.timeish = [any(word in f for word in _TIME_WORDS) for f in folded]
        self.macish = [any(word in f for word in _MAC_WORDS) for f in folded]
        self.modelish = ["model" in f for f in folded]
        self.name_order = sorted(
            (i for i, f in enumerate(folded) if f in NAME_COLUMNS),
            key=lambda i: NAME_COLUMNS.index(folded[i]),
        )


def _texts(values: Sequence[object]) -> list[tuple[int, str]]:
    return [(i, text) for i, v in enumerate(values) if isinstance(v, str) and (text := v.strip())]


def _row_device(columns: _Columns, texts: list[tuple[int, str]], hint: bool = False) -> DeviceInfo:
    """The device a row's values name: by their shape (a MAC, a model code), and a name
    from a name-like column. All a row without a key gives (a hint). With ``hint``, a row
    without a MAC or a name gives an empty device, its model not looked for."""
    first = preferred = None  # the first MAC; the first in a MAC-like column
    at_macs = set()
    for i, text in texts:
        if found := normalise_mac(text):
            at_macs.add(i)
            first = first or found
            if preferred is None and columns.macish[i]:
                preferred = found
    mac = preferred or first
    by_index = dict(texts)
    name = next(
        (by_index[i] for i in columns.name_order if i in by_index and i not in at_macs), None
    )
    if hint and not (mac and name):
        return _NO_DEVICE  # no hint: DeviceHints keeps a MAC with a name only
    model = next((v for i, v in texts if columns.modelish[i] and looks_like_model(v)), None)
    model = model or next((v for _, v in texts if looks_like_model(v)), None)
    return DeviceInfo(mac=mac, name=name, model=model)


def _row_context(columns: _Columns, values: Sequence[object]) -> _RowContext:
    texts = _texts(values)
    device = _row_device(columns, texts)
    wearable = any(is_wearable_model(v) for _, v in texts)
    # Times: epoch-shaped values, newest first, from time-like columns if any have one.
    preferred: list[tuple[datetime, str]] = []
    others: list[tuple[datetime, str]] = []
    for i, value in enumerate(values):
        if columns.timeish[i]:
            moment = epoch_to_datetime(value)
            if moment:
                preferred.append((moment, columns.names[i]))
        elif isinstance(value, int) and (moment := epoch_to_datetime(value)):
            others.append((moment, columns.names[i]))
    newest = max(preferred or others, default=None)
    return _RowContext(
        device=device,
        timestamp=newest[0] if newest else None,
        timestamp_source=f"row column {newest[1]}" if newest else None,
        wearable=wearable,
    )


def _json_value(value: object) -> object | None:
    """The parsed value of JSON text that names a key field somewhere, else None."""
    if isinstance(value, bytes) and value.lstrip()[:1] in (b"{", b"["):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or value.strip()[:1] not in ("{", "["):
        return None  # not JSON (parse_json_text would say so): most values
    if not may_hold_key(value.encode("utf-8", "surrogatepass"), Markup.JSON):
        return None
    return parse_json_text(value)


def _row_findings(
    table: str, row: str, columns: _Columns, values: Sequence[object], parse_json: bool = True
) -> tuple[list[Finding], _RowContext | None]:
    """The row's findings; ``parse_json`` False: no text value names a key field (the
    image's ``worth.mentions_key_fields``), so none is parsed as JSON."""
    found: list[Finding] = []
    context: _RowContext | None = None
    for index, value in enumerate(values):
        column = columns.names[index]
        key = key_for_field(column, value) if columns.key[index] else None
        parsed = _json_value(value) if key is None and parse_json else None
        if key is None and parsed is None:
            continue
        context = context or _row_context(columns, values)
        if key is not None:
            found.append(
                Finding(table, row, column, None, key, column, context.device,
                        context.timestamp, context.timestamp_source, context.wearable)
            )  # fmt: skip
            continue
        for hit in walk_json(parsed, outer=context.device):
            moment: datetime | None
            source: str | None
            if hit.timestamp is not None:
                moment, source = hit.timestamp, f"row column {column} JSON {hit.timestamp_field}"
            else:
                moment, source = context.timestamp, context.timestamp_source
            found.append(
                Finding(table, row, column, hit.path, hit.key, hit.field, hit.device, moment,
                        source, hit.wearable_context or context.wearable)
            )  # fmt: skip
    return found, context


def row_findings(
    table: str, row: str, names: Sequence[str], values: Sequence[object]
) -> list[Finding]:
    """The findings of one record read outside SQLite (a carved or older version)."""
    return _row_findings(table, row, _Columns(names), values)[0]


@dataclass
class ImageReport:
    """What reading one image left besides findings."""

    hints: DeviceHints = field(default_factory=DeviceHints)  # MAC + name rows without a key
    failures: list[str] = field(default_factory=list)  # tables that could not be read to the end
    tables: list[TableShape] = field(default_factory=list)  # rowid tables, for the carver
    carvable: bool = True  # False: the deleted-record carver can find no key in this image


def finding_candidate(
    artifact: Artifact, finding: Finding, method: Method, deleted: bool = False
) -> Candidate | None:
    """The candidate a finding gives in ``artifact`` (None when the shared rules drop it)."""
    return make_candidate(
        artifact,
        key=finding.key,
        field=finding.field,
        where=finding.where,
        method=method,
        device=finding.device,
        timestamp=finding.timestamp,
        timestamp_source=finding.timestamp_source,
        wearable_context=finding.wearable,
        deleted=deleted,
    )


def open_image(image: Image) -> sqlite3.Connection:
    """An in-memory connection over a copy of ``image``, or a read-only one to the file of
    ours that holds a large image: never a file of the evidence."""
    target, uri = (image.uri, True) if isinstance(image, FileImage) else (":memory:", False)
    try:
        connection = sqlite3.connect(target, uri=uri)
    except SQLITE_ERRORS as error:
        raise Corrupt(f"SQLite cannot read it: {error}") from error
    connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
    for name in _ANDROID_COLLATIONS:
        connection.create_collation(name, _compare)
    try:
        if not isinstance(image, FileImage):
            connection.deserialize(image)
        connection.execute("PRAGMA query_only = 1")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except SQLITE_ERRORS as error:
        connection.close()
        raise Corrupt(f"SQLite cannot read it: {error}") from error
    return connection


def _where(columns: _Columns, keyish_text: bool) -> str:
    """The SQL filter for rows that may hold a key (or a hint, in tables with names).

    Without ``keyish_text`` (no key field name anywhere in the data), only key-named
    columns and name hints are looked at: text cannot hold a key beside a field name.
    """
    terms = []
    like_terms = vocabulary().like_terms
    for index, name in enumerate(columns.names):
        column = _quote(name)
        if columns.key[index]:
            terms.append(f"{column} IS NOT NULL")
        if keyish_text:
            likes = " OR ".join(f"{column} LIKE '{pattern}'" for pattern in like_terms)
            # Text is read only as JSON (``_json_value``), which opens with "{" or "[". A
            # blob is read as text only in Python (SQL would read it as UTF-16 in a
            # UTF-16 database).
            opens = f"(instr({column}, '{{') OR instr({column}, '['))"
            shaped = f"((typeof({column}) = 'text' AND {opens}) OR typeof({column}) = 'blob')"
            terms.append(f"({shaped} AND ({likes}))")
        if columns.name_order:  # a MAC is text of 17 characters between blanks
            trimmed = f"trim({column}, {_SQL_BLANKS})"
            macs = " OR ".join(f"{trimmed} LIKE '{pattern}'" for pattern in _MAC_LIKE)
            separated = f"(instr({column}, ':') OR instr({column}, '-'))"
            terms.append(f"(typeof({column}) = 'text' AND {separated} AND ({macs}))")
    return " OR ".join(terms) or "0"


def _select(
    connection: sqlite3.Connection, what: str, table: str, keyish_text: bool
) -> sqlite3.Cursor:
    source = f"SELECT {what} FROM {_quote(table)}"
    if what == "*":  # WITHOUT ROWID: rows are numbered in order, so every row is read
        return connection.execute(source)
    columns = _Columns([d[0] for d in connection.execute(f"{source} LIMIT 0").description])
    try:
        return connection.execute(f"{source} WHERE {_where(columns, keyish_text)}")
    except sqlite3.OperationalError as error:
        if "too large" not in str(error) and "too long" not in str(error):
            raise
        return connection.execute(source)  # a very wide table: no filter, Python decides


def _table_rows(
    connection: sqlite3.Connection, table: str, keyish_text: bool
) -> Iterator[tuple[str, list[str], tuple[object, ...]]]:
    try:
        cursor = _select(connection, "_rowid_, *", table, keyish_text)
        with_rowid = True
    except sqlite3.OperationalError as error:
        if "_rowid_" not in str(error):
            raise
        cursor = _select(connection, "*", table, keyish_text)  # WITHOUT ROWID: no row numbers
        with_rowid = False
    names = [d[0] for d in cursor.description][1 if with_rowid else 0 :]
    for ordinal, row in enumerate(cursor, 1):
        if with_rowid:
            yield f"rowid {row[0]}", names, row[1:]
        else:
            yield f"row {ordinal}", names, row


def _as_text(name: object) -> str:
    """A table's name as text (SQLite refuses a schema with any other kind of name)."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def _shapes(
    connection: sqlite3.Connection, schema: Sequence[tuple[object, ...]]
) -> list[TableShape]:
    """The rowid tables' columns, in record order, and which one is the rowid alias."""
    shapes = []
    for name, root, sql in schema:
        if not isinstance(name, str) or not isinstance(root, int) or root < 1:
            continue  # a virtual table has no b-tree
        if isinstance(sql, str) and _WITHOUT_ROWID.search(sql):
            continue  # its records are index records: not carved
        try:
            info = connection.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
        except SQLITE_ERRORS as error:
            log.debug("table %s: no column list: %s", name, error)
            continue
        keys = [row for row in info if row[5]]
        ipk = None
        if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER":
            ipk = int(keys[0][0])
        names, kinds = tuple(str(r[1]) for r in info), tuple(affinity(str(r[2])) for r in info)
        shapes.append(TableShape(name, root, names, ipk, kinds))
    return shapes


def read_image(image: Image, report: ImageReport, alone: bool = False) -> Iterator[Finding]:
    """Every finding in every row of every table; Corrupt if the schema is unreadable.

    A table that breaks part-way keeps the rows read before the break (``report.failures``).
    ``alone``: a database without companions, whose tables' shapes only its own carver
    uses: not worked out when ``report.carvable`` is False.
    """
    connection = open_image(image)
    try:
        try:
            master = connection.execute(
                "SELECT type, name, rootpage, sql FROM sqlite_master ORDER BY rowid"
            ).fetchall()
        except SQLITE_ERRORS as error:
            raise Corrupt(f"SQLite cannot read its list of tables: {error}") from error
        # A damaged schema may hold a table's name as a blob: SQLite knows the table by
        # its statement, so the name is read as text.
        schema = [
            (_as_text(name), root, sql) for kind, name, root, sql in master if kind == "table"
        ]
        in_image = worth.names_in_text(image)
        report.carvable = worth.carvable(in_image, [sql for *_, sql in schema])
        if report.carvable or not alone:
            report.tables = _shapes(connection, schema)
        keyish_text = worth.mentions_key_fields(in_image, [sql for *_, sql in master])
        for table, _, sql in schema:
            if table.startswith("sqlite_"):
                continue  # SQLite's own bookkeeping
            if not keyish_text and not worth.may_hold_key_or_hint(sql):
                continue  # its rows are all filtered out: no need to ask
            columns: _Columns | None = None
            try:
                for row, names, values in _table_rows(connection, table, keyish_text):
                    if columns is None:
                        columns = _Columns(names)
                    found, context = _row_findings(table, row, columns, values, keyish_text)
                    yield from found
                    if not found and columns.name_order:
                        # A hint needs the device only, not the row's times.
                        if context is not None:
                            device = context.device
                        else:
                            device = _row_device(columns, _texts(values), hint=True)
                        if device.mac and device.name:
                            report.hints.add(device)
            except SQLITE_ERRORS as error:
                log.debug("table %s: %s", table, error)
                report.failures.append(f"table {table}: {error}")
    finally:
        connection.close()
