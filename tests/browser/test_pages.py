"""Every page in every state, in Chromium: accessible, fitting a phone, light on the wire.

For each state of each page: axe-core finds nothing serious or critical (at 1280 and
360 px, light and dark); screenshots at those widths and schemes go to
test-artifacts/screenshots/; at 360 px nothing scrolls sideways; and the HTML, CSS and
JS of a first visit stay under 150 KB (the table is printed at the end of the run).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from unittest import mock

import pytest
from playwright.sync_api import Page, expect

from jobs.uws import changes
from jobs.uws.client import UWSClient
from jobs.uws.errors import ServiceError
from tests.browser.conftest import (
    SCHEMES,
    WEIGHT_LIMIT,
    WIDTHS,
    PageWeight,
    as_built_without_javascript,
    axe_violations,
    hold_watch_requests,
    record_weight,
    screenshots_everywhere,
    wait_for_phase,
)
from tests.helpers import wait_for_end_time

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

FAST = "SELECT TOP 5 * FROM portaltest.objects"
FAILING = "SELECT TOP 5 *\nFROM portaltest.objects\nWHERE mag >> 3"  # DaCHS names line 3, column 12
SLOW = "SELECT TOP 1000 * FROM portaltest.slow"  # a row a second, 100 rows: about 100 s (JobsByPhase)


VOLLT = "http://127.0.0.1:8097/tap"


@pytest.fixture(scope="module")
def vollt_jobs() -> Iterator[dict[str, str]]:
    """VOLLT jobs (ESO's software) in the states only it shows: a job that ran out of time, and
    errors that name a range or only a token. None when VOLLT does not run (no ../shared)."""
    uws = UWSClient("Local VOLLT", VOLLT)
    try:
        uws.get_availability()
    except ServiceError:
        yield {}
        return
    made: dict[str, str] = {}
    queries = {
        "VOLLT_OUT_OF_TIME": ("SELECT * FROM demo.slow", {"EXECUTIONDURATION": "2"}),
        "VOLLT_RANGE": ("SELECT nosuchcol FROM demo.stars", {}),
        "VOLLT_TOKEN": ("SELEC TOP 5 * FROM demo.stars", {}),
    }
    try:
        for name, (query, extra) in queries.items():
            made[name] = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, **extra})
            uws.change(made[name], changes.RUN)
        for job_id in made.values():
            wait_for_phase(uws, job_id, {"ABORTED", "ERROR", "COMPLETED"})
        wait_for_end_time(uws, made["VOLLT_OUT_OF_TIME"])  # until then, nothing says it ran out of time
        yield made
    finally:
        for job_id in made.values():
            with contextlib.suppress(ServiceError):
                uws.change(job_id, changes.DELETE)


class JobsByPhase(dict):
    """The jobs by the phase they show; the EXECUTING one is made again once the one before has ended.

    portaltest.slow has 100 rows, a second each: a job over it runs about 100 s, and this module
    may take longer than that on a busy machine.
    """

    def __init__(self, uws: UWSClient, made: dict[str, str]) -> None:
        super().__init__(made)
        self.uws, self.made = uws, made

    def __getitem__(self, phase: str) -> str:
        job_id = super().__getitem__(phase)
        if phase == "EXECUTING" and self.uws.get_job(job_id).phase != "EXECUTING":
            job_id = self.uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": SLOW})
            self.made[f"EXECUTING-{job_id}"] = job_id  # deleted with the others
            self.uws.change(job_id, changes.RUN)
            assert wait_for_phase(self.uws, job_id, {"EXECUTING"}) == "EXECUTING"
            self[phase] = job_id
        return job_id


@pytest.fixture(scope="module")
def jobs(dachs_jobs: dict[str, str], vollt_jobs: dict[str, str], module_uws: UWSClient) -> JobsByPhase:
    jobs = JobsByPhase(module_uws, dachs_jobs)
    jobs.update(vollt_jobs)
    return jobs


@pytest.fixture(scope="module")
def dachs_jobs(module_uws: UWSClient) -> Iterator[dict[str, str]]:
    """One DaCHS job in each phase a job page can show, made once for the module."""
    uws = module_uws
    made: dict[str, str] = {}

    def create(phase: str, query: str) -> str:
        made[phase] = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
        return made[phase]

    try:
        create("PENDING", FAST)
        for phase, query in [("COMPLETED", FAST), ("ERROR", FAILING), ("EXECUTING", SLOW), ("ABORTED", SLOW)]:
            uws.change(create(phase, query), changes.RUN)
        wait_for_phase(uws, made["ABORTED"], {"EXECUTING"})
        uws.change(made["ABORTED"], changes.ABORT)
        for phase, job_id in made.items():
            assert wait_for_phase(uws, job_id, {phase, "COMPLETED", "ERROR", "ABORTED"}) == phase
        yield made
    finally:
        for job_id in made.values():
            with contextlib.suppress(ServiceError):
                uws.change(job_id, changes.DELETE)


def goto(path: str) -> Callable[[Page, dict[str, str]], None]:
    """Open `path`, a template of the job ids by phase (`{COMPLETED}`); VOLLT's states skip without VOLLT."""

    def open_path(page: Page, jobs: dict[str, str]) -> None:
        if "{VOLLT" in path and not any(name.startswith("VOLLT") for name in jobs):
            pytest.skip("VOLLT does not run here (../shared is absent)")
        page.goto(path.format_map(jobs))

    return open_path


def _after_an_action(page: Page, jobs: dict[str, str]) -> None:
    page.goto(f"/dachs/async/{jobs['PENDING']}")
    page.get_by_label("Execution duration").fill("3600")
    page.get_by_role("button", name="Set duration").click()


def _confirm_delete(page: Page, jobs: dict[str, str]) -> None:
    page.goto(f"/dachs/async/{jobs['PENDING']}")
    page.get_by_role("button", name="Delete", exact=True).click()


def _my_jobs_full(page: Page, jobs: dict[str, str]) -> None:
    for phase in ("COMPLETED", "ERROR", "ABORTED", "PENDING"):
        page.goto(f"/dachs/async/{jobs[phase]}")
    page.goto("/mine")


def _new_query_refused(page: Page, jobs: dict[str, str]) -> None:
    page.goto("/dachs/")
    page.get_by_label("ADQL query").fill("   ")  # passes the browser's `required`, not the portal
    page.get_by_role("button", name="Submit the query").click()


def _action_refused(page: Page, jobs: dict[str, str]) -> None:
    page.goto(f"/dachs/async/{jobs['PENDING']}")
    form = page.locator("form").filter(has=page.get_by_label("Execution duration"))
    form.evaluate("form => { form.noValidate = true; }")  # as a browser without form validation
    form.get_by_label("Execution duration").fill("soon")
    form.get_by_role("button", name="Set duration").click()


def _form_expired(page: Page, jobs: dict[str, str]) -> None:
    page.goto("/dachs/")
    page.context.clear_cookies()  # the CSRF cookie is gone: the POST is refused
    run = page.locator("form.operation").filter(has=page.get_by_role("heading", name="Run", exact=True))
    run.get_by_label("Job id").fill("nosuchjob")
    run.get_by_role("button", name="Run").click()


def _method_not_allowed(page: Page, jobs: dict[str, str]) -> None:
    page.goto("/dachs/")
    page.evaluate(
        """() => {
            const form = Object.assign(document.createElement("form"), {method: "post", action: "/dachs/service"});
            form.append(document.querySelector("[name=csrfmiddlewaretoken]").cloneNode());  // past the CSRF check
            document.body.append(form);
            form.submit();
        }"""
    )
    page.wait_for_url("**/dachs/service")


def _server_error(page: Page, jobs: dict[str, str]) -> None:
    with mock.patch("jobs.views.find_service_or_404", side_effect=RuntimeError("a failure made by the test")):
        page.goto("/dachs/service")


def _example_chosen(page: Page, jobs: dict[str, str]) -> None:
    page.goto("/dachs/")
    page.get_by_text("Example queries of Local DaCHS").click()
    page.get_by_role("link", name="The brightest objects").click()


@dataclass(frozen=True)
class State:
    name: str
    open: Callable[[Page, dict[str, str]], None]
    shows: str  # text the page holds in this state: the proof it is the state meant
    status: int = 200


STATES = [
    State("start", goto("/"), "Service status"),
    State("start-resubmit", goto("/dachs/?resubmit={ERROR}"), "holds the query of job"),
    State("start-tables", goto("/dachs/tables?q=mag"), "portaltest.objects"),
    State("start-example-chosen", _example_chosen, "The editor holds the example “The brightest objects”."),
    State("start-example-link", goto("/dachs/?example=Thebrightestobjects"), "holds the example “The brightest"),
    State("examples", goto("/dachs/examples"), "FITS files and their sizes"),
    State("start-form-error", goto("/go?service=dachs&op=status&job_id=no+such+id!"), "A job id is made of", 400),
    State("new-query-refused", _new_query_refused, "The query is empty", 400),
    State("service-status", goto("/dachs/service"), "Output formats"),
    State("job-pending", goto("/dachs/async/{PENDING}"), "Phase: PENDING"),
    State("job-executing", goto("/dachs/async/{EXECUTING}"), "Phase: EXECUTING"),
    State("job-completed", goto("/dachs/async/{COMPLETED}"), "Phase: COMPLETED"),
    State("job-error", goto("/dachs/async/{ERROR}"), "Phase: ERROR"),
    State("job-aborted", goto("/dachs/async/{ABORTED}"), "Phase: ABORTED"),
    State("job-out-of-time", goto("/vollt/async/{VOLLT_OUT_OF_TIME}"), "It ran out of time"),
    State("job-error-range", goto("/vollt/async/{VOLLT_RANGE}"), "columns 8\u201316"),
    State("job-error-token", goto("/vollt/async/{VOLLT_TOKEN}"), "its first occurrence in the query is marked"),
    State("job-after-action", _after_an_action, "Execution duration set to 3600 s."),
    State("job-action-refused", _action_refused, "whole number of seconds", 400),
    State("confirm-delete", _confirm_delete, "This cannot be undone."),
    State("job-list", goto("/dachs/async"), "Created (UTC)"),
    State("job-list-filtered", goto("/dachs/async?PHASE=COMPLETED&PHASE=ERROR"), "Created (UTC)"),
    State("job-list-filter-errors", goto("/dachs/async?AFTER=yesterday&LAST=0"), "The filters are not valid", 400),
    State("error-document", goto("/dachs/async/{ERROR}/error"), "marked here"),
    State("preview", goto("/dachs/async/{COMPLETED}/results/result/preview"), "Rows to show"),
    State("no-result", goto("/dachs/async/{COMPLETED}/results/nosuch/preview"), "lists the results", 404),
    State("my-jobs-empty", goto("/mine"), "No jobs yet"),
    State("my-jobs-full", _my_jobs_full, "Refresh the phases"),
    State("not-found", goto("/dachs/nowhere"), "There is no page at this address.", 404),
    State("job-not-found", goto("/dachs/async/nosuchjob"), "The job may have been deleted", 404),
    State("upstream-error", goto("/dead/async"), "The service may be busy or down", 502),
    State("form-expired", _form_expired, "Nothing was sent to the service.", 403),
    State("method-not-allowed", _method_not_allowed, "This address does not take POST", 405),
    State("server-error", _server_error, "The portal failed", 500),
]


def open_state(page: Page, state: State, jobs: dict[str, str]) -> None:
    """Bring the page into the state, and check it is there: its text and its HTTP status."""
    hold_watch_requests(page)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.request.is_navigation_request() else None)
    state.open(page, jobs)
    expect(page.locator("main")).to_contain_text(state.shows)
    # The start page fills its service box by itself: nothing may change under the checks.
    expect(page.locator("#service-info[hx-get]")).to_have_count(0)
    assert statuses and statuses[-1] == state.status, f"{state.name}: HTTP {statuses}"


