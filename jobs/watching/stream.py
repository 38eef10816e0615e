"""Open pages told of a change the moment the portal's record has it: a stream of server-sent events per page.

A page that polls costs the portal a request every 1.5 s whether or not anything happened; five
hundred open pages are then a load of their own on the web workers, and every other page waits
behind it (docs/benchmarks.md, section 8). Here an open page holds one connection to an
asynchronous server of its own (`portal/live.py` under uvicorn, started beside gunicorn by
`make serve`; the proxy sends `/live/` to it) and costs nothing while nothing changes. One task
per process follows the portal's database for all of its pages at once, a question every half
second: the phase of their jobs (kept watched eagerly while a page is open, as a page's poll
does) and the banners made since. A page whose job's phase differs from the one it shows is
sent `job`; a page whose browser has a new banner, `banners`. The page then asks gunicorn for
the new part, as after a poll. Where the stream cannot be reached (`make run` has no proxy, or
the live server is down) the page polls as before (static/js/portal.js).

Only the portal's database is asked, never a service, and a page says only which job it shows;
it never makes a job watched (its page did that when it was rendered).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs

from django.db import close_old_connections, connections
from django.http.cookie import parse_cookie
from django.utils import timezone

from ..middleware import _KEY, COOKIE
from ..services import configured_services
from . import live
from .models import Notice, Watch

log = logging.getLogger("jobs.watching")

PATH = "/live/events"
EVERY = 0.5  # seconds between two looks at the database: a change reaches the page within this and its own GET
HEARTBEAT = 15.0  # a comment now and then, so that no proxy takes a quiet stream for a dead one
RETRY_MS = 2000  # how long the browser waits before it connects again after a break
RECENT = 300.0  # seconds a banner is remembered, for a page that connects after it was made
MAX_PAGES = 20_000  # open streams one process takes; beyond that a page polls
MAX_JOB_ID = 128  # as Watch.job_id
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx passes each event on at once
    (b"x-content-type-options", b"nosniff"),
]


@dataclass(eq=False)
class Page:
    """One open page: the job it shows (service, id) and its phase there, its browser, what it has been told."""

    job: tuple[str, str] | None
    phase: str
    browser: str
    since: float  # banners made after this (seconds since the epoch) are news to the page
    events: asyncio.Queue = field(default_factory=asyncio.Queue)


@dataclass
class Look:
    """What one look at the database found: the phase of each followed job the service still has, and new banners."""

    phases: dict[tuple[str, str], str]
    banners: list[tuple[float, str]]  # (made at, browser)


class Hub:
    """The open pages of one process and the task that looks at the database for them."""

    def __init__(self, every: float = EVERY) -> None:
        self.every = every
        self.by_job: dict[tuple[str, str], set[Page]] = defaultdict(set)
        self.by_browser: dict[str, set[Page]] = defaultdict(set)
        self.recent: deque[tuple[float, str]] = deque()  # banners of the last RECENT seconds
        self.pages = 0
        self._cursor: int | None = None  # the newest banner seen
        self._task: asyncio.Task | None = None
        self._database = ThreadPoolExecutor(1, thread_name_prefix="live-database")  # one connection a process

    def join(self, page: Page) -> None:
        self.pages += 1
        if page.job:
            self.by_job[page.job].add(page)
        if page.browser:
            self.by_browser[page.browser].add(page)
            news = [made for made, browser in self.recent if made > page.since and browser == page.browser]
            if news:
                page.since = max(news)
                page.events.put_nowait(("banners", f"{page.since:.6f}"))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._follow())

    def leave(self, page: Page) -> None:
        self.pages -= 1
        for index, key in ((self.by_job, page.job), (self.by_browser, page.browser)):
            if key and key in index:
                index[key].discard(page)
                if not index[key]:
                    del index[key]

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pages:
            started = loop.time()
            try:
                look = await loop.run_in_executor(self._database, self.look, list(self.by_job))
            except Exception:  # the database away a moment: the pages keep their streams and wait
                log.exception("live: the portal's database could not be read")
            else:
                self.tell(look)
            await asyncio.sleep(max(0.0, self.every - (loop.time() - started)))

    def look(self, jobs: list[tuple[str, str]]) -> Look:
        """One look at the database (in the hub's own thread): the jobs' phases, their eager watch kept, new banners."""
        close_old_connections()  # a connection past its CONN_MAX_AGE, or broken, is opened anew
        phases: dict[tuple[str, str], str] = {}
        stale = []
        soon = timezone.now() + live.EAGER_FOR / 2
        if jobs:
            rows = Watch.objects.filter(job_id__in={job_id for _, job_id in jobs}).values_list(
                "pk", "service", "job_id", "phase", "gone", "eager_until"
            )
            wanted = set(jobs)
            for pk, service, job_id, phase, gone, eager_until in rows:
                if (service, job_id) in wanted and not gone:  # a job gone is told by its banner
                    phases[service, job_id] = phase
                    if eager_until is None or eager_until < soon:
                        stale.append(pk)
        if stale:
            live.keep_eager(Watch.objects.filter(pk__in=stale))
        rows = Notice.objects.filter(channel=Notice.BANNER).values_list("pk", "created_at", "browser")
        if self._cursor is None:  # the first look: the banners of the last RECENT seconds, for pages opened in them
            rows = rows.filter(created_at__gte=timezone.now() - timedelta(seconds=RECENT))
            self._cursor = Notice.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        else:
            rows = rows.filter(pk__gt=self._cursor)
        banners = []
        for pk, made, browser in rows.order_by("pk"):
            self._cursor = pk
            banners.append((made.timestamp(), browser))
        return Look(phases, banners)

    def close(self) -> None:
        """Close the hub's database connection (its own thread's), as a process that ends should."""
        self._database.submit(connections.close_all).result()

    def tell(self, look: Look) -> None:
        for job, phase in look.phases.items():
            for page in self.by_job.get(job, ()):
                if phase and phase != page.phase:
                    page.phase = phase
                    page.events.put_nowait(("job", phase))
        now = time.time()
        for made, browser in look.banners:
            self.recent.append((made, browser))
            for page in self.by_browser.get(browser, ()):
                if made > page.since:
                    page.since = made
                    page.events.put_nowait(("banners", f"{made:.6f}"))
        while self.recent and self.recent[0][0] < now - RECENT:
            self.recent.popleft()


_PHASE = re.compile(r"[A-Z_]{0,32}")


class LiveStreams:
    """The ASGI application: `GET /live/events?job=<service>/<job id>&phase=<shown>&since=<seconds>`."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub = hub or Hub()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != PATH:
            await _plain(send, 404, "There is no such stream here.")
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "A stream is read with GET.", [(b"allow", b"GET, HEAD")])
            return
        page = _page(scope)
        if isinstance(page, str):
            await _plain(send, 400, page)
            return
        if self.hub.pages >= MAX_PAGES:
            await _plain(send, 503, "Too many open pages: this one asks now and then instead.")
            return
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        await self._stream(page, receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.hub.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _stream(self, page: Page, receive, send) -> None:
        self.hub.join(page)
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await send({"type": "http.response.body", "body": f"retry: {RETRY_MS}\n\n".encode(), "more_body": True})
            while not gone.done():
                waiting = asyncio.ensure_future(page.events.get())
                done, _ = await asyncio.wait({waiting, gone}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED)
                if waiting in done:
                    kind, data = waiting.result()
                    # A banner's id is when it was made: a browser that connects again says so (Last-Event-ID).
                    ident = f"id: {data}\n" if kind == "banners" else ""
                    message = f"event: {kind}\n{ident}data: {data}\n\n"
                else:
                    waiting.cancel()
                    message = ": still here\n\n"
                if not gone.done():
                    await send({"type": "http.response.body", "body": message.encode(), "more_body": True})
        finally:
            gone.cancel()
            self.hub.leave(page)


def _page(scope) -> Page | str:
    """The page a stream is for, from its query and cookie; or what is wrong with the request."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=8)
    headers = {name: value.decode("latin-1") for name, value in scope.get("headers", [])}
    browser = parse_cookie(headers.get(b"cookie", "")).get(COOKIE, "")
    browser = browser if _KEY.fullmatch(browser) else ""
    try:
        since = float(query.get("since", ["0"])[0])
        since = max(since, float(headers.get(b"last-event-id") or 0))
    except ValueError:
        return "since must be a time in seconds."
    job = None
    if "job" in query:
        service, _, job_id = query["job"][0].partition("/")
        if service not in configured_services():
            return f"There is no service named {service[:64]} in this portal."
        if not job_id or len(job_id) > MAX_JOB_ID:
            return "job must be <service>/<job id>."
        job = (service, job_id)
    phase = query.get("phase", [""])[0]
    if not _PHASE.fullmatch(phase):
        return "phase must be a UWS phase."
    if job is None and not browser:
        return "A stream follows a job, or the banners of a browser."
    return Page(job=job, phase=phase, browser=browser, since=since)


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _plain(send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
