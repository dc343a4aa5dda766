"""What of a SQLite database is worth reading, decided from its schema and its bytes: the
tables that may hold a key or a device hint, whether its text values may name a key field
(so that the row filter can drop its costly terms), and whether the deleted-record carver
may find a key at all. Every name comes from the one vocabulary (``scanner/vocab``).
"""

from __future__ import annotations

from scanner.formats.sqlite.headers import sqlite_extent
from scanner.formats.sqlite.image import Image
from scanner.formats.sqlite.layout import DATABASE_HEADER_SIZE
from scanner.vocab.keys import fold_name, vocabulary
from scanner.vocab.prefilter import count_names, count_whole_names, may_continue_a_name

_REST = 32  # bytes of an overflow page looked at for the rest of a cut name (see below)
# Folded column names that hold a device's name, best first.
NAME_COLUMNS = ("devicename", "name", "alias", "displayname", "nickname", "productname")


def names_in_text(image: Image) -> int | None:
    """``prefilter.count_whole_names`` of the image, plus one if a name may be cut in two
    by an overflow page; None for UTF-16 text, which the byte search would not see."""
    if image[56:60] not in (b"\x00\x00\x00\x01", b"\x00\x00\x00\x00"):
        return None
    names = count_names(image)
    return names.whole + bool(names.cut or _may_cut_a_name(image))


def _may_cut_a_name(image: Image) -> bool:
    """Whether a key field name in a text value may be in two pieces in the image's bytes.

    A value too long for its cell goes on in a chain of overflow pages, each after the
    page's 4-byte link, so a name can be cut where the cell's part ends or a page does:
    then its rest starts an overflow page, 4 bytes in (or, cut just after the name, the
    name is followed by the page number: ``count_names``). Every page is looked at, as
    which ones are overflow pages is not known here.
    """
    extent = sqlite_extent(bytes(image[:DATABASE_HEADER_SIZE]))
    if extent is None:
        return True  # no page size to go by: be careful
    page_size = extent[0]
    return any(
        may_continue_a_name(bytes(image[at + 4 : at + 4 + _REST]))
        for at in range(page_size, len(image), page_size)
    )


def mentions_key_fields(in_image: int | None, schema_sql: list[object]) -> bool:
    """Whether JSON text naming a key field may be in the data, not just the schema.

    Names in JSON are quoted: when the image holds no more quoted key field names than
    the schema's statements (``in_image``: ``names_in_text``; free space and index pages
    count too), no text value can name one, and the row filter skips the costly LIKE terms
    and tables that can hold neither a key nor a hint.
    """
    if in_image is None:
        return True
    schema = " ".join(sql for sql in schema_sql if isinstance(sql, str)).encode()
    # Fewer in the image than in the schema: a statement cut across pages. Be careful.
    return in_image != count_whole_names(schema)


def carvable(in_image: int | None, table_sql: list[object]) -> bool:
    """Whether the deleted-record carver (``carve.carve_image``) may find a key here.

    It reads a key only from a column the schema names a key field (every table column
    is in its CREATE statement, so its folded text holds the folded name), or from JSON
    text with a key field name in it, which the carver reads as contiguous UTF-8 bytes
    of the image: a quoted name, an escape, or the Kelvin sign, all of which
    ``count_whole_names`` counts. A UTF-16 image is not carved at all.
    """
    if in_image is None:
        return False
    if in_image:
        return True
    return any(not isinstance(sql, str) or _names_key_field(sql) for sql in table_sql)


def _names_key_field(sql: str) -> bool:
    folded = fold_name(sql)
    return any(name in folded for name in vocabulary().names)


def may_hold_key_or_hint(sql: object) -> bool:
    """Whether a table's CREATE statement may declare a key column or a name column (a
    hint's): every column name is in it, so its folded text holds the folded name."""
    if not isinstance(sql, str):
        return True
    folded = fold_name(sql)
    return any(name in folded for name in (*vocabulary().names, *NAME_COLUMNS))
