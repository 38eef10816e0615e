"""Open job pages read the worker's record: ten pages cost the service what one does, and a change shows at once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jobs.watching import checks
from jobs.watching.models import Watch
from tests.fakeuws import Reply, job_xml
from tests.helpers import text

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_without_a_worker_the_page_waits_on_the_service_itself(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    page = text(client.get("/fake/async/abc"))
    assert 'hx-trigger="load delay:0s"' in page and not Watch.objects.exists()


def test_with_a_worker_ten_open_pages_ask_the_portal_not_the_service(client, fake, worker_running):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    page = text(client.get("/fake/async/abc"))
    assert 'hx-trigger="every 1.5s"' in page
    watch = Watch.objects.get()
    assert watch.eager_until > timezone.now() and watch.phase == "EXECUTING"
    asked = len(fake.requests)
    answers = [client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX) for _ in range(10)]
    assert {answer.status_code for answer in answers} == {204}  # nothing new: nothing to swap
    assert len(fake.requests) == asked


def test_a_change_the_worker_saw_is_on_the_open_page_at_its_next_question(client, fake, worker_running):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    checks.run_due_checks()  # the worker's eager check
    answer = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX)
    assert answer.status_code == 200
    assert '<span class="phase">COMPLETED</span>' in text(answer) and "The job is now COMPLETED." in text(answer)
    assert "hx-trigger" not in text(answer).split("</div>", 1)[0]  # final: the page stops asking


def test_the_worker_watches_an_open_page_with_wait_and_backs_off_a_service_that_ignores_it(
    client, fake, worker_running
):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    fake.requests.clear()
    checks.run_due_checks()
    assert fake.requests[0].query == {"WAIT": [str(checks.EAGER_WAIT)], "PHASE": ["EXECUTING"]}
    # The fake answers at once, with no change: a service that ignores WAIT is asked again only later.
    watch = Watch.objects.get()
    assert (watch.next_eager_at - timezone.now()).total_seconds() > 8
    fake.requests.clear()
    checks.run_due_checks()
    assert fake.requests == []


def test_a_wait_the_service_honours_is_asked_again_at_once(client, fake, worker_running):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    fake.route(
        "GET",
        "/tap/async/abc",
        lambda request: Reply(body=job_xml(job_id="abc", phase="EXECUTING").encode(), delay=checks.EAGER_WAIT / 2 + 1),
    )
    checks.run_due_checks()
    assert Watch.objects.get().next_eager_at <= timezone.now()


def test_a_page_read_with_the_users_token_is_not_left_to_the_worker(client, fake, worker_running):
    client.post("/fake/token", {"token": "secret-1"})
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    page = text(client.get("/fake/async/abc"))
    assert 'hx-trigger="load delay:0s"' in page and not Watch.objects.exists()


def test_an_open_page_that_finds_nothing_new_costs_one_query_and_writes_nothing(client, fake, worker_running):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/fake/async/abc", {"watch": "EXECUTING"}, **HTMX)
    assert answer.status_code == 204 and "HX-Request" in answer["Vary"]
    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")
    assert "sessionid" not in answer.cookies
