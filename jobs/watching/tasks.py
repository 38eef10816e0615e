"""The worker's one task: a tick that runs the due checks and sends the due e-mails, then schedules the next.

It runs on Django's Tasks API (the django-tasks backport, its database backend): any number
of `manage.py db_worker` processes take ticks from the database, each tick taken by one.
The next tick is scheduled first thing (`run_after`), so a worker killed in the middle of
one leaves the next in place; every piece of work inside is claimed by a conditional
UPDATE with a lease, so overlapping ticks or a killed worker never do a thing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from . import checks, mail

log = logging.getLogger("jobs.watching")

TICK = timedelta(seconds=5)


@task()
def tick() -> dict[str, int]:
    """Checks and e-mails that are due; the next tick is scheduled before any of it."""
    # An open page's job is asked again as soon as its WAIT ends: the next tick at once if such a check is
    # due, else when the next one falls due (a service that ignores WAIT, or every such job claimed by a
    # tick that waits on it; that tick brings the next forward when it ends). Asking at once whenever a page
    # was open had idle workers run a tick every few milliseconds, a write of the task table each.
    now = timezone.now()
    eager = checks.next_eager(now)
    schedule(min(TICK, eager - now) if eager is not None else TICK)
    checked = checks.run_due_checks()
    sent = mail.send_due() if mail.enabled() else 0
    # The next tick when the next check falls due, if that is sooner: a job is then checked on
    # time (a change seen within its interval, not up to a tick later), and a worker with more
    # checks due than one tick takes goes on at once.
    due = checks.next_due(timezone.now())
    if due is not None:
        bring_forward(due)
    # The record of each finished tick is kept an hour, for whoever looks; then it goes.
    DBTaskResult.objects.finished().filter(
        task_path=tick.module_path, finished_at__lt=timezone.now() - timedelta(hours=1)
    ).delete()
    return {"checked": checked, "sent": sent}


def bring_forward(when) -> None:
    """Move the waiting tick to `when` if it is due later."""
    DBTaskResult.objects.filter(task_path=tick.module_path, status=TaskResultStatus.READY, run_after__gt=when).update(
        run_after=when
    )


def schedule(delay: timedelta = TICK) -> None:
    """Enqueue the next tick unless one is waiting already (a race may make two: both are harmless)."""
    if not DBTaskResult.objects.filter(task_path=tick.module_path, status=TaskResultStatus.READY).exists():
        tick.using(run_after=timezone.now() + delay).enqueue()
