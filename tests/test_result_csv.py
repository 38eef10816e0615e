"""Results as CSV: the VOTable reader of the preview, read to the end, with a CSV writer; astropy is the oracle."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

import numpy as np
import pytest
from astropy.io.votable import tree
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.tables import Column, PreviewError, stream
from jobs.tables.cells import Field, parse_arraysize
from jobs.tables.tabledata import plain_csv
from jobs.tables.writers import csv_chunks
from tests.test_result_preview import serve, votable
from tests.test_tables import _astropy_votable, _chunks, _oracle

VOTABLE = "application/x-votable+xml"


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def _as_csv(chunks: Iterable[bytes]) -> bytes:
    return b"".join(csv_chunks(stream(chunks, VOTABLE, csv=True)))


def _value(column: Column, text: str | None) -> object:
    """A cell as the CSV promises it: numbers by value (a float's as a float32), NULL as None, other text as text."""
    if not text or column.arraysize:
        return text or None
    if column.datatype in ("unsignedByte", "short", "int", "long"):
        return int(text)
    if column.datatype in ("float", "double"):
        value = float(text)
        return value if column.datatype == "double" else np.float32(value)
    return text


def _values(columns: list[Column], rows: Iterable[Iterable[str | None]]) -> list[tuple[object, ...]]:
    return [tuple(_value(column, cell) for column, cell in zip(columns, row, strict=True)) for row in rows]


@pytest.mark.parametrize("size", [7, 64 * 1024])
@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_the_csv_has_astropys_columns_and_rows(serialization, size):
    data = _astropy_votable(serialization)
    columns, rows = _oracle(data)

    records = _read_csv(_as_csv(_chunks(data, size)))

    assert records[0] == [column.name for column in columns]
    assert len(records) - 1 == len(rows)
    assert _values(columns, records[1:]) == _values(columns, rows)


def _plain_votable(fields: str, rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        f"<RESOURCE><TABLE>{fields}<DATA><TABLEDATA>\n{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    ).encode()


_PLAIN_FIELDS = (
    '<FIELD name="id" datatype="long"/><FIELD name="ra" datatype="double"/>'
    '<FIELD name="mag" datatype="float"/><FIELD name="name" datatype="char" arraysize="*"/>'
)


def _oracle_table(rows: int) -> bytes:
    """A table astropy writes whose TABLEDATA goes to CSV as written: numbers with no NULL, and text."""
    votable = tree.VOTableFile()
    resource = tree.Resource()
    votable.resources.append(resource)
    table = tree.TableElement(votable)
    resource.tables.append(table)
    for name, datatype in (("id", "long"), ("ra", "double"), ("mag", "float"), ("flux", "int")):
        table.fields.append(tree.Field(votable, name=name, datatype=datatype))
    table.fields.append(tree.Field(votable, name="name", datatype="char", arraysize="*"))
    table.create_arrays(rows)
    for index in range(rows):
        table.array[index] = (index - 3, index * 0.1 - 7.25, 1 / (index + 3), -(index**2), f"obj {index}")
    out = io.BytesIO()
    votable.to_xml(out)
    # astropy puts each TD on a line of its own; services write a row to a line, the form read in bulk.
    head, _, rest = out.getvalue().partition(b"<TABLEDATA>")
    rows, _, tail = rest.partition(b"</TABLEDATA>")
    rows = re.sub(rb">\s+<", b"><", rows.strip()).replace(b"</TR><TR>", b"</TR>\n<TR>")
    return head + b"<TABLEDATA>\n" + rows + b"\n</TABLEDATA>" + tail


def test_a_plain_table_goes_to_csv_as_written_with_astropys_values():
    data = _oracle_table(3000)
    columns, rows = _oracle(data)

    records = _read_csv(_as_csv(_chunks(data, 64 * 1024)))

    assert records[0] == [column.name for column in columns]
    assert _values(columns, records[1:]) == _values(columns, rows)
    assert plain_csv(data[data.index(b"<TR>") : data.index(b"</TABLEDATA>")], _fields(columns)) is not None


def _fields(columns: list[Column]) -> list[Field]:
    return [Field(column.datatype, *parse_arraysize(column.arraysize), None) for column in columns]


def test_numbers_keep_the_services_text():
    rows = "<TR><TD>+5</TD><TD>1.50</TD><TD>1E3</TD><TD>a b</TD></TR>\n" * 3

    assert _as_csv([_plain_votable(_PLAIN_FIELDS, rows)]) == b"id,ra,mag,name\r\n" + b"+5,1.50,1E3,a b\r\n" * 3


_ROW = "<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>x</TD></TR>\n"


@pytest.mark.parametrize(
    "row",
    [
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>a &amp; b</TD></TR>", id="entity"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>a, b</TD></TR>", id="comma"),
        pytest.param('<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>say "hi"</TD></TR>', id="quote"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>a\r\nb</TD></TR>", id="carriage-return"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>a\nb</TD></TR>", id="line-feed"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>a\tb</TD></TR>", id="tab"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD><![CDATA[<x>]]></TD></TR>", id="cdata"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>x<!-- c --></TD></TR>", id="comment"),
        pytest.param('<TR><TD>1</TD><TD ref="r">2.5</TD><TD>3.25</TD><TD>x</TD></TR>', id="attribute"),
        pytest.param("<TR><TD>1</TD><TD/><TD>3.25</TD><TD>x</TD></TR>", id="empty-element"),
        pytest.param("<TR><TD> 1</TD><TD>2.5 </TD><TD>3.25</TD><TD>x</TD></TR>", id="padded"),
        pytest.param("<TR><TD>0x1F</TD><TD>2.5</TD><TD>3.25</TD><TD>x</TD></TR>", id="hexadecimal"),
        pytest.param("<TR><TD>1</TD><TD>NaN</TD><TD>3.25</TD><TD>x</TD></TR>", id="nan"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>-Infinity</TD><TD>x</TD></TR>", id="infinity"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>nAn</TD><TD>x</TD></TR>", id="nan-any-case"),
        pytest.param("<TR><TD>1_000</TD><TD>2.5</TD><TD>3.25</TD><TD>x</TD></TR>", id="underscore"),
        pytest.param("<TR><TD>\u0661</TD><TD>2.5</TD><TD>3.25</TD><TD>é</TD></TR>", id="not-ascii"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD></TR>", id="fewer-cells"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>x</TD><TD>y</TD></TR>", id="more-cells"),
        pytest.param("<TR><TD>1</TD><TD>2.5</TD><TD>3.25</TD><TD>x</TD></TR><!-- c -->", id="between-rows"),
    ],
)
def test_rows_that_need_reading_are_read_as_before(row):
    """Each of these in a piece of rows sends the piece to the exact reading: the same CSV as without `csv`."""
    data = _plain_votable(_PLAIN_FIELDS, (_ROW * 5 + row + "\n") * 3 + _ROW)

    exact = b"".join(csv_chunks(stream([data], VOTABLE)))

    assert _as_csv([data]) == exact


def _big_tabledata(rows: int) -> Iterator[bytes]:
    """A VOTable of `rows` rows, made as it is read (about 60 bytes a row)."""
    yield (
        b'<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        b'<RESOURCE type="results"><TABLE><FIELD name="id" datatype="long"/><FIELD name="ra" datatype="double"/>'
        b'<FIELD name="name" datatype="char" arraysize="*"/><DATA><TABLEDATA>'
    )
    for start in range(0, rows, 1000):
        yield "".join(
            f"<TR><TD>{n}</TD><TD>{n * 0.001}</TD><TD>obj-{n}</TD></TR>" for n in range(start, start + 1000)
        ).encode()
    yield b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"


def test_a_large_result_is_converted_in_constant_memory():
    tracemalloc.start()
    try:
        written = rows = 0
        # About 3 MB of VOTable, 30 times the reader's piece: enough for a leak to show (tracemalloc is slow).
        for piece in csv_chunks(stream(_big_tabledata(50_000), VOTABLE, csv=True)):
            written += len(piece)
            rows += piece.count(b"\r\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == 50_001  # the header and every row
    assert written > 1_000_000
    assert peak < 1024 * 1024


def test_a_votable_cut_short_breaks_the_conversion_off():
    data = b"".join(_big_tabledata(3000))
    table = stream([data[: len(data) // 2]], VOTABLE)
    with pytest.raises(PreviewError, match="before the end of its document"):
        b"".join(csv_chunks(table))


def test_an_error_document_is_refused_before_any_row():
    with pytest.raises(PreviewError, match="reports an error instead of rows: no such table"):
        stream([_error().encode()], VOTABLE)


def _error() -> str:
    return (
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
        '<INFO name="QUERY_STATUS" value="ERROR">no such table</INFO></RESOURCE></VOTABLE>'
    )


# -- the view ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_result_is_downloaded_as_csv(fake):
    serve(fake, votable(150), VOTABLE)
    response = Client().get("/fake/async/j1/results/result/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert response["Content-Disposition"] == 'attachment; filename="j1-result.csv"'
    records = _read_csv(b"".join(response.streaming_content))
    assert records[0] == ["id", "ra", "note"]
    assert len(records) == 151
    assert records[2] == ["2", "1.0", "<b>n2</b>"] and records[1] == ["1", "0.5", ""]


@pytest.mark.django_db
def test_the_preview_offers_the_csv(fake):
    serve(fake, votable(3), VOTABLE)
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert 'href="/fake/async/j1/results/result/csv" download>as CSV</a>' in page


@pytest.mark.django_db
def test_a_result_that_is_no_table_is_a_409_in_words(fake):
    serve(fake, "SIMPLE  =                    T", "application/fits")
    response = Client().get("/fake/async/j1/results/result/csv")
    assert response.status_code == 409
    assert "A result of type application/fits is not a table." in response.content.decode()


@pytest.mark.django_db
def test_a_result_the_reader_refuses_is_a_502_in_words(fake):
    serve(fake, "<html>oops</html>", "text/xml")
    response = Client().get("/fake/async/j1/results/result/csv")
    assert response.status_code == 502
    assert "The result cannot be read: not a VOTable: the document is &lt;html&gt;" in response.content.decode()


@pytest.mark.django_db
def test_an_error_document_is_a_502_that_quotes_it(fake):
    serve(fake, _error(), VOTABLE)
    response = Client().get("/fake/async/j1/results/result/csv")
    assert response.status_code == 502
    assert "reports an error instead of rows: no such table" in response.content.decode()


_KINDS = {
    "int": st.one_of(
        st.integers(-(2**31), 2**31 - 1).map(str),
        st.sampled_from(["+5", "007", "-0", " 5", "5 ", "0x1F", "1_000", "\u0661", ""]),
    ),
    "double": st.one_of(
        st.floats(width=64).map(repr),
        st.floats(allow_nan=False, allow_infinity=False).map("{:.3E}".format),
        st.sampled_from(["NaN", "nan", "-Infinity", "inf", "1e400", "1.50", " 2.5", "2.5 ", "1_0.5", ""]),
    ),
    "float": st.one_of(
        st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["NaN", "+Inf", "0.100000001", "1.50", ""]),
    ),
    "char": st.one_of(
        st.text(alphabet='abTDR/x, é"&<>\t\n', max_size=8).map(escape),
        st.sampled_from(["<![CDATA[a<b]]>", "x<!-- c -->", ""]),
    ),
}


@st.composite
def _tabledata(draw: st.DrawFn) -> bytes:
    kinds = draw(st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=4))
    fields = "".join(
        f'<FIELD name="c{index}" datatype="{kind}" arraysize="{"*" if kind == "char" else ""}"/>'
        for index, kind in enumerate(kinds)
    )
    between = draw(st.sampled_from(["\n", "", "\n  ", "\n<!-- c -->\n"]))
    rows = draw(st.lists(st.tuples(*(_KINDS[kind] for kind in kinds)), min_size=1, max_size=40))
    empty = draw(st.sampled_from(["<TD></TD>", "<TD/>"]))
    return _plain_votable(
        fields, between.join("<TR>" + "".join(f"<TD>{c}</TD>" if c else empty for c in row) + "</TR>" for row in rows)
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tabledata(), st.sampled_from([7, 256, 64 * 1024]))
def test_rows_written_as_they_came_have_the_values_of_the_rows_read(data, size):
    exact = b"".join(csv_chunks(stream(_chunks(data, size), VOTABLE)))

    written = _as_csv(_chunks(data, size))

    columns = list(stream([data], VOTABLE).columns)
    assert _values(columns, _read_csv(written)[1:]) == _values(columns, _read_csv(exact)[1:])