@pytest.mark.parametrize("state", STATES, ids=[state.name for state in STATES])
def test_axe_finds_nothing_serious(axe_page: Page, state: State, jobs, request):
    open_state(axe_page, state, jobs)
    failing: list[str] = []
    # Each width and each scheme once: contrast depends on the scheme, the rules on
    # layout (scrollable regions, target sizes) on the width, and no rule on both.
    for width, scheme in zip(WIDTHS, SCHEMES, strict=True):
        axe_page.emulate_media(color_scheme=scheme)
        axe_page.set_viewport_size({"width": width, "height": 800})
        failing += axe_violations(axe_page, request.config, f"{state.name} ({width} px, {scheme})")
    assert failing == []


@pytest.mark.parametrize("state", STATES, ids=[state.name for state in STATES])
def test_it_fits_a_phone_and_is_light(page: Page, state: State, jobs, console_errors, request):
    weight = PageWeight(page)
    open_state(page, state, jobs)
    measured = weight.measure()
    record_weight(request.config, state.name, measured)

    assert screenshots_everywhere(page, state.name) == []
    assert sum(measured.values()) < WEIGHT_LIMIT, measured
    assert measured["stylesheet"] > 0, "the page loads no stylesheet"
    # An error page's own status is logged as a failed load; nothing else may be.
    errors = [e for e in console_errors if not re.match(r"Failed to load resource: the server responded", e)]
    assert errors == []


