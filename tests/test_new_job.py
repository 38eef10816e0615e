"""The new-query form: a job created, started, or refused before any request."""

from __future__ import annotations

import html

import pytest

from tests.fakeuws import job_xml
from tests.helpers import DALI_ERROR, SEE_JOB, messages_of, text

pytestmark = pytest.mark.django_db


def test_new_query_creates_runs_and_redirects_to_the_job(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "http://elsewhere/tap/async/n3w"})
    fake.reply("POST", "/tap/async/n3w/phase", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/n3w", body=job_xml(job_id="n3w", phase="QUEUED"))
    response = client.post(
        "/fake/async", {"query": "SELECT TOP 1 * FROM t", "format": "csv", "maxrec": "10", "runid": "mine", "run": "on"}
    )
    assert response["Location"] == "/fake/async/n3w"
    created = fake.requests[0]
    assert created.form == {
        "REQUEST": ["doQuery"],
        "LANG": ["ADQL"],
        "QUERY": ["SELECT TOP 1 * FROM t"],
        "FORMAT": ["csv"],
        "MAXREC": ["10"],
        "RUNID": ["mine"],
    }
    assert (fake.requests[1].path, fake.requests[1].form) == ("/tap/async/n3w/phase", {"PHASE": ["RUN"]})


def test_new_query_without_run_leaves_it_pending(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/p1"})
    response = client.post("/fake/async", {"query": "SELECT 1", "format": "votable"}, follow=True)
    assert "Job p1 created. It waits (PENDING) until you run it." in messages_of(response)
    assert [request.method for request in fake.requests][:1] == ["POST"]
    assert all(request.path != "/tap/async/p1/phase" for request in fake.requests)


def test_an_empty_query_is_refused_before_any_request(client, fake):
    response = client.post("/fake/async", {"query": "   ", "format": "votable"})
    assert response.status_code == 400
    assert "The query is empty" in text(response)
    assert fake.requests == []


def test_a_created_job_that_could_not_be_started_is_said_to_exist(client, fake, monkeypatch):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/n1"})
    fake.reply("POST", "/tap/async/n1/phase", 502, "<html>proxy error</html>", headers={"Content-Type": "text/html"})
    page = text(client.post("/fake/async", {"query": "SELECT 1", "format": "votable", "run": "on"}))
    assert "Job n1 was created and is listed in My jobs, but the service did not start it." in page


TYPED = {"query": "SELECT TOP 5 nosuchcol\nFROM t", "format": "csv", "maxrec": "42", "runid": "night-1", "run": "on"}


def assert_form_kept(page: str) -> None:
    """Every field as the user typed it."""
    assert "SELECT TOP 5 nosuchcol\nFROM t</textarea>" in page
    assert 'value="42"' in page and 'value="night-1"' in page
    assert '<option value="csv" selected>' in page


@pytest.mark.parametrize(
    ("status", "body", "content_type", "words"),
    [
        (400, DALI_ERROR.format("Unknown column nosuchcol [l.1 c.14 - l.1 c.23]"), "text/xml", "Unknown column"),
        (422, '{"detail": [{"msg": "column nosuchcol does not exist"}]}', "application/json", "does not exist"),
        (400, "Bad query: column nosuchcol (line:1, col:12)", "text/plain", "Bad query"),
        (
            400,
            "<html><head><title>x</title><script>alert(1)</script></head>"
            "<body><h1>Error</h1><p>No column nosuchcol</p>",
            "text/html",
            "Error No column nosuchcol",
        ),
    ],
)
def test_a_refused_new_job_keeps_what_was_typed_and_says_why(client, fake, status, body, content_type, words):
    fake.reply("POST", "/tap/async", status, body, headers={"Content-Type": content_type})
    response = client.post("/fake/async", TYPED)
    page = text(response)
    assert response.status_code == 422
    assert words in html.unescape(page)
    assert "try again later" not in page.lower()
    assert "alert(1)" not in page
    assert_form_kept(page)
    assert [request.method for request in fake.requests] == ["POST"]  # nothing after the refusal


def test_a_refusal_that_names_a_spot_marks_it_in_the_typed_query(client, fake):
    message = "Unknown column nosuchcol [l.1 c.14 - l.1 c.23]"
    fake.reply("POST", "/tap/async", 400, DALI_ERROR.format(message), headers={"Content-Type": "text/xml"})
    page = text(client.post("/fake/async", TYPED))
    assert "<mark>nosuchcol</mark>" in page
    assert "line 1, columns 14\u201322" in html.unescape(page)


def test_a_service_failing_at_creation_keeps_the_form_too(client, fake):
    fake.reply("POST", "/tap/async", 500, DALI_ERROR.format("Can not create a TAP asynchronous job!"))
    response = client.post("/fake/async", TYPED)
    page = text(response)
    assert response.status_code == 502
    assert "Can not create a TAP asynchronous job!" in page and "no job was made" in page
    assert_form_kept(page)


def test_a_dead_service_at_creation_keeps_the_form_and_says_nothing_was_sent(client, fake):
    response = client.post("/dead/async", TYPED)
    page = text(response)
    assert response.status_code == 502
    assert "never reached the service" in page
    assert_form_kept(page)
