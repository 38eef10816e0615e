"""`manage.py watch`: the background worker, started by make run and make serve beside gunicorn.

It schedules the first tick of the watching (jobs/watching/tasks.py), then runs the task
library's own worker (`db_worker`) in this process. Any number may run, on one machine or
several sharing PostgreSQL: each tick is taken by one worker, and each piece of work in it
is claimed by one.
"""

from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand

from jobs.watching.tasks import schedule


class Command(BaseCommand):
    help = "Watch remembered jobs and send the notices (the task library's worker)."

    def handle(self, *args, **options) -> None:
        schedule(delay=timedelta(0))
        call_command("db_worker", interval=0.5, reload=False)