FIRST_SCREEN = {
    "PENDING": "#job-run-now",
    "EXECUTING": "#job-abort-now",
    "COMPLETED": "#first-result-1-preview",
    "ERROR": "#job-resubmit-now",
    "ABORTED": "text=It has no results: it was aborted",
}


@pytest.mark.parametrize("phase", list(FIRST_SCREEN))
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
@pytest.mark.parametrize("script", [True, False], ids=["js", "no-js"])
def test_the_first_screen_holds_the_job_its_phase_and_what_the_phase_asks_for(
    new_context, jobs, phase, width, height, script
):
    context = new_context(viewport={"width": width, "height": height}, java_script_enabled=script)
    page = context.new_page()
    hold_watch_requests(page)
    page.goto(f"/dachs/async/{jobs[phase]}")
    wanted = {
        "the job": page.get_by_role("heading", level=1),
        "its phase": page.locator("#phase"),
        "its service and times": page.locator(".job-summary"),
        "what the phase asks for": page.locator(FIRST_SCREEN[phase]).first,
    }
    for what, locator in wanted.items():
        box = locator.bounding_box()
        assert box is not None, f"{phase} at {width} px: {what} is not shown"
        assert box["y"] + box["height"] <= height, f"{phase} at {width}×{height}: {what} is below the first screen"
    page.screenshot(path=str(_first_screen_path(f"first-{phase.lower()}-{width}-{'js' if script else 'nojs'}")))


