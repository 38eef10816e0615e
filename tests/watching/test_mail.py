"""E-mail through a real SMTP server on loopback: confirmation first, one message per change, nothing lost."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from jobs.models import RememberedJob
from jobs.watching import checks, mail
from jobs.watching.models import ConfirmationMail, Notice, Subscriber, Watch
from tests.fakeuws import Reply, job_xml
from tests.helpers import text

pytestmark = pytest.mark.django_db(transaction=True)

RESULT = '<uws:result id="result" xlink:href="{}" size="2048"/>'


def link_in(message, kind: str) -> str:
    return re.search(rf"https://portal\.example\.org(/mine/{kind}/\S+)", message.get_payload(decode=True).decode())[1]


def confirmed(client, smtp, address: str = "astro@example.org") -> None:
    client.post("/mine/email", {"address": address})
    (message,) = smtp.to(address)
    assert client.get(link_in(message, "confirm")).status_code == 200
    smtp.messages.clear()


def test_an_address_gets_a_confirmation_link_and_nothing_else_until_it_is_opened(client, smtp):
    response = client.post("/mine/email", {"address": "astro@example.org"}, follow=True)
    assert "A confirmation link went to astro@example.org" in text(response)
    (message,) = smtp.to("astro@example.org")
    assert "Confirm your address" in message["Subject"]
    subscriber = Subscriber.objects.get()
    assert subscriber.mail_to is None
    page = client.get(link_in(message, "confirm"))
    assert page.status_code == 200 and "Address confirmed" in text(page)
    assert Subscriber.objects.get().mail_to == "astro@example.org"


def test_a_malformed_address_is_refused_with_the_form_again_and_nothing_sent(client, smtp):
    response = client.post("/mine/email", {"address": "not an address"})
    assert response.status_code == 400
    assert "That is not an e-mail address" in text(response) and 'value="not an address"' in text(response)
    assert smtp.messages == [] and not Subscriber.objects.exists()


def test_no_address_gets_more_than_a_few_confirmations_a_day_whoever_asks(smtp):
    from django.test import Client

    for _ in range(5):
        Client().post("/mine/email", {"address": "stranger@example.org"})
    assert len(smtp.to("stranger@example.org")) == mail.CONFIRMATIONS_A_DAY
    assert ConfirmationMail.objects.count() == mail.CONFIRMATIONS_A_DAY


@pytest.mark.parametrize("kind", ["confirm", "stop"])
def test_a_tampered_link_is_refused_with_a_clear_page(client, smtp, kind):
    confirmed(client, smtp) if kind == "stop" else client.post("/mine/email", {"address": "astro@example.org"})
    token = mail.signed_link(kind, {"b": "someone-else", "a": "x@example.org", "s": "fake", "j": "abc"}).rsplit("/", 1)[
        -1
    ]
    response = client.get(f"/mine/{kind}/{token[:-3]}xyz")
    assert response.status_code == 400
    assert "This link does not work" in text(response) and "Nothing was done" in text(response)


def test_a_job_that_ends_is_mailed_once_with_what_the_astronomer_needs(client, smtp, fake):
    confirmed(client, smtp)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    client.get("/fake/async/abc")
    client.post("/fake/async/abc/notify", {"on": "on"})
    done = job_xml(job_id="abc", phase="COMPLETED", results=RESULT.format(f"{fake.url}/tap/async/abc/results/result"))
    fake.reply("GET", "/tap/async/abc", body=done.replace("<uws:jobId>", "<uws:runId>night-7</uws:runId><uws:jobId>"))
    checks.run_due_checks()
    assert mail.send_due() == 1
    assert mail.send_due() == 0  # never twice
    (message,) = smtp.to("astro@example.org")
    body = message.get_payload(decode=True).decode()
    assert message["Subject"] == "Job abc of Fake service is COMPLETED"
    assert "Run id:   night-7" in body and "SELECT TOP 5 * FROM t" in body
    assert "result (2.0\xa0KB): https://portal.example.org/fake/async/abc/results/result" in body
    assert "The job's page: https://portal.example.org/fake/async/abc" in body
    stop = client.get(link_in(message, "stop"))
    assert stop.status_code == 200 and not RememberedJob.objects.get().notify
    assert not Watch.objects.exists()


def test_while_the_mail_server_is_down_notices_wait_and_go_out_once_when_it_is_back(client, smtp, fake):
    confirmed(client, smtp)
    RememberedJob.objects.create(
        browser=client.cookies["portal_browser"].value, service="fake", job_id="abc", notify=True
    )
    Watch.objects.create(service="fake", job_id="abc", phase="EXECUTING", next_check_at=timezone.now())
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ERROR"))
    checks.run_due_checks()
    smtp.refuse = True
    assert mail.send_due() == 0
    notice = Notice.objects.get(channel="email")
    assert notice.sent_at is None and notice.next_attempt_at > timezone.now() and "451" in notice.problem
    assert "Not sent yet" in text(client.get("/mine"))
    smtp.refuse = False
    Notice.objects.update(next_attempt_at=timezone.now())
    assert mail.send_due() == 1 and mail.send_due() == 0
    assert len(smtp.to("astro@example.org")) == 1


def test_a_send_a_killed_worker_left_unfinished_is_not_sent_again(client, smtp, fake):
    confirmed(client, smtp)
    RememberedJob.objects.create(
        browser=client.cookies["portal_browser"].value, service="fake", job_id="abc", notify=True
    )
    Watch.objects.create(service="fake", job_id="abc", phase="EXECUTING", next_check_at=timezone.now())
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    checks.run_due_checks()
    # A worker claimed it and began the SMTP exchange, then was killed: whether it went out is unknown.
    Notice.objects.update(claimed_until=timezone.now(), sending_at=timezone.now())
    assert mail.send_due() == 0
    assert smtp.messages == []


def test_with_e_mail_off_the_page_says_so_and_keeps_no_address(client, settings):
    settings.EMAIL_ENABLED = False
    assert "This portal has no mail server" in text(client.get("/mine"))
    response = client.post("/mine/email", {"address": "astro@example.org"}, follow=True)
    assert "sends no e-mail" in text(response) and not Subscriber.objects.exists()


def test_a_job_soon_destroyed_is_mailed_with_a_one_click_keep(client, smtp, fake):
    from datetime import timedelta

    confirmed(client, smtp)
    browser = client.cookies["portal_browser"].value
    RememberedJob.objects.create(browser=browser, service="fake", job_id="abc", phase="COMPLETED")
    Watch.objects.create(service="fake", job_id="abc", phase="COMPLETED", next_check_at=timezone.now())
    soon = (timezone.now() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fake.route(
        "GET",
        "/tap/async/abc",
        lambda request: Reply(
            body=job_xml(job_id="abc", phase="COMPLETED", destruction=later if fake.posted() else soon).encode()
        ),
    )
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    checks.run_due_checks()
    assert mail.send_due() == 1
    (message,) = smtp.to("astro@example.org")
    assert "will be destroyed within a day" in message["Subject"]
    page = client.get(link_in(message, "keep"))
    assert page.status_code == 200 and "Job abc kept" in text(page)
    assert RememberedJob.objects.get().keep and fake.posted()[0].path == "/tap/async/abc/destruction"
    assert client.get("/mine/keep/made-up-token").status_code == 400
