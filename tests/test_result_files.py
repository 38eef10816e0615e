"""The files behind the rows: links in the preview, and a download script written as the result streams through."""

from __future__ import annotations

import subprocess
import tracemalloc
from collections.abc import Iterator

import pytest
from django.test import Client

from jobs.tables import Column, stream
from jobs.tables.access import NoFiles, download_script, http_url, row_links
from tests.test_result_preview import serve

VOTABLE = "application/x-votable+xml"
DATALINK = "application/x-votable+xml;content=datalink"
HEAD = (
    '<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
    '<RESOURCE type="results"><TABLE>'
    '<FIELD name="obs_id" datatype="char" arraysize="*"/>'
    '<FIELD name="access_url" datatype="char" arraysize="*" ucd="meta.ref.url"/>'
    '<FIELD name="access_format" datatype="char" arraysize="*"/>'
    '<FIELD name="access_estsize" datatype="long" unit="kbyte"/>'
    "<DATA><TABLEDATA>"
)
TAIL = "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
ROWS = [
    ("a", "https://data.example.org/files/a.fits", "application/fits", "1000"),
    ("b", "https://data.example.org/dl?ID=ivo://x/b&amp;RESPONSEFORMAT=votable", DATALINK, "2000"),
    ("c", "ftp://data.example.org/c.fits", "application/fits", "5"),
    ("d", "javascript:alert(1)", "text/html", ""),
    ("e", "", "application/fits", ""),
    ("f", "http://data.example.org/it's/f.fits", "application/fits", "500"),
]


def obscore(rows: list[tuple[str, ...]]) -> str:
    trs = "".join("<TR>" + "".join(f"<TD>{cell}</TD>" for cell in row) + "</TR>" for row in rows)
    return HEAD + trs + TAIL


def test_only_http_and_https_urls_are_links():
    assert http_url("https://example.org/x") == "https://example.org/x"
    assert http_url("HTTP://example.org/x") == "HTTP://example.org/x"
    for text in ("ftp://example.org/x", "javascript:alert(1)", "https:///x", "http://a b/", "http://a/\nrm", None):
        assert http_url(text) is None


def test_a_column_is_a_link_by_its_ucd_or_its_name():
    columns = (
        Column("preview", "char", None, "meta.ref.url;meta.preview", "*", None),
        Column("ACCESS_URL", "char", None, None, "*", None),
        Column("access_format", "char", None, None, "*", None),
        Column("url_text", "char", None, "meta.note", "*", None),
    )
    links = row_links(columns, (("https://a/p.png", "https://a/dl", DATALINK, "https://a/n"),))
    assert [link and (link.url, link.datalink) for link in links[0]] == [
        ("https://a/p.png", False),
        ("https://a/dl", True),
        None,
        None,
    ]


def script(rows: list[tuple[str, ...]]) -> str:
    return b"".join(download_script(stream([obscore(rows).encode()], VOTABLE), "result r of job j")).decode()


def test_the_script_has_one_curl_line_per_http_file_and_the_total_size():
    text = script(ROWS)
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    curls = [line for line in lines if line.startswith("curl ")]
    assert curls == [
        "curl -fL -o 000001-a.fits https://data.example.org/files/a.fits",
        "curl -fL -o 000002-dl.datalink.xml"
        " 'https://data.example.org/dl?ID=ivo://x/b&RESPONSEFORMAT=votable'  # DataLink",
        "curl -fL -o 000006-f.fits 'http://data.example.org/it'\"'\"'s/f.fits'",
    ]
    assert "# 3 files, 1 of them DataLink documents" in lines
    assert "# access_estsize in all: 3.5 MB (3500 kB)" in lines
    assert "# 3 rows without an http or https URL left out" in lines


def test_the_script_is_a_valid_shell_script():
    checked = subprocess.run(["sh", "-n"], input=script(ROWS), text=True, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_a_result_without_urls_has_no_script():
    plain = HEAD.replace('name="access_url"', 'name="url"').replace(' ucd="meta.ref.url"', "") + TAIL
    with pytest.raises(NoFiles):
        download_script(stream([plain.encode()], VOTABLE), "r")


def _big_obscore(rows: int) -> Iterator[bytes]:
    yield HEAD.encode()
    for start in range(0, rows, 1000):
        yield "".join(
            f"<TR><TD>o{n}</TD><TD>https://data.example.org/files/{n}.fits</TD>"
            f"<TD>application/fits</TD><TD>{n % 1000}</TD></TR>"
            for n in range(start, start + 1000)
        ).encode()
    yield TAIL.encode()


def test_the_script_of_100000_rows_is_written_in_constant_memory():
    tracemalloc.start()
    try:
        lines = 0
        last = b""
        for piece in download_script(stream(_big_obscore(100_000), VOTABLE), "a large result"):
            lines += piece.count(b"curl -fL -o ")
            last = piece
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lines == 100_000
    assert last.endswith(b"# 100000 files\n# access_estsize in all: 50.0 GB (49950000 kB)\n")
    assert peak < 1024 * 1024  # the VOTable is about 10 MB, the script about 9 MB


# -- the views ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_shows_urls_as_links_and_says_which_are_datalink(fake):
    serve(fake, obscore(ROWS), VOTABLE)
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert '<a href="https://data.example.org/files/a.fits" rel="noreferrer">https://data.example.org' in page
    assert (
        '<a href="https://data.example.org/dl?ID=ivo://x/b&amp;RESPONSEFORMAT=votable" rel="noreferrer">'
        '<span class="datalink">DataLink:</span>'
    ) in page
    assert 'href="ftp:' not in page and 'href="javascript:' not in page
    assert "<td>ftp://data.example.org/c.fits</td>" in page
    assert 'href="/fake/async/j1/results/result/script" download>Download script' in page


@pytest.mark.django_db
def test_the_script_is_downloaded(fake):
    serve(fake, obscore(ROWS), VOTABLE)
    response = Client().get("/fake/async/j1/results/result/script")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="j1-result-files.sh"'
    text = b"".join(response.streaming_content).decode()
    assert "# The files behind the rows of result result of job j1 on Fake service, one curl line each." in text
    assert text.count("\ncurl -fL -o ") == 3


@pytest.mark.django_db
def test_a_result_without_urls_offers_no_script_and_refuses_one_in_words(fake):
    serve(fake, obscore(ROWS).replace("access_url", "url").replace(' ucd="meta.ref.url"', ""), VOTABLE)
    assert "Download script" not in Client().get("/fake/async/j1/results/result/preview").content.decode()
    response = Client().get("/fake/async/j1/results/result/script")
    assert response.status_code == 409
    assert "There is no download script: the result has no column of file URLs" in response.content.decode()
