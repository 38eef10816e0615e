from django.core.cache import cache
from django.db import connection
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
    from .watching.views import banners_of

    browser = getattr(request, "browser_key", None)
    if not browser:
        return {"banners": []}
    return {"banners": SimpleLazyObject(lambda: banners_of(browser) if _has_banners(browser) else [])}


def _has_banners(browser: str) -> bool:
    """Whether any banner waits for the browser: nearly every page has none, and the question in SQL
    costs a tenth of fetching none through the ORM (a quarter of a job page, docs/benchmarks.md)."""
    from .watching.models import Notice

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Notice._meta.db_table} WHERE browser = %s AND channel = %s AND seen_at IS NULL LIMIT 1",
            [browser, Notice.BANNER],
        )
        return cursor.fetchone() is not None
