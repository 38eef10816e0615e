"""The worker's checks against a scripted service: what is noticed, once, and how often a service is asked."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from jobs.models import RememberedJob
from jobs.services import configured_services
from jobs.watching import checks
from jobs.watching.models import Flip, Notice, ServiceBudget, Subscriber, Watch
from tests.fakeuws import Reply, job_xml

pytestmark = pytest.mark.django_db(transaction=True)


def remember(browser: str, job_id: str = "abc", *, notify: bool = True, keep: bool = False) -> RememberedJob:
    return RememberedJob.objects.create(
        browser=browser, service="fake", job_id=job_id, phase="EXECUTING", notify=notify, keep=keep
    )


def watched(job_id: str = "abc", phase: str = "EXECUTING") -> Watch:
    return Watch.objects.create(service="fake", job_id=job_id, phase=phase, next_check_at=timezone.now())


def test_a_job_that_ends_is_one_flip_with_a_banner_for_each_browser_that_asked(fake):
    remember("b1")
    remember("b2")
    remember("b3", notify=False)
    Subscriber.objects.create(browser="b1", address="one@example.org", confirmed_at=timezone.now())
    Subscriber.objects.create(browser="b2", address="two@example.org")  # not confirmed: no e-mail
    watched()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    assert checks.run_due_checks() == 1
    (flip,) = Flip.objects.all()
    assert (flip.kind, flip.old_phase, flip.new_phase) == ("phase", "EXECUTING", "COMPLETED")
    notices = sorted(Notice.objects.values_list("browser", "channel", "address"))
    assert notices == [("b1", "banner", ""), ("b1", "email", "one@example.org"), ("b2", "banner", "")]
    assert set(RememberedJob.objects.values_list("phase", flat=True)) == {"COMPLETED"}


def test_two_workers_that_saw_the_same_phase_make_one_flip(fake):
    remember("b1")
    watch = watched()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ERROR"))
    first, second = Watch.objects.get(pk=watch.pk), Watch.objects.get(pk=watch.pk)  # both read EXECUTING
    checks.check(first)
    checks.check(second)
    assert Flip.objects.count() == 1 and Notice.objects.count() == 1


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite in memory is one connection's: no real race")
def test_two_workers_checking_at_once_make_one_flip(fake):
    remember("b1")
    watch = watched()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ERROR"))
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            checks.check(Watch.objects.get(pk=watch.pk))
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Flip.objects.count() == 1
    assert Notice.objects.count() == 1


def test_a_claimed_check_is_not_taken_twice_until_its_lease_ends(fake):
    watched()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    Watch.objects.update(claimed_until=timezone.now() + timedelta(seconds=30))  # another worker has it
    assert checks.run_due_checks() == 0
    Watch.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))  # that worker died
    assert checks.run_due_checks() == 1
    assert len(fake.requests) == 1


def test_a_job_the_service_no_longer_has_is_gone_and_its_owner_told(fake):
    remember("b1")
    watched()
    fake.reply("GET", "/tap/async/abc", 404, "no such job", headers={"Content-Type": "text/plain"})
    checks.run_due_checks()
    (flip,) = Flip.objects.all()
    assert flip.kind == "gone" and Watch.objects.get().gone
    assert RememberedJob.objects.get().phase == "GONE"
    assert Notice.objects.filter(browser="b1", channel="banner").exists()


@pytest.mark.parametrize(
    ("ran", "expected"),
    [(timedelta(seconds=10), 30), (timedelta(minutes=20), 120), (timedelta(hours=3), 300)],
)
def test_a_running_job_is_asked_again_after_a_tenth_of_its_run_between_30_s_and_5_minutes(ran, expected):
    from jobs.uws.model import Job

    now = datetime(2030, 1, 1, tzinfo=UTC)
    job = Job(job_id="j", phase="EXECUTING", start_time=now - ran)
    assert checks.interval(job, now).total_seconds() == expected


def test_a_failing_service_is_asked_less_and_less_often_for_all_its_jobs(fake):
    for job_id in ("a1", "a2", "a3"):
        watched(job_id)
    fake.reply("GET", "/tap/async/a1", 503, "down", headers={"Content-Type": "text/plain"})
    fake.reply("GET", "/tap/async/a2", 503, "down", headers={"Content-Type": "text/plain"})
    fake.reply("GET", "/tap/async/a3", 503, "down", headers={"Content-Type": "text/plain"})
    checks.run_due_checks()
    budget = ServiceBudget.objects.get(service="fake")
    assert budget.failures >= 1 and budget.backoff_until > timezone.now()
    asked = len(fake.requests)
    Watch.objects.update(next_check_at=timezone.now())  # due again, but the service is backed off
    assert checks.run_due_checks() == 0
    assert len(fake.requests) == asked
    first = ServiceBudget.objects.get().backoff_until
    ServiceBudget.objects.update(backoff_until=timezone.now() - timedelta(seconds=1))
    checks.run_due_checks()
    assert ServiceBudget.objects.get().backoff_until - timezone.now() > first - budget.backoff_until
    assert all(watch.next_check_at > timezone.now() + timedelta(seconds=29) for watch in Watch.objects.all())


def test_a_job_destroyed_within_a_day_is_announced_once_to_every_browser_that_remembers_it(fake):
    remember("b1", notify=False)
    remember("b2")
    watched(phase="COMPLETED")
    soon = (timezone.now() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", destruction=soon))
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    checks.run_due_checks()
    Watch.objects.update(next_check_at=timezone.now())
    checks.run_due_checks()
    expiring = Flip.objects.filter(kind="expiring")
    assert expiring.count() == 1
    assert sorted(Notice.objects.filter(flip__kind="expiring").values_list("browser", flat=True)) == ["b1", "b2"]
    assert not fake.posted()  # nobody keeps it: its destruction is left alone


def test_a_kept_job_has_its_destruction_moved_on_before_a_third_of_its_span_is_left(fake):
    remember("b1", keep=True)
    watch = watched(phase="COMPLETED")
    Watch.objects.filter(pk=watch.pk).update(kept_span=timedelta(days=3).total_seconds())
    soon = (timezone.now() + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (timezone.now() + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def job(request) -> Reply:
        posted = any(seen.method == "POST" for seen in fake.requests)
        return Reply(body=job_xml(job_id="abc", phase="COMPLETED", destruction=later if posted else soon).encode())

    fake.route("GET", "/tap/async/abc", job)
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    checks.run_due_checks()
    (posted,) = fake.posted()
    assert posted.path == "/tap/async/abc/destruction"
    assert Watch.objects.get().destruction > timezone.now() + timedelta(days=179)
    assert not Flip.objects.filter(kind="expiring").exists()


def test_a_watch_nobody_wants_is_dropped(fake):
    remember("b1", notify=False)
    watched()
    checks.unwatch_if_unwanted("fake", "abc")
    assert not Watch.objects.exists()
    assert configured_services()["fake"]  # the service itself stays


def test_a_check_that_sees_nothing_new_writes_neither_the_document_nor_the_results(fake):
    from django.test.utils import CaptureQueriesContext

    watch = watched()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    checks.run_due_checks()
    first = Watch.objects.get(pk=watch.pk)
    assert first.document["phase"] == "EXECUTING"  # the first check wrote the job
    Watch.objects.update(next_check_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        checks.run_due_checks()
    updates = [query["sql"] for query in queries if query["sql"].startswith("UPDATE") and "document" in query["sql"]]
    assert updates == []
    assert Watch.objects.get(pk=watch.pk).next_check_at > first.checked_at


def test_a_job_kept_as_a_record_reads_back_the_same_and_compares_equal_after_json():
    import json
    from dataclasses import fields

    from jobs.uws.model import ErrorSummary, Job, Parameter, Result
    from jobs.watching.records import job_from_record, job_record

    moment = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    job = Job(
        job_id="j",
        phase="ERROR",
        run_id="r",
        owner_id="o",
        quote=moment,
        creation_time=moment,
        start_time=moment,
        end_time=moment,
        execution_duration=60,
        destruction=moment,
        parameters=(Parameter("query", "SELECT 1", by_reference=True),),
        results=(Result("result", "http://x/r", 12, "text/xml"),),
        error_summary=ErrorSummary("bad", "fatal", has_detail=True),
        version="1.1",
    )
    record = job_record(job)
    assert set(record) == {field.name for field in fields(Job)}
    assert json.loads(json.dumps(record)) == record  # what the database gives back: no rewrite when unchanged
    assert job_from_record(record) == job


def test_the_checks_of_a_tick_that_see_nothing_new_are_written_together_and_freed(fake):
    from django.test.utils import CaptureQueriesContext

    for job_id in ("a1", "a2", "a3"):
        watched(job_id)
        fake.reply("GET", f"/tap/async/{job_id}", body=job_xml(job_id=job_id, phase="EXECUTING"))
    checks.run_due_checks()  # the first checks write each job's document
    Watch.objects.update(next_check_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert checks.run_due_checks() == 3
    writes = [query["sql"] for query in queries if "UPDATE" in query["sql"]]
    assert [sql for sql in writes if "next_check_at" in sql][0].startswith("3 times: UPDATE")  # one statement for all
    assert len([sql for sql in writes if "next_check_at" in sql]) == 1
    assert not Watch.objects.filter(claimed_until__isnull=False).exists()
    assert not Watch.objects.filter(next_check_at__lte=timezone.now()).exists()


def test_a_check_logs_what_it_found_and_not_each_request(fake, caplog):
    """A worker watching 10,000 jobs asks 20,000 times a minute: its requests are logged at DEBUG only."""
    import logging

    watched("quiet")
    watched("ends")
    fake.reply("GET", "/tap/async/quiet", body=job_xml(job_id="quiet", phase="EXECUTING"))
    fake.reply("GET", "/tap/async/ends", body=job_xml(job_id="ends", phase="COMPLETED"))
    with caplog.at_level(logging.INFO):
        assert checks.run_due_checks() == 2
    lines = [(record.name, record.getMessage()) for record in caplog.records if record.levelno >= logging.INFO]
    assert lines == [("jobs.watching", "watch fake/ends: EXECUTING -> COMPLETED")]
    with caplog.at_level(logging.DEBUG, logger="jobs.upstream"):
        Watch.objects.update(next_check_at=timezone.now())
        checks.run_due_checks()
    assert len([record for record in caplog.records if record.name == "jobs.upstream"]) == 2
