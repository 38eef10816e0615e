"""Browser tests: Playwright drives Debian's Chromium against the portal on a live server.

`make test` installs Chromium (scripts/chromium.sh). `playwright install` is never
run: Playwright starts /usr/bin/chromium, the one browser on the machine.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route

from jobs.services import configured_services
from jobs.uws import changes
from jobs.uws.client import UWSClient
from jobs.uws.errors import ServiceError
from tests.helpers import SCREENSHOTS, require_answering

TIMEOUT_MS = 10_000  # for each locator action and navigation; Playwright's default is 30 s
_FAILED = pytest.StashKey[bool]()
# axe-core from the npm registry, at the version of package-lock.json (scripts/browser-tools.sh).
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
AXE_FAILING = {"serious", "critical"}  # the impacts that fail a test; the others are listed
WIDTHS = (1280, 360)  # a desktop window and a small phone
SCHEMES = ("light", "dark")
WEIGHT_KINDS = ("document", "stylesheet", "script")  # what the first paint waits for
WEIGHT_LIMIT = 150 * 1024  # bytes of HTML + CSS + JS on the wire, for any page
_WEIGHTS = pytest.StashKey[dict[str, dict[str, int]]]()
_AXE_NOTES = pytest.StashKey[list[str]]()


def _screenshot_path(name: str) -> Path:
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>.png."""
    path = _screenshot_path(name)
    # caret="initial": hiding the caret leaves `style=""` on every input, which htmx then
    # copies into swapped content (attributesToSettle), which the CSP reports as inline style.
    page.screenshot(path=path, full_page=True, caret="initial")
    return path


