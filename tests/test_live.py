"""The job page follows a job by itself (htmx), with UWS WAIT and back-off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.fakeuws import Reply, job_xml

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client() -> Client:
    return Client()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def running_job(**kwargs) -> str:
    start = datetime.now(UTC) - timedelta(seconds=90)
    extra = kwargs.pop("extra", "")
    return job_xml(job_id="abc", phase="EXECUTING", execution_duration="600", extra=extra, **kwargs).replace(
        '<uws:startTime xsi:nil="true"/>', f"<uws:startTime>{iso(start)}</uws:startTime>"
    )


def test_an_active_job_page_asks_to_be_watched_and_a_final_one_does_not(client, fake):
    fake.reply("GET", "/tap/async/abc", body=running_job())
    page = client.get("/fake/async/abc").content.decode()
    assert 'hx-get="/fake/async/abc?watch=EXECUTING"' in page
    assert 'hx-trigger="load delay:0s"' in page
    assert "htmx" in page and 'aria-live="polite"' in page
    assert 'href="/fake/async/abc">Reload</a>' in page  # without JavaScript
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    assert "watch=" not in client.get("/fake/async/abc").content.decode()


def test_a_watch_request_uses_wait_and_answers_the_fragment_only(client, fake):
    fake.reply("GET", "/tap/async/abc", body=running_job())
    response = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX)
    assert fake.requests[0].query == {"WAIT": ["10"], "PHASE": ["EXECUTING"]}
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="job-live"')
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_a_service_that_ignores_wait_is_asked_again_only_after_a_pause(client, fake):
    fake.reply("GET", "/tap/async/abc", body=running_job())
    page = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX).content.decode()
    assert 'hx-trigger="load delay:10s"' in page  # at most 6 requests a minute


def test_a_service_that_honours_wait_is_asked_again_at_once(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.job_page.WATCH_WAIT", 1)
    fake.route("GET", "/tap/async/abc", lambda request: Reply(body=running_job().encode(), delay=0.6))
    page = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX).content.decode()
    assert 'hx-trigger="load delay:0s"' in page
    assert "hx-swap-oob" not in page  # nothing changed, nothing announced


def test_a_phase_change_is_announced_and_ends_the_watch_when_final(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    page = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX).content.decode()
    assert "hx-get" not in page.split("</div>")[0]
    assert 'id="phase-announcer"' in page and 'hx-swap-oob="innerHTML"' in page
    assert "The job is now COMPLETED." in page


def test_a_failed_watch_says_so_in_a_fragment_and_tries_again(client, fake):
    response = client.get("/dead/async/abc", {"watch": "QUEUED"}, **HTMX)
    assert response.status_code == 200  # htmx swaps only successful answers
    page = response.content.decode()
    assert "Lost contact with the job" in page and "refused the connection" in page
    assert 'hx-trigger="load delay:10s"' in page


def test_a_watched_job_that_disappears_stops_the_watch(client, fake):
    fake.reply("GET", "/tap/async/abc", 404, "gone", headers={"Content-Type": "text/plain"})
    page = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX).content.decode()
    assert "The service has no job abc." in page
    assert "hx-get" not in page


def test_elapsed_time_shows_against_the_execution_duration(client, fake):
    fake.reply("GET", "/tap/async/abc", body=running_job())
    page = client.get("/fake/async/abc").content.decode()
    assert '<progress id="elapsed" max="600"' in page
    assert re.search(r"Running for 1 min 3\d s of 10 min 00 s allowed", page)


def test_a_job_that_will_hit_its_limit_says_so(client, fake):
    quote = iso(datetime.now(UTC) + timedelta(hours=2))
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=running_job(extra="").replace("<uws:creationTime>", f"<uws:quote>{quote}</uws:quote><uws:creationTime>"),
    )
    page = client.get("/fake/async/abc").content.decode()
    assert "after its limit: it will be stopped at" in page


def test_quick_extend_buttons_extend_from_the_current_destruction(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2099-01-01T00:00:00Z"))
    page = client.get("/fake/async/abc").content.decode()
    for value in ("2099-01-02T00:00:00Z", "2099-01-08T00:00:00Z", "2099-01-31T00:00:00Z"):
        assert f'name="DESTRUCTION" value="{value}"' in page
    assert 'name="DESTRUCTION" required' in page and 'value="2099-01-01 00:00:00"' in page


def test_the_date_time_field_is_read_as_utc(client, fake):
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers={"Location": "/x"})
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2031-05-06T07:08:00Z"))
    client.post("/fake/async/abc", {"DESTRUCTION": "2031-05-06T07:08"})
    assert fake.posted()[0].form == {"DESTRUCTION": ["2031-05-06T07:08:00Z"]}
