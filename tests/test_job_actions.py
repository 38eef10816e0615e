"""Changes posted to a job URL: what is sent, what the user is told, what happens on refusal and failure."""

from __future__ import annotations

import pytest

from tests.fakeuws import job_xml
from tests.helpers import DALI_ERROR, SEE_JOB, changes, messages_of, text

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (409, '{"error": {"message": "The job has already ended"}}', "application/json"),
        (422, "<html><body><h1>Refused</h1><p>The job has already ended</p></body></html>", "text/html"),
        (400, "The job has already ended", "application/octet-stream"),
    ],
)
def test_a_refused_action_in_any_format_shows_the_job_page_with_the_services_words(
    client, fake, status, body, content_type
):
    fake.reply("POST", "/tap/async/abc/executionduration", status, body, headers={"Content-Type": content_type})
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="PENDING"))
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"})
    assert response.status_code == 409
    page = text(response)
    assert "Nothing was changed." in page and '<span class="phase">PENDING</span>' in page
    assert "The job has already ended" in page


@pytest.mark.parametrize(
    ("posted", "path", "sent"),
    [
        ({"PHASE": "RUN"}, "/tap/async/abc/phase", {"PHASE": ["RUN"]}),
        ({"phase": "abort"}, "/tap/async/abc/phase", {"PHASE": ["ABORT"]}),
        ({"ExecutionDuration": "120"}, "/tap/async/abc/executionduration", {"EXECUTIONDURATION": ["120"]}),
        (
            {"DESTRUCTION": "2030-01-01T01:00:00+01:00"},
            "/tap/async/abc/destruction",
            {"DESTRUCTION": ["2030-01-01T00:00:00Z"]},
        ),
    ],
)
def test_each_operation_sends_the_standard_request_and_redirects(client, fake, posted, path, sent):
    fake.reply("POST", path, 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    response = client.post("/fake/async/abc", posted)
    assert response.status_code == 302
    assert response["Location"] == "/fake/async/abc"
    (change,) = changes(fake)
    assert (change.method, change.path, change.form) == ("POST", path, sent)
    assert fake.requests[-1].method == "GET"  # the job is read again to show what the service kept


def test_a_clamped_duration_says_what_the_service_kept(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", execution_duration="3600"))
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "99999"}, follow=True)
    assert "You asked for 99999 s; the service kept 3600 s." in messages_of(response)


def test_a_destruction_change_reports_the_kept_value(client, fake):
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2030-01-01T00:00:00Z"))
    response = client.post("/fake/async/abc", {"DESTRUCTION": "2030-01-01T00:00:00Z"}, follow=True)
    assert "Destruction set to 2030-01-01T00:00:00Z." in messages_of(response)


def test_a_refused_action_shows_the_job_page_with_the_services_words(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 200, DALI_ERROR.format("Cannot change in phase ERROR"))
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ERROR"))
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"})
    assert response.status_code == 409
    page = text(response)
    assert "Cannot change in phase ERROR" in page
    assert "Job <code>abc</code>" in page


def test_a_403_refusal_shows_the_job_page_too(client, fake):
    fake.reply(
        "POST",
        "/tap/async/abc/phase",
        403,
        "Job is not in a phase that allows this",
        headers={"Content-Type": "text/plain"},
    )
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    response = client.post("/fake/async/abc", {"PHASE": "ABORT"})
    assert response.status_code == 409
    assert "Job is not in a phase that allows this" in text(response)


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"EXECUTIONDURATION": "ten"}, "whole number of seconds"),
        ({"EXECUTIONDURATION": ""}, "This field is required"),
        ({"DESTRUCTION": "2000-01-01T00:00:00Z"}, "in the past"),
        ({"DESTRUCTION": "soon"}, "ISO 8601"),
        ({"PHASE": "SUSPEND"}, "PHASE must be RUN or ABORT"),
        ({"ACTION": "EXPLODE"}, "Nothing to do"),
        ({}, "Nothing to do"),
    ],
)
def test_bad_input_on_the_job_page_sends_nothing(client, fake, posted, message):
    response = client.post("/fake/async/abc", posted)
    assert response.status_code == 400
    assert message in text(response)
    assert "Nothing was sent to the service." in text(response)
    assert fake.requests == []


def test_delete_goes_to_the_job_list_and_checks_the_job_is_gone(client, fake):
    fake.reply("DELETE", "/tap/async/abc", 303, headers={"Location": f"{fake.url}/tap/async"})
    fake.job_until_deleted("/tap/async/abc", job_xml(job_id="abc"))
    response = client.post("/fake/async/abc", {"action": "delete", "confirmed": "yes"})
    assert response.status_code == 302
    assert response["Location"] == "/fake/async"
    assert [(request.method, request.path) for request in fake.requests] == [
        ("GET", "/tap/async/abc"),
        ("DELETE", "/tap/async/abc"),
        ("GET", "/tap/async/abc"),
    ]


def test_an_archiving_delete_is_reported_as_such(client, fake):
    fake.reply("DELETE", "/tap/async/abc", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ARCHIVED"))
    fake.reply("GET", "/tap/async", body='<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0"/>')
    response = client.post("/fake/async/abc", {"ACTION": "DELETE", "CONFIRMED": "yes"}, follow=True)
    assert "The service archived job abc instead of deleting it." in messages_of(response)


def test_an_action_on_a_dead_service_says_nothing_was_done(client, fake):
    response = client.post("/dead/async/abc", {"PHASE": "RUN"})
    assert response.status_code == 502
    assert "refused the connection" in text(response)


def test_a_delete_asks_for_confirmation_first(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", query="SELECT 42"))
    for response in (
        client.post("/fake/async/abc", {"ACTION": "DELETE"}),
        client.post("/go", {"service": "fake", "op": "delete", "job_id": "abc"}),
    ):
        page = text(response)
        assert response.status_code == 200
        assert "cannot be undone" in page and "SELECT 42" in page and "COMPLETED" in page
        assert 'name="CONFIRMED" value="yes"' in page
    assert changes(fake) == []  # nothing deleted yet


def test_an_action_that_times_out_says_it_may_or_may_not_have_happened(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 0.5)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB, delay=1.5)
    page = text(client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"}))
    assert "may or may not have done it" in page


def test_an_action_accepted_but_not_read_back_says_so(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", 500, "<html>down</html>", headers={"Content-Type": "text/html"})
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"})
    assert response.status_code == 502
    assert "accepted the request to change the execution duration, but reading the job back failed" in text(response)
