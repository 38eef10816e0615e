"""Browser tests: Playwright drives Debian's Chromium against the portal on a live server.

`make test` installs Chromium (scripts/chromium.sh). `playwright install` is never
run: Playwright starts /usr/bin/chromium, the one browser on the machine.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from jobs.services import configured_services
from jobs.uws.client import ServiceError, UWSClient

# Playwright's sync API runs an event loop in the test's thread, and Django refuses
# database calls from a thread with a running loop (SynchronousOnlyOperation): the
# flush after each transactional test would fail without this.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    # Chromium will not start as root with its sandbox (`make test` runs as root). Playwright
    # passes this too unless chromium_sandbox=True; said here so the reason is on record.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No calls home at start-up (updates, sync, field trials): the machine has no network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm may be tiny
    # Debian's Chromium looks names up at start; only loopback may resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000  # for each locator action and navigation; Playwright's default is 30 s
_FAILED = pytest.StashKey[bool]()


def _screenshot_path(name: str) -> Path:
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>.png."""
    path = _screenshot_path(name)
    page.screenshot(path=path, full_page=True)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `bash scripts/chromium.sh` (as root)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_context(browser: Browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts on the live portal, all closed after the test.

    A test that closes the browser and comes back calls
    `new_context(storage_state=context.storage_state())` to keep the cookies.
    """
    opened: list[BrowserContext] = []

    def open_context(**options) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, color_scheme="light", **options)
        context.set_default_timeout(TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh browser context for each test: no cookies from earlier tests."""
    return new_context()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page on the live portal (relative URLs work); a screenshot is kept if the test fails."""
    failed = f"FAILED-{request.node.name}"
    _screenshot_path(failed).unlink(missing_ok=True)  # from an earlier run
    page = context.new_page()
    yield page
    if request.node.stash.get(_FAILED, False):
        screenshot(page, failed)


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """The errors the page logs (a resource that fails to load is one) and its uncaught exceptions."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


TAP = "http://127.0.0.1:8080/tap"


@pytest.fixture
def uws() -> UWSClient:
    try:
        answer = requests.get(f"{TAP}/availability", timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"DaCHS does not answer at {TAP} ({exc}); start it with `bash scripts/dachs.sh start`")
    assert answer.status_code == 200
    return configured_services()["dachs"].client()


@pytest.fixture
def dachs_jobs(uws: UWSClient) -> Iterator[list[str]]:
    """The ids of the jobs a test makes on DaCHS: deleted after it, so no other test sees them."""
    job_ids: list[str] = []
    yield job_ids
    for job_id in job_ids:
        with contextlib.suppress(ServiceError):  # the test may have deleted it itself
            uws.delete(job_id)
