"""The new-query form: a job created, started, or refused before any request."""

from __future__ import annotations

import pytest

from tests.fakeuws import job_xml
from tests.helpers import SEE_JOB, messages_of, text

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
