"""What the portal keeps: the jobs each browser has created or opened."""

import logging
from collections.abc import Iterable

from django.db import DatabaseError, connection, models

from .uws.model import Job

QUERY_START_LENGTH = 200
RESULT_IDS_LENGTH = 300
log = logging.getLogger(__name__)


def query_start_of(query: str | None) -> str:
    """The start of a query as the lists show it: its whitespace folded, its first 200 characters."""
    return " ".join((query or "").split())[:QUERY_START_LENGTH]


def result_ids_of(ids: Iterable[str]) -> str:
    """Result ids as My jobs keeps them: whole ids (they hold no spaces), space-separated, as many as fit."""
    kept = ""
    for result_id in ids:
        joined = f"{kept} {result_id}" if kept else result_id
        if len(joined) > RESULT_IDS_LENGTH:
            break
        kept = joined
    return kept


class BrowserLink(models.Model):
    """A private link that attaches another browser to this browser's list (only its hash is kept)."""

    browser = models.CharField(max_length=64, db_index=True)
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the link's secret
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link to {self.browser[:8]}…"


class RememberedJob(models.Model):
    """A job a browser has seen through the portal, so that nobody loses a job id again."""

    browser = models.CharField(max_length=64, db_index=True)
    service = models.CharField(max_length=64)  # a slug of the services file
    job_id = models.CharField(max_length=128)
    phase = models.CharField(max_length=32, blank=True)  # the last phase seen
    creation_time = models.DateTimeField(null=True, blank=True)
    query_start = models.CharField(max_length=QUERY_START_LENGTH, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    destruction = models.DateTimeField(null=True, blank=True)  # as last seen
    results = models.CharField(max_length=RESULT_IDS_LENGTH, blank=True)  # the result ids last seen, space-separated
    note = models.TextField(blank=True, max_length=2000)
    notify = models.BooleanField(default=False)  # "Tell me when it ends"
    keep = models.BooleanField(default=False)  # "Keep this job": its destruction moved on by the worker
    remembered_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["browser", "service", "job_id"], name="one_entry_per_job_and_browser")
        ]
        # The worker asks who remembered a job (to tell them, to keep it, to drop its watch): without
        # this index each question read every entry of every browser.
        indexes = [models.Index(fields=["service", "job_id"], name="remembered_job")]
        ordering = ["-remembered_at"]

    def __str__(self) -> str:
        return f"{self.service}/{self.job_id}"

    @property
    def result_ids(self) -> list[str]:
        return self.results.split()

    @classmethod
    def remember(cls, browser: str, service: str, job_id: str, job: Job) -> None:
        """Record the job as the service has it now (creating the entry the first time).

        `job_id` is the id in the portal's URL, which some services' documents spell
        differently. Nothing is written when nothing changed: a watched page asks
        every few seconds.
        """
        values = {
            "phase": job.phase[:32],
            "creation_time": job.creation_time,
            "query_start": query_start_of(job.query),
            "run_id": (job.run_id or "")[:64],
            "destruction": job.destruction,
            "results": result_ids_of(result.id for result in job.results),
        }
        try:
            if cls._unchanged(browser, service, job_id, values):
                return
            entry, created = cls.objects.get_or_create(browser=browser, service=service, job_id=job_id, defaults=values)
            if not created and any(getattr(entry, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(entry, name, value)
                entry.save(update_fields=[*values, "seen_at"])
        except DatabaseError:
            # The page the user asked for matters more than the bookkeeping: show it.
            log.exception("could not remember job %s of %s", job_id, service)

    @classmethod
    def entry(cls, browser: str, service: str, job_id: str) -> "RememberedJob | None":
        """The browser's entry of the job, or None: every job page shows its watching buttons from it.

        In raw SQL: the ORM took 0.32 ms to build and run this query, raw SQL takes 0.07
        (docs/benchmarks.md). The entry is a full instance all the same.
        """
        found = cls.objects.raw(
            f"SELECT * FROM {cls._meta.db_table} WHERE browser = %s AND service = %s AND job_id = %s",
            [browser, service, job_id],
        )
        return next(iter(found), None)

    @classmethod
    def _unchanged(cls, browser: str, service: str, job_id: str, values: dict) -> bool:
        """Whether the entry is there as `values` has it: the question of nearly every job page.

        Asked in SQL through the cursor, it costs less than half of loading the entry through the ORM
        (docs/benchmarks.md), and the database answers for every process alike: an entry that
        another worker changed or deleted is seen as such.
        """
        sql = (
            f"SELECT 1 FROM {cls._meta.db_table} WHERE browser = %s AND service = %s AND job_id = %s "
            f"AND phase = %s AND query_start = %s AND run_id = %s AND results = %s"
        )
        params = [browser, service, job_id, values["phase"], values["query_start"], values["run_id"], values["results"]]
        for name in ("creation_time", "destruction"):
            if values[name] is None:
                sql += f" AND {name} IS NULL"
            else:
                sql += f" AND {name} = %s"
                params.append(connection.ops.adapt_datetimefield_value(values[name]))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
