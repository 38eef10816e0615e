"""Error pages: a failed request to a service (what happened, what was and was not done),
and the portal's own 404, 500 and CSRF pages."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .operations import Operation
from .services import Service
from .uws.errors import Failure, ServiceError

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


def upstream_error(
    request: HttpRequest,
    service: Service,
    error: ServiceError,
    job_id: str | None = None,
    *,
    done: str | None = None,
) -> HttpResponse:
    """The page for a failed request to a service: what happened, and what was and was not done."""
    note_failure(service, error)
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


DOWN_FOR = 120  # seconds a service that refused a connection is marked down in the navigation


def note_failure(service: Service, error: ServiceError) -> None:
    """A service nobody could connect to is marked down (in this process) on its pages and in the navigation."""
    if error.failure == Failure.UNREACHABLE and error.reached is False:
        cache.set(f"down:{service.slug}", timezone.now(), DOWN_FOR)


def down_since(service: Service):
    """When the service last refused a connection, if lately; else None."""
    return cache.get(f"down:{service.slug}")


def what_was_done(operation: Operation, error: ServiceError) -> str:
    """What a failed change did, as far as the portal can know."""
    wanted = operation.wording
    if error.failure == Failure.NOT_FOUND:
        return "Nothing was changed: the service does not know the job."
    if error.reached is False:
        return f"The request to {wanted} never reached the service: nothing was changed."
    if error.reached is None:
        return (
            f"The request to {wanted} was sent, but no complete answer came back: the service may or may not "
            "have done it. Reload the job page to see its state."
        )
    return f"The service failed while asked to {wanted}; reload the job page to see whether anything changed."


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = exception.args[0] if exception.args and isinstance(exception.args[0], str) else None
    return render(request, "404.html", {"message": message}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
