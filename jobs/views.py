"""Thin views: check the input, make one client call, render or redirect."""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from . import commands, phases
from .adql_errors import error_position, marked_query
from .decorators import allow
from .forms import (
    FORMATS,
    ID_RE,
    DestructionForm,
    ExecutionDurationForm,
    JobListFilterForm,
    JobOperationForm,
    NewJobForm,
    utc_iso,
)
from .models import RememberedJob
from .preview import PreviewError, preview, previewable
from .services import Service, configured_services, find_service_or_404
from .tokens import TokenForm, client_for, token_for
from .uws.client import ExternalResult, Failure, ServiceError, UWSClient
from .uws.model import FINAL_PHASES, Job, JobRef
from .uws.vosi import Availability, Capabilities

JOBS_PER_PAGE = 50
# The seven job-id forms of the start page, in the order of ESO's page: (op, label, method).
HOME_OPERATIONS = [
    ("run", "Run", "post"),
    ("status", "Status", "get"),
    ("executionduration", "Execution duration", "post"),
    ("destruction", "Destruction", "post"),
    ("results", "Results", "get"),
    ("abort", "Abort", "post"),
    ("delete", "Delete", "post"),
]
# What the user sees, and the status the portal answers, for each kind of failure.
FAILURE_STATUS = {
    Failure.NOT_FOUND: 404,
    Failure.TIMEOUT: 504,
    Failure.UNREACHABLE: 502,
    Failure.SERVER_ERROR: 502,
    Failure.BAD_RESPONSE: 502,
    Failure.FORBIDDEN_URL: 502,
    Failure.REFUSED: 502,
    Failure.BAD_REQUEST: 502,
    Failure.BUSY: 503,
}
FAILURE_TITLE = {
    Failure.NOT_FOUND: "Not found",
    Failure.TIMEOUT: "The service is too slow",
    Failure.UNREACHABLE: "The service cannot be reached",
    Failure.SERVER_ERROR: "The service failed",
    Failure.BAD_RESPONSE: "The service sent an answer the portal cannot read",
    Failure.FORBIDDEN_URL: "The portal did not follow the service",
    Failure.REFUSED: "The service refused the request",
    Failure.BAD_REQUEST: "The service rejected the request",
    Failure.BUSY: "Too many requests to this service at once",
}


# -- helpers -----------------------------------------------------------------------


def _upstream_error(
    request: HttpRequest,
    service: Service,
    error: ServiceError,
    job_id: str | None = None,
    *,
    done: str | None = None,
) -> HttpResponse:
    """The page for a failed request to a service: what happened, and what was and was not done."""
    return render(
        request,
        "jobs/upstream_error.html",
        {
            "service": service,
            "job_id": job_id,
            "error": error,
            "title": FAILURE_TITLE[error.failure],
            "done": done,
        },
        status=FAILURE_STATUS[error.failure],
    )


ACTION_NAMES = {
    phases.RUN: "start the job",
    phases.ABORT: "abort the job",
    phases.DURATION: "change the execution duration",
    phases.DESTRUCTION: "change the destruction time",
    phases.DELETE: "delete the job",
}


def _uncertain_outcome(action: str, error: ServiceError) -> str:
    """What a failed change did, as far as the portal can know."""
    wanted = ACTION_NAMES[action]
    if error.failure in (Failure.FORBIDDEN_URL, Failure.BUSY) or (
        error.failure == Failure.UNREACHABLE and "refused the connection" in error.message
    ):
        return f"The request to {wanted} never reached the service: nothing was changed."
    if error.failure in (Failure.TIMEOUT, Failure.UNREACHABLE):
        return (
            f"The request to {wanted} was sent, but no complete answer came back: the service may or may not "
            "have done it. Reload the job page to see its state."
        )
    if error.failure == Failure.NOT_FOUND:
        return "Nothing was changed: the service does not know the job."
    return f"The service failed while asked to {wanted}; reload the job page to see whether anything changed."


def _home_page(request: HttpRequest, service: Service, operation_form=None, new_job_form=None, status=200):
    facts = _service_facts(service, fetch=False)
    return render(
        request,
        "jobs/home.html",
        {
            "service": service,
            "operation_form": operation_form
            or JobOperationForm(services=configured_services().values(), initial={"service": service.slug}),
            "new_job_form": new_job_form or NewJobForm(formats=_format_choices(facts)),
            "operations": HOME_OPERATIONS,
            "facts": facts,
            "has_token": token_for(request, service) is not None,
            "token_form": TokenForm(),
        },
        status=status,
    )


