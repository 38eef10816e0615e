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


# Whole rows of plain TABLEDATA straight to CSV, for the CSV download only (writers.csv_chunks).
# A run of rows whose every cell's text is already the CSV value goes through with bytes operations
# and no Python per cell: the one difference from the rows above is that numbers keep the service's
# text ("1.50", "1E3", "+5": the same value, not the same text as the preview shows).
_NUMBERS = _INTEGERS | {"float", "double"}
_NOT_AS_WRITTEN = (b"&", b'"', b",", b"\r", b"\t")  # an entity, what CSV quotes, white space a number drops
_CONTROLS = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])  # not allowed by XML 1.0 (§2.2)
_TAG_LETTERS = b"<TDR>" + _CONTROLS
_CLOSE_TO_COMMA = bytes.maketrans(b"/", b",")
_PADDED = (b", ", b" ,", b"\n ", b" \r")


def as_written(fields: list[Field]) -> bool:
    """Whether the plain rows of a table of these columns can go to CSV as the service wrote them: text
    columns, and scalar numbers with no magic value for NULL (two columns at least: a row of one empty
    cell is `""` in CSV)."""
    return len(fields) > 1 and all(
        field.datatype in _TEXT or (field.scalar and field.null is None and field.datatype in _NUMBERS)
        for field in fields
    )


def plain_csv(batch: bytes, fields: list[Field]) -> bytes | None:
    """Whole TRs of a TABLEDATA (white space around them) as CSV rows, CRLF at each end; None where any cell
    needs reading: an entity, a character CSV quotes, CDATA, a comment, a TD with attributes or of
    `<TD/>` form, a row of more or fewer cells, and in a table of numbers hexadecimal, NaN, infinity,
    digits grouped by `_`, white space around a cell, or a character beyond ASCII (Python reads some as
    digits or white space). Call it only for columns `as_written` allows."""
    body = batch.strip(b" \t\n")
    if not body:
        return b""
    if not body.startswith(b"<TR><TD>") or not body.endswith(b"</TD></TR>"):
        return None
    if any(mark in body for mark in _NOT_AS_WRITTEN) or (b"]" in body and b"]]>" in body):
        return None
    numbers = any(field.datatype not in _TEXT for field in fields)
    if not (_numbers_as_written(body, fields) if numbers else _utf8(body)):
        return None
    text = _by_translation(body, len(fields)) if b" " not in body else None
    return _by_replacing(body, len(fields), numbers) if text is None else text


def _numbers_as_written(body: bytes, fields: list[Field]) -> bool:
    """Whether no number in `body` needs reading; each test looks for one byte first, at memchr's speed."""
    kinds = {field.datatype for field in fields}
    if not body.isascii() or b"_" in body:
        return False
    if kinds & _INTEGERS and (b"x" in body or b"X" in body) and (b"0x" in body or b"0X" in body):
        return False
    if kinds & {"float", "double"} and (b"n" in body or b"N" in body):
        lower = body.lower()  # nan, inf, infinity in any case; each holds an n
        return b"nan" not in lower and b"inf" not in lower
    return True


def _utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _by_translation(body: bytes, width: int) -> bytes | None:
    """The rows of a body with no space and no letter of the tags in its cells: one `translate` deletes
    the tags' letters and turns the `/` of each end tag into a comma, which leaves two commas and the
    line feed between rows at each row's end; None if the cells held any of those characters (the
    lengths and the counts tell), or the rows are not one to a line."""
    text = (body + b"\n").translate(_CLOSE_TO_COMMA, _TAG_LETTERS)
    if (len(body) + 1 - len(text)) % (8 * (width + 1)):
        return None
    rows_text = text.replace(b",,\n", b"\r\n")
    rows = len(text) - len(rows_text)
    if len(body) + 1 - len(text) != rows * 8 * (width + 1):  # <TR>, </TR> and each TD's two tags but the /
        return None
    if rows_text.count(b",") != rows * (width - 1) or rows_text.count(b"\n") != rows:
        return None
    return rows_text


def _by_replacing(body: bytes, width: int, numbers: bool) -> bytes | None:
    """The rows of any other body, with the tags between rows (white space as in its first two rows) and
    between cells replaced; None if any other tag is left, the counts are not those of whole rows, or (in
    a table of numbers) a cell begins or ends with a space."""
    end = body.find(b"</TR>")
    start = body.find(b"<TR>", end)
    between = b"</TD></TR>" + body[end + 5 : start] + b"<TR><TD>" if start > 0 else None
    if between is not None and between[10:-8].strip(b" \n"):
        return None
    text = body[8:-10]
    separated = text.replace(between, b"\r\n") if between else text
    rows = 1 + (len(text) - len(separated)) // (len(between) - 2) if between else 1
    cells = separated.replace(b"</TD><TD>", b",")
    if b"<" in cells or (len(separated) - len(cells)) // 8 != rows * (width - 1):
        return None
    if cells.count(b"\n") != rows - 1 or len(cells) != len(cells.translate(None, _CONTROLS)):
        return None
    if numbers and b" " in cells and (b" " in (cells[:1], cells[-1:]) or any(map(cells.__contains__, _PADDED))):
        return None
    return cells + b"\r\n"
