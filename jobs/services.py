"""The configured services: data from a TOML file, never user input.

The file lists `[services.<slug>]` tables with `title`, `url` (the base URL: a TAP
service's, whose UWS job list is `<url>/async`) and `description`. A UWS service that is
not TAP (a SODA cutout service, say) names its job list with `jobs`; such a service gets
no ADQL form unless it says `tap = true`. A malformed file stops the portal at start with
a message naming the file and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .uws import transport
from .uws.client import UWSClient

SLUG = re.compile(r"[a-z0-9_-]+")
_KEYS = {"title", "url", "description", "jobs", "tap"}
_TEXT_KEYS = {"title", "url", "description", "jobs"}


class ServiceConfigError(Exception):
    """The services file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Service:
    slug: str
    title: str
    url: str
    description: str
    jobs: str | None = None  # the UWS job list, when it is not <url>/async
    tap: bool = True  # a TAP service: it takes ADQL queries

    @property
    def jobs_url(self) -> str:
        return self.jobs or f"{self.url}/async"

    def client(self, token: str | None = None, *, page: bool = True) -> UWSClient:
        """A client for this service; `token` is the user's bearer token for it, if any.

        A page's client ends all its requests within the page's budget, whatever the service
        does; one for longer work (`page=False`) bounds each request alone.
        """
        budget = transport.PAGE_BUDGET if page else None
        return UWSClient(self.title, self.url, jobs_url=self.jobs_url, token=token, budget=budget)


def load_services(path: Path) -> dict[str, Service]:
    """Read and check the services file; the order of the file is kept."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ServiceConfigError(f"{path}: the services file does not exist") from None
    except OSError as exc:
        raise ServiceConfigError(f"{path}: cannot read the services file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ServiceConfigError(f"{path}: not valid TOML ({exc})") from None

    unknown = set(document) - {"services"}
    if unknown:
        raise ServiceConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    tables = document.get("services")
    if not isinstance(tables, dict) or not tables:
        raise ServiceConfigError(f"{path}: no [services.<slug>] table is defined")

    services: dict[str, Service] = {}
    for slug, table in tables.items():
        where = f"{path}: [services.{slug}]"
        if not SLUG.fullmatch(slug):
            raise ServiceConfigError(f"{where}: the slug must match [a-z0-9_-]+")
        if not isinstance(table, dict):
            raise ServiceConfigError(f"{where}: must be a table")
        missing = {"title", "url"} - set(table)
        if missing:
            raise ServiceConfigError(f"{where}: missing {', '.join(sorted(missing))}")
        extra = set(table) - _KEYS
        if extra:
            raise ServiceConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        for key in _TEXT_KEYS & set(table):
            if not isinstance(table[key], str):
                raise ServiceConfigError(f"{where}: {key} must be a string")
        if not isinstance(table.get("tap", True), bool):
            raise ServiceConfigError(f"{where}: tap must be true or false")
        title = table["title"].strip()
        if not title:
            raise ServiceConfigError(f"{where}: title must not be empty")
        url = _base_url(table["url"], f"{where}: url")
        jobs = _base_url(table["jobs"], f"{where}: jobs") if "jobs" in table else None
        services[slug] = Service(
            slug=slug,
            title=title,
            url=url,
            description=table.get("description", "").strip(),
            jobs=jobs,
            tap=table.get("tap", jobs is None),
        )
    return services


def _base_url(text: str, where: str) -> str:
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceConfigError(f"{where} must be an http(s) URL, got {text!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ServiceConfigError(f"{where} must be a plain base URL (no query, fragment or credentials)")
    return url


_loaded: dict[Path, dict[str, Service]] = {}


def configured_services() -> dict[str, Service]:
    """The services of the file named by settings.PORTAL_SERVICES_FILE, read once."""
    from django.conf import settings

    path = Path(settings.PORTAL_SERVICES_FILE)
    if path not in _loaded:
        _loaded[path] = load_services(path)
    return _loaded[path]


def find_service_or_404(slug: str) -> Service:
    from django.http import Http404

    service = configured_services().get(slug)
    if service is None:
        raise Http404(f"There is no service named {slug} in this portal.")
    return service
