"""'My jobs': the jobs this browser has created or opened, found again without their ids."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from .decorators import allow
from .forms import AddJobForm, EmailForm, ImportForm, MyJobsFilterForm, NoteForm
from .models import BrowserLink, RememberedJob
from .services import Service, configured_services
from .tokens import client_for
from .uws.errors import Failure, ServiceError
from .uws.model import ID_RE

# A refresh asks each service about each job: bounded, newest first.
REFRESH_LIMIT = 50
GONE = "GONE"  # the service no longer knows the job


def service_and_job_of(url: str) -> tuple[Service, str] | None:
    """The configured service and job id a full UWS job URL names, or None.

    The URL must lie below a service's `<base>/async/`; DaCHS's own job URLs
    (`/__system__/tap/run/async/<id>`) are taken when exactly one service lives on
    that host.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. "http://[" (a broken IPv6 literal)
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    for service in configured_services().values():
        base = urlsplit(service.jobs_url)
        base_segments = [segment for segment in base.path.split("/") if segment]
        if (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower()) and segments[
            : len(base_segments)
        ] == base_segments:
            rest = segments[len(base_segments) :]
            if rest and ID_RE.fullmatch(rest[0]):
                return service, rest[0]
    same_host = [
        service
        for service in configured_services().values()
        if urlsplit(service.url).netloc.lower() == parts.netloc.lower()
    ]
    if len(same_host) == 1 and "async" in segments:
        rest = segments[segments.index("async") + 1 :]
        if rest and ID_RE.fullmatch(rest[0]):
            return same_host[0], rest[0]
    return None


@allow("GET")
def my_jobs(request: HttpRequest) -> HttpResponse:
    return my_jobs_page(request)


def my_jobs_page(
    request: HttpRequest, *, add_form=None, email_form=None, import_form=None, new_link=None, status: int = 200
) -> HttpResponse:
    """My jobs, with the forms as given (a form with errors is shown again as the user sent it)."""
    from .watching.models import Notice, Subscriber, Watch

    entries = RememberedJob.objects.filter(browser=request.browser_key)
    filters = MyJobsFilterForm(request.GET)
    filters.is_valid()  # each filter that is not valid is left out
    service_filter = filters.cleaned_data.get("service", "")
    phase_filter = filters.cleaned_data.get("phase", "")
    if service_filter:
        entries = entries.filter(service=service_filter)
    if phase_filter:
        entries = entries.filter(phase=phase_filter)
    for word in filters.cleaned_data.get("q", "").split()[:10]:
        entries = entries.filter(
            Q(query_start__icontains=word)
            | Q(run_id__icontains=word)
            | Q(note__icontains=word)
            | Q(job_id__icontains=word)
        )
    if filters.cleaned_data.get("after"):
        entries = entries.filter(creation_time__date__gte=filters.cleaned_data["after"])
    if filters.cleaned_data.get("before"):
        entries = entries.filter(creation_time__date__lte=filters.cleaned_data["before"])
    services = configured_services()
    subscriber = Subscriber.objects.filter(browser=request.browser_key).first()
    entries = list(entries)
    watches = {
        (watch.service, watch.job_id): watch
        for watch in Watch.objects.filter(job_id__in=[entry.job_id for entry in entries])
    }
    return render(
        request,
        "jobs/my_jobs.html",
        {
            "entries": [(entry, services.get(entry.service)) for entry in entries],
            "watches": watches,
            "now": timezone.now(),
            "service_filter": service_filter,
            "phase_filter": phase_filter,
            "phases_seen": sorted(
                set(RememberedJob.objects.filter(browser=request.browser_key).values_list("phase", flat=True))
            ),
            "add_form": add_form or AddJobForm(),
            "filters": filters,
            "import_form": import_form or ImportForm(),
            "new_link": new_link,
            "links": BrowserLink.objects.filter(browser=request.browser_key, revoked_at__isnull=True).count(),
            "email_form": email_form or EmailForm(initial={"address": subscriber.address if subscriber else ""}),
            "subscriber": subscriber,
            "email_enabled": settings.EMAIL_ENABLED,
            "unsent": Notice.objects.filter(
                browser=request.browser_key, channel=Notice.EMAIL, sent_at__isnull=True
            ).select_related("flip__watch")[:20],
        },
        status=status,
    )


@allow("POST")
def refresh(request: HttpRequest) -> HttpResponse:
    """Ask each service for the phase of this browser's newest jobs."""
    services = configured_services()
    entries = RememberedJob.objects.filter(browser=request.browser_key).exclude(phase=GONE)[:REFRESH_LIMIT]
    updated, failed = 0, []
    for entry in entries:
        service = services.get(entry.service)
        if service is None:
            continue
        try:
            job = client_for(request, service).get_job(entry.job_id)
        except ServiceError as error:
            if error.failure == Failure.NOT_FOUND:
                entry.phase = GONE
                entry.save(update_fields=["phase", "seen_at"])
                updated += 1
            else:
                failed.append(f"{entry.job_id} ({service.title}: {error.message})")
            continue
        RememberedJob.remember(request.browser_key, entry.service, entry.job_id, job)
        updated += 1
    messages.success(request, f"Phases refreshed for {updated} job{'s' if updated != 1 else ''}.")
    if failed:
        messages.warning(request, "Not refreshed: " + "; ".join(failed[:5]) + ("…" if len(failed) > 5 else ""))
    return redirect("my_jobs")


@allow("POST")
def add(request: HttpRequest) -> HttpResponse:
    """Remember a job by its full UWS URL, for configured services only."""
    form = AddJobForm(request.POST)
    found = service_and_job_of(form.cleaned_data["url"]) if form.is_valid() else None
    if found is None:
        if form.is_valid():
            form.add_error("url", "This is not the URL of a job of a service this portal offers.")
        return my_jobs_page(request, add_form=form, status=400)
    service, job_id = found
    try:
        job = client_for(request, service).get_job(job_id)
    except ServiceError as error:
        messages.error(request, f"Job {job_id} was not added: {error.message}")
        return redirect("my_jobs")
    RememberedJob.remember(request.browser_key, service.slug, job_id, job)
    messages.success(request, f"Job {job_id} of {service.title} added to your jobs.")
    return redirect("job_detail", slug=service.slug, job_id=job_id)


@allow("POST")
def note(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(RememberedJob, pk=pk, browser=request.browser_key)
    form = NoteForm(request.POST)
    if form.is_valid():
        entry.note = form.cleaned_data["note"]
        entry.save(update_fields=["note"])
        messages.success(request, f"Note saved for job {entry.job_id}.")
    else:
        messages.error(request, "The note is too long (2000 characters at most); it was not saved.")
    return redirect("my_jobs")


@allow("POST")
def forget(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(RememberedJob, pk=pk, browser=request.browser_key)
    entry.delete()
    messages.success(request, f"Job {entry.job_id} removed from your list (the job itself is untouched).")
    return redirect("my_jobs")
