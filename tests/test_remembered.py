"""'My jobs': jobs are remembered per browser, in the database."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import RememberedJob
from tests.fakeuws import job_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client()


def mine(client: Client) -> str:
    return client.get("/mine").content.decode()


def test_an_opened_job_is_remembered_for_this_browser_only(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING", query="SELECT TOP 9 * FROM x"))
    client.get("/fake/async/abc")
    page = mine(client)
    assert 'href="/fake/async/abc"' in page
    assert "EXECUTING" in page and "SELECT TOP 9 * FROM x" in page
    assert 'href="/fake/async/abc"' not in mine(Client())


def test_the_browser_key_survives_a_closed_browser(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    response = client.get("/fake/async/abc")
    cookie = response.cookies["portal_browser"]
    assert cookie["max-age"] >= 365 * 24 * 3600 and cookie["httponly"]
    reopened = Client()
    reopened.cookies["portal_browser"] = cookie.value
    assert 'href="/fake/async/abc"' in mine(reopened)


def test_a_created_job_is_remembered_even_when_running_it_fails(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/n1"})
    # No route for /phase: the service answers 404 to the run, and the job stays listed.
    client.post("/fake/async", {"query": "SELECT   1\nFROM t", "format": "votable", "run": "on"})
    entry = RememberedJob.objects.get(job_id="n1")
    assert (entry.service, entry.query_start) == ("fake", "SELECT 1 FROM t")


def test_refresh_updates_phases_and_marks_jobs_the_service_forgot(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="QUEUED"))
    fake.reply("GET", "/tap/async/old", body=job_xml(job_id="old", phase="COMPLETED"))
    client.get("/fake/async/abc")
    client.get("/fake/async/old")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    fake.reply("GET", "/tap/async/old", 404, "no such job", headers={"Content-Type": "text/plain"})
    response = client.post("/mine/refresh", follow=True)
    assert "Phases refreshed for 2 jobs." in [str(message) for message in response.context["messages"]]
    phases = dict(RememberedJob.objects.values_list("job_id", "phase"))
    assert phases == {"abc": "COMPLETED", "old": "GONE"}


def test_refresh_says_which_jobs_could_not_be_asked(client, fake):
    RememberedJob.objects.create(browser="x" * 43, service="dead", job_id="d1", phase="QUEUED")
    client.cookies["portal_browser"] = "x" * 43
    response = client.post("/mine/refresh", follow=True)
    warnings = [str(message) for message in response.context["messages"]]
    assert any("Not refreshed: d1 (Dead service" in message for message in warnings)
    assert RememberedJob.objects.get(job_id="d1").phase == "QUEUED"


def test_a_job_url_of_a_configured_service_can_be_added(client, fake):
    fake.reply("GET", "/tap/async/k9", body=job_xml(job_id="k9", phase="ERROR"))
    response = client.post("/mine/add", {"url": f"{fake.url}/tap/async/k9"})
    assert response["Location"] == "/fake/async/k9"
    assert RememberedJob.objects.get(job_id="k9").phase == "ERROR"


def test_a_dachs_style_job_url_on_the_service_host_can_be_added(client, fake):
    fake.reply("GET", "/tap/async/k9", body=job_xml(job_id="k9"))
    response = client.post("/mine/add", {"url": f"{fake.url}/__system__/tap/run/async/k9"})
    assert response["Location"] == "/fake/async/k9"


@pytest.mark.parametrize(
    "url",
    ["http://example.org/tap/async/k9", "javascript:alert(1)", "not a url", "http://127.0.0.1:9/other/k9"],
)
def test_a_url_of_another_host_is_refused_without_a_request(client, fake, url):
    response = client.post("/mine/add", {"url": url})
    assert response.status_code == 400
    assert fake.requests == []
    assert not RememberedJob.objects.exists()


def test_a_note_is_kept_and_a_job_can_be_removed(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    client.get("/fake/async/abc")
    entry = RememberedJob.objects.get()
    client.post(f"/mine/{entry.pk}/note", {"note": "M31 cone, for the paper"})
    assert "M31 cone, for the paper" in mine(client)
    client.post(f"/mine/{entry.pk}/forget")
    assert not RememberedJob.objects.exists()


def test_another_browser_cannot_touch_my_entries(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    client.get("/fake/async/abc")
    entry = RememberedJob.objects.get()
    assert Client().post(f"/mine/{entry.pk}/forget").status_code == 404
    assert RememberedJob.objects.exists()


def test_a_job_deleted_through_the_portal_leaves_the_list(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    client.get("/fake/async/abc")
    fake.reply("DELETE", "/tap/async/abc", 303, headers={"Location": "/tap/async"})
    fake.job_until_deleted("/tap/async/abc", job_xml(job_id="abc"))
    client.post("/fake/async/abc", {"ACTION": "DELETE", "CONFIRMED": "yes"})
    assert not RememberedJob.objects.exists()


def test_my_jobs_filters_by_service_and_phase(client, fake):
    key = "k" * 43
    client.cookies["portal_browser"] = key
    RememberedJob.objects.create(browser=key, service="fake", job_id="a1", phase="COMPLETED")
    RememberedJob.objects.create(browser=key, service="dead", job_id="b2", phase="ERROR")
    page = client.get("/mine", {"service": "dead"}).content.decode()
    assert 'href="/dead/async/b2"' in page and 'href="/fake/async/a1"' not in page
    page = client.get("/mine", {"phase": "completed"}).content.decode()
    assert 'href="/fake/async/a1"' in page and 'href="/dead/async/b2"' not in page


def test_watching_an_unchanged_job_writes_nothing(client, fake, django_assert_max_num_queries):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    seen = RememberedJob.objects.get().seen_at
    with django_assert_max_num_queries(3):  # session, the entry: read only
        client.get("/fake/async/abc", {"watch": "EXECUTING"}, HTTP_HX_REQUEST="true")
    assert RememberedJob.objects.get().seen_at == seen


def test_my_jobs_shows_time_left_and_result_links_of_jobs_not_watched(client, fake):
    results = (
        '<uws:result id="result" xlink:href="http://127.0.0.1/r.xml"/>'
        '<uws:result id="extra-1" xlink:href="http://127.0.0.1/e.xml"/>'
    )
    fake.reply(
        "GET",
        "/tap/async/done",
        body=job_xml(job_id="done", phase="COMPLETED", destruction="2099-01-01T00:00:00Z", results=results),
    )
    client.get("/fake/async/done")
    entry = RememberedJob.objects.get(job_id="done")
    assert entry.result_ids == ["result", "extra-1"] and not entry.notify
    page = mine(client)
    assert 'href="/fake/async/done/results/result" download' in page
    assert 'href="/fake/async/done/results/extra-1" download' in page
    assert "destroyed in" in page and "years" in page


def test_a_moved_destruction_is_written_and_a_past_one_said(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2099-01-01T00:00:00Z"))
    client.get("/fake/async/abc")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2020-01-01T00:00:00Z"))
    client.get("/fake/async/abc")
    assert RememberedJob.objects.get(job_id="abc").destruction.year == 2020
    assert "past its destruction time" in mine(client)
