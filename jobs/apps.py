from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "TAP jobs"

    def ready(self) -> None:
        # Read the services file now, so a malformed one stops the portal at start
        # rather than on the first page. Nothing is sent to the services.
        from .services import ServiceConfigError, configured_services

        try:
            configured_services()
        except ServiceConfigError as exc:
            raise ImproperlyConfigured(str(exc)) from None
