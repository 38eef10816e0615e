"""The pages: check the input with a form, make one client call, render or redirect.

Results are in `results.py`, error pages in `errors.py`, My jobs in `remembered.py`,
tokens in `tokens.py`; the job page's content is put together in `job_page.py`.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from . import operations
from .adql_errors import error_spot
from .decorators import allow
from .error_pages import FAILURE_STATUS, FAILURE_TITLE, upstream_error, what_was_done
from .examples import ServiceExamples, service_examples
from .facts import format_choices, row_limits, service_facts
from .forms import JobActionForm, JobListFilterForm, JobOperationForm, NewJobForm, ResubmitForm
from .job_page import job_page, remember_last_action, watch
from .models import RememberedJob, query_start_of
from .operations import Operation
from .services import Service, configured_services, find_service_or_404
from .tokens import TokenForm, client_for, token_for
from .uws import changes
from .uws.errors import Failure, ServiceError
from .uws.model import ID_RE
from .watching.views import start_watching, tells_by_default

JOBS_PER_PAGE = 50


def _home_page(
    request: HttpRequest,
    service: Service,
    operation_form=None,
    new_job_form=None,
    status=200,
    creation_failure: dict | None = None,
    fixing: dict | None = None,
    examples: ServiceExamples | None = None,
):
    facts = service_facts(service, fetch=False)
    return render(
        request,
        "jobs/home.html",
        {
            "service": service,
            "operation_form": operation_form
            or JobOperationForm(services=configured_services().values(), initial={"service": service.slug}),
            "new_job_form": new_job_form or NewJobForm(formats=format_choices(facts)),
            "operations": operations.START_PAGE,
            "facts": facts,
            "has_token": token_for(request, service) is not None,
            "token_form": TokenForm(),
            "creation_failure": creation_failure,
            "fixing": fixing,
            "examples": examples,
        },
        status=status,
    )


# -- start pages ---------------------------------------------------------------------


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
    # The largest MAXREC is asked of the service only when another row limit is asked for.
    _, hard_limit = row_limits(service_facts(service, fetch="maxrec" in request.GET))
    form = ResubmitForm(request.GET, hard_limit=hard_limit)
    if not form.is_valid():
        messages.error(request, "That is not a job id; the new-query form is empty.")
        return _home_page(request, service, status=400)
    resubmit = form.cleaned_data["resubmit"]
    if not resubmit:
        if form.cleaned_data["example"] and service.tap:
            return _example_page(request, service, form.cleaned_data["example"])
        return _home_page(request, service)
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
    said = f"The new-query form holds the query of job {resubmit}"
    if form.cleaned_data["maxrec"] is not None:
        initial["maxrec"] = form.cleaned_data["maxrec"]
        said += f" with a row limit of {initial['maxrec']}"
        if form.capped:
            said += ", the largest this service allows"
    form = NewJobForm(initial=initial, formats=format_choices(service_facts(service, fetch=False)))
    messages.info(request, f"{said}: edit it and submit.")
    fixing = None
    if job.error_summary and job.error_summary.message:
        # What went wrong, beside the query: the service's words, and the spot (the editor's cursor goes there).
        fixing = {"message": job.error_summary.message, "spot": error_spot(job.error_summary.message, job.query)}
    return _home_page(request, service, new_job_form=form, fixing=fixing)


def _example_page(request: HttpRequest, service: Service, key: str) -> HttpResponse:
    """The start page with one of the service's examples in the editor, and the examples open beside it."""
    try:
        found = service_examples(service)
    except ServiceError as error:
        messages.error(request, f"The service did not give its example queries: {error.message}")
        return _home_page(request, service)
    example = found.find(key)
    if example is None:
        messages.error(request, "The service no longer has that example; choose another.")
        return _home_page(request, service, examples=found)
    form = NewJobForm(initial={"query": example.query}, formats=format_choices(service_facts(service, fetch=False)))
    messages.info(request, f"The new-query form holds the example “{example.name}”: edit it and submit.")
    return _home_page(request, service, new_job_form=form, examples=found)


