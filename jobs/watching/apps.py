from django.apps import AppConfig


class WatchingConfig(AppConfig):
    name = "jobs.watching"
    label = "watching"
    verbose_name = "Watching jobs"
