import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.template.backends.utils import csrf_input
from django.utils.functional import SimpleLazyObject

from .services import configured_services


def services(request: HttpRequest) -> dict:
    """Every page shows the configured services in its navigation, those that refused connections lately marked."""
    offered = list(configured_services().values())
    down = cache.get_many([f"down:{service.slug}" for service in offered])
    return {"services": offered, "down": {key.split(":", 1)[1] for key in down}}


def csrf(request: HttpRequest) -> dict:
    """The CSRF field of the page's forms, made once a page.

    The Jinja2 backend's own `csrf_input` masks the token anew each time a form prints it
    (0.1 ms of random numbers each; a job page has five forms and more). Lazy all the same:
    a page without a form sets no CSRF cookie.
    """
    return {"csrf_input": SimpleLazyObject(lambda: csrf_input(request))}


def banners(request: HttpRequest) -> dict:
    """Every page shows the browser's unseen banners (jobs/watching/), asked of the portal's database when printed."""
    from .watching.views import banners_of, has_banners

    browser = getattr(request, "browser_key", None)
    if not browser:
        return {"banners": []}
    return {"banners": SimpleLazyObject(lambda: banners_of(browser) if has_banners(browser) else [])}


def live(request: HttpRequest) -> dict:
    """Where an open page is told of changes (jobs/watching/stream.py), if the live server runs, and since when."""
    if not settings.PORTAL_LIVE_STREAM:
        return {"live_stream": ""}
    from .watching.stream import PATH

    return {"live_stream": PATH, "live_since": f"{time.time():.6f}"}
