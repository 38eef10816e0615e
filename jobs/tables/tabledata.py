"""The rows of a TABLEDATA in their plain form, read in bulk: a result read to its end goes through here.

lxml's parser target calls Python for every element and every text, a dozen calls a row,
which held a CSV conversion to about 4 MB/s. Nearly every TABLEDATA a service writes is plain
(`<TR><TD>text</TD>...</TR>`, white space between rows, no entity, comment or CDATA in the
cells), and a run of whole rows of that form is split here with bytes operations, and each
column's texts are read with the builtins mapped over the column. The text of every cell is
the same as `tabledata_cell` gives for it, which reads whatever a column's bulk reading does not
take (a NULL, a NaN, a hexadecimal integer, an array, a boolean).

Anything else makes `plain_rows` answer None, and the caller gives those bytes to lxml.
"""

from __future__ import annotations

import math
import re
import struct
from itertools import repeat

from .cells import Field, tabledata_cell
from .reading import Row

_BETWEEN_ROWS = re.compile(rb"</TD></TR>[ \t\n]*<TR><TD>")
# Characters XML 1.0 does not allow (§2.2), and the carriage return, which a parser turns into a line feed.
_NOT_PLAIN = re.compile(rb"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f&]")
_CELL, _ROW = "\x00", "\x01"  # never in an XML document, so they can stand for the tags between cells
_INTEGERS = frozenset({"unsignedByte", "short", "int", "long"})
_TEXT = frozenset({"char", "unicodeChar"})
_FLOAT32_TINY = 1.1754943508222875e-38  # below this a float is subnormal or 0, and its text may not read back


def plain_rows(batch: bytes, fields: list[Field]) -> list[Row] | None:
    """The rows of `batch`, whole TRs of a TABLEDATA with white space around them, or None if they are not plain."""
    body = batch.replace(b"<TD/>", b"<TD></TD>").strip(b" \t\n")
    if not body:
        return []
    if not body.startswith(b"<TR><TD>") or not body.endswith(b"</TD></TR>"):
        return None
    if _NOT_PLAIN.search(body) or b"]]>" in body:
        return None
    body = _BETWEEN_ROWS.sub(_ROW.encode(), body[8:-10]).replace(b"</TD><TD>", _CELL.encode())
    if b"<" in body:
        return None
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    width = len(fields)
    if set(map(str.count, text.split(_ROW), repeat(_CELL))) != {width - 1}:
        return None  # a row of more or fewer cells than columns: lxml's reading pads or cuts it
    del body  # each copy goes once read, so that a piece's rows take little more memory than the piece
    cells = text.replace(_ROW, _CELL).split(_CELL)
    del text
    columns = [_column(field, tuple(cells[index::width])) for index, field in enumerate(fields)]
    del cells
    return list(zip(*columns, strict=True))


def _column(field: Field, texts: tuple[str, ...]) -> list[str | None] | tuple[str, ...]:
    """The display text of one column's cells, by the builtins over all of them where that gives what
    `tabledata_cell` gives, else cell by cell."""
    if field.datatype in _TEXT:
        return [text or None for text in texts]
    if field.scalar:
        try:
            if field.datatype in _INTEGERS:
                return _integers(field, texts)
            if field.datatype == "double":
                return _doubles(field, texts)
            if field.datatype == "float":
                return _floats(field, texts)
        except (ValueError, OverflowError):  # an empty cell, hexadecimal, not a number, out of range
            pass
    return [tabledata_cell(field, text) for text in texts]


class _CellByCell(ValueError):
    """Some cell of the column needs `tabledata_cell`."""


def _integers(field: Field, texts: tuple[str, ...]) -> list[str]:
    values = list(map(int, texts))
    if field.null is not None and field.null in values:
        raise _CellByCell
    return list(map(str, values))


def _doubles(field: Field, texts: tuple[str, ...]) -> list[str]:
    values = list(map(float, texts))
    if any(map(math.isnan, values)) or (field.null is not None and field.null in values):
        raise _CellByCell
    return list(map(repr, values))


def _floats(field: Field, texts: tuple[str, ...]) -> tuple[str, ...]:
    """A float's text is the shortest that reads back as the same float (`cells._float_text`): a text in
    Python's form of at most six significant digits (FLT_DIG) is that already, so such a column is kept."""
    values = list(map(float, texts))
    if any(map(math.isnan, values)) or (field.null is not None and field.null in values):
        raise _CellByCell
    struct.pack(f">{len(values)}f", *values)  # OverflowError beyond the range of a float
    if max(map(len, texts)) > 7 or list(map(repr, values)) != list(texts):
        raise _CellByCell
    if min(filter(None, map(abs, values)), default=1.0) < _FLOAT32_TINY:
        raise _CellByCell
    return texts
