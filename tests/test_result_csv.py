"""Results as CSV: the VOTable reader of the preview, read to the end, with a CSV writer; astropy is the oracle."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator

import pytest
from django.test import Client

from jobs.tables import PreviewError, stream
from jobs.tables.writers import csv_chunks
from tests.test_result_preview import serve, votable
from tests.test_tables import _astropy_votable, _chunks, _oracle

VOTABLE = "application/x-votable+xml"


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


@pytest.mark.parametrize("size", [7, 64 * 1024])
@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_the_csv_has_astropys_columns_and_rows(serialization, size):
    data = _astropy_votable(serialization)
    columns, rows = _oracle(data)

    records = _read_csv(b"".join(csv_chunks(stream(_chunks(data, size), VOTABLE))))

    assert records[0] == [column.name for column in columns]
    assert len(records) - 1 == len(rows)
    assert [tuple(cell or None for cell in record) for record in records[1:]] == rows


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
        for piece in csv_chunks(stream(_big_tabledata(50_000), VOTABLE)):
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
