"""The tables and columns a service offers (VOSI tables), beside the query editor: asked for only
when the user opens them, kept a while in the cache (shared by every user, asked without a token)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .decorators import allow
from .forms import TablesSearchForm
from .services import Service, find_service_or_404
from .uws.errors import ServiceError
from .uws.vosi import TableInfo, parse_tables

TABLES_CACHE_SECONDS = 600
# The tables of a large archive (ESO's tap_obs) are a document of megabytes.
TABLES_TIMEOUT = (3.0, 20.0)
SHOWN = 200  # columns listed at most for one search


def service_tables(service: Service) -> tuple[TableInfo, ...]:
    """The service's tables, from the cache or asked now; ServiceError if it cannot say."""
    key = f"tables:{service.slug}"
    tables = cache.get(key)
    if tables is None:
        client = service.client()
        url = f"{service.url}/tables"
        tables = client.parse(parse_tables, client.document(url, timeout=TABLES_TIMEOUT), url)
        cache.set(key, tables, TABLES_CACHE_SECONDS)
    return tables


def matching(tables: tuple[TableInfo, ...], words: str) -> list[tuple[TableInfo, list]]:
    """Tables with the columns whose name, description, unit or UCD hold every word (a table's own match keeps all)."""
    terms = words.lower().split()
    found = []
    for table in tables:
        own = " ".join(filter(None, (table.name, table.description))).lower()
        if all(term in own for term in terms):
            found.append((table, list(table.columns)))
            continue
        columns = [
            column
            for column in table.columns
            if all(
                term in " ".join(filter(None, (column.name, column.description, column.unit, column.ucd))).lower()
                for term in terms
            )
        ]
        if columns:
            found.append((table, columns))
    return found


@allow("GET")
def tables(request: HttpRequest, slug: str) -> HttpResponse:
    """The tables and columns, searched: a fragment beside the editor (htmx) or a page of its own."""
    service = find_service_or_404(slug)
    form = TablesSearchForm(request.GET)
    words = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"service": service, "form": form, "words": words}
    try:
        found = matching(service_tables(service), words)
    except ServiceError as error:
        context["problem"] = error.message
        found = []
    shown, count = [], 0
    for table, columns in found:
        if count >= SHOWN:
            break
        shown.append((table, columns[: SHOWN - count]))
        count += len(shown[-1][1])
    context.update(found=shown, cut=sum(len(columns) for _, columns in found) > count)
    template = "jobs/_tables.html" if request.htmx else "jobs/tables.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
