"""The live server (jobs/watching/stream.py) under a real uvicorn on loopback: open pages told of changes.

The streams are read over HTTP as a browser's EventSource reads them; the portal's database is
the tests' own (the hub reads it from a thread of its own, as the live server does).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
import uvicorn
from django.utils import timezone

from jobs.middleware import COOKIE
from jobs.watching.models import Flip, Notice, Watch
from jobs.watching.stream import PATH, Hub, LiveStreams
from tests.helpers import text

pytestmark = pytest.mark.django_db(transaction=True)
BROWSER = "b" * 43
OTHER = "o" * 43


@pytest.fixture
def streams(fake) -> Iterator[tuple[str, Hub]]:
    """The live server on a free loopback port (the scripted service configured as `fake`); its URL and its hub."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hub = Hub(every=0.2)
    config = uvicorn.Config(
        LiveStreams(hub), host="127.0.0.1", port=port, http="h11", loop="asyncio", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}{PATH}", hub
    server.should_exit = True
    thread.join(10)
    hub.close()  # its database connection, before the test database goes


class Events:
    """A stream read as EventSource reads it: (event, data, id) of each event; comments and retry skipped."""

    def __init__(self, url: str, browser: str = BROWSER, **params) -> None:
        self.answer = requests.get(url, params=params, cookies={COOKIE: browser}, stream=True, timeout=(5, 5))
        self.lines = self.answer.iter_lines(decode_unicode=True)

    def next(self) -> tuple[str, str, str]:
        fields: dict[str, str] = {}
        for line in self.lines:
            if line == "":
                if "event" in fields:
                    return fields["event"], fields.get("data", ""), fields.get("id", "")
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        raise AssertionError("the stream ended")

    def close(self) -> None:
        self.answer.close()


def watched(job_id: str, phase: str = "EXECUTING", **fields) -> Watch:
    return Watch.objects.create(service="fake", job_id=job_id, phase=phase, next_check_at=timezone.now(), **fields)


def banner(watch: Watch, browser: str) -> Notice:
    flip = Flip.objects.create(watch=watch, old_phase="EXECUTING", new_phase="COMPLETED")
    return Notice.objects.create(flip=flip, browser=browser, channel=Notice.BANNER)


def test_a_page_is_told_when_its_jobs_phase_is_no_longer_the_one_it_shows(streams):
    url, hub = streams
    watch = watched("abc")
    events = Events(url, job="fake/abc", phase="EXECUTING", since=time.time())
    assert events.answer.status_code == 200
    assert events.answer.headers["content-type"].startswith("text/event-stream")
    time.sleep(0.5)  # looks that see no change send nothing
    Watch.objects.filter(pk=watch.pk).update(phase="COMPLETED")
    told = time.monotonic()
    assert events.next() == ("job", "COMPLETED", "")
    assert time.monotonic() - told < 1.5
    events.close()


def test_an_open_stream_keeps_its_job_watched_eagerly_as_a_polling_page_does(streams):
    url, hub = streams
    watch = watched("abc", eager_until=timezone.now() - timedelta(minutes=1))
    events = Events(url, job="fake/abc", phase="EXECUTING", since=time.time())
    deadline = time.monotonic() + 5
    while Watch.objects.get(pk=watch.pk).eager_until < timezone.now():
        assert time.monotonic() < deadline, "the stream's job was not made eager"
        time.sleep(0.1)
    events.close()


def test_a_page_that_shows_an_older_phase_than_the_record_is_told_at_once(streams):
    url, hub = streams
    watched("abc", phase="EXECUTING")
    events = Events(url, job="fake/abc", phase="QUEUED", since=time.time())
    assert events.next() == ("job", "EXECUTING", "")
    events.close()


def test_a_new_banner_is_told_to_the_pages_of_its_browser_only(streams):
    url, hub = streams
    watch = watched("abc")
    mine = Events(url, since=time.time())
    theirs = Events(url, browser=OTHER, since=time.time())
    time.sleep(0.5)  # the hub has had its first look
    notice = banner(watch, BROWSER)
    kind, data, ident = mine.next()
    assert kind == "banners" and float(ident) == pytest.approx(notice.created_at.timestamp())
    Watch.objects.filter(pk=watch.pk).update(phase="COMPLETED")  # a page of another job: not theirs either
    with pytest.raises(requests.exceptions.ConnectionError):  # read timed out: nothing for the other browser
        theirs.next()
    mine.close()


