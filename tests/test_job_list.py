"""A service's job list through the portal: filters, pages, order and links."""

from __future__ import annotations

import pytest

from tests.helpers import text

pytestmark = pytest.mark.django_db


def jobs_xml(count: int) -> str:
    refs = "".join(
        f'<uws:jobref id="job{n:05d}" xlink:href="x/job{n:05d}"><uws:phase>COMPLETED</uws:phase>'
        f"<uws:creationTime>2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z</uws:creationTime></uws:jobref>"
        for n in range(count)
    )
    return (
        '<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1">{refs}</uws:jobs>'
    )


def test_job_list_passes_filters_and_pages_newest_first(client, fake):
    fake.reply("GET", "/tap/async", body=jobs_xml(120))
    response = client.get(
        "/fake/async", {"PHASE": ["completed", "ERROR"], "after": "2026-01-01T00:00:00+01:00", "LAST": "120"}
    )
    assert response.status_code == 200
    assert [request.query for request in fake.requests] == [
        {"PHASE": [phase], "AFTER": ["2025-12-31T23:00:00Z"], "LAST": ["120"]} for phase in ("COMPLETED", "ERROR")
    ]
    page = text(response)
    assert "120 jobs, page 1 of 3" in page
    assert page.index("job00119") < page.index("job00070")
    assert "job00069" not in page
    second = text(client.get("/fake/async", {"LAST": "120", "page": "2"}))
    assert "job00069" in second and "job00119" not in second


@pytest.mark.parametrize(
    "query", [{"PHASE": "RUNNING"}, {"AFTER": "yesterday"}, {"LAST": "-1"}, {"LAST": "x"}, {"page": "0"}]
)
def test_bad_list_filters_are_refused_without_a_request(client, fake, query):
    response = client.get("/fake/async", query)
    assert response.status_code == 400
    assert fake.requests == []


def test_job_list_links_by_the_href_when_the_jobref_id_is_not_the_job_id(client, fake):
    fake.reply(
        "GET",
        "/tap/async",
        body='<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<uws:jobref id="2014-06-03T15:33:29:4235" xlink:href="https://h/uws/query/335912448787925">'
        "<uws:phase>COMPLETED</uws:phase></uws:jobref>"
        '<uws:jobref id="bad id"><uws:phase>ERROR</uws:phase></uws:jobref></uws:jobs>',
    )
    page = text(client.get("/fake/async"))
    assert 'href="/fake/async/335912448787925"' in page
    assert "(2014-06-03T15:33:29:4235)" in page
    assert "<code>bad id</code>" in page and 'href="/fake/async/bad' not in page


def test_the_jobs_this_browser_remembered_are_marked_in_the_list(client, fake):
    from jobs.models import RememberedJob

    fake.reply("GET", "/tap/async", body=jobs_xml(3))
    client.get("/mine")
    RememberedJob.objects.create(browser=client.cookies["portal_browser"].value, service="fake", job_id="job00001")
    page = text(client.get("/fake/async"))
    row = page.split('href="/fake/async/job00001"', 1)[1].split("</td>", 1)[0]
    assert "in My jobs" in row
    assert page.count("in My jobs") == 1
