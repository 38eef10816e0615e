"""The result preview against astropy's VOTable reader (the oracle), real results, and hostile bodies."""

from __future__ import annotations

import base64
import io
import itertools
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io.votable import parse, tree

from jobs.tables import Column, Preview, PreviewError, preview, previewable
from tests.faultuws import billion_laughs_doctype

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"the shared samples are not at {SHARED} (they live in ../shared beside the repo)"
)
VOTABLE = "application/x-votable+xml"
CSV = "text/csv;header=present"
CHUNK_SIZES = [7, 64 * 1024]


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _votable(table: str, *, around: str = "", namespace: str = "http://www.ivoa.net/xml/VOTable/v1.3") -> bytes:
    """A VOTable 1.4 document whose RESOURCE holds `table` (and `around`, before it)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<VOTABLE version="1.4" xmlns="{namespace}">'
        f'<RESOURCE type="results">{around}{table}</RESOURCE></VOTABLE>'
    ).encode()


def _binary2(fields: str, stream: bytes) -> bytes:
    encoded = base64.encodebytes(stream).decode()  # lines of 76 characters, as services write them
    return _table(fields, f'<BINARY2><STREAM encoding="base64">{encoded}</STREAM></BINARY2>')


def _table(fields: str, data: str) -> bytes:
    return _votable(f"<TABLE>{fields}<DATA>{data}</DATA></TABLE>")


def _tabledata(fields: str, rows: list[list[str]]) -> bytes:
    trs = "".join("<TR>" + "".join(f"<TD>{cell}</TD>" for cell in row) + "</TR>" for row in rows)
    return _table(fields, f"<TABLEDATA>{trs}</TABLEDATA>")


# -- astropy as the oracle ------------------------------------------------------------------

FIELDS = [
    dict(name="id", datatype="int", ucd="meta.id;meta.main", null=-2147483648, description="Object id"),
    dict(name="flags", datatype="short", null=-1),
    dict(name="big", datatype="long"),
    dict(name="byte", datatype="unsignedByte"),
    dict(name="mag", datatype="float", unit="mag", ucd="phot.mag"),
    dict(name="ra", datatype="double", unit="deg"),
    dict(name="ok", datatype="boolean"),
    dict(name="name", datatype="char", arraysize="*"),
    dict(name="code", datatype="char", arraysize="5"),
    dict(name="label", datatype="unicodeChar", arraysize="*"),
    dict(name="glyph", datatype="unicodeChar", arraysize="3"),
    dict(name="rgb", datatype="float", arraysize="3"),
    dict(name="hits", datatype="int", arraysize="*"),
    dict(name="matrix", datatype="double", arraysize="2x3"),
    dict(name="pairs", datatype="short", arraysize="2x*"),
    dict(name="z", datatype="doubleComplex"),
    dict(name="zf", datatype="floatComplex"),
    dict(name="bits", datatype="bit", arraysize="10"),
    dict(name="votes", datatype="boolean", arraysize="3"),
    dict(name="blob", datatype="unsignedByte", arraysize="*"),
]
ROWS = [
    (1, 7, 2**62, 255, 14.9, 70.56, True, "obj-0001", "ab", "héllo ☃", "αβγ", [0.1, 2.5, -3.0], [1, 2, 3],
     [[1.5, 2.0], [3.0, 4.0], [5.0, 6.25]], [[1, 2], [3, 4], [5, 6]], 1 + 2j, 3 - 4j,
     [True, True, False, True, False, False, False, False, False, True], [True, False, True], [0, 1, 254]),
    (2, -1, -(2**63) + 1, 0, np.nan, -1e-300, False, "", "abcde", "", "x", [np.nan, 0.0, 1e-5], [], [[0.0] * 2] * 3,
     np.zeros((0, 2)), np.nan + 0j, 0j, [False] * 10, [False, False, False], []),
    (-2147483648, 0, 0, 16, 1e20, -0.0, True, "a b", "", "z", "", [1e-45, 3.4028235e38, -1.0], [-7], [[1e300] * 2] * 3,
     [[-9, 9]], -0.5j, 1.5 + 0j, [True] * 10, [True, True, True], [7]),
]  # fmt: skip
MASKED = {(1, "ok"), (2, "mag")}  # cells that are NULL without a magic value or a NaN
# astropy holds an arraysize="2x3" cell as numpy shape (3, 2): the first dimension varies fastest.


NUMPY_TYPES = {"unsignedByte": np.uint8, "short": np.int16, "int": np.int32, "float": np.float32, "double": np.float64}


def _astropy_value(spec: dict, value: object) -> object:
    """A ROWS value as astropy writes it: a variable-length array must be a masked array, with a mask
    per element and the numpy type of the datatype (astropy writes the bytes of whatever it gets)."""
    if not spec.get("arraysize", "").endswith("*") or spec["datatype"] in ("char", "unicodeChar"):
        return value
    return np.ma.array(value, dtype=NUMPY_TYPES[spec["datatype"]], mask=np.zeros(np.shape(value), bool))


def _astropy_votable(serialization: str) -> bytes:
    """ROWS as astropy writes them in `serialization` ("tabledata", "binary" or "binary2")."""
    votable = tree.VOTableFile()
    resource = tree.Resource()
    votable.resources.append(resource)
    table = tree.TableElement(votable)
    resource.tables.append(table)
    for spec in FIELDS:
        spec = dict(spec)
        null, description = spec.pop("null", None), spec.pop("description", None)
        field = tree.Field(votable, **spec)
        field.values.null = null
        field.description = description
        table.fields.append(field)
    table.create_arrays(len(ROWS))
    for index, row in enumerate(ROWS):
        table.array[index] = tuple(_astropy_value(spec, value) for spec, value in zip(FIELDS, row, strict=True))
    for index, name in MASKED:
        table.array.mask[index][name] = True
    table.format = serialization
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable.to_xml(out)
    return out.getvalue()


def _oracle_item(datatype: str, item: object) -> str:
    if datatype == "bit":
        return str(int(item))
    if isinstance(item, np.complexfloating):
        real, imaginary = str(item.real), str(item.imag)  # numpy's shortest repr of each part
        return f"{real}{'' if imaginary.startswith('-') else '+'}{imaginary}j"
    return str(item)  # numpy's shortest repr for float32 and float64; True/False


def _oracle_cell(datatype: str, value: object, masked: object) -> str | None:
    """What the preview must show for a cell astropy read."""
    if isinstance(value, str):
        return value or None  # empty and NULL strings are one (VOTable 1.4, Null values)
    if np.ndim(value) == 0:
        if value is np.ma.masked or bool(masked):
            return None
        if np.issubdtype(type(value), np.inexact) and np.isnan(value):
            return None
        return _oracle_item(datatype, value)
    return " ".join(_oracle_item(datatype, item) for item in np.ravel(np.ma.getdata(value))) or None


def _oracle(data: bytes) -> tuple[list[Column], list[tuple[str | None, ...]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(data)).get_first_table()
    columns = [
        Column(
            name=field.name,
            datatype=field.datatype,
            unit=None if field.unit is None else str(field.unit),
            ucd=field.ucd,
            arraysize=field.arraysize,
            description=field.description,
        )
        for field in table.fields
    ]
    rows = [
        tuple(
            _oracle_cell(field.datatype, table.array[field.name][index], table.array.mask[field.name][index])
            for field in table.fields
        )
        for index in range(len(table.array))
    ]
    return columns, rows


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_it_reads_what_astropy_reads(serialization, size):
    data = _astropy_votable(serialization)
    columns, rows = _oracle(data)

    result = preview(_chunks(data, size), VOTABLE)

    assert result.serialization == serialization.upper()
    assert list(result.columns) == columns
    assert list(result.rows) == rows
    assert result.more_rows is False


def test_it_shows_the_nulls_nans_and_arrays_of_the_oracle_table():
    result = preview([_astropy_votable("binary2")], VOTABLE)

    assert result.rows[0][:8] == ("1", "7", str(2**62), "255", "14.9", "70.56", "True", "obj-0001")
    assert result.rows[0][9:12] == ("héllo ☃", "αβγ", "0.1 2.5 -3.0")
    assert result.rows[0][13:] == (
        "1.5 2.0 3.0 4.0 5.0 6.25",
        "1 2 3 4 5 6",
        "1.0+2.0j",
        "3.0-4.0j",
        "1 1 0 1 0 0 0 0 0 1",
        "True False True",
        "0 1 254",
    )
    assert result.rows[1][1] is None  # VALUES null="-1"
    assert result.rows[1][4] is None  # NaN
    assert result.rows[1][6] is None  # BINARY2 NULL flag
    assert result.rows[1][11] == "nan 0.0 1e-05"  # a NaN inside an array is shown
    assert result.rows[1][12] is None  # an empty array
    assert result.rows[2][0] is None  # VALUES null="-2147483648"
    assert result.rows[2][11] == "1e-45 3.4028235e+38 -1.0"


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_it_reads_the_first_rows_as_astropy_does(serialization, size):
    data = _astropy_votable(serialization)
    _, rows = _oracle(data)

    result = preview(_chunks(data, size), VOTABLE, max_rows=2)

    assert list(result.rows) == rows[:2]
    assert result.more_rows is True


# -- hand-made VOTables for what astropy does not write --------------------------------------


def test_it_reads_binary2_nulls():
    fields = (
        '<FIELD name="a" datatype="int"/><FIELD name="b" datatype="char" arraysize="*"/>'
        '<FIELD name="c" datatype="double"/><FIELD name="d" datatype="short" arraysize="2"/>'
    )
    row = struct.pack(">i", 5) + struct.pack(">i", 2) + b"hi" + struct.pack(">d", 1.5) + struct.pack(">2h", 1, 2)
    nulls = struct.pack(">i", 0) + struct.pack(">i", 0) + struct.pack(">d", 0.0) + struct.pack(">2h", 0, 0)
    stream = b"\x00" + row + b"\xf0" + nulls + b"\x50" + row  # flags: none; all four; b and d

    result = preview([_binary2(fields, stream)], VOTABLE)

    assert result.rows == (("5", "hi", "1.5", "1 2"), (None, None, None, None), ("5", None, "1.5", None))


def test_it_reads_binary_nulls_from_values_null_and_nan():
    fields = (
        '<FIELD name="a" datatype="int"><VALUES null="-99"/></FIELD><FIELD name="b" datatype="float"/>'
        '<FIELD name="c" datatype="unsignedByte"><VALUES null="0xff"/></FIELD><FIELD name="d" datatype="boolean"/>'
    )
    stream = struct.pack(">ifB", -99, float("nan"), 255) + b"?" + struct.pack(">ifB", 3, 0.5, 0) + b"t"
    data = _votable(
        f'<TABLE>{fields}<DATA><BINARY><STREAM encoding="base64">'
        f"{base64.b64encode(stream).decode()}</STREAM></BINARY></DATA></TABLE>"
    )

    assert preview([data], VOTABLE).rows == ((None, None, None, None), ("3", "0.5", "0", "True"))


def test_it_reads_a_scalar_bit_from_the_most_significant_bit():
    # VOTable 1.4 (Definitions of Primitive Datatypes): bits are packed from the most significant
    # one. (astropy 8 writes a scalar bit as 0x08, which is why it is not the oracle here.)
    fields = '<FIELD name="a" datatype="bit"/><FIELD name="b" datatype="bit" arraysize="*"/>'
    stream = b"\x00\x80" + struct.pack(">i", 11) + b"\xa0\x20" + b"\x00\x7f" + struct.pack(">i", 0)

    assert preview([_binary2(fields, stream)], VOTABLE).rows == (("1", "1 0 1 0 0 0 0 0 0 0 1"), ("0", None))


def test_it_reads_strings_up_to_their_first_nul_and_strings_of_2d_char_arrays():
    fields = (
        '<FIELD name="a" datatype="char" arraysize="6"/><FIELD name="b" datatype="char" arraysize="3x2"/>'
        '<FIELD name="c" datatype="unicodeChar" arraysize="2x*"/>'
    )
    stream = b"\x00" + b"ab\0zzz" + b"x\0\0yz\0" + struct.pack(">i", 2) + "é\0☃ω".encode("utf-16-be")

    assert preview([_binary2(fields, stream)], VOTABLE).rows == (("ab", "x yz", "é ☃ω"),)


def test_it_reads_tabledata_as_the_standard_writes_it():
    fields = (
        '<FIELD name="a" datatype="short"/><FIELD name="b" datatype="unsignedByte" arraysize="*"/>'
        '<FIELD name="c" datatype="boolean" arraysize="4"/><FIELD name="d" datatype="char" arraysize="*"/>'
        '<FIELD name="e" datatype="bit" arraysize="4"/><FIELD name="f" datatype="float"/>'
        '<FIELD name="g" datatype="double"/>'
    )
    rows = [
        ["+0x1F", "0xff 0x0A 7", "tRUe F ? 0", "  padded  ", "1 0\n1 1", "+Inf", "-1.5E+3"],
        ["-12", "", "", "", "0000", "NaN", "0.1"],
    ]

    result = preview([_tabledata(fields, rows)], VOTABLE)

    assert result.rows == (
        ("31", "255 10 7", "True False ? False", "  padded  ", "1 0 1 1", "inf", "-1500.0"),
        ("-12", None, None, None, "0 0 0 0", None, "0.1"),
    )


def test_it_shows_a_cell_that_is_not_of_its_datatype_as_sent():
    fields = '<FIELD name="a" datatype="int"/><FIELD name="b" datatype="double"/><FIELD name="c" datatype="decimal"/>'

    result = preview([_tabledata(fields, [[" n/a ", "1 2", "3.50"]])], VOTABLE)

    assert result.rows == (("n/a", "1 2", "3.50"),)


def test_it_pads_short_rows_and_drops_extra_cells():
    fields = '<FIELD name="a" datatype="int"/><FIELD name="b" datatype="int"/>'

    result = preview([_tabledata(fields, [["1"], ["1", "2", "3"]])], VOTABLE)

    assert result.rows == (("1", None), ("1", "2"))


@pytest.mark.parametrize(
    "namespace",
    ["http://www.ivoa.net/xml/VOTable/v1.1", "http://www.ivoa.net/xml/VOTable/v1.3", "urn:whatever", ""],
)
def test_it_matches_elements_by_local_name_in_any_namespace(namespace):
    data = _tabledata('<FIELD name="a" datatype="int"/>', [["1"]]).replace(
        b'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"', f'xmlns="{namespace}"'.encode() if namespace else b""
    )

    assert preview([data], VOTABLE).rows == (("1",),)


def test_it_matches_prefixed_elements():
    data = (
        b'<v:VOTABLE xmlns:v="http://www.ivoa.net/xml/VOTable/v1.2" version="1.2"><v:RESOURCE><v:TABLE>'
        b'<v:FIELD name="a" datatype="int"><v:DESCRIPTION> The a </v:DESCRIPTION></v:FIELD>'
        b"<v:DATA><v:TABLEDATA><v:TR><v:TD>4</v:TD></v:TR></v:TABLEDATA></v:DATA></v:TABLE></v:RESOURCE></v:VOTABLE>"
    )

    result = preview([data], "text/xml")

    assert result.columns == (Column("a", "int", None, None, None, "The a"),)
    assert result.rows == (("4",),)


def test_it_reads_the_first_table_only():
    first = '<TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE>'
    second = '<TABLE><FIELD name="b" datatype="char" arraysize="*"/><DATA><TABLEDATA><TR><TD>x</TD></TR></TABLEDATA>'
    data = _votable(first + second + "</DATA></TABLE>")

    result = preview([data], VOTABLE)

    assert [column.name for column in result.columns] == ["a"]
    assert result.rows == (("1",),)


# -- QUERY_STATUS (DALI 1.1 §4.4) -----------------------------------------------------------


def test_it_keeps_the_last_query_status():
    table = '<TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE>'
    data = _votable(
        table + '<INFO name="QUERY_STATUS" value="OVERFLOW">row limit reached</INFO>',
        around='<INFO name="QUERY_STATUS" value="OK">Query successful</INFO>',
    )

    result = preview(_chunks(data, 7), VOTABLE)

    assert (result.query_status, result.status_message, result.overflow) == ("OVERFLOW", "row limit reached", True)


def test_it_reports_only_the_query_status_it_read():
    # The trailing OVERFLOW comes after rows the preview does not read.
    rows = "".join(f"<TR><TD>{number}</TD></TR>" for number in range(50))
    table = f'<TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>'
    data = _votable(
        table + '<INFO name="QUERY_STATUS" value="OVERFLOW"/>', around='<INFO name="QUERY_STATUS" value="OK"/>'
    )

    result = preview([data], VOTABLE, max_rows=10)

    assert (result.query_status, result.overflow, result.more_rows) == ("OK", False, True)


def test_it_previews_an_error_votable_without_a_table():
    data = (
        b'<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
        b'<INFO name="QUERY_STATUS" value="ERROR">Table portaltest.nope does not exist</INFO></RESOURCE></VOTABLE>'
    )

    result = preview([data], VOTABLE)

    assert result == Preview("votable", None, (), (), False, "ERROR", "Table portaltest.nope does not exist")


# -- reading only the head --------------------------------------------------------------------

TEN_GB = 10 * 1024**3


def _endless(header: bytes, rows: Iterator[bytes], *, allowed: int) -> Iterator[bytes]:
    """A "10 GB" body made as it is read; it fails the test if read past `allowed` bytes."""
    sent = len(header)
    yield header
    while sent < TEN_GB:
        chunk = b"".join(itertools.islice(rows, 3000))
        sent += len(chunk)
        if sent > allowed:
            raise AssertionError(f"the preview read {sent} bytes of a {TEN_GB}-byte result")
        yield chunk


def _tabledata_rows() -> Iterator[bytes]:
    return (b"<TR><TD>%d</TD><TD>obj-%d</TD></TR>" % (number, number) for number in itertools.count())


def _binary2_rows() -> Iterator[bytes]:
    # Three rows (15 bytes) to a group of base64, so that the stream needs no padding.
    for number in itertools.count(0, 3):
        yield base64.b64encode(b"".join(b"\x00" + struct.pack(">i", number + offset) for offset in range(3)))


ENDLESS = {
    "tabledata": (
        b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="id" datatype="int"/>'
        b'<FIELD name="name" datatype="char" arraysize="*"/><DATA><TABLEDATA>',
        _tabledata_rows,
        VOTABLE,
    ),
    "binary2": (
        b'<VOTABLE version="1.4"><RESOURCE><TABLE><FIELD name="id" datatype="int"/>'
        b'<DATA><BINARY2><STREAM encoding="base64">',
        _binary2_rows,
        VOTABLE,
    ),
    "csv": (b"id,name\r\n", lambda: (b"%d,obj-%d\r\n" % (n, n) for n in itertools.count()), "text/csv;header=present"),
}


@pytest.mark.parametrize("kind", ENDLESS)
def test_it_reads_only_the_head_of_a_huge_result(kind):
    header, rows, content_type = ENDLESS[kind]
    body = _endless(header, rows(), allowed=1024 * 1024)

    result = preview(body, content_type, max_rows=1000)

    assert len(result.rows) == 1000
    assert result.rows[-1][0] == "999"
    assert result.more_rows is True


def test_it_stops_at_max_bytes():
    header, rows, content_type = ENDLESS["tabledata"]

    result = preview(_endless(header, rows(), allowed=10 * 1024 * 1024), content_type, max_bytes=4096)

    assert 0 < len(result.rows) < 4096 // len(b"<TR><TD>0</TD><TD>obj-0</TD></TR>")
    assert result.more_rows is True


def test_it_says_no_more_rows_when_the_table_ends_at_max_rows():
    data = _tabledata('<FIELD name="a" datatype="int"/>', [["1"], ["2"]])

    assert preview([data], VOTABLE, max_rows=2).more_rows is False
    assert preview([data], VOTABLE, max_rows=1).more_rows is True


def test_it_gives_the_columns_only_for_max_rows_zero():
    result = preview([_astropy_votable("binary2")], VOTABLE, max_rows=0)

    assert len(result.columns) == len(FIELDS)
    assert (result.rows, result.more_rows) == ((), True)


@pytest.mark.parametrize("serialization", ["tabledata", "binary2"])
def test_it_returns_the_rows_read_before_the_body_was_cut_short(serialization):
    data = _astropy_votable(serialization)
    _, rows = _oracle(data)
    start, end = data.index(b"<DATA>"), data.index(b"</DATA>")
    cut = data[: end - (end - start) // 3]  # in the last of three rows

    result = preview(_chunks(cut, 7), VOTABLE)

    assert 0 < len(result.rows) < len(rows)
    assert list(result.rows) == rows[: len(result.rows)]
    assert result.more_rows is True


def test_it_refuses_a_body_cut_short_before_the_first_row():
    data = _astropy_votable("tabledata")
    cut = data[: data.index(b"<TR>") + 10]

    with pytest.raises(PreviewError, match="cut short before its first row"):
        preview([cut], VOTABLE)


def test_it_refuses_max_bytes_without_table_data():
    data = _votable("<TABLE>" + '<FIELD name="a" datatype="int"/>' * 1000 + "</TABLE>")

    with pytest.raises(PreviewError, match="first 1024 bytes of the result hold no table data"):
        preview([data], VOTABLE, max_bytes=1024)


# -- real results --------------------------------------------------------------------------


def _http_sample(name: str) -> tuple[str, bytes]:
    """The Content-Type and body of a `curl -i` capture.

    Every result capture has a Content-Length and no Transfer-Encoding (checked here, so that a
    chunk-encoded capture fails loudly rather than feeding chunk sizes to the preview).
    """
    head, _, body = (SHARED / "dachs-samples" / name).read_bytes().partition(b"\r\n\r\n")
    headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    headers = {key.strip().lower().decode(): value.strip().decode() for key, value in headers.items()}
    assert "transfer-encoding" not in headers
    assert int(headers["content-length"]) == len(body)
    return headers["content-type"], body


@needs_shared
@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize(
    ("name", "serialization"),
    [("21-result-votable-binary.http", "BINARY"), ("30-result-votable-tabledata.http", "TABLEDATA")],
)
def test_it_reads_dachs_results_as_astropy_does(name, serialization, size):
    content_type, body = _http_sample(name)
    columns, rows = _oracle(body)

    result = preview(_chunks(body, size), content_type)

    assert (result.format, result.serialization) == ("votable", serialization)
    assert list(result.columns) == columns
    assert list(result.rows) == rows
    assert (result.query_status, result.status_message, result.more_rows) == ("OK", "Query successful", False)


@needs_shared
def test_it_reads_the_dachs_tabledata_result():
    content_type, body = _http_sample("30-result-votable-tabledata.http")

    result = preview([body], content_type)

    assert result.columns[2] == Column("ra", "double", "deg", "pos.eq.ra;meta.main", None, "Right ascension")
    assert result.rows == (
        ("99", "obj-0099", "70.56", "41.0", "14.9", None),
        ("100", "obj-0100", "71.28", "78.0", "10.0", "every hundredth"),
        ("101", "obj-0101", "72.0", "-46.0", "10.1", None),
    )


@needs_shared
def test_it_reads_the_dachs_csv_result():
    content_type, body = _http_sample("31-result-csv.http")

    result = preview(_chunks(body, 7), content_type)

    assert result.format == "csv"
    assert [column.name for column in result.columns] == ["id", "name", "ra", "dec", "mag", "note"]
    assert result.rows[1] == ("100", "obj-0100", "71.28", "78.0", "10.0", "every hundredth")
    assert result.rows[0][5] is None
    assert (len(result.rows), result.more_rows, result.query_status) == (3, False, None)


@needs_shared
def test_it_reports_the_dachs_overflow_after_the_table():
    content_type, body = _http_sample("33-result-overflow.http")

    result = preview(_chunks(body, 7), content_type)

    assert result.rows == (("1",), ("2",), ("3",), ("4",))
    assert (result.query_status, result.overflow, result.more_rows) == ("OVERFLOW", True, False)


@needs_shared
@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("pyvo/query_overflowstatus.xml", "OVERFLOW", None),
        ("pyvo/query_errorstatus.xml", "ERROR", "ERROR"),
        ("pyvo/query_rootinfo.xml", "OK", "OK"),
    ],
)
def test_it_reads_query_status_wherever_it_is(path, status, message):
    body = (SHARED / "uws-corpus" / path).read_bytes()
    columns, rows = _oracle(body)

    result = preview(_chunks(body, 7), VOTABLE)

    assert (result.query_status, result.status_message) == (status, message)
    assert (list(result.columns), list(result.rows)) == (columns, rows)


@needs_shared
def test_it_reads_an_error_document_without_a_resource():
    body = (SHARED / "uws-corpus" / "lsst-sqre_safir" / "safir_error_votable.xml").read_bytes()

    result = preview([body], "application/xml")

    assert (result.columns, result.rows, result.query_status) == ((), (), "ERROR")
    assert result.status_message.startswith("Error: Whoops")


@needs_shared
@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("name", ["esac_result_BINARY2.vot", "gaia_result_TABLEDATA.vot"])
def test_it_reads_esa_results_as_astropy_does(name, size):
    body = (SHARED / "uws-corpus" / "astroquery" / name).read_bytes()
    columns, rows = _oracle(body)

    result = preview(_chunks(body, size), VOTABLE)

    assert result.serialization == "BINARY2"  # the Gaia one too, whatever its name says
    assert list(result.columns) == columns
    assert list(result.rows) == rows


# -- CSV and TSV -----------------------------------------------------------------------------


def test_it_reads_csv_with_quotes_newlines_and_dachs_param_comments():
    body = (
        b"# RA = 10.5 // the centre, in degrees\r\n"
        b'id,"name, full",note\r\n1,"obj ""one""","two\r\nlines"\r\n2,x,\r\n3\r\n'
    )

    result = preview(_chunks(body, 7), "text/csv; header=present")

    assert [column.name for column in result.columns] == ["id", "name, full", "note"]
    assert result.rows == (("1", 'obj "one"', "two\r\nlines"), ("2", "x", None), ("3", None, None))