def overflow(page: Page) -> str | None:
    """None if the page fits its viewport's width, else what sticks out (for the message)."""
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            if (root.scrollWidth <= root.clientWidth) return null;
            const wide = Array.from(document.body.querySelectorAll("*"))
                .filter(e => e.getBoundingClientRect().right > root.clientWidth)
                .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : ""));
            return `scrollWidth ${root.scrollWidth} > clientWidth ${root.clientWidth}: ${wide.slice(0, 8).join(", ")}`;
        }"""
    )


def screenshots_everywhere(page: Page, name: str) -> list[str]:
    """Screenshots at every width in light and dark; returns the widths where the page scrolls sideways."""
    problems = []
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            screenshot(page, f"{name}-{width}-{scheme}")
            if problem := overflow(page):
                problems.append(f"{name} at {width} px, {scheme}: {problem}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": WIDTHS[0], "height": 800})
    return problems


def axe_violations(page: Page, config: pytest.Config, name: str) -> list[str]:
    """Run axe-core on the page as it is now: the serious and critical violations, as text.

    The others are kept for the summary at the end of the run. The page's context must be
    opened with bypass_csp=True (see `axe_page`).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => `${n.target.join(" ")} (${n.failureSummary.replace(/\\s+/g, " ")})`),
        }))"""
    )
    failing, notes = [], config.stash.setdefault(_AXE_NOTES, [])
    for violation in violations:
        text = f"{name}: [{violation['impact']}] {violation['id']}: {violation['help']}; " + "; ".join(
            violation["nodes"]
        )
        (failing if violation["impact"] in AXE_FAILING else notes).append(text)
    return failing


class PageWeight:
    """The bytes (headers and body) of the last page loaded and the CSS and JS it loaded.

    Counted from Playwright's finished requests; the page's HTTP cache is off, so every
    page is weighed as a first visit would be.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[Request] = []
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.on("request", self._started)
        page.on("requestfinished", self._finished)

    def _started(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.requests = []  # a new page: what came before belongs to the last one

    def _finished(self, request: Request) -> None:
        if request.resource_type in WEIGHT_KINDS:
            self.requests.append(request)

    def measure(self) -> dict[str, int]:
        self.page.wait_for_load_state("load")  # the stylesheet and the scripts are in
        weight = dict.fromkeys(WEIGHT_KINDS, 0)
        for request in self.requests:
            sizes = request.sizes()
            weight[request.resource_type] += sizes["responseHeadersSize"] + sizes["responseBodySize"]
        return weight


def record_weight(config: pytest.Config, name: str, weight: dict[str, int]) -> None:
    config.stash.setdefault(_WEIGHTS, {})[name] = weight


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The page weights and axe's minor findings, in the normal output of every run."""
    weights = config.stash.get(_WEIGHTS, {})
    if weights:
        terminalreporter.section("page weights (HTML + CSS + JS on the wire, first visit)")
        terminalreporter.write_line(f"{'page':<28}{'HTML':>9}{'CSS':>9}{'JS':>9}{'total':>10}")
        for name, weight in sorted(weights.items()):
            total = sum(weight.values())
            flag = "  OVER THE LIMIT" if total > WEIGHT_LIMIT else ""
            terminalreporter.write_line(
                f"{name:<28}{weight['document']:>9,}{weight['stylesheet']:>9,}{weight['script']:>9,}{total:>10,}{flag}"
            )
        terminalreporter.write_line(f"limit: {WEIGHT_LIMIT:,} bytes a page")
    notes = config.stash.get(_AXE_NOTES, [])
    if notes:
        terminalreporter.section("axe-core: moderate and minor findings (not failures)")
        for note in sorted(set(notes)):
            terminalreporter.write_line(note)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


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
    # A job page's watch (a UWS WAIT of up to 10 s) may still be under way in the live
    # server: let it end while this test's database is there, not in the next test's.
    _requests_in_flight.wait_until_none(timeout=12)


class _InFlight:
    """How many requests the portal is answering now, from Django's request signals."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()
        request_started.connect(self._started, weak=False)
        request_finished.connect(self._finished, weak=False)

    def _started(self, **kwargs) -> None:
        with self.changed:
            self.count += 1

    def _finished(self, **kwargs) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait_until_none(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.count <= 0, timeout=timeout)


_requests_in_flight = _InFlight()


def hold_watch_requests(page: Page) -> None:
    """Keep the job page's watch requests in the browser, unanswered: the page stays as it loaded.

    For tests that look at a page rather than follow a job: nothing changes under them,
    and no long poll is left in the live server when they end.
    """

    def hold(route: Route) -> None:
        pass  # neither continued nor fulfilled: pending until the context closes

    page.route(re.compile(r"[?&]watch="), hold)


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)
_NOSCRIPT = re.compile(r"<noscript>(.*?)</noscript>", re.DOTALL | re.IGNORECASE)
_META_REFRESH = re.compile(r"<meta http-equiv=\"refresh\"[^>]*>", re.IGNORECASE)


def as_built_without_javascript(page: Page) -> None:
    """Serve the page's documents as a browser without JavaScript builds them: no scripts, <noscript> shown.

    For axe-core, which needs scripts to run: a context with JavaScript off runs none (not even
    the timers axe waits on). The refresh of a page that is not final is left out, so that the
    page stays still under the checks; the tests of that refresh look at the page as served.
    """

    def rewrite(route: Route) -> None:
        if not route.request.is_navigation_request():
            route.continue_()
            return
        response = route.fetch()
        body = _SCRIPT.sub("", response.text())
        body = _NOSCRIPT.sub(lambda found: _META_REFRESH.sub("", found.group(1)), body)
        route.fulfill(response=response, body=body)

    page.route("**/*", rewrite)


@pytest.fixture
def js() -> bool:
    """Whether pages run JavaScript; a test parametrizes `js` to run without it too."""
    return True


@pytest.fixture
def context(new_context: Callable[..., BrowserContext], js: bool) -> BrowserContext:
    """A fresh browser context for each test: no cookies from earlier tests."""
    return new_context(java_script_enabled=js)


@pytest.fixture
def axe_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page for axe-core runs only.

    bypass_csp=True: the portal's Content-Security-Policy (script-src 'self') would block
    the axe script that add_script_tag puts into the page. Only this context bypasses it:
    every other test sees the policy a user's browser enforces.
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: install it with `bash scripts/browser-tools.sh`")
    return new_context(bypass_csp=True).new_page()


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


def _dachs_client() -> UWSClient:
    require_answering("DaCHS", TAP, "bash scripts/dachs.sh start")
    return configured_services()["dachs"].client(page=False)


@pytest.fixture
def uws() -> UWSClient:
    return _dachs_client()


@pytest.fixture(scope="module")
def module_uws() -> UWSClient:
    """The DaCHS client for module-scoped fixtures (jobs made once for a whole module)."""
    return _dachs_client()


def wait_for_phase(uws: UWSClient, job_id: str, wanted: Iterable[str], timeout: float = 30) -> str:
    """Ask DaCHS (with UWS WAIT, so no fixed sleep) until the job is in one of `wanted`."""
    wanted = set(wanted)
    deadline = time.monotonic() + timeout
    phase = uws.get_job(job_id).phase
    while phase not in wanted:
        left = deadline - time.monotonic()
        assert left > 0, f"job {job_id} still {phase} after {timeout} s, not {sorted(wanted)}"
        phase = uws.get_job(job_id, wait=max(1, min(5, int(left))), phase=phase).phase
    return phase


@pytest.fixture
def dachs_jobs(uws: UWSClient) -> Iterator[list[str]]:
    """The ids of the jobs a test makes on DaCHS: deleted after it, so no other test sees them."""
    job_ids: list[str] = []
    yield job_ids
    for job_id in job_ids:
        with contextlib.suppress(ServiceError):  # the test may have deleted it itself
            uws.change(job_id, changes.DELETE)
