"""The worker watching real VOLLT jobs, ESO's own software: the end mailed once, a kept job, a deleted one.

VOLLT runs as `make test` starts it (../shared/tools/vollt-up.sh): retention 1 day by
default and 180 days at most, as ESO's services. Without ../shared these tests are skipped,
saying so. Each check is the worker's own (`checks.run_due_checks`), made due at once
instead of after its 30 s.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import RememberedJob
from jobs.services import configured_services
from jobs.uws import changes
from jobs.watching import checks, mail
from jobs.watching.models import Flip, Watch
from tests.helpers import VOLLT_MARKS, messages_of, require_vollt, wait_for
from tests.watching.test_mail import confirmed, link_in

pytestmark = [
    *VOLLT_MARKS,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module", autouse=True)
def _vollt_is_up():
    require_vollt()


@pytest.fixture
def vollt():
    return configured_services()["vollt"].client(page=False)


def created_and_told(client, query: str) -> str:
    """A job made through the portal with "Tell me when it ends" switched on; its id."""
    response = client.post("/vollt/async", {"query": query, "format": "votable"})
    assert response.status_code == 302, response.content[:2000]
    job_id = response["Location"].rsplit("/", 1)[-1]
    client.post(f"/vollt/async/{job_id}/notify", {"on": "on"})
    assert RememberedJob.objects.get(job_id=job_id).notify
    return job_id


def checked_until(job_id: str, seen, timeout: float = 60) -> Watch:
    """The worker's checks, each made due at once, until the job's watch satisfies `seen`."""
    deadline = time.monotonic() + timeout
    while True:
        Watch.objects.filter(job_id=job_id).update(next_check_at=timezone.now())
        checks.run_due_checks()
        watch = Watch.objects.get(job_id=job_id)
        if seen(watch):
            return watch
        assert time.monotonic() < deadline, f"the worker did not see it: {watch.phase}, gone={watch.gone}"
        time.sleep(0.5)


def test_a_vollt_job_is_announced_while_it_can_still_be_kept_then_its_end_mailed_once(client, smtp, vollt):
    confirmed(client, smtp)
    job_id = created_and_told(client, "SELECT TOP 15 * FROM demo.slow")  # about 15 s
    vollt.change(job_id, changes.RUN)
    # VOLLT keeps a job 1 day, as ESO: the first check announces it, while the job runs and its
    # destruction can still be moved (VOLLT leaves that of a finished job where it is).
    watch = checked_until(job_id, lambda watch: Flip.objects.filter(watch=watch, kind=Flip.EXPIRING).exists())
    assert watch.phase == "EXECUTING"
    assert mail.send_due() == 1
    (warning,) = smtp.to("astro@example.org")
    assert warning["Subject"] == f"Job {job_id} of Local VOLLT will be destroyed within a day"
    assert client.get(link_in(warning, "keep")).status_code == 200
    assert vollt.get_job(job_id).destruction > timezone.now() + timedelta(days=179)

    watch = checked_until(job_id, lambda watch: watch.phase == "COMPLETED")
    assert [result["id"] for result in watch.results] == ["result"]
    assert mail.send_due() == 1
    assert mail.send_due() == 0  # never twice
    checks.run_due_checks()
    assert mail.send_due() == 0
    ended = smtp.to("astro@example.org")[-1]
    body = ended.get_payload(decode=True).decode()
    assert ended["Subject"] == f"Job {job_id} of Local VOLLT is COMPLETED"
    assert f"https://portal.example.org/vollt/async/{job_id}/results/result" in body
    assert "SELECT TOP 15 * FROM demo.slow" in body
    assert len(smtp.to("astro@example.org")) == 2


def test_keeping_a_vollt_job_gets_its_180_days_and_the_worker_keeps_them(client, vollt):
    job_id = created_and_told(client, "SELECT TOP 1 * FROM demo.stars")
    response = client.post(f"/vollt/async/{job_id}/keep", {"on": "on"}, follow=True)
    (said,) = [message for message in messages_of(response) if "kept" in message]
    kept_until = vollt.get_job(job_id).destruction
    assert f"until {kept_until:%Y-%m-%d %H:%M} UTC" in said
    span = kept_until - timezone.now()
    assert timedelta(days=179) < span <= timedelta(days=180, minutes=1)  # VOLLT's limit: 180 days
    watch = Watch.objects.get(job_id=job_id)
    assert watch.kept_span == pytest.approx(span.total_seconds(), abs=120)

    # A third of the span left (VOLLT's clock cannot be moved, so its destruction is brought near
    # instead): the worker asks for 180 days again, and VOLLT grants them.
    vollt.change(job_id, changes.SET_DESTRUCTION, timezone.now() + span / 4)
    Watch.objects.filter(pk=watch.pk).update(next_check_at=timezone.now())
    checks.run_due_checks()
    moved = vollt.get_job(job_id).destruction
    assert moved >= kept_until
    assert Watch.objects.get(pk=watch.pk).destruction == moved
    assert not Flip.objects.filter(watch=watch, kind=Flip.EXPIRING).exists()


def test_a_finished_vollt_job_cannot_be_kept_and_the_page_says_so(client, vollt):
    job_id = created_and_told(client, "SELECT TOP 1 * FROM demo.stars")
    vollt.change(job_id, changes.RUN)
    wait_for(vollt, job_id, {"COMPLETED"}, timeout=30)
    destruction = vollt.get_job(job_id).destruction
    response = client.post(f"/vollt/async/{job_id}/keep", {"on": "on"}, follow=True)
    (said,) = [message for message in messages_of(response) if "did not keep" in message]
    assert "does not move the destruction of a job that is COMPLETED" in said
    assert f"{destruction:%Y-%m-%d %H:%M} UTC" in said
    assert vollt.get_job(job_id).destruction == destruction
    assert not RememberedJob.objects.get(job_id=job_id).keep


def test_a_kept_job_vollt_will_not_keep_is_announced_to_its_keeper(client, smtp, vollt):
    confirmed(client, smtp)
    job_id = created_and_told(client, "SELECT TOP 1 * FROM demo.stars")
    RememberedJob.objects.filter(job_id=job_id).update(keep=True, notify=False)
    vollt.change(job_id, changes.RUN)
    wait_for(vollt, job_id, {"COMPLETED"}, timeout=30)
    watch = checked_until(job_id, lambda watch: watch.phase == "COMPLETED")
    assert watch.keep_refused_at is not None
    assert mail.send_due() == 1
    (message,) = smtp.to("astro@example.org")
    body = message.get_payload(decode=True).decode()
    assert "would not keep it longer" in body and "/mine/keep/" not in body
    # Not asked again at every check: a request every few hours at most.
    posts_before = Watch.objects.get(pk=watch.pk).keep_refused_at
    Watch.objects.filter(pk=watch.pk).update(next_check_at=timezone.now())
    checks.run_due_checks()
    assert Watch.objects.get(pk=watch.pk).keep_refused_at == posts_before


def test_a_vollt_job_deleted_elsewhere_is_marked_gone_and_its_owner_told(client, smtp, vollt):
    confirmed(client, smtp)
    job_id = created_and_told(client, "SELECT TOP 1 * FROM demo.stars")
    vollt.change(job_id, changes.DELETE)
    checked_until(job_id, lambda watch: watch.gone)
    assert mail.send_due() == 1
    (message,) = smtp.to("astro@example.org")
    assert message["Subject"] == f"Job {job_id} is gone from Local VOLLT"