@pytest.mark.parametrize(
    "content_type", ["text/csv", "text/csv;header=absent", "text/tab-separated-values;header=absent"]
)
def test_it_names_the_columns_of_a_table_without_a_header_line(content_type):
    # TAP 1.1 (Successful Queries): a plain text/csv (DaCHS's csv_bare) has no header line.
    body = b"1,a\n2,b,c\n" if "csv" in content_type else b"1\ta\n2\tb\tc\n"

    result = preview([body], content_type)

    assert [column.name for column in result.columns] == ["col1", "col2", "col3"]
    assert result.rows == (("1", "a", None), ("2", "b", "c"))


def test_it_reads_tsv_with_its_header_line_and_without_quoting():
    result = preview([b'id\tname\n1\t"quoted"\n2\tit\'s\n'], "text/tab-separated-values")

    assert result.format == "tsv"
    assert [column.name for column in result.columns] == ["id", "name"]
    assert result.rows == (("1", '"quoted"'), ("2", "it's"))


def test_it_replaces_bytes_that_are_not_utf8():
    result = preview([b"\xef\xbb\xbfname\n", "caf\u00e9".encode()[:-1], b"\n\xffok\n"], CSV)

    assert result.columns[0].name == "name"
    assert result.rows == (("caf\ufffd",), ("\ufffdok",))


