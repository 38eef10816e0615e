"""The start pages: the seven job-id forms and the service picker."""

from __future__ import annotations

import pytest

from tests.fakeuws import Reply, job_xml
from tests.helpers import SEE_JOB, changes, messages_of, text

pytestmark = pytest.mark.django_db


def test_home_shows_the_seven_operations_and_the_new_query_form(client, fake):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    for label in ("Run", "Status", "Execution duration", "Destruction", "Results", "Abort", "Delete"):
        assert f"<h3>{label}</h3>" in page
    assert page.count('name="job_id"') == 8  # the seven forms and the box that opens a job
    assert 'action="/fake/async"' in page
    assert fake.requests == []  # nothing is asked of a service to show the page


def test_service_page_is_for_that_service_and_unknown_ones_are_404(client, fake):
    assert 'value="dead"' in text(client.get("/dead/"))
    response = client.get("/nosuch/")
    assert response.status_code == 404
    assert "no service named nosuch" in text(response)


def test_status_form_ends_at_the_job_page(client, fake):
    response = client.get("/go", {"service": "fake", "op": "status", "job_id": "abc123"})
    assert response.status_code == 302
    assert response["Location"] == "/fake/async/abc123"


def test_results_form_ends_at_the_jobs_results(client, fake):
    response = client.get("/go", {"service": "fake", "op": "results", "job_id": "abc123"})
    assert response["Location"] == "/fake/async/abc123#results"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"op": "status", "job_id": "../etc"}, "A job id is made of"),
        ({"op": "status", "job_id": ""}, "This field is required"),
        ({"op": "executionduration", "job_id": "abc", "executionduration": "1.5"}, "whole number of seconds"),
        ({"op": "executionduration", "job_id": "abc", "executionduration": "-3"}, "whole number of seconds"),
        ({"op": "destruction", "job_id": "abc", "destruction": "next week"}, "ISO 8601"),
        ({"op": "destruction", "job_id": "abc", "destruction": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"op": "status", "job_id": "abc", "service": "elsewhere"}, "Select a valid choice"),
    ],
)
def test_job_id_forms_refuse_bad_input_without_asking_the_service(client, fake, data, message):
    response = client.post("/go", {"service": "fake", **data})
    assert response.status_code == 400
    assert message in text(response)
    assert fake.requests == []


def test_run_form_runs_the_job_and_ends_at_its_page(client, fake):
    fake.reply("POST", "/tap/async/abc123/phase", 303, headers=SEE_JOB)
    fake.route(
        "GET",
        "/tap/async/abc123",
        lambda request: Reply(body=job_xml(phase="EXECUTING" if changes(fake) else "PENDING").encode()),
    )
    response = client.post("/go", {"service": "fake", "op": "run", "job_id": "abc123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/fake/async/abc123"
    (run,) = changes(fake)
    assert run.form == {"PHASE": ["RUN"]}
    assert "Run requested: the service started the job." in messages_of(response)


def test_changing_forms_need_a_post(client, fake):
    response = client.get("/go", {"service": "fake", "op": "delete", "job_id": "abc"})
    assert response.status_code == 405
    assert fake.requests == []


def test_the_start_page_picks_a_service(client, fake):
    page = text(client.get("/", {"service": "dead"}))
    assert '<option value="dead" selected>' in page
    assert 'name="service" value="dead"' in page  # the job-id forms are for it


def test_the_new_query_form_comes_first_then_the_box_that_opens_a_job(client, fake):
    page = text(client.get("/fake/"))
    assert page.index('id="new-query"') < page.index('id="open-job"') < page.index('id="manage"')
    assert 'rows="12"' in page


def test_a_job_url_of_a_configured_service_opens_that_job(client, fake):
    response = client.get("/go", {"service": "dead", "op": "status", "job_id": f"{fake.url}/tap/async/abc"})
    assert response.status_code == 302 and response["Location"] == "/fake/async/abc"


def test_a_url_of_no_configured_service_is_refused_and_kept_without_a_request(client, fake):
    response = client.get(
        "/go", {"service": "fake", "op": "status", "job_id": "https://elsewhere.example.org/tap/async/x"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "not the URL of a job of a service this portal offers" in page
    assert 'value="https://elsewhere.example.org/tap/async/x"' in page and "data-focus" in page
    assert fake.requests == []


def test_resubmitting_a_failed_job_shows_its_error_beside_the_query_and_where_the_cursor_goes(client, fake):
    error = (
        '<uws:errorSummary type="fatal"><uws:message>Unknown column nosuchcol [l.2 c.6 - l.2 c.15]'
        "</uws:message></uws:errorSummary>"
    )
    query = "SELECT *\nFROM nosuchcol"
    fake.reply("GET", "/tap/async/bad", body=job_xml(job_id="bad", phase="ERROR", query=query, error=error))
    page = text(client.get("/fake/", {"resubmit": "bad"}))
    assert 'id="fixing"' in page and "Unknown column nosuchcol" in page
    assert "<mark>nosuchcol</mark>" in page
    assert 'id="query-spot" data-line="2" data-column="6"' in page
