"""VOTable results (TABLEDATA, BINARY, BINARY2; VOTable 1.4), read as a stream with lxml's pull parser."""

from __future__ import annotations

import binascii
import cmath
import math
import struct
from dataclasses import dataclass

from lxml import etree

from ..uws.parse import XML_HARDENING
from .reading import Column, Head, Preview, PreviewError

# Bytes per item in BINARY and BINARY2 (VOTable 1.4, Definitions of Primitive Datatypes); bits are packed, 8 to a byte.
_ITEM_BYTES = {
    "boolean": 1,
    "unsignedByte": 1,
    "short": 2,
    "int": 4,
    "long": 8,
    "char": 1,
    "unicodeChar": 2,
    "float": 4,
    "double": 8,
    "floatComplex": 8,
    "doubleComplex": 16,
}
_DATATYPES = frozenset(_ITEM_BYTES) | {"bit"}
_STRUCT = {
    "unsignedByte": "B",
    "short": "h",
    "int": "i",
    "long": "q",
    "float": "f",
    "double": "d",
    "floatComplex": "f",
    "doubleComplex": "d",
}
_INTEGERS = frozenset({"unsignedByte", "short", "int", "long"})
_FLOATS = frozenset({"float", "double", "floatComplex", "doubleComplex"})
_TEXT = frozenset({"char", "unicodeChar"})
_BOOLEAN_BYTES = {ord("T"): True, ord("t"): True, ord("1"): True, ord("F"): False, ord("f"): False, ord("0"): False}
_BOOLEAN_WORDS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False, "?": None}

_Value = bool | int | float | complex | None


@dataclass(frozen=True)
class _Field:
    """What decoding a FIELD's cells takes beyond its Column."""

    datatype: str
    shape: tuple[int, ...]  # the fixed dimensions of arraysize, in its order; () for a scalar
    variable: bool  # arraysize ends in "*": BINARY puts a 4-byte count of the last dimension first
    null: int | float | None  # VALUES null, the magic value for NULL (integers, mostly)

    @property
    def scalar(self) -> bool:
        return not self.shape and not self.variable

    @property
    def items(self) -> int:
        """Items in a fixed cell, or in each step of a variable one."""
        return math.prod(self.shape)

    @property
    def strings(self) -> bool:
        """A char array of more than one dimension: a list of strings of the first one's length."""
        return len(self.shape) + self.variable > 1


def _shape(arraysize: str | None) -> tuple[tuple[int, ...], bool]:
    """("3x2" → (3, 2), fixed), ("5x*" → (5,), variable), ("10*" → (), variable); ValueError if garbled."""
    if not arraysize:
        return (), False
    *dimensions, last = arraysize.split("x")
    variable = last.endswith("*")
    if not variable:
        dimensions.append(last)
    shape = tuple(int(dimension) for dimension in dimensions)
    if any(dimension < 1 for dimension in shape):
        raise ValueError(arraysize)
    return shape, variable


def _int(token: str) -> int:
    # TABLEDATA integers may be hexadecimal (VOTable 1.4, Definitions of Primitive Datatypes: 0x1F).
    return int(token, 16) if token.lstrip("+-")[:2].lower() == "0x" else int(token)