@allow("GET")
def service_info(request: HttpRequest, slug: str) -> HttpResponse:
    """Availability and capabilities; for htmx, the box of the start page and its FORMAT choices."""
    service = find_service_or_404(slug)
    facts = service_facts(service, fetch=True)
    form = NewJobForm(formats=format_choices(facts))
    form.fields["format"].widget.attrs["hx-swap-oob"] = "true"  # refills the start page's choice
    context = {"service": service, "facts": facts, "new_job_form": form}
    template = "jobs/_service_info.html" if request.htmx else "jobs/service_info.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


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
    operation = form.operation
    if operation.id == "status":
        return redirect("job_detail", slug=service.slug, job_id=job_id)
    if operation.id == "results":
        return HttpResponseRedirect(reverse("job_detail", args=[service.slug, job_id]) + "#results")
    if request.method != "POST":
        # Changing a job takes a POST (and its CSRF token); a GET only shows the form.
        form.add_error("op", "This operation changes the job: submit the form (POST).")
        return _home_page(request, service, operation_form=form, status=405)
    if operation.danger:
        return _confirm(request, service, job_id)
    return _perform(request, service, job_id, operation, form.value)


# -- job lists and new jobs ----------------------------------------------------------


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
        return upstream_error(request, service, error)
    jobs = listing.jobs  # newest first
    pages = max(1, -(-len(jobs) // JOBS_PER_PAGE))
    page = min(filters["page"] or 1, pages)
    query = request.GET.copy()
    query.pop("page", None)
    shown = jobs[(page - 1) * JOBS_PER_PAGE : page * JOBS_PER_PAGE]
    # The jobs this browser has remembered are marked: its own among everyone's.
    mine = set(
        RememberedJob.objects.filter(
            browser=request.browser_key, service=service.slug, job_id__in=[ref.job_id for ref in shown if ref.job_id]
        ).values_list("job_id", flat=True)
    )
    context.update(
        {
            "jobs": shown,
            "mine": mine,
            "total": len(jobs),
            "page": page,
            "pages": pages,
            "query": query.urlencode(),
        }
    )
    return render(request, "jobs/job_list.html", context)


def _create_job(request: HttpRequest, service: Service) -> HttpResponse:
    if not service.tap:
        messages.error(request, f"{service.title} is not a TAP service: it takes no ADQL queries.")
        return _home_page(request, service, status=400)
    facts = service_facts(service, fetch=False)
    choices = format_choices(facts)
    if request.POST.get("format") not in {value for value, _ in choices} and facts is None:
        # A format of the service's own, offered by a page whose facts have left the cache.
        choices = format_choices(service_facts(service, fetch=True))
    form = NewJobForm(request.POST, formats=choices)
    if not form.is_valid():
        return _home_page(request, service, new_job_form=form, status=400)
    client = client_for(request, service)
    try:
        job_id = client.create_job(form.uws_parameters())
    except ServiceError as error:
        return _creation_failed(request, service, form, error)
    if not ID_RE.fullmatch(job_id):
        error = client.error(
            Failure.BAD_RESPONSE, "The service created a job whose id the portal cannot use.", client.jobs_url
        )
        return upstream_error(request, service, error)
    # Remembered at once: whatever happens next, the id is not lost; watched from the start
    # once the browser can be told of its end.
    tell = tells_by_default(request.browser_key)
    RememberedJob.objects.get_or_create(
        browser=request.browser_key,
        service=service.slug,
        job_id=job_id,
        defaults={"phase": "PENDING", "query_start": query_start_of(form.cleaned_data["query"]), "notify": tell},
    )
    if tell:
        start_watching(request, service, job_id, "PENDING")
    if not form.cleaned_data["run"]:
        messages.success(request, f"Job {job_id} created. It waits (PENDING) until you run it.")
        return redirect("job_detail", slug=service.slug, job_id=job_id)
    return _perform(request, service, job_id, operations.BY_ID["run"], None, created=True)


def _creation_failed(request: HttpRequest, service: Service, form: NewJobForm, error: ServiceError) -> HttpResponse:
    """The new-query form again, as the user typed it, with what the service said and where it points.

    A service that refuses a query at creation (400 or 422, in any format) gets a 422: the
    query needs changing. Any other failure keeps the form too, with its own status.
    """
    if error.refused:
        status, done = (
            422,
            "The service refused to create the job: nothing was made. Change the query and submit it again.",
        )
    elif error.reached is False:
        status, done = FAILURE_STATUS[error.failure], "The request never reached the service: no job was made."
    elif error.reached is None:
        status = FAILURE_STATUS[error.failure]
        done = "No complete answer came back: the service may or may not have made the job. Look in its job list."
    else:
        status, done = (
            FAILURE_STATUS[error.failure],
            "The service failed: no job was made, as far as the portal can tell.",
        )
    failure = {
        "title": "The service refused the query" if error.refused else FAILURE_TITLE[error.failure],
        "error": error,
        "done": done,
        "spot": error_spot(error.detail, form.cleaned_data["query"]),
    }
    return _home_page(request, service, new_job_form=form, status=status, creation_failure=failure)


# -- one job -----------------------------------------------------------------------


@allow("GET", "POST")
def job_detail(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    service = find_service_or_404(slug)
    if request.method == "POST":
        form = JobActionForm(request.POST)
        if not form.is_valid():
            return render(
                request,
                "jobs/action_form.html",
                {"service": service, "job_id": job_id, "form": form.value_form, "problem": form.problem},
                status=400,
            )
        if form.operation.danger and not form.confirmed:
            return _confirm(request, service, job_id)
        return _perform(request, service, job_id, form.operation, form.value)
    shown_phase = request.GET.get("watch", "")
    if request.htmx and shown_phase:
        return watch(request, service, job_id, shown_phase.upper()[:32])
    client = client_for(request, service)
    try:
        job = client.get_job(job_id)
    except ServiceError as error:
        return upstream_error(request, service, error, job_id)
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    return job_page(request, service, client, job, job_id)


def _confirm(request: HttpRequest, service: Service, job_id: str) -> HttpResponse:
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
    request: HttpRequest, service: Service, job_id: str, operation: Operation, value, created: bool = False
) -> HttpResponse:
    """Send one change, then show what the service did with it (servers clamp values and ignore requests)."""
    client = client_for(request, service)
    created_note = f"Job {job_id} was created and is listed in My jobs, but the service did not start it. "
    try:
        outcome = client.change(job_id, operation.change, value, phase_before="PENDING" if created else None)
    except ServiceError as error:
        done = what_was_done(operation, error)
        return upstream_error(request, service, error, job_id, done=created_note + done if created else done)
    if outcome.refusal is not None:
        if created:
            messages.info(request, created_note)
        if outcome.unread is not None:
            return upstream_error(request, service, outcome.unread, job_id, done="The service refused the request.")
        return job_page(request, service, client, outcome.after, job_id, status=409, refusal=outcome.refusal)
    if operation.change is changes.DELETE:
        return _after_delete(request, service, job_id, outcome)
    if outcome.unread is not None:
        done = (
            f"The service accepted the request to {operation.wording}, but reading the job back failed, "
            "so what it kept is not known yet."
        )
        return upstream_error(request, service, outcome.unread, job_id, done=done)
    RememberedJob.remember(request.browser_key, service.slug, job_id, outcome.after)
    remember_last_action(request, service, job_id, operation, value)
    messages.success(request, operations.outcome_message(outcome, created=created))
    return redirect("job_detail", slug=service.slug, job_id=job_id)


def _after_delete(request: HttpRequest, service: Service, job_id: str, outcome: changes.Outcome) -> HttpResponse:
    """Say what the delete did: some services archive instead (UWS-NOTES §4.11)."""
    if outcome.gone:
        RememberedJob.objects.filter(browser=request.browser_key, service=service.slug, job_id=job_id).delete()
        messages.success(request, f"Job {job_id} deleted.")
    elif outcome.after is None:
        messages.warning(request, f"The service accepted the delete of job {job_id}; it could not be checked.")
    elif outcome.after.phase == "ARCHIVED":
        messages.info(request, f"The service archived job {job_id} instead of deleting it.")
    else:
        messages.warning(
            request, f"The service accepted the delete, but job {job_id} is still there ({outcome.after.phase})."
        )
    return redirect("job_list", slug=service.slug)


@allow("GET")
def job_error(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    service = find_service_or_404(slug)
    client = client_for(request, service)
    try:
        document = client.get_error(job_id)
    except ServiceError as error:
        return upstream_error(request, service, error, job_id)
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
            "error_spot": error_spot(message, query),
        },
    )
