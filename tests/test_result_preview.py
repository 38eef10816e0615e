"""The preview page: the first rows of a result, read from its head only."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fakeuws import job_xml

pytestmark = pytest.mark.django_db

VOTABLE = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">
<INFO name="QUERY_STATUS" value="OK"/>
<TABLE><FIELD name="id" datatype="int" ucd="meta.id"/><FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra"/>
<FIELD name="note" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>
<INFO name="QUERY_STATUS" value="{status}">{message}</INFO>
</RESOURCE></VOTABLE>"""


def votable(count: int, status: str = "OK", message: str = "") -> str:
    rows = "".join(
        f"<TR><TD>{n}</TD><TD>{n * 0.5}</TD><TD>{'' if n % 2 else f'<b>n{n}</b>'}</TD></TR>"
        for n in range(1, count + 1)
    )
    return VOTABLE.format(
        rows=rows.replace("<b>", "&lt;b&gt;").replace("</b>", "&lt;/b&gt;"), status=status, message=message
    )


def serve(fake, body: str, content_type: str, maxrec: str = "") -> None:
    results = f'<uws:result id="result" xlink:href="{fake.url}/tap/async/j1/results/result"/>'
    document = job_xml(job_id="j1", phase="COMPLETED", results=results)
    if maxrec:
        document = document.replace(
            "</uws:parameters>", f'<uws:parameter id="MAXREC">{maxrec}</uws:parameter></uws:parameters>'
        )
    fake.reply("GET", "/tap/async/j1", body=document)
    fake.reply("GET", "/tap/async/j1/results/result", body=body, headers={"Content-Type": content_type})


def test_it_shows_columns_with_units_ucds_and_the_first_rows(fake):
    serve(fake, votable(150), "application/x-votable+xml")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert '>ra<span class="visually-hidden">, sort ascending</span></a></th>' in page
    assert "[deg]" in page and "pos.eq.ra" in page and "double" in page
    assert "The first 100 rows (the result has more)" in page
    assert '<td class="num">100</td>' in page and '<td class="num">101</td>' not in page
    assert "&lt;b&gt;n2&lt;/b&gt;" in page  # cell text is escaped
    assert '<span class="muted">null</span>' in page


def test_the_number_of_rows_can_be_chosen_up_to_1000(fake):
    serve(fake, votable(1200), "application/x-votable+xml")
    page = Client().get("/fake/async/j1/results/result/preview", {"rows": "5000"}).content.decode()
    assert "The first 1000 rows" in page
    page = Client().get("/fake/async/j1/results/result/preview", {"rows": "3"}).content.decode()
    assert "The first 3 rows" in page


def test_an_overflow_is_a_warning_with_the_limit(fake):
    serve(fake, votable(3, status="OVERFLOW"), "application/x-votable+xml", maxrec="3")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert "Row limit reached:" in page and "MAXREC = 3 rows" in page


def test_csv_is_previewed(fake):
    serve(fake, "id,name\n1,obj-0001\n2,obj-0002\n", "text/csv;header=present")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert '>name<span class="visually-hidden">' in page and "<td>obj-0002</td>" in page
    assert '<td class="num">2</td>' in page  # a CSV column of numbers is right-aligned too


def test_the_previewed_rows_sort_by_any_column_numbers_as_numbers_and_empty_cells_last(fake):
    serve(fake, "id,name\n9,b\n10,a\n,c\n1,d\n", "text/csv;header=present")
    client = Client()

    def ids(**query) -> list[str]:
        page = client.get("/fake/async/j1/results/result/preview", query).content.decode()
        body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        cells = [row.split("</td>", 1)[0] for row in body.split("<tr>")[1:]]
        return ["null" if "null" in cell else cell.rsplit(">", 1)[-1] for cell in cells]

    assert ids() == ["9", "10", "null", "1"]
    assert ids(sort=0) == ["1", "9", "10", "null"]
    assert ids(sort=0, order="desc") == ["10", "9", "1", "null"]
    assert ids(sort=1) == ["10", "9", "null", "1"]  # by name: a, b, c, d
    assert ids(sort=99) == ["9", "10", "null", "1"]  # no such column: the result's own order
    page = client.get("/fake/async/j1/results/result/preview", {"sort": 0}).content.decode()
    assert 'aria-sort="ascending"' in page


def test_other_formats_are_for_download_only(fake):
    serve(fake, "SIMPLE  =                    T", "application/fits")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert "offered for download only" in page
    assert 'href="/fake/async/j1/results/result" download' in page


def test_an_error_document_in_place_of_the_result_is_said_to_be_one(fake):
    serve(fake, votable(0, status="ERROR", message="File not found"), "text/xml")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert "The service reports an error instead of rows" in page and "File not found" in page


def test_garbage_is_explained_not_raised(fake):
    serve(fake, "<html>oops</html>", "text/xml")
    response = Client().get("/fake/async/j1/results/result/preview")
    assert response.status_code == 200
    assert "cannot be previewed" in response.content.decode()


def test_only_the_head_of_a_large_result_is_read(fake):
    rows = "".join(f"<TR><TD>{n}</TD><TD>1</TD><TD>x</TD></TR>" for n in range(200_000))  # about 7 MB
    serve(fake, VOTABLE.format(rows=rows, status="OK", message=""), "application/x-votable+xml")
    sent = []
    original = fake.routes[("GET", "/tap/async/j1/results/result")]

    def counting(request):
        sent.append(request)
        return original

    fake.route("GET", "/tap/async/j1/results/result", counting)
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert "The first 100 rows (the result has more)" in page
    assert len(sent) == 1
