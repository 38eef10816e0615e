"""The pages of watching: tell me when it ends, keep this job, the e-mail address, banners and their links."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

from ..decorators import allow
from ..forms import EmailForm, SwitchForm
from ..models import RememberedJob
from ..remembered import my_jobs_page
from ..services import configured_services, find_service_or_404
from ..tokens import token_for
from . import checks, mail
from .models import Notice, Subscriber, Watch
from .tasks import schedule

BANNERS_SHOWN = 5


def subscriber_of(browser: str) -> Subscriber | None:
    return Subscriber.objects.filter(browser=browser).first()


def tells_by_default(browser: str) -> bool:
    """Jobs made in the portal are watched from the start once the browser can be told
    (a confirmed address, or desktop notices switched on)."""
    subscriber = subscriber_of(browser)
    return bool(subscriber and (subscriber.mail_to or subscriber.desktop))


def start_watching(request: HttpRequest, service, job_id: str, phase: str = "") -> None:
    """Watch the job in the background (from the phase the user saw), unless it needs this user's
    token, which is kept in the session only."""
    if token_for(request, service) is None:
        checks.watch_job(service, job_id, phase=phase)
        schedule()


def _switch(request: HttpRequest, slug: str, job_id: str, field: str):
    """Set one switch (`notify`, `keep`) of this browser's entry for the job: (service, entry, on, form)."""
    service = find_service_or_404(slug)
    entry = get_object_or_404(RememberedJob, browser=request.browser_key, service=slug, job_id=job_id)
    form = SwitchForm(request.POST)
    on = form.is_valid() and form.cleaned_data["on"]
    RememberedJob.objects.filter(pk=entry.pk).update(**{field: on})
    return service, entry, on, form


