"""The service's example queries (DALI examples), beside the query editor: asked for only when the
user opens them, kept a while in the cache (shared by every user, asked without a token)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urljoin

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .decorators import allow
from .facts import service_facts
from .services import Service, find_service_or_404
from .uws.client import UWSClient
from .uws.errors import ServiceError
from .uws.examples import Example, parse_examples

EXAMPLES_CACHE_SECONDS = 600
EXAMPLES_TIMEOUT = (3.0, 10.0)
# The examples document and its continuations read at most, whatever links they hold.
MAX_DOCUMENTS = 10
# "No examples here": 404 (DaCHS, for a service without any), 501 (VOLLT: "Unknown TAP resource").
ABSENT_STATUSES = frozenset({404, 501})


@dataclass(frozen=True)
class ServiceExamples:
    """The service's examples; `url` is None when it has no examples document at all."""

    examples: tuple[Example, ...]
    url: str | None
    problem: str | None = None  # why some continuation could not be read

    def find(self, key: str) -> Example | None:
        return next((example for example in self.examples if example.key == key), None)


def examples_url(service: Service, client: UWSClient) -> str:
    """Where the examples are: the capabilities' DALI examples capability, else `<base>/examples`.

    Only a URL below the service counts: DaCHS declares `/__system__/tap/run/examples`,
    outside the TAP base URL the portal may ask, and serves the same document at `/tap/examples`.
    """
    facts = service_facts(service, fetch=True)
    declared = facts.capabilities.examples_url if facts and facts.capabilities else None
    if declared and client.is_own_url(declared):
        return declared
    return f"{service.url}/examples"


def service_examples(service: Service) -> ServiceExamples:
    """The service's examples, from the cache or asked now; ServiceError if it cannot say."""
    key = f"examples:{service.slug}"
    found = cache.get(key)
    if found is None:
        found = _read_examples(service)
        cache.set(key, found, EXAMPLES_CACHE_SECONDS)
    return found


def _read_examples(service: Service) -> ServiceExamples:
    client = service.client()
    url = examples_url(service, client)
    try:
        body = client.document(url, timeout=EXAMPLES_TIMEOUT)
    except ServiceError as error:
        if error.status in ABSENT_STATUSES:
            return ServiceExamples((), None)
        raise
    document = client.parse(parse_examples, body, url)
    examples = list(document.examples)
    waiting = [urljoin(url, href) for href in document.continuations]
    read, problem = {url}, None
    while waiting and len(read) < MAX_DOCUMENTS:
        next_url = waiting.pop(0)
        if next_url in read:
            continue
        read.add(next_url)
        try:
            more = client.parse(parse_examples, client.document(next_url, timeout=EXAMPLES_TIMEOUT), next_url)
        except ServiceError as error:
            problem = error.message
            continue
        examples.extend(more.examples)
        waiting.extend(urljoin(next_url, href) for href in more.continuations)
    return ServiceExamples(_unique_keys(examples), url, problem)


def _unique_keys(examples: list[Example]) -> tuple[Example, ...]:
    """The examples with keys that name one each: documents of continuations may reuse an id."""
    seen: set[str] = set()
    unique = []
    for example in examples:
        key, number = example.key, 1
        while key in seen:
            number += 1
            key = f"{example.key}-{number}"
        seen.add(key)
        unique.append(example if key == example.key else replace(example, key=key))
    return tuple(unique)


@allow("GET")
def examples(request: HttpRequest, slug: str) -> HttpResponse:
    """The example queries: a fragment beside the editor (htmx) or a page of its own."""
    service = find_service_or_404(slug)
    if not service.tap:
        raise Http404("This service takes no ADQL queries.")
    context = {"service": service}
    try:
        context["examples"] = service_examples(service)
    except ServiceError as error:
        context["problem"] = error.message
    template = "jobs/_examples.html" if request.htmx else "jobs/examples.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
