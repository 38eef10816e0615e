"""The job page and its live part: what a job is, what can be done with it now, and the watch.

`job_page` renders the whole page, or only its live part (`_job_live.html`) for a
watch request; `watch` answers htmx's watch requests with a UWS WAIT.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from . import commands, operations, phases
from .adql_errors import error_spot
from .facts import service_facts
from .models import RememberedJob
from .operations import Operation
from .services import Service
from .tokens import client_for, token_for
from .uws.client import UWSClient
from .uws.errors import Failure, ServiceError
from .uws.model import ID_RE, Job
from .uws.times import utc_iso
from .watching import live
from .watching.models import Watch
from .watching.records import job_from_record

# A watch request blocks on the service at most this long (UWS WAIT), so a
# watched job costs the service about 6 requests a minute and holds a worker
# thread no longer than this.
WATCH_WAIT = 10
# A service that ignores WAIT answers at once: then the page asks again after this.
WATCH_BACKOFF = 10
# Without JavaScript, the page of a job that may still change reloads itself this often (seconds).
NO_SCRIPT_REFRESH = 15
# Quick extensions of a job's life, from its current destruction time (or now).
LIFE_EXTENSIONS = [("+1 day", timedelta(days=1)), ("+1 week", timedelta(weeks=1)), ("+30 days", timedelta(days=30))]
LAST_ACTION = "last_action"


def job_page(
    request: HttpRequest,
    service: Service,
    client: UWSClient,
    job: Job,
    job_id: str,
    *,
    status: int = 200,
    refusal: ServiceError | None = None,
    fragment: bool = False,
    poll_delay: int = 0,
    announce: bool = False,
) -> HttpResponse:
    """The job page, or only its live part (`_job_live.html`) for a watch request."""
    now = datetime.now(UTC)
    allowed = operations.allowed_changes(job.phase)
    context = {
        "service": service,
        "job": job,
        "job_id": job_id,
        "meaning": phases.meaning(job.phase),
        "operations": allowed,
        "results": _results(service, client, job, job_id),
        "refusal": refusal,
        "now": now,
        "timing": _timing(job, now),
        "extensions": _extensions(job, now),
        "destruction_local": utc_text(job.destruction) if job.destruction else "",
        "watching": not job.is_final,
        "poll_delay": poll_delay,
        "from_record": not job.is_final and served_by_worker(request, service),
        "poll_seconds": live.POLL_SECONDS,
        "refresh_seconds": NO_SCRIPT_REFRESH,
        "announce": announce,
        "fragment": fragment,
        "job_commands": _job_commands(service, client, job_id, job, allowed),
        "error_spot": error_spot(job.error_summary.message if job.error_summary else None, job.query),
        "max_duration": _max_duration(service) if job.ran_out_of_time else None,
    }
    if context["from_record"] and not fragment:
        live.follow(service, job_id, job)  # the page is open: the worker watches the job eagerly
    if not fragment:
        context["last_commands"] = _pop_last_commands(request, service, client, job_id)
        context["watching_entry"] = RememberedJob.entry(request.browser_key, service.slug, job_id)
        context["needs_token"] = token_for(request, service) is not None
    template = "jobs/_job_live.html" if fragment else "jobs/job_detail.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def utc_text(moment: datetime) -> str:
    """A time as the destruction field shows it: UTC, 24 hours, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _max_duration(service: Service) -> int | None:
    """The longest execution duration the service allows, if its capabilities are known already."""
    facts = service_facts(service, fetch=False)
    return facts.capabilities.execution_duration.hard if facts and facts.capabilities else None


def _results(service: Service, client: UWSClient, job: Job, job_id: str) -> list[tuple]:
    """Each result with its portal URL (streamed through) or its URL on another host (linked)."""
    results = []
    seen: set[str] = set()
    for result in job.results:
        portal_url = external_url = None
        link = client.result_link(job_id, result)
        if link and not link.proxied:
            external_url = link.url
        elif link and result.id not in seen and ID_RE.fullmatch(result.id):
            portal_url = reverse("job_result", args=[service.slug, job_id, result.id])
        seen.add(result.id)
        results.append((result, portal_url, external_url))
    return results


def _job_commands(
    service: Service, client: UWSClient, job_id: str, job: Job, allowed: tuple[Operation, ...]
) -> list[commands.Commands]:
    """Commands for what makes sense now: reading it, its results or error, the allowed changes, making it again."""
    wanted = ["status"]
    if job.phase == "COMPLETED" or job.results:
        wanted.append("results")
    if job.phase == "ERROR" or job.error_summary:
        wanted.append("error")
    wanted += [operation.id for operation in allowed]
    first = job.results[0] if job.results else None
    values = {
        "executionduration": str(job.execution_duration) if job.execution_duration is not None else None,
        "destruction": utc_iso(job.destruction) if job.destruction else None,
        "results": (first.mime_type if first else None) or job.parameter("format"),
    }
    made = [commands.for_job(client.jobs_url, job_id, operation, values.get(operation)) for operation in wanted]
    parameters = commands.creation_parameters(job) if service.tap else {}
    if parameters:
        made.append(commands.for_new_job(service.url, parameters, service.jobs_url))
    return made


