"""A preview of a job's result: its column metadata and first rows, read from the head of the body.

A result may be gigabytes. `preview` consumes the body's chunks one at a time and stops as
soon as it has the rows it shows (or has read `max_bytes`), so a preview costs the same for
any size of result. Bytes in, a frozen `Preview` out: nothing here knows Django or the network.

What a preview does with a body it cannot read to the end:
- at `max_bytes`, or after `max_seconds` (a service that trickles its result), it gives the
  rows read by then, with `more_rows=True` (no rows if the first is larger than that); if
  what was read by then holds no table data, that is a `PreviewError`;
- a body that ends early (a dropped connection: its chunks end, or raise ConnectionError)
  gives the rows read so far, with `more_rows=True`; if it ends before the first row, that
  is a `PreviewError`;
- a body that is broken (not XML, bad base64, a BINARY row cut off inside a complete
  STREAM) is a `PreviewError`, whatever was read before it.
"""

from __future__ import annotations

import binascii
import cmath
import codecs
import csv
import math
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from lxml import etree

from .uws.parse import XML_HARDENING


@dataclass(frozen=True)
class Column:
    name: str
    datatype: str | None
    unit: str | None
    ucd: str | None
    arraysize: str | None
    description: str | None


@dataclass(frozen=True)
class Preview:
    format: str  # "votable", "csv" or "tsv"
    serialization: str | None  # "TABLEDATA", "BINARY" or "BINARY2" for a VOTable with data
    columns: tuple[Column, ...]
    rows: tuple[tuple[str | None, ...], ...]  # cells as display text; None is NULL
    more_rows: bool  # the result has, or may have, rows beyond these (or beyond the bytes read)
    query_status: str | None  # the last INFO name="QUERY_STATUS" read (DALI 1.1 §4.4)
    status_message: str | None  # that INFO's text

    @property
    def overflow(self) -> bool:
        """The service cut the result at its row limit (DALI 1.1 §4.4.1)."""
        return self.query_status == "OVERFLOW"


class PreviewError(ValueError):
    """The result cannot be previewed; the message says why in words a user understands."""


_PIECE = 64 * 1024  # bytes handed to a parser at a time, so reading stops soon after the last row shown
# A preview is a page someone waits for: a result that comes slower than this is shown as far as it came.
MAX_SECONDS = 30.0

_VOTABLE_TYPES = frozenset({"application/x-votable+xml", "application/votable+xml", "text/xml", "application/xml"})
_DELIMITED_TYPES = {"text/csv": "csv", "text/tab-separated-values": "tsv"}


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """The lower-cased media type and parameters of a Content-Type header."""
    media_type, *parameters = content_type.split(";")
    pairs = (parameter.partition("=") for parameter in parameters)
    return media_type.strip().lower(), {
        key.strip().lower(): value.strip().strip('"').lower() for key, _, value in pairs
    }


def previewable(content_type: str) -> str | None:
    """The preview a result of this content type gets ("votable", "csv", "tsv"), or None: download only.

    These are the types TAP 1.1 names for VOTable, CSV and TSV and those of DaCHS's FORMAT aliases (votable,
    votable/b2, votable/td, votable1.1, csv, csv_bare, tsv...); text/xml and application/xml
    are previewed when the body turns out to be a VOTable.
    """
    media_type, _ = _media_type(content_type)
    if media_type in _VOTABLE_TYPES:
        return "votable"
    return _DELIMITED_TYPES.get(media_type)


def preview(
    chunks: Iterable[bytes],
    content_type: str,
    *,
    max_rows: int = 100,
    max_bytes: int = 16 * 1024 * 1024,
    max_seconds: float | None = None,
) -> Preview:
    """The metadata and first `max_rows` rows of a result, read within `max_bytes` and `max_seconds`.

    The chunks are consumed lazily and left unfinished once the preview is complete: closing
    the response is the caller's job.
    """
    kind = previewable(content_type)
    if kind is None:
        raise PreviewError(f"a result of type {content_type.strip() or 'unknown'} has no preview: download it instead")
    head = _Head(chunks, max_bytes, MAX_SECONDS if max_seconds is None else max_seconds)
    if kind == "votable":
        return _read_votable(head, max_rows)
    _, parameters = _media_type(content_type)
    # TAP 1.1 (Successful Queries): CSV has a header line only when its type says header=present (DaCHS's
    # csv_bare has none); IANA's text/tab-separated-values always has one (DaCHS's tsv has not).
    header = parameters.get("header", "present" if kind == "tsv" else "absent") == "present"
    return _read_delimited(head, kind, header, max_rows)


