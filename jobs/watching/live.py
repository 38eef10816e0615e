"""Open job pages, served from the worker's record: ten pages open on one job cost the service what one does.

While a page of a job is open, the worker watches the job eagerly (a UWS WAIT, so it sees a
change at once) and keeps the whole job in the database; the page asks the portal every
1.5 s, and the portal answers from that record: no web thread waits on a service. Where no
worker runs, or the job is read with the user's own token (which the worker never has),
the page's own watch asks the service as before.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ..uws.model import Job
from . import checks
from .models import Watch
from .tasks import bring_forward, schedule, tick

# How often an open page asks the portal. A change reaches the page within this, plus the
# worker's eager check (a WAIT answered at the change) and the answer's way: under 2 s in all
# (docs/benchmarks.md; every 2 s made the worst of 500 pages 2.2 s).
POLL_SECONDS = 1.5
EAGER_FOR = timedelta(seconds=20)  # a page that stops asking (closed) stops the eager watch after this
ALIVE = timedelta(seconds=20)  # a worker that finished a tick within this is running
_alive_cache: dict[str, float] = {"checked": 0.0, "alive": 0.0}


def worker_running() -> bool:
    """Whether a worker ran a tick lately (asked of the database at most once a second a process)."""
    now = time.monotonic()
    if now - _alive_cache["checked"] > 1.0:
        since = timezone.now() - ALIVE
        _alive_cache["alive"] = float(
            DBTaskResult.objects.filter(
                task_path=tick.module_path, status=TaskResultStatus.SUCCESSFUL, finished_at__gte=since
            ).exists()
        )
        _alive_cache["checked"] = now
    return bool(_alive_cache["alive"])


def follow(service, job_id: str, job: Job | None = None) -> tuple[str, bool]:
    """Mark the job's page open (watched eagerly a while more); the phase the worker saw, and whether it is gone.

    Every open page asks this every few seconds: one question through the cursor, by the watch's
    own unique key (the ORM took three times as long, and loaded the whole job each time); a
    write only when the eager watch has less than half its time left, and a watch made (from
    the job read, if any) only the first time.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phase, gone, eager_until > %s FROM {Watch._meta.db_table} WHERE service = %s AND job_id = %s",
            [connection.ops.adapt_datetimefield_value(now + EAGER_FOR / 2), service.slug, job_id],
        )
        found = cursor.fetchone()
    if found is None:
        watch = checks.watch_job(service, job_id, job, phase=job.phase if job else "")
        found = (watch.phase, watch.gone, False)
    phase, gone, eager = found
    if not eager:
        keep_eager(Watch.objects.filter(service=service.slug, job_id=job_id))
    return phase, bool(gone)


def keep_eager(watches) -> None:
    """Watch these jobs (a queryset of watches) eagerly for EAGER_FOR more: their pages are open."""
    watches.update(eager_until=timezone.now() + EAGER_FOR)
    schedule(timedelta(0))
    bring_forward(timezone.now())  # a tick waiting for later: its first eager check is due now
