"""The job page: what it shows of a job, and of a service that fails to give it."""

from __future__ import annotations

import pytest

from tests.fakeuws import job_xml
from tests.helpers import DALI_ERROR, RESULT, text

pytestmark = pytest.mark.django_db


def test_job_page_shows_everything_parsed(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc123",
        body=job_xml(
            phase="COMPLETED",
            execution_duration="0",
            query="SELECT TOP 5 ra, dec FROM ivoa.obscore WHERE a < 1",
            results=f'<uws:result id="result" xlink:href="{fake.url}/tap/async/abc123/results/result" '
            'mime-type="application/x-votable+xml" size="2048"/>',
        ),
    )
    response = client.get("/fake/async/abc123")
    assert response.status_code == 200
    page = text(response)
    assert 'Phase: <span class="phase">COMPLETED</span>' in page
    assert "finished successfully" in page
    assert "unlimited" in page
    assert "<code>SELECT TOP 5 ra, dec FROM ivoa.obscore WHERE a &lt; 1</code>" in page
    assert 'href="/fake/async/abc123/results/result"' in page
    assert "2.0\xa0KB" in page
    assert "2099-01-01 00:00:00 UTC" in page and "(expires in " in page
    # In COMPLETED only destruction and delete make sense.
    assert 'name="DESTRUCTION"' in page and 'value="DELETE"' in page
    assert 'value="RUN"' not in page and 'value="ABORT"' not in page and 'name="EXECUTIONDURATION"' not in page


def test_pending_job_page_offers_run_abort_and_limits(client, fake):
    fake.reply("GET", "/tap/async/abc123", body=job_xml(phase="PENDING"))
    page = text(client.get("/fake/async/abc123"))
    for control in ('value="RUN"', 'value="ABORT"', 'name="EXECUTIONDURATION"', 'name="DESTRUCTION"', 'value="DELETE"'):
        assert control in page


def test_error_job_page_shows_the_summary_and_links_the_error_document(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc123",
        body=job_xml(
            phase="ERROR",
            error='<uws:errorSummary type="fatal" hasDetail="true"><uws:message>Could not locate table</uws:message>'
            "</uws:errorSummary>",
        ),
    )
    page = text(client.get("/fake/async/abc123"))
    assert "Could not locate table" in page
    assert 'href="/fake/async/abc123/error"' in page


def test_unknown_job_is_a_404_naming_service_and_job(client, fake):
    fake.reply("GET", "/tap/async/nosuchjob", 404, DALI_ERROR.format("UWS job 'nosuchjob' could not be located"))
    response = client.get("/fake/async/nosuchjob")
    assert response.status_code == 404
    page = text(response)
    assert "Fake service" in page and "nosuchjob" in page
    assert "could not be located" in page


def test_job_ids_that_could_leave_the_path_are_404_before_any_request(client, fake):
    for url in ("/fake/async/..%2Fsecret", "/fake/async/a%0d%0aX:1", "/fake/async/" + "a" * 200):
        assert client.get(url).status_code == 404
    assert fake.requests == []


def test_dead_service_is_a_502_saying_so(client, fake):
    response = client.get("/dead/async/abc")
    assert response.status_code == 502
    assert "refused the connection" in text(response)


def test_slow_service_is_a_504_saying_so(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 0.5)
    fake.reply("GET", "/tap/async/abc", body=job_xml(), delay=1.5)
    response = client.get("/fake/async/abc")
    assert response.status_code == 504
    assert "did not answer in time" in text(response)


def test_garbage_from_the_service_is_a_502(client, fake):
    fake.reply("GET", "/tap/async/abc", body="<html>Oops</html>", headers={"Content-Type": "text/html"})
    response = client.get("/fake/async/abc")
    assert response.status_code == 502
    assert "could not be read" in text(response)


def test_text_from_the_service_is_escaped(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", query="<script>alert(1)</script>"))
    page = text(client.get("/fake/async/abc"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_job_page_links_a_result_on_another_host_directly(client, fake):
    signed = "https://storage.example.org/b/r.fits?sig=1&amp;exp=2"
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", results=RESULT.format(signed)))
    page = text(client.get("/fake/async/abc"))
    assert 'href="https://storage.example.org/b/r.fits?sig=1&amp;exp=2" rel="noreferrer"' in page
    assert "/fake/async/abc/results/result" not in page


def test_relative_result_hrefs_are_resolved_and_pseudo_results_are_not_links(client, fake):
    results = (
        '<uws:result id="votable.xml" xlink:href="./abc/./results/result"/>'
        '<uws:result id="diag" xlink:href="uws:executing:4"/>'
        '<uws:result id="evil" xlink:href="javascript:alert(1)"/>'
    )
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", results=results))
    page = text(client.get("/fake/async/abc"))
    assert 'href="/fake/async/abc/results/votable.xml"' in page
    assert "uws:executing:4" in page and 'href="uws:' not in page
    assert 'href="javascript:' not in page


def test_a_job_aborted_when_its_time_ran_out_says_so_and_how_to_ask_for_more(client, fake):
    # VOLLT (ESO's services) ends a job past its execution duration as ABORTED, with no error.
    times = "<uws:startTime>2026-11-24T10:00:00Z</uws:startTime><uws:endTime>2026-11-24T10:10:00Z</uws:endTime>"
    document = job_xml(job_id="abc", phase="ABORTED", execution_duration="600")
    document = document.replace('<uws:startTime xsi:nil="true"/>\n  <uws:endTime xsi:nil="true"/>', times)
    fake.reply("GET", "/tap/async/abc", body=document)
    page = text(client.get("/fake/async/abc"))
    assert "It ran out of time:" in page and "(10 minutes)" in page
    assert "raise the execution duration" in page and "?resubmit=abc" in page


def test_a_job_aborted_early_does_not_say_it_ran_out_of_time(client, fake):
    times = "<uws:startTime>2026-11-24T10:00:00Z</uws:startTime><uws:endTime>2026-11-24T10:01:00Z</uws:endTime>"
    document = job_xml(job_id="abc", phase="ABORTED", execution_duration="600")
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=document.replace('<uws:startTime xsi:nil="true"/>\n  <uws:endTime xsi:nil="true"/>', times),
    )
    assert "ran out of time" not in text(client.get("/fake/async/abc"))
