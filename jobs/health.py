"""The health check that a proxy, load balancer or monitor asks: can this portal answer?"""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from .decorators import allow


@never_cache
@allow("GET", "HEAD")
def healthz(request: HttpRequest) -> HttpResponse:
    """200 "ok" when the database answers a trivial query, 503 otherwise.

    It never contacts a service: a slow or absent TAP service is the portal's normal
    weather, and a balancer that took this portal out for it would take every page of
    the other services with it.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("the database does not answer", content_type="text/plain; charset=utf-8", status=503)
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