# -- what the service says of itself (VOSI) ------------------------------------------

VOSI_CACHE_SECONDS = 120


@dataclass(frozen=True)
class ServiceFacts:
    """A service's VOSI answers, or why there are none; kept briefly in the cache."""

    availability: Availability | None
    availability_problem: str | None
    capabilities: Capabilities | None
    capabilities_problem: str | None
    checked_at: datetime


def _service_facts(service: Service, *, fetch: bool) -> ServiceFacts | None:
    """The cached facts; with `fetch`, ask the service when none are cached."""
    key = f"vosi:{service.slug}"
    facts = cache.get(key)
    if facts is not None or not fetch:
        return facts
    client = service.client()  # shared by every user: asked without anyone's token
    availability = capabilities = None
    availability_problem = capabilities_problem = None
    try:
        availability = client.get_availability()
    except ServiceError as error:
        availability_problem = error.message
    try:
        capabilities = client.get_capabilities()
    except ServiceError as error:
        capabilities_problem = error.message
    facts = ServiceFacts(availability, availability_problem, capabilities, capabilities_problem, datetime.now(UTC))
    cache.set(key, facts, VOSI_CACHE_SECONDS)
    return facts


def _format_choices(facts: ServiceFacts | None) -> list[tuple[str, str]]:
    if facts and facts.capabilities and facts.capabilities.output_formats:
        return facts.capabilities.format_choices()
    return FORMATS


@allow("GET")
def service_info(request: HttpRequest, slug: str) -> HttpResponse:
    """Availability and capabilities; for htmx, the box of the start page and its FORMAT choices."""
    service = find_service_or_404(slug)
    facts = _service_facts(service, fetch=True)
    form = NewJobForm(formats=_format_choices(facts))
    form.fields["format"].widget.attrs["hx-swap-oob"] = "true"  # refills the start page's choice
    context = {"service": service, "facts": facts, "new_job_form": form}
    template = "jobs/_service_info.html" if request.htmx else "jobs/service_info.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# -- pages -------------------------------------------------------------------------


@allow("GET")
def home(request: HttpRequest) -> HttpResponse:
    services = configured_services()
    chosen = request.GET.get("service")
    service = services.get(chosen) if chosen else None
    return _home_page(request, service or next(iter(services.values())))


@allow("GET")
def service_home(request: HttpRequest, slug: str) -> HttpResponse:
    """The start page of one service; `?resubmit=<job>` fills the new-query form from that job."""
    service = find_service_or_404(slug)
    resubmit = request.GET.get("resubmit", "")
    if not resubmit:
        return _home_page(request, service)
    if not ID_RE.fullmatch(resubmit):
        messages.error(request, "That is not a job id; the new-query form is empty.")
        return _home_page(request, service, status=400)
    try:
        job = client_for(request, service).get_job(resubmit)
    except ServiceError as error:
        messages.error(request, f"The query of job {resubmit} could not be read: {error.message}")
        return _home_page(request, service)
    initial = {"query": job.query or "", "runid": job.run_id or "", "run": True}
    if (job.parameter("maxrec") or "").isdigit():
        initial["maxrec"] = int(job.parameter("maxrec"))
    if job.parameter("format"):
        initial["format"] = job.parameter("format")
    form = NewJobForm(initial=initial, formats=_format_choices(_service_facts(service, fetch=False)))
    messages.info(request, f"The new-query form holds the query of job {resubmit}: edit it and submit.")
    return _home_page(request, service, new_job_form=form)


@allow("GET", "POST")
def job_operation(request: HttpRequest) -> HttpResponse:
    """The start page's job-id forms: each ends at the job's own URL."""
    services = configured_services()
    data = request.POST if request.method == "POST" else request.GET
    form = JobOperationForm(data, services=services.values())
    if not form.is_valid():
        service = services.get(data.get("service", "")) or next(iter(services.values()))
        return _home_page(request, service, operation_form=form, status=400)
    service = services[form.cleaned_data["service"]]
    job_id = form.cleaned_data["job_id"]
    op = form.cleaned_data["op"]
    if op == "status":
        return redirect("job_detail", slug=service.slug, job_id=job_id)
    if op == "results":
        return HttpResponseRedirect(reverse("job_detail", args=[service.slug, job_id]) + "#results")
    if request.method != "POST":
        # Changing a job takes a POST (and its CSRF token); a GET only shows the form.
        form.add_error("op", "This operation changes the job: submit the form (POST).")
        return _home_page(request, service, operation_form=form, status=405)
    value = {
        "executionduration": form.cleaned_data.get("executionduration"),
        "destruction": form.cleaned_data.get("destruction"),
    }.get(op)
    if op == phases.DELETE:
        return _confirm_delete(request, service, job_id)
    return _perform(request, service, job_id, op, value)


