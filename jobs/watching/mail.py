"""E-mail: the notices about jobs, and the confirmation of an address, each with signed one-click links.

A notice is sent once: the worker claims it (a lease), marks it begun, sends, marks it
sent. A mail server that refuses or is down leaves the notice waiting, retried with
back-off ("not sent yet" on My jobs). A worker killed after the SMTP exchange began
cannot know whether the message went out: that notice is not sent again, since two
messages for one change are worse than the rare lost one (it stays listed on My jobs).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ..services import configured_services
from .models import ConfirmationMail, Notice

log = logging.getLogger("jobs.watching")

LEASE = timedelta(seconds=60)
RETRY_FIRST = timedelta(seconds=30)
RETRY_LONGEST = timedelta(hours=1)
CONFIRMATIONS_A_DAY = 3  # to one address, whoever asks
LINK_SALT = {"confirm": "jobs.watching.confirm", "stop": "jobs.watching.stop", "keep": "jobs.watching.keep"}
CONFIRM_DAYS = 3


def enabled() -> bool:
    return settings.EMAIL_ENABLED


def signed_link(kind: str, payload: dict) -> str:
    """An absolute one-click link whose payload cannot be changed without the portal noticing."""
    token = signing.dumps(payload, salt=LINK_SALT[kind], compress=True)
    name = "watching_keep_link" if kind == "keep" else f"watching_{kind}"
    return settings.PORTAL_BASE_URL + reverse(name, args=[token])


def read_link(kind: str, token: str, max_age: timedelta | None = None) -> dict | None:
    """The payload of a link the portal made, or None if it was changed or is too old."""
    try:
        return signing.loads(token, salt=LINK_SALT[kind], max_age=max_age)
    except signing.BadSignature:
        return None


def may_confirm(address: str, now: datetime | None = None) -> bool:
    """At most a few confirmation mails to one address a day, so nobody can make the portal flood a stranger."""
    since = (now or timezone.now()) - timedelta(days=1)
    return ConfirmationMail.objects.filter(address__iexact=address, sent_at__gte=since).count() < CONFIRMATIONS_A_DAY


def send_confirmation(browser: str, address: str) -> None:
    """Mail the link that confirms the address for this browser; raises OSError/SMTPException if it cannot."""
    link = signed_link("confirm", {"b": browser, "a": address})
    body = render_to_string("email/confirm.txt", {"link": link, "days": CONFIRM_DAYS})
    ConfirmationMail.objects.create(address=address)
    EmailMessage("Confirm your address for the TAP job portal", body, to=[address]).send()


def send_due(now: datetime | None = None, limit: int = 50) -> int:
    """Claim and send the e-mail notices that are due; how many went out."""
    now = now or timezone.now()
    due = Notice.objects.filter(
        channel=Notice.EMAIL, sent_at__isnull=True, sending_at__isnull=True, next_attempt_at__lte=now
    ).exclude(claimed_until__gt=now)
    sent = 0
    for pk, lease in due.values_list("pk", "claimed_until")[:limit]:
        if Notice.objects.filter(pk=pk, claimed_until=lease, sending_at__isnull=True).update(claimed_until=now + LEASE):
            sent += _send(Notice.objects.select_related("flip__watch").get(pk=pk), now)
    return sent


def _send(notice: Notice, now: datetime) -> int:
    Notice.objects.filter(pk=notice.pk).update(sending_at=timezone.now(), attempts=notice.attempts + 1)
    try:
        _message(notice).send()
    except (OSError, smtplib.SMTPException) as error:
        # Refused before the message was taken: it was not sent, so it may be sent again.
        delay = min(RETRY_LONGEST, RETRY_FIRST * 2 ** min(notice.attempts, 10))
        Notice.objects.filter(pk=notice.pk).update(
            sending_at=None, claimed_until=None, next_attempt_at=now + delay, problem=str(error)[:300]
        )
        log.info("notice %s to %s not sent: %s", notice.pk, notice.address, error)
        return 0
    Notice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), claimed_until=None, problem="")
    return 1


def _message(notice: Notice) -> EmailMessage:
    """The notice as a message: the job, its service and phase, its results, the page, and the stop link."""
    flip = notice.flip
    watch = flip.watch
    service = configured_services().get(watch.service)
    title = service.title if service else watch.service
    job_page = settings.PORTAL_BASE_URL + reverse("job_detail", args=[watch.service, watch.job_id])
    context = {
        "flip": flip,
        "watch": watch,
        "service_title": title,
        "job_page": job_page,
        "results": [
            {**result, "url": f"{job_page}/results/{result['id']}"} for result in watch.results if result.get("id")
        ],
        "stop": signed_link("stop", {"b": notice.browser, "s": watch.service, "j": watch.job_id}),
        "keep": signed_link("keep", {"b": notice.browser, "s": watch.service, "j": watch.job_id}),
    }
    subject = {
        "gone": f"Job {watch.job_id} is gone from {title}",
        "expiring": f"Job {watch.job_id} of {title} will be destroyed within a day",
    }.get(flip.kind, f"Job {watch.job_id} of {title} is {flip.new_phase}")
    message = EmailMessage(subject, render_to_string("email/notice.txt", context), to=[notice.address])
    # The same id for the same notice: a mail system that sees it twice can tell.
    message.extra_headers["Message-ID"] = f"<notice-{notice.pk}@tap-job-portal>"
    return message
