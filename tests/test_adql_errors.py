import pytest

from jobs.adql_errors import QueryLine, error_position, marked_query

QUERY = "SELECT FROM\nWHERE nonsense"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Could not parse your query: Expected select list, found 'F'  (at char 7), (line:1, col:8)", (1, 8)),
        ("Syntax error at line 2, column 7", (2, 7)),
        ('Encountered "nonsense" at line 2 column 7.', (2, 7)),
        ("error (at char 12)", (2, 1)),
        ("Could not locate table 'portaltest.nosuchtable'", None),
        ("line 9, col 1", None),
        ("line 1, col 99", None),
    ],
)
def test_it_finds_the_spot_the_message_names(message, expected):
    assert error_position(message, QUERY) == expected


def test_it_marks_the_character_at_the_spot():
    lines = marked_query(QUERY, (1, 8))
    assert lines[0] == QueryLine(1, "SELECT ", "F", "ROM")
    assert lines[1] == QueryLine(2, "WHERE nonsense", "", "")
    assert marked_query("SELECT", (1, 7))[0].marked == " "  # just past the end


DALI = (
    '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="ERROR">{}</INFO></RESOURCE></VOTABLE>'
)
ERROR_SUMMARY = '<uws:errorSummary type="fatal"><uws:message>{}</uws:message></uws:errorSummary>'


@pytest.mark.django_db
def test_the_job_page_marks_the_spot_and_offers_to_resubmit(fake):
    from django.test import Client

    from tests.fakeuws import job_xml

    message = "Could not parse your query: Expected select list, found 'F'  (at char 7), (line:1, col:8)"
    fake.reply(
        "GET",
        "/tap/async/e1",
        body=job_xml(job_id="e1", phase="ERROR", query=QUERY, error=ERROR_SUMMARY.format(message)),
    )
    page = Client().get("/fake/async/e1").content.decode()
    assert "SELECT <mark>F</mark>ROM" in page
    assert "line 1, column 8" in page
    assert 'href="/fake/?resubmit=e1#new-query"' in page


@pytest.mark.django_db
def test_the_error_page_marks_the_spot_too(fake):
    from django.test import Client

    from tests.fakeuws import job_xml

    fake.reply("GET", "/tap/async/e1/error", body=DALI.format("Syntax error at line 2, column 7"))
    fake.reply("GET", "/tap/async/e1", body=job_xml(job_id="e1", phase="ERROR", query=QUERY))
    page = Client().get("/fake/async/e1/error").content.decode()
    assert "WHERE <mark>n</mark>onsense" in page


@pytest.mark.django_db
def test_resubmit_fills_the_new_query_form_with_the_failed_query(fake):
    from django.test import Client

    from tests.fakeuws import job_xml

    fake.reply("GET", "/tap/async/e1", body=job_xml(job_id="e1", phase="ERROR", query="SELECT TOP 3 a < b FROM t"))
    page = Client().get("/fake/", {"resubmit": "e1"}).content.decode()
    assert "SELECT TOP 3 a &lt; b FROM t</textarea>" in page
    assert "holds the query of job e1" in page
