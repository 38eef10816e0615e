"""The pages of watching: switches on a job, keeping it, banners, and the worker that runs on the task library."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs.models import RememberedJob
from jobs.watching.models import Flip, Notice, Subscriber, Watch
from jobs.watching.tasks import tick
from tests.fakeuws import Reply, job_xml
from tests.helpers import messages_of, text

pytestmark = pytest.mark.django_db(transaction=True)


def opened(client, fake, phase: str = "EXECUTING") -> None:
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase=phase))
    client.get("/fake/async/abc")


def test_tell_me_when_it_ends_watches_the_job_and_off_drops_the_watch(client, fake):
    opened(client, fake)
    assert 'id="job-notify"' in text(client.get("/fake/async/abc"))
    response = client.post("/fake/async/abc/notify", {"on": "on"}, follow=True)
    assert "The portal will tell you when job abc ends." in messages_of(response)
    assert RememberedJob.objects.get().notify and Watch.objects.filter(job_id="abc").exists()
    assert DBTaskResult.objects.filter(task_path=tick.module_path, status="READY").exists()  # the worker will see it
    client.post("/fake/async/abc/notify", {})
    assert not RememberedJob.objects.get().notify and not Watch.objects.exists()


def test_a_job_this_browser_never_opened_cannot_be_switched(client, fake):
    assert client.post("/fake/async/abc/notify", {"on": "on"}).status_code == 404
    assert not Watch.objects.exists()


def test_jobs_made_in_the_portal_are_watched_once_the_browser_can_be_told(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/n1"})
    fake.reply("GET", "/tap/async/n1", body=job_xml(job_id="n1", phase="PENDING"))
    client.post("/fake/async", {"query": "SELECT 1", "format": "votable"})
    assert not RememberedJob.objects.get(job_id="n1").notify
    client.post("/mine/desktop", {"on": "on"})
    assert Subscriber.objects.get().desktop
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/n2"})
    client.post("/fake/async", {"query": "SELECT 2", "format": "votable"})
    assert RememberedJob.objects.get(job_id="n2").notify and Watch.objects.filter(job_id="n2").exists()


def test_keep_this_job_asks_for_the_longest_the_service_keeps_and_says_what_it_kept(client, fake):
    opened(client, fake, "COMPLETED")
    later = (timezone.now() + timedelta(days=30)).replace(microsecond=0)

    def job(request) -> Reply:
        destruction = later.strftime("%Y-%m-%dT%H:%M:%SZ") if fake.posted() else "2030-01-01T00:00:00Z"
        return Reply(body=job_xml(job_id="abc", phase="COMPLETED", destruction=destruction).encode())

    fake.route("GET", "/tap/async/abc", job)
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    response = client.post("/fake/async/abc/keep", {"on": "on"}, follow=True)
    (message,) = [m for m in messages_of(response) if "kept" in m]
    assert f"until {later:%Y-%m-%d %H:%M} UTC" in message
    assert RememberedJob.objects.get().keep
    assert Watch.objects.get().kept_span > timedelta(days=29).total_seconds()
    asked = fake.posted()[0].form["DESTRUCTION"][0]
    assert asked > (timezone.now() + timedelta(days=3000)).strftime("%Y")  # no retention limit known: far ahead


def test_a_banner_shows_on_every_page_until_dismissed_from_the_database_alone(client, fake):
    opened(client, fake)
    browser = client.cookies["portal_browser"].value
    watch = Watch.objects.create(service="fake", job_id="abc", phase="COMPLETED", next_check_at=timezone.now())
    flip = Flip.objects.create(watch=watch, old_phase="EXECUTING", new_phase="COMPLETED")
    notice = Notice.objects.create(flip=flip, browser=browser, channel=Notice.BANNER)
    asked = len(fake.requests)
    page = text(client.get("/mine"))
    assert "is now <strong>COMPLETED</strong>" in page and f'data-notice="{notice.pk}"' in page
    fragment = client.get("/mine/notices", HTTP_HX_REQUEST="true")
    assert "is now <strong>COMPLETED</strong>" in text(fragment) and "<html" not in text(fragment)
    assert len(fake.requests) == asked  # no service was asked for the banners
    client.post(f"/mine/notices/{notice.pk}/seen", {"back": "/mine"})
    assert "is now <strong>COMPLETED</strong>" not in text(client.get("/mine"))


def test_another_browser_cannot_dismiss_my_banners(client, fake):
    from django.test import Client

    watch = Watch.objects.create(service="fake", job_id="abc", phase="COMPLETED", next_check_at=timezone.now())
    notice = Notice.objects.create(flip=Flip.objects.create(watch=watch), browser="mine", channel=Notice.BANNER)
    Client().post(f"/mine/notices/{notice.pk}/seen")
    assert Notice.objects.get().seen_at is None


def test_the_task_library_worker_runs_the_tick_which_checks_and_schedules_the_next(fake):
    RememberedJob.objects.create(browser="b1", service="fake", job_id="abc", phase="EXECUTING", notify=True)
    Watch.objects.create(service="fake", job_id="abc", phase="EXECUTING", next_check_at=timezone.now())
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    tick.enqueue()
    call_command("db_worker", batch=True, interval=0, startup_delay=False, reload=False)
    assert Flip.objects.get().new_phase == "COMPLETED"
    waiting = DBTaskResult.objects.filter(task_path=tick.module_path, status="READY")
    assert waiting.count() == 1 and waiting.get().run_after > timezone.now()


@pytest.mark.parametrize("back", ["https://evil.example.org/", "//evil.example.org/", "/\\evil.example.org"])
def test_dismissing_a_banner_never_sends_the_browser_to_another_site(client, back):
    response = client.post("/mine/notices/1/seen", {"back": back})
    assert response["Location"] == "/mine"


def test_a_page_without_banners_is_answered_with_nothing_to_swap_until_one_comes(client, fake):
    opened(client, fake)
    page = text(client.get("/mine"))
    assert 'hx-get="/mine/notices?shown=none"' in page  # the page says it shows none
    asked = client.get("/mine/notices", {"shown": "none"}, HTTP_HX_REQUEST="true")
    assert asked.status_code == 204 and "HX-Request" in asked["Vary"]
    browser = client.cookies["portal_browser"].value
    watch = Watch.objects.create(service="fake", job_id="abc", phase="COMPLETED", next_check_at=timezone.now())
    flip = Flip.objects.create(watch=watch, old_phase="EXECUTING", new_phase="COMPLETED")
    Notice.objects.create(flip=flip, browser=browser, channel=Notice.BANNER)
    fragment = client.get("/mine/notices", {"shown": "none"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "is now <strong>COMPLETED</strong>" in text(fragment)
    assert 'hx-get="/mine/notices"' in text(fragment)  # shown now: the next answer may take it away