class _Head:
    """The body's chunks up to `max_bytes` and `max_seconds`, cut into pieces small enough to stop early."""

    def __init__(self, chunks: Iterable[bytes], max_bytes: int, max_seconds: float) -> None:
        self._chunks = chunks
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.read = 0
        self.cut = False  # stopped at max_bytes or max_seconds, or broken off, with more of the body left
        self.late = False  # stopped at max_seconds
        self.broken = False  # the chunks raised ConnectionError

    def nothing_to_show(self) -> str:
        """Why what was read holds no table data."""
        if self.broken:
            return "the transfer broke off before the first row"
        if self.late:
            return f"the service sent too little of the result in {self.max_seconds:.0f} s to show any rows"
        return f"the first {self.max_bytes} bytes of the result hold no table data"

    def __iter__(self) -> Iterator[bytes]:
        deadline = time.monotonic() + self.max_seconds
        try:
            for chunk in self._chunks:
                if time.monotonic() > deadline:
                    self.cut = self.late = True
                    return
                for start in range(0, len(chunk), _PIECE):
                    piece = chunk[start : start + _PIECE]
                    room = self.max_bytes - self.read
                    if len(piece) > room:
                        self.cut = True
                        self.read += room
                        if room:
                            yield piece[:room]
                        return
                    self.read += len(piece)
                    yield piece
        except ConnectionError:
            self.cut = self.broken = True


# -- VOTable ------------------------------------------------------------------------------


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


def _read_votable(head: _Head, max_rows: int) -> Preview:
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


# -- CSV and TSV --------------------------------------------------------------------------


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines of text, ends kept, decoded as UTF-8 as the bytes arrive; bad bytes are replaced."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    parts: list[str] = []
    for chunk in chunks:
        *lines, rest = decoder.decode(chunk).split("\n")
        if lines:
            lines[0] = "".join(parts) + lines[0]
            parts = []
            yield from (line + "\n" for line in lines)
        parts.append(rest)
    tail = "".join(parts) + decoder.decode(b"", final=True)
    if tail:
        yield tail


def _header(records: Iterator[list[str]]) -> list[str] | None:
    # DaCHS writes the table's PARAMs as "# name = value // description" lines before the header.
    for record in records:
        if record and not record[0].startswith("#"):
            return record
    return None


def _read_delimited(head: _Head, kind: str, header: bool, max_rows: int) -> Preview:
    # IANA's text/tab-separated-values has no quoting: a quote is an ordinary character.
    dialect = {"delimiter": ","} if kind == "csv" else {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    records = csv.reader(_lines(head), **dialect)
    try:
        names = _header(records) if header else None
        rows = list(islice(records, max_rows + 1))
    except csv.Error as exc:
        raise PreviewError(f"malformed {kind.upper()}: {exc}") from None
    if head.read == 0:
        raise PreviewError(head.nothing_to_show() if head.late or head.broken else "the result is empty")
    if (head.late or head.broken) and not rows:
        raise PreviewError(head.nothing_to_show())
    more_rows = len(rows) > max_rows
    if head.cut and not more_rows:
        rows = rows[:-1]  # the last line read may be cut in half
        more_rows = True
    if names is None:
        if header:
            raise PreviewError(f"the {kind.upper()} result has no header line")
        names = [f"col{number}" for number in range(1, max(map(len, rows), default=0) + 1)]
    width = len(names)
    return Preview(
        format=kind,
        serialization=None,
        columns=tuple(Column(name, None, None, None, None, None) for name in names),
        rows=tuple(tuple(cell or None for cell in (row + [""] * width)[:width]) for row in rows[:max_rows]),
        more_rows=more_rows,
        query_status=None,
        status_message=None,
    )
