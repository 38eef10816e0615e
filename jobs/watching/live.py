"""Open job pages, served from the worker's record: ten pages open on one job cost the service what one does.

While a page of a job is open, the worker watches the job eagerly (a UWS WAIT, so it sees a
change at once) and keeps the whole job in the database; the page asks the portal every
2 s, and the portal answers from that record: no web thread waits on a service. Where no
worker runs, or the job is read with the user's own token (which the worker never has),
the page's own watch asks the service as before.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ..uws.model import Job
from . import checks
from .models import Watch
from .tasks import schedule, tick

POLL_SECONDS = 2  # how often an open page asks the portal
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


def follow(service, job_id: str, job: Job | None = None) -> Watch:
    """Mark the job's page open: its watch (made if needed, from the job read) is eager a while more."""
    watch = checks.watch_job(service, job_id, job, phase=job.phase if job else "")
    now = timezone.now()
    if watch.eager_until is None or watch.eager_until < now + EAGER_FOR / 2:
        Watch.objects.filter(pk=watch.pk).update(eager_until=now + EAGER_FOR)
        schedule()
    return watch
