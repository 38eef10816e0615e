"""What a service says of itself (VOSI availability and capabilities), kept briefly in the cache.

Shared by every user: the service is asked without anyone's token, and at most once
every VOSI_CACHE_SECONDS per portal cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from .forms import FORMATS
from .services import Service
from .uws.errors import ServiceError
from .uws.vosi import Availability, Capabilities

VOSI_CACHE_SECONDS = 120


@dataclass(frozen=True)
class ServiceFacts:
    """A service's VOSI answers, or why there are none."""

    availability: Availability | None
    availability_problem: str | None
    capabilities: Capabilities | None
    capabilities_problem: str | None
    checked_at: datetime


def service_facts(service: Service, *, fetch: bool) -> ServiceFacts | None:
    """The cached facts; with `fetch`, ask the service when none are cached."""
    key = f"vosi:{service.slug}"
    facts = cache.get(key)
    if facts is not None or not fetch:
        return facts
    client = service.client()
    availability = capabilities = None
    availability_problem = capabilities_problem = None
    try:
        availability = client.get_availability()
    except ServiceError as error:
        availability_problem = error.message
    try:
        capabilities = client.get_capabilities()
    except ServiceError as error:
        capabilities_problem = error.message
    facts = ServiceFacts(availability, availability_problem, capabilities, capabilities_problem, datetime.now(UTC))
    cache.set(key, facts, VOSI_CACHE_SECONDS)
    return facts


def row_limits(facts: ServiceFacts | None) -> tuple[int | None, int | None]:
    """The service's default and largest MAXREC (TAPRegExt outputLimit in rows), each None where unknown."""
    limit = facts.capabilities.output_limit if facts and facts.capabilities else None
    if limit is None or limit.unit != "row":
        return None, None
    return limit.default, limit.hard


def format_choices(facts: ServiceFacts | None) -> list[tuple[str, str]]:
    """The FORMAT choices of the new-query form: the service's own once known, else TAP's standard ones."""
    if facts and facts.capabilities and facts.capabilities.output_formats:
        return facts.capabilities.format_choices()
    return FORMATS
