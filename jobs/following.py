"""Jobs that follow you: My jobs exported (JSON, CSV) and imported in another browser, and a private
link that attaches another browser to the same list.

The link's secret travels after the `#` of its URL, which browsers never send: it reaches the
portal only in the body of a POST (the attach page's form, filled by its script or by hand),
so no access log holds it. The portal keeps only its SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from itertools import takewhile

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from .decorators import allow
from .forms import AttachForm, ImportForm
from .models import BrowserLink, RememberedJob, result_ids_of
from .remembered import my_jobs_page
from .uws.times import parse_time, utc_iso

# What an export holds of each job: everything the portal keeps of it.
FIELDS = (
    "service",
    "job_id",
    "phase",
    "run_id",
    "creation_time",
    "destruction",
    "results",
    "query_start",
    "note",
    "notify",
    "keep",
    "remembered_at",
)
MAX_IMPORT = 5000  # jobs in one file


def _exported(entry: RememberedJob) -> dict:
    row = {name: getattr(entry, name) for name in FIELDS}
    for name in ("creation_time", "destruction", "remembered_at"):
        row[name] = utc_iso(row[name]) if row[name] else ""
    return row


@allow("GET")
def export(request: HttpRequest, kind: str) -> HttpResponse:
    """My jobs as a file: JSON (to import elsewhere) or CSV (for a spreadsheet)."""
    entries = [_exported(entry) for entry in RememberedJob.objects.filter(browser=request.browser_key)]
    if kind == "json":
        body = json.dumps({"portal": "tap-job-portal", "version": 1, "jobs": entries}, indent=1)
        response = HttpResponse(body, content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(entries)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="my-jobs.{kind}"'
    return response


@allow("POST")
def import_jobs(request: HttpRequest) -> HttpResponse:
    """Merge an exported file into this browser's list: new jobs added, known ones left as they are."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return my_jobs_page(request, import_form=form, status=400)
    rows = form.cleaned_data["file"]
    added = 0
    with transaction.atomic():
        for row in rows[:MAX_IMPORT]:
            _, created = RememberedJob.objects.get_or_create(
                browser=request.browser_key,
                service=row["service"],
                job_id=row["job_id"],
                defaults={
                    "phase": row["phase"],
                    "run_id": row["run_id"],
                    "creation_time": parse_time(row["creation_time"]),
                    "destruction": parse_time(row["destruction"]),
                    "results": row["results"],
                    "query_start": row["query_start"],
                    "note": row["note"],
                    "notify": False,  # this browser has not asked to be told
                    "keep": False,
                },
            )
            added += created
    known = len(rows) - added
    messages.success(request, f"{added} job{'s' if added != 1 else ''} added; {known} already in your list.")
    return redirect("my_jobs")


@allow("POST")
def make_link(request: HttpRequest) -> HttpResponse:
    """A new private link to this browser's list, shown once: the portal keeps only its hash."""
    secret = secrets.token_urlsafe(32)
    BrowserLink.objects.create(browser=request.browser_key, digest=_digest(secret))
    link = request.build_absolute_uri("/mine/attach") + "#" + secret
    return my_jobs_page(request, new_link=link)


@allow("POST")
def revoke_links(request: HttpRequest) -> HttpResponse:
    revoked = BrowserLink.objects.filter(browser=request.browser_key, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    messages.success(
        request, f"{revoked} private link{'s' if revoked != 1 else ''} revoked: they attach no browser now."
    )
    return redirect("my_jobs")


@allow("GET", "POST")
def attach(request: HttpRequest) -> HttpResponse:
    """Open a private link: this browser takes on that list, its own jobs merged into it."""
    if request.method == "GET":
        return render(request, "jobs/attach.html", {"form": AttachForm()})
    form = AttachForm(request.POST)
    link = None
    if form.is_valid():
        link = BrowserLink.objects.filter(digest=_digest(form.cleaned_data["secret"]), revoked_at__isnull=True).first()
        if link is None:
            form.add_error("secret", "This link is not (or no longer) valid: ask for a new one on the other browser.")
    if link is None:
        return render(request, "jobs/attach.html", {"form": form}, status=400)
    with transaction.atomic():
        for entry in RememberedJob.objects.filter(browser=request.browser_key):
            RememberedJob.objects.get_or_create(
                browser=link.browser,
                service=entry.service,
                job_id=entry.job_id,
                defaults={
                    name: getattr(entry, name) for name in FIELDS if name not in ("service", "job_id", "remembered_at")
                },
            )
        RememberedJob.objects.filter(browser=request.browser_key).delete()
    request.browser_key = link.browser  # the middleware sets the cookie to it
    messages.success(request, "This browser now shares the list of the browser that made the link.")
    return redirect("my_jobs")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def read_import(data: bytes) -> list[dict]:
    """The jobs of an exported file (JSON or CSV), each checked; ValueError says what is wrong."""
    from .services import configured_services
    from .uws.model import ID_RE

    text = data.decode("utf-8-sig")
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError("the file is not valid JSON") from None
        rows = document.get("jobs") if isinstance(document, dict) else None
        if not isinstance(rows, list):
            raise ValueError("the JSON has no list of jobs (an export of My jobs has one)")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    services = configured_services()
    checked = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValueError(f"job {number} is not a record")
        job_id, service = str(row.get("job_id") or ""), str(row.get("service") or "")
        if not ID_RE.fullmatch(job_id):
            raise ValueError(f"job {number} has no valid job id")
        if service not in services:
            continue  # a service this portal does not offer: left out, not an error
        checked.append(
            {
                "service": service,
                "job_id": job_id,
                "phase": str(row.get("phase") or "")[:32],
                "run_id": str(row.get("run_id") or "")[:64],
                "creation_time": str(row.get("creation_time") or ""),
                "destruction": str(row.get("destruction") or ""),
                "results": result_ids_of(takewhile(ID_RE.fullmatch, str(row.get("results") or "").split())),
                "query_start": " ".join(str(row.get("query_start") or "").split())[:200],
                "note": str(row.get("note") or "")[:2000],
            }
        )
    return checked