def remember_last_action(request: HttpRequest, service: Service, job_id: str, operation: Operation, value) -> None:
    """Keep what was just done, so the job page can show it from the command line once."""
    if isinstance(value, datetime):
        value = utc_iso(value)
    request.session[LAST_ACTION] = [service.slug, job_id, operation.id, None if value is None else str(value)]


def _pop_last_commands(
    request: HttpRequest, service: Service, client: UWSClient, job_id: str
) -> list[commands.Commands]:
    last = request.session.pop(LAST_ACTION, None)
    if not last or last[:2] != [service.slug, job_id] or last[2] not in operations.BY_ID:
        return []
    return [commands.for_job(client.jobs_url, job_id, last[2], last[3])]


def _extensions(job: Job, now: datetime) -> list[tuple[str, str]]:
    start = max(job.destruction or now, now)
    # Some services keep jobs to the calendar's last day (9999-12-31): no later time exists.
    latest = datetime.max.replace(tzinfo=UTC)
    return [(label, utc_iso(start + delta)) for label, delta in LIFE_EXTENSIONS if start <= latest - delta]


def _timing(job: Job, now: datetime) -> dict:
    """Elapsed time against the execution duration, for a running job."""
    if job.phase != "EXECUTING" or job.start_time is None:
        return {}
    elapsed = max(0, int((now - job.start_time).total_seconds()))
    timing = {"elapsed": elapsed, "elapsed_text": _span(elapsed)}
    limit = job.execution_duration
    if limit:
        timing.update(limit=limit, limit_text=_span(limit), percent=min(100, elapsed * 100 // limit))
        if elapsed >= limit:
            timing["warning"] = "the job has used all its execution duration; the service will stop it."
        elif job.quote and job.quote - job.start_time > timedelta(seconds=limit):
            # Compared as spans: a start near 9999-12-31 plus the limit is no datetime.
            deadline = job.start_time + timedelta(seconds=limit)
            timing["warning"] = (
                f"the service expects it to end at {job.quote:%H:%M:%S} UTC, after its limit: "
                f"it will be stopped at {deadline:%H:%M:%S} UTC. Raise the execution duration or simplify the query."
            )
    return timing


def _span(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def served_by_worker(request: HttpRequest, service: Service) -> bool:
    """Whether the live part of this user's job pages reads the worker's record (not with a token of theirs)."""
    return token_for(request, service) is None and live.worker_running()


def watch(request: HttpRequest, service: Service, job_id: str, shown_phase: str) -> HttpResponse:
    """Answer htmx's watch request: from the worker's record when a worker watches the job, else with a UWS WAIT."""
    if served_by_worker(request, service):
        return _watch_from_record(request, service, job_id, shown_phase)
    client = client_for(request, service)
    started = time.monotonic()
    try:
        job = client.get_job(job_id, wait=WATCH_WAIT, phase=shown_phase)
    except ServiceError as error:
        # htmx does not swap error answers: a 200 fragment says what happened and,
        # unless the job is gone, keeps watching.
        response = render(
            request,
            "jobs/_watch_failed.html",
            {
                "service": service,
                "job_id": job_id,
                "error": error,
                "now": datetime.now(UTC),
                "shown_phase": shown_phase,
                "retry": error.failure != Failure.NOT_FOUND,
                "poll_delay": WATCH_BACKOFF,
            },
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
    changed = job.phase != shown_phase
    honoured_wait = time.monotonic() - started >= WATCH_WAIT / 2
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    return job_page(
        request,
        service,
        client,
        job,
        job_id,
        fragment=True,
        poll_delay=0 if changed or honoured_wait else WATCH_BACKOFF,
        announce=changed,
    )


def _watch_from_record(request: HttpRequest, service: Service, job_id: str, shown_phase: str) -> HttpResponse:
    """The live part from the portal's own record once the worker has seen a change; else nothing to swap (204).

    Nearly every question is answered by the 204, the cheapest answer there is: one query, no
    template, no session written, no client made.
    """
    phase, gone = live.follow(service, job_id)
    record = None
    if not gone and phase != shown_phase:
        record = Watch.objects.filter(service=service.slug, job_id=job_id).values_list("document", flat=True).first()
    if not record:
        response = HttpResponse(status=204)  # htmx swaps nothing; the page asks again shortly
        patch_vary_headers(response, ["HX-Request"])
        return response
    job = job_from_record(record)
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    return job_page(request, service, client_for(request, service), job, job_id, fragment=True, announce=True)
