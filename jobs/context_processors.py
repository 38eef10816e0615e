from django.http import HttpRequest

from .services import configured_services


def services(request: HttpRequest) -> dict:
    """Every page shows the configured services in its navigation."""
    return {"services": list(configured_services().values())}
