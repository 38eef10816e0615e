import pytest

from jobs.adql_errors import error_position, error_spot

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
    spot = error_spot("(line:1, col:8)", QUERY)
    assert spot.lines[0].segments == (("SELECT ", False), ("F", True), ("ROM", False))
    assert spot.lines[1].segments == (("WHERE nonsense", False),)
    assert error_spot("line 1, col 7", "SELECT").lines[0].segments == (("SELECT", False), (" ", True))  # past the end
    assert spot.describe() == "The service points at line 1, column 8 of the query, marked here:"


def marked_text(spot) -> list[str]:
    return ["".join(text for text, marked in line.segments if marked) for line in spot.lines]


def test_it_marks_a_vollt_range():
    spot = error_spot(
        "Incorrect ADQL query: 1 unresolved identifiers: nosuchcol [l.1 c.8 - l.1 c.17]!\n"
        '  - Unknown column "nosuchcol" !',
        "SELECT nosuchcol FROM demo.stars",
    )
    assert marked_text(spot) == ["nosuchcol"]
    assert spot.describe() == "The service points at line 1, columns 8\u201316 of the query, marked here:"


def test_it_marks_a_range_across_lines():
    spot = error_spot("bad [l.1 c.8 - l.2 c.6]", "SELECT a,\n  bcd FROM t")
    assert marked_text(spot) == ["a,", "  bcd"]
    assert "line 1, column 8 to line 2, column 5" in spot.describe()


def test_it_reads_vollt_single_positions_and_position_lists():
    assert error_position('Encountered "FROM" at l.1, c.8', "SELECT FROM t") == (1, 8)
    spot = error_spot("2 problems: (1, 8, 'x'), (2, 1, 'WHERE')", "SELECT x\nWHERE y")
    assert marked_text(spot) == ["x", "WHERE"]
    assert spot.describe() == "The service points at 2 places in the query, marked here:"


def test_a_token_without_a_position_is_found_in_the_query_and_said_so():
    spot = error_spot('Incorrect ADQL query:  Encountered "SELEC". Was expecting: "SELECT" ', "SELEC TOP 5 * FROM t")
    assert marked_text(spot) == ["SELEC"]
    assert spot.token == "SELEC" and "its first occurrence" in spot.describe()
    end = error_spot('Encountered "<EOF>". Was expecting one of: "("', "SELECT id FROM t WHERE")
    assert end.start == (1, 23) and "the end is marked" in end.describe()
    assert error_spot('Encountered "nowhere"', "SELECT 1") is None


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