def test_it_stops_csv_at_max_rows():
    body = b"a\n" + b"".join(b"%d\n" % number for number in range(10))

    assert preview([body], CSV, max_rows=10).more_rows is False
    result = preview([body], CSV, max_rows=3)
    assert (result.rows, result.more_rows) == ((("0",), ("1",), ("2",)), True)


def test_it_drops_the_csv_line_cut_in_half_at_max_bytes():
    body = b"a,b\n" + b"".join(b"%d,%d\n" % (number, number) for number in range(100, 200))

    result = preview(_chunks(body, 7), CSV, max_bytes=30)  # 4 + 3 * 8 bytes + 2 of the next line

    assert result.rows == (("100", "100"), ("101", "101"), ("102", "102"))
    assert result.more_rows is True


# -- content types, garbage and attacks ------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/x-votable+xml", "votable"),
        ("application/x-votable+xml;serialization=BINARY2", "votable"),
        ("Application/X-VOTable+XML; serialization=TABLEDATA; version=1.1", "votable"),
        ("application/votable+xml", "votable"),
        ("text/xml", "votable"),
        ("application/xml; charset=utf-8", "votable"),
        ("text/csv", "csv"),
        ("text/csv;header=present", "csv"),
        ("text/tab-separated-values", "tsv"),
        ("application/json", None),
        ("application/geo+json", None),
        ("text/plain", None),
        ("text/html", None),
        ("application/fits", None),
        ("", None),
    ],
)
def test_it_knows_the_content_types_of_tap_and_dachs(content_type, kind):
    assert previewable(content_type) == kind