@allow("GET", "POST")
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    service = find_service_or_404(slug)
    if request.method == "POST":
        return _create_job(request, service)
    form = JobListFilterForm(request.GET)
    context = {"service": service, "filter_form": form}
    if not form.is_valid():
        return render(request, "jobs/job_list.html", context, status=400)
    filters = form.cleaned_data
    try:
        listing = client_for(request, service).list_jobs(
            phases=filters["PHASE"], after=filters["AFTER"], last=filters["LAST"]
        )
    except ServiceError as error:
        return _upstream_error(request, service, error)
    # Newest first where the service says when; services send lists unsorted (UWS-NOTES §4.8).
    oldest = datetime.min.replace(tzinfo=UTC)
    jobs = sorted(listing.jobs, key=lambda ref: ref.creation_time or oldest, reverse=True)
    page = filters["page"] or 1
    pages = max(1, -(-len(jobs) // JOBS_PER_PAGE))
    page = min(page, pages)
    shown = jobs[(page - 1) * JOBS_PER_PAGE : page * JOBS_PER_PAGE]
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        {
            "jobs": [(ref, _job_id_of(ref)) for ref in shown],
            "total": len(jobs),
            "page": page,
            "pages": pages,
            "query": query.urlencode(),
        }
    )
    return render(request, "jobs/job_list.html", context)


def _job_id_of(ref: JobRef) -> str | None:
    """The id to link a list entry by, or None if it cannot be linked.

    Some services' jobref ids are not job ids (CosmoSim's are table names): the last
    segment of the href, when there is one, is the job's own (UWS-NOTES §4.8).
    """
    if ref.href:
        segment = urlsplit(ref.href).path.rstrip("/").rsplit("/", 1)[-1]
        if ID_RE.fullmatch(segment):
            return segment
    return ref.id if ID_RE.fullmatch(ref.id) else None


def _create_job(request: HttpRequest, service: Service) -> HttpResponse:
    facts = _service_facts(service, fetch=False)
    choices = _format_choices(facts)
    if request.POST.get("format") not in {value for value, _ in choices} and facts is None:
        # A format of the service's own, offered by a page whose facts have left the cache.
        choices = _format_choices(_service_facts(service, fetch=True))
    form = NewJobForm(request.POST, formats=choices)
    if not form.is_valid():
        return _home_page(request, service, new_job_form=form, status=400)
    client = client_for(request, service)
    try:
        job_id = client.create_job(form.uws_parameters())
    except ServiceError as error:
        return _upstream_error(request, service, error)
    if not ID_RE.fullmatch(job_id):
        error = ServiceError(
            Failure.BAD_RESPONSE,
            "The service created a job whose id the portal cannot use.",
            service=service.title,
            url=service.async_url,
        )
        return _upstream_error(request, service, error)
    # Remembered at once: whatever happens next, the id is not lost.
    RememberedJob.objects.get_or_create(
        browser=request.browser_key,
        service=service.slug,
        job_id=job_id,
        defaults={"phase": "PENDING", "query_start": " ".join(form.cleaned_data["query"].split())[:200]},
    )
    if not form.cleaned_data["run"]:
        messages.success(request, f"Job {job_id} created. It waits (PENDING) until you run it.")
        return redirect("job_detail", slug=service.slug, job_id=job_id)
    return _perform(request, service, job_id, phases.RUN, None, created=True)


@allow("GET", "POST")
def job_detail(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    service = find_service_or_404(slug)
    if request.method == "POST":
        action, value, form = _action_from_post(request)
        if action is None:
            return render(
                request,
                "jobs/action_form.html",
                {"service": service, "job_id": job_id, "form": form, "problem": value},
                status=400,
            )
        if action == phases.DELETE and request.POST.get("CONFIRMED", request.POST.get("confirmed")) != "yes":
            return _confirm_delete(request, service, job_id)
        return _perform(request, service, job_id, action, value)
    shown_phase = request.GET.get("watch", "")
    if request.htmx and shown_phase:
        return _watch(request, service, job_id, shown_phase.upper()[:32])
    client = client_for(request, service)
    try:
        job = client.get_job(job_id)
    except ServiceError as error:
        return _upstream_error(request, service, error, job_id)
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    return _job_page(request, service, client, job, job_id)


def _job_page(
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
    info = phases.phase_info(job.phase)
    now = datetime.now(UTC)
    results = []
    seen: set[str] = set()
    for result in job.results:
        portal_url = external_url = None
        href = _result_url(client, job_id, result.href)
        if href and not _same_host(client, href):
            external_url = href  # pre-signed storage on another host: linked, never proxied
        elif href and result.id not in seen and ID_RE.fullmatch(result.id):
            portal_url = reverse("job_result", args=[service.slug, job_id, result.id])
        seen.add(result.id)
        results.append((result, portal_url, external_url))
    context = {
        "service": service,
        "job": job,
        "job_id": job_id,
        "info": info,
        "actions": info.actions,
        "results": results,
        "refusal": refusal,
        "now": now,
        "now_local": now.strftime("%Y-%m-%dT%H:%M"),
        "timing": _timing(job, now),
        "extensions": _extensions(job, now),
        "destruction_local": job.destruction.strftime("%Y-%m-%dT%H:%M:%S") if job.destruction else "",
        "watching": job.phase not in FINAL_PHASES,
        "poll_delay": poll_delay,
        "announce": announce,
        "fragment": fragment,
        "job_commands": _job_commands(service, job_id, job, info),
        "error_spot": _error_spot(job.error_summary.message if job.error_summary else None, job.query),
    }
    if not fragment:
        context["last_commands"] = _pop_last_commands(request, service, job_id)
    template = "jobs/_job_live.html" if fragment else "jobs/job_detail.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _error_spot(message: str | None, query: str | None):
    """((line, column), marked lines) when the error message points into the query."""
    if not message or not query:
        return None
    position = error_position(message, query)
    return (position, marked_query(query, position)) if position else None


def _job_commands(service: Service, job_id: str, job: Job, info: phases.PhaseInfo) -> list[commands.Commands]:
    """Commands for what makes sense now: reading it, its results or error, and the allowed operations."""
    wanted = ["status"]
    if job.phase == "COMPLETED" or job.results:
        wanted.append("results")
    if job.phase == "ERROR" or job.error_summary:
        wanted.append("error")
    wanted += [action for action in phases.ORDER if action in info.actions]
    values = {
        phases.DURATION: str(job.execution_duration if job.execution_duration is not None else 3600),
        phases.DESTRUCTION: utc_iso(job.destruction) if job.destruction else None,
    }
    return [commands.for_job(service.async_url, job_id, operation, values.get(operation)) for operation in wanted]


LAST_ACTION = "last_action"


def _remember_last_action(request: HttpRequest, service: Service, job_id: str, action: str, value) -> None:
    """Keep what was just done, so the job page can show it from the command line once."""
    if action == phases.DESTRUCTION:
        value = utc_iso(value)
    request.session[LAST_ACTION] = [service.slug, job_id, action, None if value is None else str(value)]


def _pop_last_commands(request: HttpRequest, service: Service, job_id: str) -> list[commands.Commands]:
    last = request.session.pop(LAST_ACTION, None)
    if not last or last[:2] != [service.slug, job_id]:
        return []
    return [commands.for_job(service.async_url, job_id, last[2], last[3])]


# Quick extensions of a job's life, from its current destruction time (or now).
EXTENSIONS = [("+1 day", timedelta(days=1)), ("+1 week", timedelta(weeks=1)), ("+30 days", timedelta(days=30))]


def _extensions(job: Job, now: datetime) -> list[tuple[str, str]]:
    start = max(job.destruction or now, now)
    # Some services keep jobs to the calendar's last day (9999-12-31): no later time exists.
    latest = datetime.max.replace(tzinfo=UTC)
    return [(label, utc_iso(start + delta)) for label, delta in EXTENSIONS if start <= latest - delta]


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


# A watch request blocks on the service at most this long (UWS WAIT), so a
# watched job costs the service about 6 requests a minute and holds a worker
# thread no longer than this.
WATCH_WAIT = 10
# A service that ignores WAIT answers at once: then the page asks again after this.
WATCH_BACKOFF = 10


def _watch(request: HttpRequest, service: Service, job_id: str, shown_phase: str) -> HttpResponse:
    """Answer htmx's watch request: the live part once the phase changes or WAIT ends."""
    client = client_for(request, service)
    started = time.monotonic()
    try:
        job = client.get_job(job_id, wait=WATCH_WAIT, phase=shown_phase)
    except ServiceError as error:
        # htmx does not swap error answers: a 200 fragment says what happened and,
        # unless the job is gone, keeps watching.
        return render(
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
    changed = job.phase != shown_phase
    honoured_wait = time.monotonic() - started >= WATCH_WAIT / 2
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    return _job_page(
        request,
        service,
        client,
        job,
        job_id,
        fragment=True,
        poll_delay=0 if changed or honoured_wait else WATCH_BACKOFF,
        announce=changed,
    )


# -- actions -------------------------------------------------------------------------


def _action_from_post(request: HttpRequest):
    """Read the one operation of a job POST, as ESO's examples send it; names are case-insensitive.

    Returns (action, value, None), or (None, problem, form to show again).
    """
    fields = {key.upper(): value.strip() for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    if "PHASE" in fields:
        phase = fields["PHASE"].upper()
        if phase == "RUN":
            return phases.RUN, None, None
        if phase == "ABORT":
            return phases.ABORT, None, None
        return None, f"PHASE must be RUN or ABORT, not {fields['PHASE'][:40]!r}.", None
    if "EXECUTIONDURATION" in fields:
        form = ExecutionDurationForm({"executionduration": fields["EXECUTIONDURATION"]})
        if form.is_valid():
            return phases.DURATION, form.cleaned_data["executionduration"], None
        return None, None, form
    if "DESTRUCTION" in fields:
        form = DestructionForm({"destruction": fields["DESTRUCTION"]})
        if form.is_valid():
            return phases.DESTRUCTION, form.cleaned_data["destruction"], None
        return None, None, form
    if fields.get("ACTION", "").upper() == "DELETE":
        return phases.DELETE, None, None
    return None, "Nothing to do: send PHASE=RUN, PHASE=ABORT, EXECUTIONDURATION, DESTRUCTION or ACTION=DELETE.", None


# (operation, phase read right after it): the change may still be on its way.
SETTLING = frozenset({(phases.ABORT, "EXECUTING"), (phases.ABORT, "QUEUED"), (phases.RUN, "PENDING")})


def _confirm_delete(request: HttpRequest, service: Service, job_id: str) -> HttpResponse:
    """A delete cannot be undone: ask first, showing what would go (if the job can be read)."""
    try:
        job = client_for(request, service).get_job(job_id)
    except ServiceError as error:
        job, problem = None, error.message
    else:
        problem = None
    return render(
        request, "jobs/confirm_delete.html", {"service": service, "job_id": job_id, "job": job, "problem": problem}
    )


def _perform(
    request: HttpRequest, service: Service, job_id: str, action: str, value, created: bool = False
) -> HttpResponse:
    """Send one operation to the service, then show what it kept (servers clamp values)."""
    client = client_for(request, service)
    before = None
    if action in (phases.RUN, phases.ABORT):
        before = "PENDING" if created else _phase_before(client, job_id)
    try:
        if action == phases.RUN:
            client.run(job_id)
        elif action == phases.ABORT:
            client.abort(job_id)
        elif action == phases.DURATION:
            client.set_execution_duration(job_id, value)
        elif action == phases.DESTRUCTION:
            client.set_destruction(job_id, utc_iso(value))
        elif action == phases.DELETE:
            client.delete(job_id)
            return _after_delete(request, service, job_id)
    except ServiceError as error:
        created_note = f"Job {job_id} was created and is listed in My jobs, but the service did not start it. "
        if error.failure not in (Failure.REFUSED, Failure.BAD_REQUEST):
            done = _uncertain_outcome(action, error)
            return _upstream_error(request, service, error, job_id, done=created_note + done if created else done)
        if created:
            messages.info(request, created_note)
        try:
            job = client.get_job(job_id)
        except ServiceError as read_error:
            return _upstream_error(request, service, read_error, job_id, done="The service refused the request.")
        return _job_page(request, service, client, job, job_id, status=409, refusal=error)
    try:
        job = client.get_job(job_id)
        if (action, job.phase) in SETTLING:
            # DaCHS takes a moment to stop or start a worker: give the change a short WAIT
            # before saying the service left the job as it was.
            job = client.get_job(job_id, wait=2, phase=job.phase)
    except ServiceError as error:
        done = (
            f"The service accepted the request to {ACTION_NAMES[action]}, but reading the job back failed, "
            "so what it kept is not known yet."
        )
        return _upstream_error(request, service, error, job_id, done=done)
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    _remember_last_action(request, service, job_id, action, value)
    messages.success(request, _outcome(action, value, job, created, before))
    return redirect("job_detail", slug=service.slug, job_id=job_id)


def _phase_before(client: UWSClient, job_id: str) -> str | None:
    """The job's phase before a RUN or ABORT, or None if it cannot be read now.

    Services answer a RUN or ABORT they ignore with the same 303 as one they obey
    (DaCHS does, for a job that has ended): comparing phases is the only witness.
    """
    try:
        return client.get_job(job_id).phase
    except ServiceError:
        return None


def _outcome(action: str, value, job: Job, created: bool, before: str | None) -> str:
    """One sentence on what the service did, from the job as it is now."""
    unchanged = before is not None and before == job.phase
    prefix = f"Job {job.job_id} created and started" if created else "Run requested"
    if action == phases.RUN:
        if job.phase in ("PENDING", "HELD") or unchanged:
            return f"{prefix}, but the service left the job {job.phase}."
        return f"{prefix}: the job is now {job.phase}."
    if action == phases.ABORT:
        if job.phase == "ABORTED" and not unchanged:
            return "Job aborted."
        return f"Abort requested, but the service left the job {job.phase}."
    if action == phases.DURATION:
        kept = job.execution_duration
        if kept == value:
            return f"Execution duration set to {_seconds(kept)}."
        return f"You asked for {_seconds(value)}; the service kept {_seconds(kept)}."
    if action == phases.DESTRUCTION:
        kept = job.destruction
        if kept is not None and abs((kept - value).total_seconds()) < 1:
            return f"Destruction set to {utc_iso(kept)}."
        shown = utc_iso(kept) if kept else "no destruction time"
        return f"You asked for destruction at {utc_iso(value)}; the service kept {shown}."
    raise ValueError(action)


def _seconds(value: int | None) -> str:
    if value is None:
        return "no value"
    return "unlimited (0)" if value == 0 else f"{value} s"


def _after_delete(request: HttpRequest, service: Service, job_id: str) -> HttpResponse:
    """Check what the delete did: some services archive instead (UWS-NOTES §4.11)."""
    try:
        job = client_for(request, service).get_job(job_id)
    except ServiceError as error:
        if error.failure == Failure.NOT_FOUND:
            RememberedJob.objects.filter(browser=request.browser_key, service=service.slug, job_id=job_id).delete()
            messages.success(request, f"Job {job_id} deleted.")
        else:
            messages.warning(request, f"The service accepted the delete of job {job_id}; it could not be checked.")
        return redirect("job_list", slug=service.slug)
    if job.phase == "ARCHIVED":
        messages.info(request, f"The service archived job {job_id} instead of deleting it.")
    else:
        messages.warning(request, f"The service accepted the delete, but job {job_id} is still there ({job.phase}).")
    return redirect("job_list", slug=service.slug)


# -- results and errors ---------------------------------------------------------------


@allow("GET")
def job_error(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    service = find_service_or_404(slug)
    client = client_for(request, service)
    try:
        document = client.get_error(job_id)
    except ServiceError as error:
        return _upstream_error(request, service, error, job_id)
    try:  # the query, to mark the spot the error names; the page is useful without it
        query = client.get_job(job_id).query
    except ServiceError:
        query = None
    message = document.message or (document.text if "text/plain" in document.content_type else None)
    return render(
        request,
        "jobs/job_error.html",
        {
            "service": service,
            "job_id": job_id,
            "document": document,
            "query": query,
            "error_spot": _error_spot(message, query),
        },
    )


_EXTENSIONS = {
    "votable": ".vot",
    "x-votable": ".vot",
    "csv": ".csv",
    "tab-separated-values": ".tsv",
    "fits": ".fits",
    "json": ".json",
    "html": ".html",
    "plain": ".txt",
    "xml": ".xml",
}


def _file_name(job_id: str, result_id: str, content_type: str) -> str:
    media_type = content_type.split(";")[0].strip().lower()
    subtype = media_type.rsplit("/", 1)[-1]
    extension = next((ext for key, ext in _EXTENSIONS.items() if key in subtype), None)
    extension = extension or mimetypes.guess_extension(media_type) or ""
    stem = result_id if extension and result_id.lower().endswith(extension) else f"{result_id}{extension}"
    return f"{job_id}-{stem}"


@allow("GET")
def job_result(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """Stream one result through, or send the browser to the other host that holds it."""
    service = find_service_or_404(slug)
    client = client_for(request, service)
    try:
        job = client.get_job(job_id)
        result = job.result(result_id)
        if result is None:
            return render(
                request,
                "jobs/no_result.html",
                {"service": service, "job": job, "result_id": result_id},
                status=404,
            )
        elsewhere = _kept_elsewhere(client, job_id, result.href)
        if elsewhere:
            return HttpResponseRedirect(elsewhere)
        opened = client.open_result(job_id, result_id)
    except ServiceError as error:
        return _upstream_error(request, service, error, job_id)
    if isinstance(opened, ExternalResult):
        return HttpResponseRedirect(opened.url)
    response = StreamingHttpResponse(opened.chunks(), content_type=opened.content_type)
    if opened.content_length is not None:
        response["Content-Length"] = str(opened.content_length)
    response["Content-Disposition"] = f'attachment; filename="{_file_name(job_id, result_id, opened.content_type)}"'
    return response


PREVIEW_ROWS = 100
PREVIEW_MAX_ROWS = 1000


@allow("GET")
def job_result_preview(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """The first rows of a result as a table; only the head of the result is read."""
    service = find_service_or_404(slug)
    try:
        rows = min(max(int(request.GET.get("rows", PREVIEW_ROWS)), 1), PREVIEW_MAX_ROWS)
    except ValueError:
        rows = PREVIEW_ROWS
    client = client_for(request, service)
    context = {"service": service, "job_id": job_id, "result_id": result_id, "rows": rows}
    try:
        job = client.get_job(job_id)
        result = job.result(result_id)
        if result is None:
            return render(
                request, "jobs/no_result.html", {"service": service, "job": job, "result_id": result_id}, status=404
            )
        context["job"] = job
        elsewhere = _kept_elsewhere(client, job_id, result.href)
        if elsewhere:
            context["problem"] = "The result is kept on another host; the portal does not fetch it. Download it there."
            context["external"] = elsewhere
            return render(request, "jobs/result_preview.html", context)
        opened = client.open_result(job_id, result_id)
    except ServiceError as error:
        return _upstream_error(request, service, error, job_id)
    if isinstance(opened, ExternalResult):
        context.update(problem="The service keeps this result on another host.", external=opened.url)
        return render(request, "jobs/result_preview.html", context)
    context["content_type"] = opened.content_type
    try:
        if previewable(opened.content_type) is None:
            context["problem"] = f"Results of type {opened.content_type} are offered for download only."
        else:
            context["table"] = preview(opened.chunks(), opened.content_type, max_rows=rows)
    except PreviewError as error:
        context["problem"] = f"The result cannot be previewed: {error}"
    finally:
        opened.close()
    context["limit"] = job.parameter("maxrec")
    return render(request, "jobs/result_preview.html", context)


def _result_url(client: UWSClient, job_id: str, href: str) -> str | None:
    """The absolute web URL of a result, or None for pseudo-results (`uws:executing:4`, `final:0`).

    Relative hrefs are resolved against the job's URL (UWS-NOTES §4.6).
    """
    if not href or ":" in href.split("/", 1)[0] and not href.startswith(("http://", "https://")):
        return None
    url = urljoin(client.job_url(job_id), href)
    return url if url.startswith(("http://", "https://")) else None


def _kept_elsewhere(client: UWSClient, job_id: str, href: str) -> str | None:
    """The result's URL when another host keeps it (pre-signed storage): linked, never proxied."""
    url = _result_url(client, job_id, href)
    return url if url and not _same_host(client, url) else None


def _same_host(client: UWSClient, url: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(client.base_url).netloc.lower()


# -- the portal's own error pages -------------------------------------------------------


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = exception.args[0] if exception.args and isinstance(exception.args[0], str) else None
    return render(request, "404.html", {"message": message}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