@pytest.mark.parametrize("phase", list(FIRST_SCREEN))
def test_axe_finds_nothing_serious_on_the_job_page_without_javascript(axe_page: Page, jobs, phase, request):
    """With JavaScript, test_axe_finds_nothing_serious covers these pages; this is the other half."""
    hold_watch_requests(axe_page)
    as_built_without_javascript(axe_page)
    axe_page.goto(f"/dachs/async/{jobs[phase]}")
    expect(axe_page.locator("#phase")).to_contain_text(phase)
    assert axe_page.locator("script").count() == 0
    if phase in ("PENDING", "EXECUTING"):
        expect(axe_page.locator("main")).to_contain_text("This page reloads itself every")
    failing: list[str] = []
    for width, scheme in zip(WIDTHS, SCHEMES, strict=True):
        axe_page.emulate_media(color_scheme=scheme)
        axe_page.set_viewport_size({"width": width, "height": 800})
        failing += axe_violations(axe_page, request.config, f"job {phase} without JavaScript ({width} px, {scheme})")
    assert failing == []


def _first_screen_path(name: str):
    from tests.browser.conftest import _screenshot_path

    return _screenshot_path(name)


def test_fixing_a_failed_query_puts_the_cursor_at_the_spot_the_error_names(page, jobs):
    page.goto(f"/dachs/?resubmit={jobs['ERROR']}")
    expect(page.locator("#fixing")).to_contain_text("line 3, column 12")
    editor = page.get_by_label("ADQL query")
    expect(editor).to_be_focused()
    offset = editor.evaluate("area => area.selectionStart")
    lines = FAILING.split("\n")
    assert offset == len(lines[0]) + 1 + len(lines[1]) + 1 + 11  # line 3, column 12
    page.screenshot(path=str(_first_screen_path("fixing-a-query")), full_page=True)


def test_the_table_browser_opens_when_asked_and_a_click_puts_a_name_into_the_query(page):
    page.goto("/dachs/")
    editor = page.get_by_label("ADQL query")
    editor.fill("SELECT  FROM portaltest.objects")
    editor.evaluate("area => area.setSelectionRange(7, 7)")
    page.get_by_text("Tables and columns of Local DaCHS").click()
    page.get_by_label("Find a table or column").fill("phot.mag")
    page.get_by_role("button", name="Insert mag").click()
    expect(editor).to_have_value("SELECT mag FROM portaltest.objects")
    page.screenshot(path=str(_first_screen_path("table-browser")), full_page=True)
