"""Bearer tokens for protected data (ESO serves proprietary data to token holders).

A token lives in the user's session only, goes only to its own service (the
client sends nothing to any other host), is never logged and never shown back.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .decorators import allow
from .forms import TokenForm
from .services import Service, find_service_or_404
from .uws.client import UWSClient

SESSION_KEY = "service_tokens"


def token_for(request: HttpRequest, service: Service) -> str | None:
    return request.session.get(SESSION_KEY, {}).get(service.slug)


def client_for(request: HttpRequest, service: Service) -> UWSClient:
    """The service's client, carrying this user's token for it, if they gave one."""
    return service.client(token=token_for(request, service))


@allow("POST")
def set_token(request: HttpRequest, slug: str) -> HttpResponse:
    service = find_service_or_404(slug)
    form = TokenForm(request.POST)
    if form.is_valid():
        tokens = dict(request.session.get(SESSION_KEY, {}))
        tokens[service.slug] = form.cleaned_data["token"]
        request.session[SESSION_KEY] = tokens
        request.session.cycle_key()  # a new session id once it holds a credential
        messages.success(request, f"Token kept for {service.title} in this browser session only.")
    else:
        messages.error(request, "; ".join(form.errors["token"]) + " The token was not kept.")
    return redirect("service_home", slug=service.slug)


@allow("POST")
def forget_token(request: HttpRequest, slug: str) -> HttpResponse:
    service = find_service_or_404(slug)
    tokens = dict(request.session.get(SESSION_KEY, {}))
    if tokens.pop(service.slug, None) is not None:
        request.session[SESSION_KEY] = tokens
        messages.success(request, f"The token for {service.title} is forgotten.")
    return redirect("service_home", slug=service.slug)
