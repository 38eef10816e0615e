"""The configured TAP services: data from a TOML file, never user input.

The file lists `[services.<slug>]` tables with `title`, `url` (the TAP base URL;
the UWS job list is `<url>/async`) and `description`. A malformed file stops the
portal at start with a message naming the file and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .uws.client import UWSClient

SLUG = re.compile(r"[a-z0-9_-]+")
_KEYS = {"title", "url", "description"}


class ServiceConfigError(Exception):
    """The services file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Service:
    slug: str
    title: str
    url: str
    description: str

    @property
    def async_url(self) -> str:
        return f"{self.url}/async"

    def client(self, token: str | None = None) -> UWSClient:
        """A client for this service; `token` is the user's bearer token for it, if any."""
        return UWSClient(self.title, self.url, token=token)


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
        for key in _KEYS & set(table):
            if not isinstance(table[key], str):
                raise ServiceConfigError(f"{where}: {key} must be a string")
        title = table["title"].strip()
        if not title:
            raise ServiceConfigError(f"{where}: title must not be empty")
        url = table["url"].strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceConfigError(f"{where}: url must be an http(s) URL, got {table['url']!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ServiceConfigError(f"{where}: url must be a plain base URL (no query, fragment or credentials)")
        services[slug] = Service(slug=slug, title=title, url=url, description=table.get("description", "").strip())
    return services


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
