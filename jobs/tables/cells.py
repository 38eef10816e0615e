"""VOTable cells (VOTable 1.4, Definitions of Primitive Datatypes): what a FIELD says of its cells, and
their display text, read from a TABLEDATA TD or from the bytes of a BINARY or BINARY2 STREAM."""

from __future__ import annotations

import binascii
import cmath
import math
import struct
from dataclasses import dataclass

from .reading import PreviewError, Row

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
DATATYPES = frozenset(_ITEM_BYTES) | {"bit"}
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
class Field:
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


def parse_arraysize(arraysize: str | None) -> tuple[tuple[int, ...], bool]:
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


def null_value(datatype: str, text: str | None) -> int | float | None:
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


def _is_null(field: Field, value: _Value) -> bool:
    if value is None:
        return True
    if isinstance(value, float | complex) and cmath.isnan(value):
        return True
    return not isinstance(value, bool) and value == field.null


def _cell(field: Field, values: list[_Value]) -> str | None:
    """The display text of a cell's items: NULL for a NULL scalar, items joined by spaces for an array.

    An empty array is NULL, as an empty string is: TABLEDATA cannot tell them apart (VOTable 1.4,
    Null values), so a preview shows them alike in every serialization. Elements of an array are shown
    as they are (NaN as nan): the preview does not single out magic values inside one.
    """
    if field.scalar:
        value = values[0]
        return None if _is_null(field, value) else _item_text(field.datatype, value)
    return " ".join(_item_text(field.datatype, value) for value in values) or None


def tabledata_cell(field: Field, text: str) -> str | None:
    """A TD's display text: an empty TD is NULL (VOTable 1.4, TABLEDATA); text that does not read as
    the datatype is shown as the service sent it."""
    if field.datatype in _TEXT or field.datatype not in DATATYPES:
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


def _string_cell(field: Field, raw: bytes) -> str:
    """A char (ASCII, read as UTF-8) or unicodeChar (UCS-2 big-endian) cell; a string ends at its
    first NUL (the FITS rule: VOTable 1.4, Definitions of Primitive Datatypes)."""
    unit = _ITEM_BYTES[field.datatype]
    width = field.shape[0] * unit if field.strings else len(raw) or 1
    codec = "utf-16-be" if field.datatype == "unicodeChar" else "utf-8"
    strings = (raw[start : start + width].decode(codec, "replace") for start in range(0, len(raw), width))
    return " ".join(string.split("\0", 1)[0] for string in strings)


def _cell_bytes(datatype: str, items: int) -> int:
    return (items + 7) // 8 if datatype == "bit" else items * _ITEM_BYTES[datatype]


class BinaryStream:
    """The rows of a BINARY or BINARY2 STREAM (VOTable 1.4, BINARY and BINARY2 Serialization), decoded from base64 as
    its text arrives."""

    def __init__(self, fields: list[Field], serialization: str) -> None:
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

    def take(self, limit: int) -> list[Row]:
        """Up to `limit` whole rows from the bytes decoded so far."""
        rows: list[Row] = []
        position = 0
        while len(rows) < limit and (row := self._row(position)) is not None:
            cells, position = row
            rows.append(cells)
        del self.bytes[:position]
        return rows

    def _row(self, position: int) -> tuple[Row, int] | None:
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
    def _cell(field: Field, raw: bytes, items: int) -> str | None:
        if field.datatype in _TEXT:
            return _string_cell(field, raw) or None
        return _cell(field, _binary_items(field.datatype, raw, items))
