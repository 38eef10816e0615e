"""A job's results: streamed through, previewed, or linked where another host keeps them."""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Callable, Iterator
from functools import partial

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .decorators import allow
from .error_pages import FAILURE_STATUS, upstream_error
from .facts import row_limits, service_facts
from .forms import PreviewForm
from .services import Service, find_service_or_404
from .tables import Extent, Preview, PreviewError, Table, extent, preview, previewable, stream
from .tables.access import NoFiles, download_script, has_files, row_links
from .tables.ordering import numeric_flags, sorted_rows
from .tables.plots import PlotError, numeric_columns, plan, png, sky_columns
from .tables.writers import csv_chunks
from .tokens import client_for
from .uws import transport
from .uws.client import ResultLink, UWSClient
from .uws.errors import ServiceError
from .uws.model import Job, Result
from .uws.transport import ExternalResult, ResultStream

log = logging.getLogger("jobs.results")

# File name extensions for the media types results come in (matched within the subtype).
FILE_EXTENSIONS = {
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


def file_name(job_id: str, result_id: str, content_type: str) -> str:
    """`<job>-<result>.<ext>`, the extension from the media type unless the result id has it already."""
    media_type = content_type.split(";")[0].strip().lower()
    subtype = media_type.rsplit("/", 1)[-1]
    extension = next((ext for key, ext in FILE_EXTENSIONS.items() if key in subtype), None)
    extension = extension or mimetypes.guess_extension(media_type) or ""
    stem = result_id if extension and result_id.lower().endswith(extension) else f"{result_id}{extension}"
    return f"{job_id}-{stem}"


def _find_result(client: UWSClient, job_id: str, result_id: str) -> tuple[Job, Result | None, ResultLink | None]:
    """The job, its result of that id (None if it has none) and where that result is kept."""
    job = client.get_job(job_id)
    result = job.result(result_id)
    return job, result, client.result_link(job_id, result) if result else None


def _no_result(request: HttpRequest, service: Service, job: Job, result_id: str) -> HttpResponse:
    return render(request, "jobs/no_result.html", {"service": service, "job": job, "result_id": result_id}, status=404)


@allow("GET")
def job_result(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """Stream one result through, or send the browser to the other host that holds it."""
    service = find_service_or_404(slug)
    client = client_for(request, service)
    try:
        job, result, link = _find_result(client, job_id, result_id)
        if result is None:
            return _no_result(request, service, job, result_id)
        if link and not link.proxied:
            return HttpResponseRedirect(link.url)
        opened = client.open_result(job_id, result_id)
    except ServiceError as error:
        return upstream_error(request, service, error, job_id)
    if isinstance(opened, ExternalResult):
        return HttpResponseRedirect(opened.url)
    response = StreamingHttpResponse(opened.chunks(), content_type=opened.content_type)
    if opened.content_length is not None:
        response["Content-Length"] = str(opened.content_length)
    response["Content-Disposition"] = f'attachment; filename="{file_name(job_id, result_id, opened.content_type)}"'
    return response


@allow("GET")
def job_result_preview(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """The first rows of a result as a table; only the head of the result is read."""
    service = find_service_or_404(slug)
    rows = PreviewForm(request.GET).wanted()
    client = client_for(request, service)
    context = {"service": service, "job_id": job_id, "result_id": result_id, "rows": rows}
    try:
        job, result, link = _find_result(client, job_id, result_id)
        if result is None:
            return _no_result(request, service, job, result_id)
        context["job"] = job
        if link and not link.proxied:
            context["problem"] = "The result is kept on another host; the portal does not fetch it. Download it there."
            context["external"] = link.url
            return render(request, "jobs/result_preview.html", context)
        opened = client.open_result(job_id, result_id)
    except ServiceError as error:
        return upstream_error(request, service, error, job_id)
    if isinstance(opened, ExternalResult):
        context.update(problem="The service keeps this result on another host.", external=opened.url)
        return render(request, "jobs/result_preview.html", context)
    context["content_type"] = opened.content_type
    try:
        if previewable(opened.content_type) is None:
            context["problem"] = f"Results of type {opened.content_type} are offered for download only."
        else:
            table = context["table"] = preview(opened.chunks(), opened.content_type, max_rows=rows)
            context["has_files"] = has_files(table.columns)
            _shown_rows(request, table, context)
    except PreviewError as error:
        context["problem"] = f"The result cannot be previewed: {error}"
    finally:
        opened.close()
    context["limit"] = job.parameter("maxrec")
    status = 200
    if "table" in context:
        status = _plot_context(request, context["table"], context)
    return render(request, "jobs/result_preview.html", context, status=status)


def _shown_rows(request: HttpRequest, table, context: dict) -> None:
    """The rows as the page shows them: numbers right-aligned, sorted by the column asked for (links in step)."""
    numeric = numeric_flags(table)
    rows, links = list(table.rows), row_links(table.columns, table.rows)
    column, descending = PreviewForm(request.GET).sorting()
    if column is not None and column < len(table.columns):
        rows, links = sorted_rows(rows, links, column, descending, numeric[column])
    else:
        column = None
    query = request.GET.copy()
    query.pop("sort", None)
    query.pop("order", None)
    context.update(
        rows_shown=rows, links=links, numeric=numeric, sort=column, descending=descending, sort_query=query.urlencode()
    )


def _wanted_plot(request: HttpRequest) -> tuple[str, str, str] | None:
    """The plot the query string asks for: (kind, x, y), or None."""
    kind = request.GET.get("plot", "")
    return (kind, request.GET.get("x", ""), request.GET.get("y", "")) if kind else None


def _plot_context(request: HttpRequest, table: Preview, context: dict) -> int:
    """The plot form's choices, and the plot asked for or why it cannot be drawn (then 400: the request is at fault)."""
    context["numeric"] = numeric_columns(table)
    context["sky"] = sky_columns(table.columns)
    wanted = _wanted_plot(request)
    context["wanted"] = wanted or ("histogram", "", "")
    if wanted is None:
        return 200
    try:
        context["plot"] = plan(table, *wanted)
    except PlotError as error:
        context["plot_problem"] = f"No plot: {error}."
        return 400
    context["plot_query"] = request.GET.urlencode()
    return 200


@allow("GET")
def job_result_plot(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """The plot of the preview page as a PNG, drawn from the same rows (the page has its text alternative)."""
    service = find_service_or_404(slug)
    wanted = _wanted_plot(request)
    if wanted is None:
        return _text("Say which plot: plot=histogram, scatter or sky, with x (and y).", 400)
    client = client_for(request, service)
    try:
        _, result, link = _find_result(client, job_id, result_id)
        if result is None:
            return _text(f"Job {job_id} has no result {result_id}.", 404)
        if link and not link.proxied:
            return _text("The result is kept on another host, which the portal does not fetch.", 409)
        opened = client.open_result(job_id, result_id)
    except ServiceError as error:
        return _text(f"The service failed: {error}", 502)
    if isinstance(opened, ExternalResult):
        return _text("The result is kept on another host, which the portal does not fetch.", 409)
    try:
        table = preview(opened.chunks(), opened.content_type, max_rows=PreviewForm(request.GET).wanted())
    except PreviewError as error:
        return _text(f"The result cannot be read: {error}", 502)
    finally:
        opened.close()
    try:
        drawn = png(plan(table, *wanted))
    except PlotError as error:
        return _text(f"No plot: {error}.", 400)
    response = HttpResponse(drawn, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)


def _problem(request: HttpRequest, context: dict, problem: str, status: int) -> HttpResponse:
    return render(request, "jobs/result_preview.html", {**context, "problem": problem}, status=status)


# A result converted as it streams through must keep coming: at least this much of it within each
# page's budget (transport.PAGE_BUDGET: 64 KiB in 25 s, 2.6 kB/s). A service that trickles its
# result, or sends one that never ends, would otherwise hold the request, and the browser waiting
# for the next piece of output, for ever.
LEAST_BYTES_PER_BUDGET = 64 * 1024


class _Paced:
    """A result's chunks for a conversion, cut off (ConnectionError) once the service sends too slowly;
    `slow` then says so in words."""

    def __init__(self, opened: ResultStream) -> None:
        self.opened = opened
        self.slow: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        budget = transport.PAGE_BUDGET
        since, received = time.monotonic(), 0
        for chunk in self.opened.chunks():
            received += len(chunk)
            if time.monotonic() - since > budget:
                if received < LEAST_BYTES_PER_BUDGET:
                    self.slow = f"the service sent only {received} bytes of the result in {budget:.0f} s"
                    raise ConnectionError(self.slow)
                since, received = time.monotonic(), 0
            yield chunk


def _converted(
    request: HttpRequest,
    slug: str,
    job_id: str,
    result_id: str,
    write: Callable[[Table], Iterator[bytes]],
    content_type: str,
    filename: str,
    *,
    csv: bool = False,
) -> HttpResponse:
    """The result read as a table and written again by `write`, streamed through as it arrives.

    What can go wrong before the first byte is a page: a result that is no table (409, the
    request asked for what cannot be), one the reader refuses (502, the service's fault). After
    that the transfer is broken off, so that the browser sees an incomplete download. `csv` lets the
    reader hand `write` rows already written as CSV (for `csv_chunks` only).
    """
    service = find_service_or_404(slug)
    client = client_for(request, service)
    context = {"service": service, "job_id": job_id, "result_id": result_id}
    try:
        job, result, link = _find_result(client, job_id, result_id)
        if result is None:
            return _no_result(request, service, job, result_id)
        opened = None if link and not link.proxied else client.open_result(job_id, result_id)
    except ServiceError as error:
        return upstream_error(request, service, error, job_id)
    if not isinstance(opened, ResultStream):
        external = opened.url if opened else link.url
        problem = "The result is kept on another host, which the portal does not fetch: download it there."
        return _problem(request, {**context, "external": external}, problem, 409)
    context["content_type"] = opened.content_type
    if previewable(opened.content_type) is None:
        opened.close()
        return _problem(request, context, f"A result of type {opened.content_type} is not a table.", 409)
    paced = _Paced(opened)
    try:
        pieces = write(stream(paced, opened.content_type, csv=csv))
    except PreviewError as error:
        opened.close()
        if paced.slow:
            return _problem(request, context, f"The service is too slow: {paced.slow}. Try again later.", 504)
        return _problem(request, context, f"The result cannot be read: {error}", 502)
    except NoFiles as error:
        opened.close()
        return _problem(request, context, f"There is no download script: {error}.", 409)
    response = StreamingHttpResponse(_written(pieces, paced), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _written(pieces: Iterator[bytes], paced: _Paced) -> Iterator[bytes]:
    try:
        yield from pieces
    except PreviewError as error:
        why = paced.slow or error
        log.warning("result %s broke off while converted: %s", paced.opened.response.url, why)
        raise ConnectionError(f"the result cannot be read to its end: {why}") from None
    finally:
        paced.opened.close()


@allow("GET")
def job_result_csv(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """A VOTable (or TSV) result as CSV with a header row, converted as it streams through."""
    content_type = "text/csv; charset=utf-8; header=present"
    filename = file_name(job_id, result_id, content_type)
    return _converted(request, slug, job_id, result_id, csv_chunks, content_type, filename, csv=True)


@allow("GET")
def job_result_script(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """A shell script that fetches the files behind the result's rows (ObsCore access_url), one curl line each."""
    title = f"result {result_id} of job {job_id} on {find_service_or_404(slug).title}"
    write = partial(download_script, title=title)
    filename = f"{job_id}-{result_id}-files.sh"
    return _converted(request, slug, job_id, result_id, write, "text/x-shellscript; charset=utf-8", filename)


# Whether the row limit cut a result is read from the whole of it, after the job page has come:
# at most this much of it, for at most this long (a request that holds one server thread).
LIMIT_READ_BYTES = 64 * 1024 * 1024
LIMIT_READ_SECONDS = 10.0


@allow("GET")
def job_result_limit(request: HttpRequest, slug: str, job_id: str, result_id: str) -> HttpResponse:
    """Whether the row limit cut the result short (QUERY_STATUS=OVERFLOW, or exactly MAXREC rows), and a
    higher MAXREC to ask for. For htmx, the job page's box (always 200: htmx swaps no error answer);
    else a page, whose status says whose fault it is when the answer is not known."""
    service = find_service_or_404(slug)
    client = client_for(request, service)
    context = {"service": service, "job_id": job_id, "result_id": result_id}
    try:
        job, result, link = _find_result(client, job_id, result_id)
        if result is None:
            return _limit_page(request, {**context, "problem": f"the job has no result {result_id}"}, 404)
        if job.phase != "COMPLETED":
            return _limit_page(request, {**context, "problem": f"the job is {job.phase}, not COMPLETED"}, 409)
        opened = None if link and not link.proxied else client.open_result(job_id, result_id)
    except ServiceError as error:
        return _limit_page(request, {**context, "problem": error.message.rstrip(".")}, FAILURE_STATUS[error.failure])
    if not isinstance(opened, ResultStream):
        return _limit_page(request, {**context, "problem": "the result is kept on another host"}, 409)
    try:
        counted = extent(
            opened.chunks(), opened.content_type, max_bytes=LIMIT_READ_BYTES, max_seconds=LIMIT_READ_SECONDS
        )
    except PreviewError as error:
        status = 409 if previewable(opened.content_type) is None else 502  # no table at all, or a broken one
        return _limit_page(request, {**context, "problem": str(error)}, status)
    finally:
        opened.close()
    default, hard = row_limits(service_facts(service, fetch=True))
    asked = job.parameter("maxrec") or ""
    context.update(_cut(counted, int(asked) if asked.isdigit() else default, hard), extent=counted)
    # Read only in part: the byte bound came first, or else the deadline (a service that sends slowly).
    context.update(late=counted.bytes_read < LIMIT_READ_BYTES, seconds=LIMIT_READ_SECONDS)
    return _limit_page(request, context)


def _cut(counted: Extent, limit: int | None, hard: int | None) -> dict:
    """Whether the result was cut at the row limit, and the MAXREC to offer instead (None: no higher one)."""
    cut = counted.overflow or (counted.complete and limit is not None and counted.rows == limit)
    if not cut:
        return {"cut": False, "limit": limit}
    at = max(counted.rows, limit or 0)
    higher = max(at * 10, 1000) if hard is None else min(max(at * 10, 1000), hard)
    # A service that stopped below the MAXREC asked for stopped at a limit of its own.
    own_limit = limit is not None and counted.rows < limit
    return {"cut": True, "limit": limit, "hard": hard, "higher": None if own_limit or higher <= at else higher}


def _limit_page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = "jobs/_result_limit.html" if request.htmx else "jobs/result_limit.html"
    response = render(request, template, context, status=200 if request.htmx else status)
    patch_vary_headers(response, ["HX-Request"])
    return response