def test_it_refuses_an_unsupported_content_type_without_reading():
    def body():
        raise AssertionError("read a body it cannot preview")
        yield b""

    with pytest.raises(PreviewError, match="application/fits has no preview: download it"):
        preview(body(), "application/fits")


INT = '<FIELD name="a" datatype="int"/>'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the result is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a VOTable: the result is not well-formed XML"),
        (b"<html><body><p>Service unavailable</body></html>", "not a VOTable: the document is <html>"),
        (b'<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0"/>', "not a VOTable: the document is <job>"),
        (b"<VOTABLE><RESOURCE><TABLE></RESOURCE></VOTABLE>", "not well-formed XML"),
        (b"<VOTABLE><RESOURCE", "cut short before its first row"),
        (b'<?xml version="1.0"?>', "not a VOTable: the result is not well-formed XML"),
        (_binary2(INT, b"\x00\x00\x00\x00\x01\x00\x00"), "ends in the middle of a row"),
        (_table(INT, '<BINARY2><STREAM encoding="base64">AA*!AAAA</STREAM></BINARY2>'), "not base64"),
        (_votable('<TABLE><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE>'), "no FIELD"),
        (_votable('<TABLE><FIELD name="a" datatype="int" arraysize="2xy"/></TABLE>'), "arraysize '2xy' is not valid"),
        (_table(INT, '<FITS extnum="1"/>'), "FITS"),
        (_table(INT, '<BINARY><STREAM href="http://x/y"/></BINARY>'), "STREAM href"),
        (_table(INT, '<BINARY><STREAM encoding="gzip">x</STREAM></BINARY>'), "not base64-encoded"),
        (
            _table('<FIELD name="a" datatype="decimal"/>', '<BINARY2><STREAM encoding="base64"/></BINARY2>'),
            "datatype decimal cannot be read in BINARY2",
        ),
    ],
)  # fmt: skip
def test_it_refuses_garbage(body, message):
    with pytest.raises(PreviewError, match=message):
        preview(_chunks(body, 7), VOTABLE)


