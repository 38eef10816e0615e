"""The worker's checks: which watched jobs are due, asking their services, and recording what changed.

A job is checked again after max(30 s, a tenth of the time it has run), at most 5 minutes:
at most 2 requests a minute for each job. A check that fails pushes that job back, and the
service's budget backs off all its jobs (doubling, up to an hour), so a service that is down
or slow is asked less and less often, never more.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..models import RememberedJob
from ..services import Service, configured_services
from ..uws import changes
from ..uws.changes import Outcome
from ..uws.client import UWSClient
from ..uws.errors import Failure, ServiceError
from ..uws.model import FINAL_PHASES, Job
from .models import Flip, Notice, ServiceBudget, Subscriber, Watch
from .records import job_record

log = logging.getLogger("jobs.watching")

SHORTEST = timedelta(seconds=30)
LONGEST = timedelta(minutes=5)
LEASE = timedelta(seconds=60)  # a claim on a check; a worker killed in it frees the job after this
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_LONGEST = timedelta(hours=1)
# Seconds of UWS WAIT for the job of an open page: a change is seen at once, at 6 requests a minute
# while nothing changes (5 s made 12), and a thread of the worker is never held longer.
EAGER_WAIT = 10
EAGER_BACKOFF = timedelta(seconds=10)  # for a service that ignores WAIT
EAGER_AT_ONCE = 64  # the client's pool for WAITs to one service (transport.MAX_WATCHING)
EXPIRY_NOTICE = timedelta(hours=24)  # a job destroyed within this is announced
KEEP_RETRY = timedelta(hours=6)  # a service that would not move a destruction is asked again after this
KEEP_AHEAD = timedelta(days=3650)  # "far ahead", for a service that says no retention limit
# Threads asking services within one tick: the checks wait on the network, not the CPU. On
# SQLite, which writes one at a time, the settings may ask for one (the tests' in-memory database).


def watch_job(service: Service, job_id: str, job: Job | None = None, *, phase: str = "") -> Watch:
    """The job's watch, made if it has none; due at once when it is new.

    It starts from the phase the user last saw (`phase`, or the job's): a job that has
    ended since is a change to tell; one that had ended already is not.
    """
    now = timezone.now()
    defaults = {"next_check_at": now, "phase": phase}
    if job is not None:
        defaults.update(_facts(job))
    watch, _ = Watch.objects.get_or_create(service=service.slug, job_id=job_id, defaults=defaults)
    return watch


def unwatch_if_unwanted(service_slug: str, job_id: str) -> None:
    """Drop the watch once no browser wants to be told about the job or to keep it."""
    wanted = RememberedJob.objects.filter(service=service_slug, job_id=job_id).filter(Q(notify=True) | Q(keep=True))
    if not wanted.exists():
        Watch.objects.filter(service=service_slug, job_id=job_id).delete()


def run_due_checks(now: datetime | None = None, limit: int = 200) -> int:
    """Claim the due watches (within each service's budget) and check them; how many were checked.

    A job whose page is open is checked eagerly, with a UWS WAIT, so that its page sees a
    change at once; the others when their next check is due.
    """
    now = now or timezone.now()
    _forget_unwanted(now)
    failing = {budget.service: budget for budget in ServiceBudget.objects.filter(failures__gt=0)}
    held = [slug for slug, budget in failing.items() if budget.backoff_until and budget.backoff_until > now]
    free = _free(now)
    eager = Q(eager_until__gt=now) & (Q(next_eager_at__isnull=True) | Q(next_eager_at__lte=now)) & Q(gone=False)
    candidates = dict(
        Watch.objects.filter(free)
        .filter(Q(next_check_at__lte=now) | eager)
        .exclude(service__in=held)
        .order_by("next_check_at")
        .values_list("pk", "eager_until")[:limit]
    )
    if not candidates:
        return 0
    # One conditional UPDATE claims them all: those another tick claimed meanwhile are no longer free
    # when it runs. This tick's lease (to the microsecond, drawn at random within a second) then says
    # which are its own; where each had an UPDATE of its own, the claims took a tenth of a check's CPU.
    lease = now + LEASE + timedelta(microseconds=random.randrange(1_000_000))
    Watch.objects.filter(free, pk__in=list(candidates)).update(claimed_until=lease)
    won = set(Watch.objects.filter(pk__in=list(candidates), claimed_until=lease).values_list("pk", flat=True))
    claimed = [(pk, bool(eager_until and eager_until > now)) for pk, eager_until in candidates.items() if pk in won]
    if not claimed:
        return 0
    # One query for all of them, with whether anyone keeps each job (a question a check would
    # otherwise ask on its own); one unwatched meanwhile is left out.
    kept = RememberedJob.objects.filter(service=OuterRef("service"), job_id=OuterRef("job_id"), keep=True)
    watches = Watch.objects.annotate(kept=Exists(kept)).in_bulk([pk for pk, _ in claimed])
    claimed = [(watches[pk], eagerly) for pk, eagerly in claimed if pk in watches]
    tick = Tick(recovering=set(failing))
    threads = settings.PORTAL_WATCH_THREADS
    try:
        if threads <= 1:
            for watch, eagerly in claimed:
                _check_in_thread(watch, eagerly, tick)
        else:
            # The eager checks each wait on a UWS WAIT: each gets a thread of its own, so that open pages
            # do not queue, and the other checks keep theirs.
            threads += min(EAGER_AT_ONCE, sum(eagerly for _, eagerly in claimed))
            _in_threads(claimed, threads, tick)
    finally:
        tick.write_unchanged()
    return len(claimed)


_FOLLOWING = ["next_check_at", "claimed_until", "failures", "checked_at", "next_eager_at"]


@dataclass
class Tick:
    """What the checks of one tick share.

    `recovering`: the services whose budget had failures when the tick began; a check that
    succeeds clears them. `unchanged`: the watches whose check saw nothing new, written
    together at the end (one statement and one commit, where each wrote its own: on SQLite,
    which writes one at a time, the checks' threads queued for the database). A worker killed
    before leaves them claimed until the lease runs out, and another worker checks them again.
    """

    recovering: set[str] = field(default_factory=set)
    unchanged: list[Watch] = field(default_factory=list)

    def write_unchanged(self) -> None:
        """One prepared UPDATE, run for each watch: bulk_update made a CASE of every watch for every
        column, and building it was half the time the worker held the GIL (a tick writes up to 200)."""
        if not self.unchanged:
            return
        fields = [Watch._meta.get_field(name) for name in _FOLLOWING]
        quote = connection.ops.quote_name
        columns = ", ".join(f"{quote(column.column)} = %s" for column in fields)
        statement = f"UPDATE {quote(Watch._meta.db_table)} SET {columns} WHERE {quote(Watch._meta.pk.column)} = %s"
        rows = [
            [column.get_db_prep_save(getattr(watch, column.attname), connection) for column in fields] + [watch.pk]
            for watch in self.unchanged
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(statement, rows)
        self.unchanged.clear()


def next_due(now: datetime) -> datetime | None:
    """When the next check falls due that a tick could claim (not claimed, its service not held back):
    a job's own next check, or the next eager one of a job whose page is open."""
    held = list(ServiceBudget.objects.filter(backoff_until__gt=now).values_list("service", flat=True))
    free = Watch.objects.filter(_free(now)).exclude(service__in=held)
    due = free.order_by("next_check_at").values_list("next_check_at", flat=True).first()
    eager = next_eager(now, free)
    return eager if due is None or (eager is not None and eager < due) else due


def next_eager(now: datetime, watches=None) -> datetime | None:
    """When the next eager check falls due (`now` if one is due already) among `watches` not claimed; None if
    no page is open. A job whose WAIT the service honoured is asked again at once, one whose service ignored it
    after EAGER_BACKOFF: a tick is not needed before then."""
    if watches is None:
        watches = Watch.objects.filter(_free(now))
    eager = watches.filter(eager_until__gt=now, gone=False).order_by(F("next_eager_at").asc(nulls_first=True))
    found = eager.values_list("next_eager_at", flat=True)[:1]
    if not found:
        return None
    return max(now, found[0] or now)


def _free(now: datetime) -> Q:
    """The watches no tick has claimed (or whose claim ran out)."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _forget_unwanted(now: datetime) -> None:
    """Watches only an open page wanted, a minute after the last page closed."""
    wanted = RememberedJob.objects.filter(service=OuterRef("service"), job_id=OuterRef("job_id")).filter(
        Q(notify=True) | Q(keep=True)
    )
    Watch.objects.filter(eager_until__lt=now - timedelta(minutes=1)).exclude(Exists(wanted)).delete()


def _in_threads(claimed: list[tuple[Watch, bool]], threads: int, tick: Tick) -> None:
    """The checks on `threads` threads; each closes its database connection when it runs out of checks.

    Connections live for a minute (CONN_MAX_AGE), which close_old_connections honours: a pool's
    thread that ended with its connection open left it to the garbage collector, and PostgreSQL
    kept an idle session for each until then. The first failure of a check is raised here, as
    from the checks on this thread.
    """
    waiting = deque(claimed)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                try:
                    watch, eagerly = waiting.popleft()
                except IndexError:
                    return
                _check_in_thread(watch, eagerly, tick)
        except BaseException as error:  # handed to the tick's own thread, raised there
            failures.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, daemon=True) for _ in range(min(threads, len(claimed)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]


def _check_in_thread(watch: Watch, eagerly: bool, tick: Tick) -> None:
    try:
        check(watch, eagerly=eagerly, tick=tick)
    finally:
        close_old_connections()


_clients = threading.local()


def _client(service: Service) -> UWSClient:
    """This thread's client for the service: a check reuses its session rather than making one (a
    twentieth of a check's time). Only the worker's own requests share it: it has no user's token."""
    clients = _clients.__dict__.setdefault("by_service", {})
    if service not in clients:
        clients[service] = service.client(page=False)
        clients[service].log_level = logging.DEBUG  # the checks' requests; what they find is logged here
    return clients[service]


def check(watch: Watch, *, eagerly: bool = False, tick: Tick | None = None) -> None:
    """Ask the service once (eagerly: with a UWS WAIT), record any change, and set the next check.

    Within a tick (`tick`), a check that saw nothing new leaves its writing to the tick's end.
    """
    service = configured_services().get(watch.service)
    now = timezone.now()
    if service is None:  # no longer offered by this portal
        watch.delete()
        return
    started = time.monotonic()
    try:
        if eagerly and watch.phase:
            job = _client(service).get_job(watch.job_id, wait=EAGER_WAIT, phase=watch.phase)
        else:
            job = _client(service).get_job(watch.job_id)
    except ServiceError as error:
        if error.failure == Failure.NOT_FOUND:
            _record(watch, Flip.GONE, None, now)
        elif error.failure == Failure.BUSY:  # the portal's own limit, not the service's fault: next tick
            Watch.objects.filter(pk=watch.pk).update(claimed_until=None)
        else:
            _failed(watch, service, error, now)
        return
    if tick is None or service.slug in tick.recovering:
        ServiceBudget.objects.filter(service=service.slug, failures__gt=0).update(failures=0, backoff_until=None)
    extra = {}
    if eagerly:
        # A WAIT the service honoured may be asked again at once; one it ignored (an answer at
        # once, no change) not for EAGER_BACKOFF: at most 6 requests a minute for an open page.
        ignored = job.phase == watch.phase and time.monotonic() - started < EAGER_WAIT / 2
        extra["next_eager_at"] = now + (EAGER_BACKOFF if ignored else timedelta(0))
    _record(watch, Flip.PHASE, job, timezone.now(), asked_at=now, extra=extra, tick=tick)
    if job.destruction is not None:
        _keep_or_announce(watch, service, job, now)


def _facts(job: Job) -> dict:
    return {
        "phase": job.phase[:32],
        "run_id": (job.run_id or "")[:64],
        "query_start": " ".join((job.query or "").split())[:200],
        "start_time": job.start_time,
        "destruction": job.destruction,
        "results": [
            {"id": result.id, "href": result.href, "size": result.size, "mime": result.mime_type}
            for result in job.results[:20]
        ],
        "document": job_record(job),
    }


def _record(
    watch: Watch,
    kind: str,
    job: Job | None,
    now: datetime,
    asked_at: datetime | None = None,
    extra: dict | None = None,
    tick: Tick | None = None,
) -> None:
    """Write what the check saw; a change becomes a Flip and its notices, made by one worker only.

    The next check is due an interval after this one was asked (`asked_at`), so that a job is
    asked at most once an interval however long the service took to answer. Only what
    differs from the watch as read is written: most checks see nothing new, and then write
    neither the job's document nor its results, and within a tick they are written at its end.
    """
    if kind == Flip.GONE:
        with transaction.atomic():
            won = Watch.objects.filter(pk=watch.pk, gone=False).update(gone=True, claimed_until=None, checked_at=now)
            if won:
                log.info("watch %s/%s: gone from the service", watch.service, watch.job_id)
                _flip(watch, Flip.GONE, watch.phase, "")
                RememberedJob.objects.filter(service=watch.service, job_id=watch.job_id).update(phase="GONE")
            Watch.objects.filter(pk=watch.pk).update(next_check_at=now + BACKOFF_LONGEST, claimed_until=None)
        return
    facts = {name: value for name, value in _facts(job).items() if getattr(watch, name) != value}
    following = {
        "next_check_at": (asked_at or now) + interval(job, now),
        "claimed_until": None,
        "failures": 0,
        "checked_at": now,
        **(extra or {}),
    }
    if not facts and tick is not None:
        for name, value in following.items():
            setattr(watch, name, value)
        tick.unchanged.append(watch)
        return
    with transaction.atomic():
        # Only a phase other than the one this worker read can be a change (most checks see none).
        changed = "phase" in facts
        won = changed and Watch.objects.filter(pk=watch.pk, phase=watch.phase).update(**facts, **following)
        if won:
            log.info("watch %s/%s: %s -> %s", watch.service, watch.job_id, watch.phase or "-", facts["phase"])
            _flip(watch, Flip.PHASE, watch.phase, facts["phase"])
            RememberedJob.objects.filter(service=watch.service, job_id=watch.job_id).update(phase=facts["phase"])
        else:
            facts.pop("phase", None)
            Watch.objects.filter(pk=watch.pk).update(**facts, **following)


def interval(job: Job, now: datetime) -> timedelta:
    """max(30 s, a tenth of the time the job has run), at most 5 minutes; a final job waits for its destruction."""
    if job.phase in FINAL_PHASES:
        if job.destruction is None:
            return BACKOFF_LONGEST
        # Nothing to see until the destruction nears (announced a day before) or a kept job needs moving.
        return max(SHORTEST, min(job.destruction - EXPIRY_NOTICE - now, timedelta(hours=6)))
    since = job.start_time or job.creation_time or now
    return min(LONGEST, max(SHORTEST, (now - since) / 10))


def _failed(watch: Watch, service: Service, error: ServiceError, now: datetime) -> None:
    """Push the job back, and the whole service with it: a failing service gets fewer requests."""
    failures = watch.failures + 1
    delay = min(BACKOFF_LONGEST, BACKOFF_FIRST * 2 ** min(failures, 10))
    Watch.objects.filter(pk=watch.pk).update(
        failures=failures, next_check_at=now + max(delay, SHORTEST), claimed_until=None, checked_at=now
    )
    try:
        with transaction.atomic():
            budget, _ = ServiceBudget.objects.get_or_create(service=service.slug)
    except IntegrityError:  # another check of the same service made it just now
        budget = ServiceBudget.objects.get(service=service.slug)
    # One step of back-off for each round of failures: the checks of one tick that fail together
    # move it once (the conditional UPDATE lets one of them win), not once each.
    ServiceBudget.objects.filter(pk=budget.pk, failures=budget.failures).update(
        failures=F("failures") + 1,
        backoff_until=now + min(BACKOFF_LONGEST, BACKOFF_FIRST * 2 ** min(budget.failures, 10)),
    )
    log.info("watch %s/%s: %s (%s failures)", watch.service, watch.job_id, error.message, failures)


def _keep_or_announce(watch: Watch, service: Service, job: Job, now: datetime) -> None:
    """Move a kept job's destruction on before a third of its span is left; announce a job soon destroyed."""
    left = job.destruction - now
    kept = getattr(watch, "kept", None)  # read with the watches of a tick
    if kept is None:
        kept = RememberedJob.objects.filter(service=watch.service, job_id=watch.job_id, keep=True).exists()
    span = timedelta(seconds=watch.kept_span) if watch.kept_span else None
    refused = watch.keep_refused_at is not None
    if kept and (span is None or left < span / 3) and not (refused and now - watch.keep_refused_at < KEEP_RETRY):
        outcome = extend(watch, service, now)
        if outcome is None or not outcome.destruction_kept_back:
            return
        refused = True
    if (not kept or refused) and left < EXPIRY_NOTICE and watch.expiry_told != job.destruction:
        with transaction.atomic():
            won = (
                Watch.objects.filter(pk=watch.pk)
                .exclude(expiry_told=job.destruction)
                .update(expiry_told=job.destruction)
            )
            if won:
                _flip(watch, Flip.EXPIRING, job.phase, job.phase)


def _keep_refused(watch: Watch) -> bool:
    return Watch.objects.filter(pk=watch.pk, keep_refused_at__isnull=False).exists()


def extend(watch: Watch, service: Service, now: datetime) -> Outcome | None:
    """Ask for the latest destruction the service allows (its retention limit, else far ahead); what it did.

    A service that leaves the destruction where it was (VOLLT, once a job has ended) is
    recorded as such: the job's owners are told it will go, and it is not asked again soon.
    """
    from ..facts import service_facts

    facts = service_facts(service, fetch=True)
    limit = facts.capabilities.retention_period.hard if facts and facts.capabilities else None
    wanted = now + (timedelta(seconds=limit) if limit else KEEP_AHEAD)
    try:
        outcome = service.client(page=False).change(watch.job_id, changes.SET_DESTRUCTION, wanted)
    except ServiceError as error:
        log.info("keep %s/%s: %s", watch.service, watch.job_id, error.message)
        return None
    job = outcome.after
    if outcome.destruction_kept_back:
        Watch.objects.filter(pk=watch.pk).update(destruction=job.destruction, keep_refused_at=now)
    elif job is not None and job.destruction is not None:
        Watch.objects.filter(pk=watch.pk).update(
            destruction=job.destruction,
            kept_span=max(0.0, (job.destruction - now).total_seconds()),
            keep_refused_at=None,
        )
    return outcome


def _flip(watch: Watch, kind: str, old: str, new: str) -> Flip:
    """The change, and its notices: a banner for each browser that wants one, an e-mail for each confirmed address."""
    flip = Flip.objects.create(watch=watch, kind=kind, old_phase=old, new_phase=new)
    owners = RememberedJob.objects.filter(service=watch.service, job_id=watch.job_id)
    if kind != Flip.EXPIRING:
        owners = owners.filter(notify=True)
    elif not _keep_refused(watch):  # a job the service would not keep is announced to its keepers too
        owners = owners.filter(keep=False)
    browsers = list(owners.values_list("browser", flat=True))
    told = kind != Flip.PHASE or new in FINAL_PHASES  # e-mail for an end, a loss, a destruction near
    addresses = dict(
        Subscriber.objects.filter(browser__in=browsers, confirmed_at__isnull=False)
        .exclude(address="")
        .values_list("browser", "address")
    )
    notices = [Notice(flip=flip, browser=browser, channel=Notice.BANNER) for browser in browsers]
    if told:
        notices += [
            Notice(flip=flip, browser=browser, channel=Notice.EMAIL, address=address, next_attempt_at=timezone.now())
            for browser, address in addresses.items()
        ]
    Notice.objects.bulk_create(notices)
    return flip