def _float32(value: float) -> float:
    try:
        return struct.unpack(">f", struct.pack(">f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _parse_item(datatype: str, token: str) -> _Value:
    if datatype == "bit":
        return "01".index(token)
    if datatype == "boolean":
        return _BOOLEAN_WORDS[token.lower()]
    if datatype in _INTEGERS:
        return _int(token)
    value = float(token)
    return _float32(value) if datatype in ("float", "floatComplex") else value


def _parse_items(datatype: str, text: str) -> list[_Value]:
    """The items of a TABLEDATA cell; ValueError (or KeyError) if the text is not of the datatype."""
    if datatype == "bit":
        return [_parse_item(datatype, token) for token in "".join(text.split())]
    values = [_parse_item(datatype, token) for token in text.split()]
    if datatype.endswith("Complex"):
        if len(values) % 2:
            raise ValueError(text)
        return [complex(real, imaginary) for real, imaginary in zip(values[::2], values[1::2], strict=True)]
    return values


def _null_value(datatype: str, text: str | None) -> int | float | None:
    if text is None or datatype not in _INTEGERS | _FLOATS:
        return None
    try:
        return _parse_item(datatype, text.strip())
    except ValueError:
        return None


def _float_text(datatype: str, value: float) -> str:
    """The shortest text that reads back as the same float or double (like repr)."""
    if datatype not in ("float", "floatComplex") or not math.isfinite(value):
        return repr(value)
    for digits in range(1, 9):
        text = f"{value:.{digits}g}"
        if _float32(float(text)) == value:
            return repr(float(text))
    return repr(float(f"{value:.9g}"))  # nine significant digits always read back as the same float


def _item_text(datatype: str, value: _Value) -> str:
    if value is None:
        return "?"  # a NULL boolean inside an array, as VOTable writes it
    if isinstance(value, complex):
        real, imaginary = _float_text(datatype, value.real), _float_text(datatype, value.imag)
        return f"{real}{'' if imaginary.startswith('-') else '+'}{imaginary}j"
    if isinstance(value, float):
        return _float_text(datatype, value)
    return str(value)


def _is_null(field: _Field, value: _Value) -> bool:
    if value is None:
        return True
    if isinstance(value, float | complex) and cmath.isnan(value):
        return True
    return not isinstance(value, bool) and value == field.null


def _cell(field: _Field, values: list[_Value]) -> str | None:
    """The display text of a cell's items: NULL for a NULL scalar, items joined by spaces for an array.

    An empty array is NULL, as an empty string is: TABLEDATA cannot tell them apart (VOTable 1.4,
    Null values), so a preview shows them alike in every serialization. Elements of an array are shown
    as they are (NaN as nan): the preview does not single out magic values inside one.
    """
    if field.scalar:
        value = values[0]
        return None if _is_null(field, value) else _item_text(field.datatype, value)
    return " ".join(_item_text(field.datatype, value) for value in values) or None


def _tabledata_cell(field: _Field, text: str) -> str | None:
    """A TD's display text: an empty TD is NULL (VOTable 1.4, TABLEDATA); text that does not read as
    the datatype is shown as the service sent it."""
    if field.datatype in _TEXT or field.datatype not in _DATATYPES:
        return text or None  # white space is part of a string (VOTable 1.4, TABLEDATA)
    stripped = text.strip()
    if not stripped:
        return None
    try:
        values = _parse_items(field.datatype, stripped)
    except (ValueError, KeyError):
        return stripped
    if field.scalar and len(values) != 1:
        return stripped
    try:
        return _cell(field, values)
    except ValueError:  # an integer too long for Python to print (over 4300 digits)
        return stripped[:200] + "…"


def _binary_items(datatype: str, raw: bytes, items: int) -> list[_Value]:
    if datatype == "bit":
        return [raw[index // 8] >> (7 - index % 8) & 1 for index in range(items)]
    if datatype == "boolean":
        return [_BOOLEAN_BYTES.get(byte) for byte in raw]  # NUL, space and "?" are NULL
    code = _STRUCT[datatype]
    values = struct.unpack(f">{len(raw) // struct.calcsize(code)}{code}", raw)
    if datatype.endswith("Complex"):
        return [complex(real, imaginary) for real, imaginary in zip(values[::2], values[1::2], strict=True)]
    return list(values)


def _string_cell(field: _Field, raw: bytes) -> str:
    """A char (ASCII, read as UTF-8) or unicodeChar (UCS-2 big-endian) cell; a string ends at its
    first NUL (the FITS rule: VOTable 1.4, Definitions of Primitive Datatypes)."""
    unit = _ITEM_BYTES[field.datatype]
    width = field.shape[0] * unit if field.strings else len(raw) or 1
    codec = "utf-16-be" if field.datatype == "unicodeChar" else "utf-8"
    strings = (raw[start : start + width].decode(codec, "replace") for start in range(0, len(raw), width))
    return " ".join(string.split("\0", 1)[0] for string in strings)


def _cell_bytes(datatype: str, items: int) -> int:
    return (items + 7) // 8 if datatype == "bit" else items * _ITEM_BYTES[datatype]


class _Stream:
    """The rows of a BINARY or BINARY2 STREAM (VOTable 1.4, BINARY and BINARY2 Serialization), decoded from base64 as
    its text arrives."""

    def __init__(self, fields: list[_Field], serialization: str) -> None:
        self.fields = fields
        self.serialization = serialization
        self.base64 = ""  # the characters after the last whole group of four
        self.bytes = bytearray()  # decoded, not yet read into rows

    def feed(self, text: str) -> None:
        characters = self.base64 + "".join(text.split())
        whole = len(characters) - len(characters) % 4
        self.base64 = characters[whole:]
        self._decode(characters[:whole])

    def finish(self) -> None:
        """Decode what is left at the end of the STREAM, padding and all."""
        if self.base64:
            self._decode(self.base64 + "=" * (-len(self.base64) % 4))
            self.base64 = ""

    def _decode(self, characters: str) -> None:
        try:
            self.bytes += binascii.a2b_base64(characters, strict_mode=True)
        except ValueError:  # binascii.Error, or characters that are not ASCII at all
            raise PreviewError(f"malformed {self.serialization} stream: it is not base64") from None

    def pending(self) -> bool:
        return bool(self.bytes or self.base64)

    def take(self, limit: int) -> list[tuple[str | None, ...]]:
        """Up to `limit` whole rows from the bytes decoded so far."""
        rows: list[tuple[str | None, ...]] = []
        position = 0
        while len(rows) < limit and (row := self._row(position)) is not None:
            cells, position = row
            rows.append(cells)
        del self.bytes[:position]
        return rows

    def _row(self, position: int) -> tuple[tuple[str | None, ...], int] | None:
        """The row at `position` and the position after it, or None if its bytes have not all come yet."""
        data = self.bytes
        flags = b""
        if self.serialization == "BINARY2":  # a NULL flag per column, most significant bit first
            size = (len(self.fields) + 7) // 8
            flags, position = bytes(data[position : position + size]), position + size
        spans = []
        for field in self.fields:
            items = field.items
            if field.variable:
                if position + 4 > len(data):
                    return None
                items *= int.from_bytes(data[position : position + 4], "big")
                position += 4
            end = position + _cell_bytes(field.datatype, items)
            spans.append((position, end, items))
            position = end
        if position > len(data):
            return None
        cells = tuple(
            None
            if flags and flags[index // 8] & (0x80 >> index % 8)
            else self._cell(field, bytes(data[start:end]), items)
            for index, (field, (start, end, items)) in enumerate(zip(self.fields, spans, strict=True))
        )
        return cells, position

    @staticmethod
    def _cell(field: _Field, raw: bytes, items: int) -> str | None:
        if field.datatype in _TEXT:
            return _string_cell(field, raw) or None
        return _cell(field, _binary_items(field.datatype, raw, items))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attribute(attrib: dict[str, str], name: str) -> str | None:
    return (attrib.get(name) or "").strip() or None


class _VOTableReader:
    """An lxml parser target that keeps the first TABLE's FIELDs and first rows, and the last
    QUERY_STATUS INFO, wherever it is; it never builds a tree."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.path: list[str] = []  # local names of the open elements
        self.table: str | None = None  # the first TABLE: None (not yet), "meta", "data", "ended"
        self.columns: list[Column] = []
        self.fields: list[_Field] = []
        self.field: dict[str, str] = {}  # the open FIELD's attributes; its DESCRIPTION and VALUES null by element name
        self.serialization: str | None = None
        self.stream: _Stream | None = None
        self.row: list[str] | None = None  # the open TR's TD texts
        self.rows: list[tuple[str | None, ...]] = []
        self.more_rows = False
        self.done = False  # enough read: the caller stops feeding
        self.collecting: str | None = None  # the element whose text is being kept
        self.text: list[str] = []
        self.query_status: str | None = None
        self.status_message: str | None = None

    def doctype(self, name: str, public_id: str | None, system_id: str | None) -> None:
        # No VOTable result needs a DTD; a DOCTYPE is how entity expansion attacks (billion
        # laughs) get in, and lxml expands internal entities for a parser target regardless.
        raise PreviewError("the result declares a DTD (<!DOCTYPE>), which a VOTable result never needs: refused")

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.done:
            return
        name = _local(tag)
        parent = self.path[-1] if self.path else None
        self.path.append(name)
        if parent is None and name != "VOTABLE":
            raise PreviewError(f"not a VOTable: the document is <{name}>")
        if name == "INFO" and _attribute(attrib, "name") == "QUERY_STATUS":
            self.query_status = (_attribute(attrib, "value") or "").upper() or None
            self._collect(name)
        elif name == "TABLE" and self.table is None:
            self.table = "meta"
        elif self.table == "meta":
            self._start_meta(name, parent, attrib)
        elif self.table == "data":
            self._start_data(name, parent, attrib)

    def _start_meta(self, name: str, parent: str | None, attrib: dict[str, str]) -> None:
        if name == "FIELD" and parent == "TABLE":
            self.field = dict(attrib)
        elif name == "DESCRIPTION" and parent == "FIELD":
            self._collect(name)
        elif name == "VALUES" and parent == "FIELD":
            self.field["VALUES"] = attrib.get("null") or ""
        elif name == "DATA" and parent == "TABLE":
            if not self.fields:
                raise PreviewError("the VOTable's table has data but no FIELD to read it with")
            self.table = "data"

    def _start_data(self, name: str, parent: str | None, attrib: dict[str, str]) -> None:
        if parent == "DATA":
            if name == "FITS":
                raise PreviewError("the table is serialised as FITS inside the VOTable, which has no preview")
            self.serialization = name
        elif name == "STREAM" and parent in ("BINARY", "BINARY2"):
            self.stream = self._open_stream(parent, attrib)
        elif name == "TR" and parent == "TABLEDATA":
            if len(self.rows) == self.max_rows:
                self.more_rows = self.done = True
            else:
                self.row = []
        elif name == "TD" and self.row is not None:
            self._collect(name)

    def _open_stream(self, serialization: str, attrib: dict[str, str]) -> _Stream:
        if _attribute(attrib, "href"):
            raise PreviewError("the table's data is in another file (STREAM href), which the preview does not fetch")
        if (_attribute(attrib, "encoding") or "").lower() != "base64":
            raise PreviewError(f"the {serialization} stream is not base64-encoded, which the preview cannot read")
        for field in self.fields:
            if field.datatype not in _DATATYPES:
                datatype = field.datatype or "(none)"
                raise PreviewError(f"a column of datatype {datatype} cannot be read in {serialization}")
        return _Stream(self.fields, serialization)

    def _collect(self, name: str) -> None:
        self.collecting = name
        self.text = []

    def data(self, text: str) -> None:
        if self.done:
            return
        if self.collecting:
            self.text.append(text)
        elif self.stream:
            self.stream.feed(text)
            self._take_rows(self.stream)

    def end(self, tag: str) -> None:
        if self.done:
            return
        name = self.path.pop()
        parent = self.path[-1] if self.path else None
        if name == self.collecting:
            self._end_text(name, "".join(self.text))
        elif name == "FIELD" and parent == "TABLE" and self.table == "meta":
            self._add_field()
        elif name == "TR" and self.row is not None:
            cells = [_tabledata_cell(field, text) for field, text in zip(self.fields, self.row, strict=False)]
            self.rows.append(tuple(cells + [None] * (len(self.fields) - len(cells))))
            self.row = None
        elif name == "STREAM" and self.stream:
            self._end_stream(self.stream)
        elif name == "TABLE" and self.table in ("meta", "data"):
            self.table = "ended"

    def _end_text(self, name: str, text: str) -> None:
        self.collecting = None
        if name == "INFO":
            self.status_message = text.strip() or None
        elif name == "DESCRIPTION":
            self.field["DESCRIPTION"] = text
        elif self.row is not None:
            self.row.append(text)

    def _add_field(self) -> None:
        attributes = {key: _attribute(self.field, key) for key in ("name", "datatype", "unit", "ucd", "arraysize")}
        column = Column(
            name=attributes["name"] or _attribute(self.field, "ID") or "",
            datatype=attributes["datatype"],
            unit=attributes["unit"],
            ucd=attributes["ucd"],
            arraysize=attributes["arraysize"],
            description=_attribute(self.field, "DESCRIPTION"),
        )
        try:
            shape, variable = _shape(column.arraysize)
        except ValueError:
            raise PreviewError(f"column {column.name}: arraysize {column.arraysize!r} is not valid") from None
        datatype = column.datatype or ""
        self.columns.append(column)
        self.fields.append(_Field(datatype, shape, variable, _null_value(datatype, self.field.get("VALUES"))))

    def _take_rows(self, stream: _Stream) -> None:
        self.rows += stream.take(self.max_rows - len(self.rows))
        if len(self.rows) == self.max_rows and stream.pending():
            self.more_rows = self.done = True

    def _end_stream(self, stream: _Stream) -> None:
        stream.finish()
        self._take_rows(stream)
        if not self.done and stream.bytes:
            raise PreviewError(f"malformed {stream.serialization} stream: it ends in the middle of a row")
        self.stream = None

    def close(self) -> None:
        """The end of a complete document (lxml requires the method of a parser target)."""

    def preview(self, *, more_rows: bool = False) -> Preview:
        return Preview(
            format="votable",
            serialization=self.serialization,
            columns=tuple(self.columns),
            rows=tuple(self.rows),
            more_rows=self.more_rows or more_rows,
            query_status=self.query_status,
            status_message=self.status_message,
        )


def _reason(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message, without lxml's "(<string>, line 1)"."""
    return (exc.msg or exc.__class__.__name__).splitlines()[0]


def read_votable(head: Head, max_rows: int) -> Preview:
    reader = _VOTableReader(max_rows)
    parser = etree.XMLParser(target=reader, **XML_HARDENING)
    for piece in head:
        try:
            parser.feed(piece)
        except etree.XMLSyntaxError as exc:
            raise PreviewError(f"not a VOTable: the result is not well-formed XML ({_reason(exc)})") from None
        if reader.done:
            return reader.preview()
    if head.read == 0:
        raise PreviewError(head.nothing_to_show() if head.late or head.broken else "the result is empty")
    if head.cut:
        if reader.table in (None, "meta"):
            raise PreviewError(head.nothing_to_show())
        return reader.preview(more_rows=reader.table == "data")
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        # The body ended before the document did: a dropped connection, or a service that died.
        if not reader.path:
            raise PreviewError(f"not a VOTable: the result is not well-formed XML ({_reason(exc)})") from None
        if not reader.rows and reader.table != "ended":
            raise PreviewError("the VOTable is cut short before its first row") from None
        return reader.preview(more_rows=reader.table != "ended")
    return reader.preview()