def test_it_refuses_malformed_csv():
    with pytest.raises(PreviewError, match="malformed CSV: field larger than field limit"):
        preview([b"a\n" + b"x" * 200_000], CSV)


def test_it_refuses_an_empty_csv_and_one_without_a_header():
    with pytest.raises(PreviewError, match="empty"):
        preview([], CSV)
    with pytest.raises(PreviewError, match="no header line"):
        preview([b"# only a comment\n"], CSV)


BILLION_LAUGHS = ('<?xml version="1.0"?>' + billion_laughs_doctype("VOTABLE") + "\n").encode() + (
    b"""<VOTABLE><RESOURCE><INFO name="QUERY_STATUS" value="ERROR">&lol9;</INFO><TABLE>
<FIELD name="a" datatype="char" arraysize="*"/><DATA><TABLEDATA><TR><TD>&lol9;</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>"""
)


def test_it_refuses_billion_laughs_without_expanding():
    with pytest.raises(PreviewError, match="DOCTYPE") as error:
        preview(_chunks(BILLION_LAUGHS, 7), VOTABLE)

    assert "lollol" not in str(error.value)


def test_it_refuses_external_entities_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t-token")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE VOTABLE [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        f'<VOTABLE><RESOURCE><INFO name="QUERY_STATUS" value="ERROR">&xxe;</INFO></RESOURCE></VOTABLE>'
    ).encode()

    with pytest.raises(PreviewError, match="DOCTYPE") as error:
        preview([data], VOTABLE)

    assert "s3cr3t" not in str(error.value)


def test_it_refuses_an_undeclared_entity():
    data = b'<VOTABLE><RESOURCE><INFO name="QUERY_STATUS" value="ERROR">&xxe;</INFO></RESOURCE></VOTABLE>'

    with pytest.raises(PreviewError, match="not well-formed XML"):
        preview([data], VOTABLE)
