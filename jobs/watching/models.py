"""What the portal keeps to watch jobs while nobody looks, and to tell their owners.

One `Watch` per job, however many browsers remembered it. Every change the worker sees is
a `Flip`, made only by the worker whose conditional UPDATE of the watch changed exactly one
row; its `Notice`s (a banner for each browser that asked to be told, an e-mail for each
confirmed address) are made in the same transaction. A notice is sent by the worker that
claims it with another conditional UPDATE. Two workers can race on SQLite and PostgreSQL
alike, and only one wins each step; a claim is a lease, so a worker killed in the middle
leaves work another finishes.
"""

from __future__ import annotations

from django.db import models

ADDRESS_LENGTH = 254


class Watch(models.Model):
    """A job the worker follows, for everyone who remembered it."""

    service = models.CharField(max_length=64)
    job_id = models.CharField(max_length=128)
    phase = models.CharField(max_length=32, blank=True)  # as last seen by the worker
    run_id = models.CharField(max_length=64, blank=True)
    query_start = models.CharField(max_length=200, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    destruction = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)  # [{"id", "href", "size", "mime"}] as last seen
    gone = models.BooleanField(default=False)  # the service no longer has the job
    expiry_told = models.DateTimeField(null=True, blank=True)  # the destruction it was announced for
    kept_span = models.FloatField(null=True, blank=True)  # seconds of life the service kept at the last extension
    # When the service last left the destruction where it was although a later one was asked for
    # (VOLLT, once a job has ended): the job is not kept, whatever its owners asked.
    keep_refused_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a worker's lease on the check
    failures = models.PositiveIntegerField(default=0)  # checks in a row that failed
    checked_at = models.DateTimeField(null=True, blank=True)
    # While a page of the job is open: watched eagerly (UWS WAIT), and the page reads `document`.
    eager_until = models.DateTimeField(null=True, blank=True, db_index=True)
    next_eager_at = models.DateTimeField(null=True, blank=True)
    document = models.JSONField(default=dict, blank=True)  # the whole job as last read (records.py)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "job_id"], name="one_watch_per_job")]

    def __str__(self) -> str:
        return f"{self.service}/{self.job_id}"


class ServiceBudget(models.Model):
    """How a service has fared lately: one that fails or slows is asked less often, for all its jobs."""

    service = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    backoff_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.service}: {self.failures} failures"


class Flip(models.Model):
    """One change the worker saw: a new phase, a job gone, or a destruction near."""

    PHASE = "phase"
    GONE = "gone"
    EXPIRING = "expiring"

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="flips")
    kind = models.CharField(max_length=16, default=PHASE)
    old_phase = models.CharField(max_length=32, blank=True)
    new_phase = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.watch}: {self.kind} {self.old_phase} -> {self.new_phase}"


class Subscriber(models.Model):
    """What a browser asked for: its e-mail address (once confirmed) and desktop notices."""

    browser = models.CharField(max_length=64, unique=True)
    address = models.EmailField(max_length=ADDRESS_LENGTH, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # of this address
    desktop = models.BooleanField(default=False)  # the user switched desktop notices on

    def __str__(self) -> str:
        return f"{self.browser[:8]}… <{self.address}>"

    @property
    def mail_to(self) -> str | None:
        """The address to write to: confirmed, or none."""
        return self.address if self.address and self.confirmed_at else None


class ConfirmationMail(models.Model):
    """A confirmation sent, to keep the portal from flooding an address whoever asks."""

    address = models.EmailField(max_length=ADDRESS_LENGTH, db_index=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.address} at {self.sent_at}"


class Notice(models.Model):
    """One message about one change to one browser: a banner, or an e-mail to its confirmed address."""

    BANNER = "banner"
    EMAIL = "email"

    flip = models.ForeignKey(Flip, on_delete=models.CASCADE, related_name="notices")
    browser = models.CharField(max_length=64, db_index=True)
    channel = models.CharField(max_length=8)
    address = models.EmailField(max_length=ADDRESS_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)  # a banner dismissed
    # E-mail: claimed by a worker (a lease), begun (SMTP under way), sent; or retried later.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    problem = models.CharField(max_length=300, blank=True)  # why the last attempt failed

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flip", "browser", "channel"], name="one_notice_per_change_and_channel")
        ]
        # Every page asks whether its browser has a banner not yet dismissed: answered from this index
        # alone, however many notices the browser has had (through `browser` alone, SQLite read them all).
        indexes = [models.Index(fields=["browser", "channel", "seen_at"], name="notice_unseen")]

    def __str__(self) -> str:
        return f"{self.channel} about {self.flip} to {self.browser[:8]}…"
