"""The template engine: Jinja2, through Django's own Jinja2 backend.

Jinja2 compiles a template to Python once; Django's engine walks a tree of nodes on every
render. A job page, the page users reload and watch most, took 1.5 ms to render with Django's
engine, half of the portal's own time per page (docs/benchmarks.md).

Missing values print as nothing and chain as in Django's engine (`service.slug` on a page
without a service), instead of stopping the page. The filters that Jinja2 lacks, or has with
other output, are Django's own functions, so that a page reads as it did: file sizes,
truncation, URL quoting, plurals, time until.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from django.template import defaultfilters
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django_htmx.jinja import htmx_script
from jinja2 import ChainableUndefined, Environment


def url(name: str, *args: object) -> str:
    """The path of the named URL, as `{% url name arg … %}` gives it in Django's engine."""
    return _path(get_script_prefix(), name, args)


# A job page links the same few paths, ten times over (the service, its list, the job): each
# reverse() costs more than the rest of a link. The script prefix is part of the key, as
# reverse() puts it in front of every path.
@functools.lru_cache(maxsize=1024)
def _path(prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args)


def utc(value: datetime | None, timespec: str = "seconds") -> str:
    """A time as the pages write it, in UTC: `2030-01-31 12:00:00`, or to the minute
    with timespec="minutes"; the year always has four digits."""
    if not value:
        return ""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec)


def clock(value: datetime | None) -> str:
    """The time of day in UTC: `12:00:00`."""
    return f"{value.astimezone(UTC):%H:%M:%S}" if value else ""


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: int | None) -> str:
    """A span in the largest units that fit, at most two: `10 minutes`, `1 day 2 hours`; 0 is unlimited."""
    if seconds is None:
        return ""
    if seconds == 0:
        return "unlimited"
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
        if len(parts) == 2 or parts and not seconds:
            break
    return " ".join(parts)


def truncatechars(value: object, length: int) -> object:
    """Django's filter, without its work for the usual value: text in ASCII that fits (a job's parameters)."""
    if isinstance(value, str) and len(value) <= length and value.isascii():
        return value
    return defaultfilters.truncatechars(value, length)


def environment(**options) -> Environment:
    options["undefined"] = ChainableUndefined
    env = Environment(**options)
    env.globals.update(
        url=url,
        # The storage's manifest is read once per process: so is each file's URL.
        static=functools.lru_cache(maxsize=64)(static),
        htmx_script=functools.cache(htmx_script),
    )
    env.filters.update(
        utc=utc,
        clock=clock,
        duration=duration,
        timeuntil=defaultfilters.timeuntil_filter,
        filesizeformat=defaultfilters.filesizeformat,
        truncatechars=truncatechars,
        urlencode=defaultfilters.urlencode,
        pluralize=defaultfilters.pluralize,
    )
    return env


def compile_all() -> int:
    """Compile every template now, before the first request, and say how many.

    Jinja2 compiles a template when it is first asked for, without a lock: a server whose
    threads all start on the same page would compile it once per thread (0.1 s for all of
    them, each time a worker starts).
    """
    from django.template import engines

    env = engines["jinja2"].env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)