@allow("POST")
def notify(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    """'Tell me when it ends', switched on or off for one job of this browser's."""
    service, entry, on, form = _switch(request, slug, job_id, "notify")
    if on:
        start_watching(request, service, job_id, entry.phase)
        if token_for(request, service) is not None:
            messages.info(
                request,
                "This job is read with your token, kept in this session only: "
                "the portal watches it while one of its pages is open.",
            )
        else:
            messages.success(request, f"The portal will tell you when job {job_id} ends.")
    else:
        checks.unwatch_if_unwanted(slug, job_id)
        messages.success(request, f"No more notices about job {job_id}.")
    if form.is_valid() and form.cleaned_data["back"] == "mine":
        return redirect("my_jobs")
    return redirect("job_detail", slug=slug, job_id=job_id)


@allow("POST")
def keep(request: HttpRequest, slug: str, job_id: str) -> HttpResponse:
    """'Keep this job': ask at once for the latest destruction the service allows, and keep moving it on."""
    service, _, on, _ = _switch(request, slug, job_id, "keep")
    if not on:
        checks.unwatch_if_unwanted(slug, job_id)
        messages.success(request, f"Job {job_id} is no longer kept: the service destroys it at its time.")
        return redirect("job_detail", slug=slug, job_id=job_id)
    watch = checks.watch_job(service, job_id)
    outcome = checks.extend(watch, service, timezone.now())
    job = outcome.after if outcome else None
    schedule()
    if outcome is not None and outcome.destruction_kept_back:
        _not_kept(request.browser_key, slug, job_id)
        messages.warning(request, _kept_back_words(service, job))
    elif job is None or job.destruction is None:
        messages.warning(
            request, f"Job {job_id} is kept, but the service did not say how long; the portal tries again."
        )
    else:
        messages.success(
            request,
            f"Job {job_id} is kept: the service will keep it until {job.destruction:%Y-%m-%d %H:%M} UTC, "
            "and the portal moves that on before it comes near.",
        )
    return redirect("job_detail", slug=slug, job_id=job_id)


@allow("POST")
def email(request: HttpRequest) -> HttpResponse:
    """Give an address: a confirmation link goes to it first, and nothing else until it is confirmed."""
    form = EmailForm(request.POST)
    if not form.is_valid():
        return my_jobs_page(request, email_form=form, status=400)
    address = form.cleaned_data["address"]
    if not mail.enabled():
        messages.error(request, "This portal sends no e-mail (it has no mail server): the address was not kept.")
        return redirect("my_jobs")
    subscriber, _ = Subscriber.objects.get_or_create(browser=request.browser_key)
    if subscriber.address.lower() != address.lower():
        Subscriber.objects.filter(pk=subscriber.pk).update(address=address, confirmed_at=None)
    if not mail.may_confirm(address):
        messages.warning(request, f"Enough confirmation mails went to {address} today; ask again tomorrow.")
        return redirect("my_jobs")
    try:
        mail.send_confirmation(request.browser_key, address)
    except (OSError, smtplib.SMTPException):
        messages.error(request, "The mail server could not be reached: no confirmation was sent. Try again later.")
        return redirect("my_jobs")
    messages.success(request, f"A confirmation link went to {address}. Nothing else is sent there until you open it.")
    return redirect("my_jobs")


@allow("GET")
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    payload = mail.read_link("confirm", token, max_age=timedelta(days=mail.CONFIRM_DAYS))
    if payload is None:
        return render(request, "watching/bad_link.html", {"what": "confirmation"}, status=400)
    updated = Subscriber.objects.filter(browser=payload["b"], address=payload["a"]).update(confirmed_at=timezone.now())
    if not updated:
        return render(request, "watching/bad_link.html", {"what": "confirmation", "changed": True}, status=400)
    return render(request, "watching/link_done.html", {"confirmed": payload["a"]})


@allow("GET")
def stop(request: HttpRequest, token: str) -> HttpResponse:
    payload = mail.read_link("stop", token)
    if payload is None:
        return render(request, "watching/bad_link.html", {"what": "stop"}, status=400)
    RememberedJob.objects.filter(browser=payload["b"], service=payload["s"], job_id=payload["j"]).update(notify=False)
    Notice.objects.filter(
        browser=payload["b"], channel=Notice.EMAIL, sent_at__isnull=True, flip__watch__job_id=payload["j"]
    ).delete()
    checks.unwatch_if_unwanted(payload["s"], payload["j"])
    return render(request, "watching/link_done.html", {"stopped": payload["j"]})


@allow("GET")
def keep_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click "keep it" of an e-mail about a job soon destroyed: kept, and its destruction moved on now."""
    payload = mail.read_link("keep", token)
    service = configured_services().get(payload["s"]) if payload else None
    if payload is None or service is None:
        return render(request, "watching/bad_link.html", {"what": "keep"}, status=400)
    RememberedJob.objects.filter(browser=payload["b"], service=payload["s"], job_id=payload["j"]).update(keep=True)
    outcome = checks.extend(checks.watch_job(service, payload["j"]), service, timezone.now())
    job = outcome.after if outcome else None
    schedule()
    kept_back = ""
    if outcome is not None and outcome.destruction_kept_back:
        _not_kept(payload["b"], payload["s"], payload["j"])
        kept_back = _kept_back_words(service, job)
    return render(
        request,
        "watching/link_done.html",
        {"kept": payload["j"], "job": job, "service": service, "kept_back": kept_back},
    )


def _not_kept(browser: str, slug: str, job_id: str) -> None:
    RememberedJob.objects.filter(browser=browser, service=slug, job_id=job_id).update(keep=False)


def _kept_back_words(service, job) -> str:
    return (
        f"{service.title} did not keep job {job.job_id} longer: it does not move the destruction of a job that is "
        f"{job.phase}. It will be destroyed at {job.destruction:%Y-%m-%d %H:%M} UTC, with its results: "
        "download what you need before then."
    )


def banners_of(browser: str) -> list[Notice]:
    """The unseen banners of a browser, newest first; the portal's database is asked, never a service."""
    return list(
        Notice.objects.filter(browser=browser, channel=Notice.BANNER, seen_at__isnull=True)
        .select_related("flip__watch")
        .order_by("-created_at")[:BANNERS_SHOWN]
    )


def has_banners(browser: str) -> bool:
    """Whether any banner waits for the browser: nearly every page has none, and the question in SQL
    costs a tenth of fetching none through the ORM (a quarter of a job page, docs/benchmarks.md)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Notice._meta.db_table} WHERE browser = %s AND channel = %s AND seen_at IS NULL LIMIT 1",
            [browser, Notice.BANNER],
        )
        return cursor.fetchone() is not None


@allow("GET")
def banners(request: HttpRequest) -> HttpResponse:
    """The banners of this browser: the fragment every page asks for now and then, or a page of its own.

    A page that shows none asks with `shown=none`: while there are still none it is answered
    with nothing to swap (204), without a template, as nearly every open page's question is.
    """
    if request.htmx and request.GET.get("shown") == "none" and not has_banners(request.browser_key):
        response = HttpResponse(status=204)
        patch_vary_headers(response, ["HX-Request"])
        return response
    return _banners_page(request)


def _banners_page(request: HttpRequest) -> HttpResponse:
    context = {"banners": banners_of(request.browser_key)}
    template = "watching/_banners.html" if request.htmx else "watching/banners.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@allow("POST")
def seen(request: HttpRequest, pk: int) -> HttpResponse:
    Notice.objects.filter(pk=pk, browser=request.browser_key, channel=Notice.BANNER).update(seen_at=timezone.now())
    if request.htmx:
        return _banners_page(request)
    back = request.POST.get("back", "")
    # Back to the page the banner was on: a page of this portal only, never another site.
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/")
    return redirect(back if safe else "my_jobs")


@allow("POST")
def desktop(request: HttpRequest) -> HttpResponse:
    """Desktop notices on or off: the browser asked for the permission itself (a click)."""
    form = SwitchForm(request.POST)
    on = form.is_valid() and form.cleaned_data["on"]
    Subscriber.objects.update_or_create(browser=request.browser_key, defaults={"desktop": on})
    return HttpResponse(status=204) if request.htmx else redirect("my_jobs")


def watch_of(service_slug: str, job_id: str) -> Watch | None:
    return Watch.objects.filter(service=service_slug, job_id=job_id).first()