def test_a_page_that_connects_after_a_banner_was_made_is_told_of_it(streams):
    url, hub = streams
    watch = watched("abc")
    rendered = time.time()
    notice = banner(watch, BROWSER)  # made between the page's rendering and its stream
    events = Events(url, since=rendered)
    kind, _, ident = events.next()
    assert kind == "banners" and float(ident) == pytest.approx(notice.created_at.timestamp())
    events.close()
    # The browser connects again (a break) and says which it had: told nothing new.
    again = requests.get(
        url,
        params={"since": rendered},
        cookies={COOKIE: BROWSER},
        headers={"Last-Event-ID": ident},
        stream=True,
        timeout=(5, 2),
    )
    lines = again.iter_lines(decode_unicode=True)
    assert next(lines) == "retry: 2000"
    with pytest.raises(requests.exceptions.ConnectionError):
        for line in lines:
            assert not line.startswith("event:"), line
    again.close()


def test_a_closed_page_leaves_the_hub(streams):
    url, hub = streams
    watched("abc")
    events = Events(url, job="fake/abc", phase="EXECUTING", since=time.time())
    next(events.lines)  # retry: the stream is open
    assert hub.pages == 1 and ("fake", "abc") in hub.by_job and BROWSER in hub.by_browser
    events.close()
    deadline = time.monotonic() + 5
    while hub.pages:
        assert time.monotonic() < deadline, "the closed stream stayed in the hub"
        time.sleep(0.05)
    assert not hub.by_job and not hub.by_browser


@pytest.mark.parametrize(
    ("method", "path", "params", "cookie", "status", "says"),
    [
        ("GET", PATH, {"job": "nowhere/abc", "phase": "EXECUTING"}, True, 400, "no service named nowhere"),
        ("GET", PATH, {"job": "fake/", "phase": "EXECUTING"}, True, 400, "job must be"),
        ("GET", PATH, {"job": "fake/" + "x" * 200}, True, 400, "job must be"),
        ("GET", PATH, {"job": "fake/abc", "phase": "<script>"}, True, 400, "phase must be"),
        ("GET", PATH, {"since": "yesterday"}, True, 400, "since must be"),
        ("GET", PATH, {}, False, 400, "follows a job, or the banners"),
        ("GET", "/live/other", {}, True, 404, "no such stream"),
        ("POST", PATH, {}, True, 405, "read with GET"),
    ],
)
def test_a_request_the_live_server_cannot_follow_is_answered_in_words(
    streams, method, path, params, cookie, status, says
):
    url, hub = streams
    answer = requests.request(
        method,
        url.replace(PATH, path),
        params=params,
        cookies={COOKIE: BROWSER} if cookie else {},
        timeout=5,
    )
    assert answer.status_code == status and says in answer.text
    assert hub.pages == 0


def test_pages_say_where_their_stream_is_only_where_the_live_server_runs(client, fake, settings, monkeypatch):
    from jobs.watching import live
    from tests.fakeuws import job_xml

    monkeypatch.setattr(live, "worker_running", lambda: True)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    page = text(client.get("/fake/async/abc"))
    assert "data-live" not in page and 'hx-trigger="every 1.5s"' in page
    settings.PORTAL_LIVE_STREAM = True
    page = text(client.get("/fake/async/abc"))
    assert f'<body data-live="{PATH}" data-live-since="' in page
    assert 'hx-trigger="every 1.5s, portal:changed"' in page
    assert 'data-live-job="fake/abc" data-live-phase="EXECUTING"' in page
    assert 'hx-trigger="every 15s, portal:banners"' in page
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    Watch.objects.all().delete()
    monkeypatch.setattr(live, "worker_running", lambda: False)
    page = text(client.get("/fake/async/abc"))
    assert "data-live-job" not in page  # a final job: nothing to follow; the banners still are
    assert f'data-live="{PATH}"' in page
