"""View decorators of the portal."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def allow(*methods: str):
    """Like Django's require_http_methods, but the refusal is a page, not a blank 405."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = render(request, "405.html", {"method": request.method, "allowed": methods}, status=405)
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
