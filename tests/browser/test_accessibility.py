"""What axe-core cannot judge: the keyboard alone, a visible focus, the announced phase, phases in words.

axe-core itself runs on every page in test_pages.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jobs.uws import changes
from jobs.uws.model import PHASES
from tests.browser.conftest import wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

FAST = "SELECT TOP 5 * FROM portaltest.objects"
FEW_SLOW = "SELECT TOP 3 * FROM portaltest.slow"
FAILING = "SELECT TOP 5 * FROM portaltest.objects WHERE mag >"

FOCUSED = """() => {
    const e = document.activeElement, style = getComputedStyle(e);
    const name = (e.innerText || e.name || "").trim().slice(0, 30);
    return {
        element: `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""} ${name}`,
        body: e === document.body,
        ring: e.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    };
}"""


def tab_through(page: Page, limit: int = 200) -> list[str]:
    """Press Tab from the top of the page to its end; every element reached, in order.

    Each must show the focus ring (the :focus-visible outline of portal.css).
    """
    page.locator("body").focus()
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["body"] or (reached and focused["element"] == reached[0]):
            return reached
        assert focused["ring"], f"no visible focus on {focused['element']}"
        reached.append(focused["element"])
    raise AssertionError(f"Tab went on for {limit} elements: {reached[-5:]}")


def phase_heading(page: Page):
    return page.get_by_role("heading", name=re.compile(r"^Phase: "))


def create(uws, dachs_jobs, query=FAST, run=False) -> str:
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    dachs_jobs.append(job_id)
    if run:
        uws.change(job_id, changes.RUN)
    return job_id


def test_every_element_tab_reaches_on_the_start_page_shows_a_focus_ring(page):
    page.goto("/dachs/")
    expect(page.get_by_role("heading", name="Service status")).to_be_visible()
    reached = tab_through(page)
    # The services, every job-id form, the new-query form and the token form are all in the order.
    for expected in ["a Local DaCHS", "input#status-job-id", "textarea#id_query", "button Submit the query"]:
        assert any(element.startswith(expected) for element in reached), (expected, reached)


def test_a_job_is_found_run_and_deleted_with_the_keyboard_alone(page, uws, dachs_jobs):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    page.locator("body").focus()
    for _ in range(40):  # to the job-id field of the Status form, as a keyboard user would
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "status-job-id":
            break
    else:
        raise AssertionError("Tab never reached the Status form's job id")
    page.keyboard.type(job_id)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/dachs/async/{job_id}")

    run = page.get_by_role("button", name="Run", exact=True)
    while not run.evaluate("button => button === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Run requested")

    delete = page.get_by_role("button", name="Delete", exact=True)
    page.locator("body").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        if delete.evaluate("button => button === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete job {job_id}?")
    page.get_by_role("button", name=f"Yes, delete job {job_id}").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_have_text(f"Job {job_id} deleted.")


def test_a_new_query_is_written_and_submitted_with_the_keyboard_alone(page, dachs_jobs):
    page.goto("/dachs/")
    page.locator("body").focus()
    while page.evaluate("document.activeElement.id") != "id_query":
        page.keyboard.press("Tab")
    page.keyboard.type(FAST)
    while page.evaluate("document.activeElement.innerText") != "Submit the query":
        page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["ring"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dachs/async/[^/?#]+$"))
    dachs_jobs.append(page.url.rsplit("/", 1)[-1])
    expect(page.locator(".messages")).to_contain_text("created and started by the service")


def test_the_job_page_tells_a_screen_reader_each_new_phase(page, uws, dachs_jobs):
    job_id = create(uws, dachs_jobs, FEW_SLOW)
    page.goto(f"/dachs/async/{job_id}")
    announcer = page.locator("#phase-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_be_empty()  # nothing said on arrival: the page itself says the phase
    expect(page.locator("#job-live #phase-announcer")).to_have_count(0)  # outside what htmx replaces
    announcer.evaluate("region => { region.original = true; }")

    uws.change(job_id, changes.RUN)
    expect(announcer).to_have_text(re.compile(r"^The job is now (QUEUED|EXECUTING|COMPLETED)\.$"))
    expect(announcer).to_have_text("The job is now COMPLETED.", timeout=30_000)
    # The same element throughout: screen readers announce changes inside a live region they know.
    assert announcer.evaluate("region => region.original === true")
    expect(page.locator("#phase-announcer")).to_have_count(1)


def test_a_phase_is_always_written_never_only_coloured(page, uws, dachs_jobs):
    done = create(uws, dachs_jobs, run=True)
    failed = create(uws, dachs_jobs, FAILING, run=True)
    pending = create(uws, dachs_jobs)
    for job_id, phase in [(done, "COMPLETED"), (failed, "ERROR")]:
        assert wait_for_phase(uws, job_id, {"COMPLETED", "ERROR"}) == phase
    for job_id, phase in [(done, "COMPLETED"), (failed, "ERROR"), (pending, "PENDING")]:
        page.goto(f"/dachs/async/{job_id}")
        box = page.locator(f".phase-box.phase-{phase.lower()}")
        expect(box.get_by_role("heading", level=2)).to_have_text(f"Phase: {phase}")

    for path in ["/mine", "/dachs/async?PHASE=COMPLETED&PHASE=ERROR&PHASE=PENDING&LAST=50"]:
        page.goto(path)
        coloured = page.locator("[class*='phase-']")
        assert coloured.count() >= 3, path
        for text in coloured.all_inner_texts():
            assert text.strip() in PHASES, f"{path}: a phase shown as {text!r}"


@pytest.mark.parametrize("path", ["/dachs/", "/dachs/async", "/mine", "/dachs/async/{job}"])
def test_every_field_has_a_label(page, uws, dachs_jobs, path):
    page.goto(path.format(job=create(uws, dachs_jobs) if "{job}" in path else ""))
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
            .filter(field => !field.labels.length && !field.getAttribute("aria-label"))
            .map(field => field.outerHTML)"""
    )
    assert page.locator("input:not([type=hidden]), select, textarea").count() > 0
    assert unlabelled == []


def test_the_keyboard_focus_survives_the_page_following_the_job(page, uws, dachs_jobs, monkeypatch):
    monkeypatch.setattr("jobs.job_page.WATCH_WAIT", 1)  # the live part is replaced about every second
    job_id = create(uws, dachs_jobs, "SELECT TOP 60 * FROM portaltest.slow", run=True)
    wait_for_phase(uws, job_id, {"EXECUTING"})
    page.goto(f"/dachs/async/{job_id}")
    abort = page.get_by_role("button", name="Abort the job")
    page.locator("body").focus()
    while not abort.evaluate("button => button === document.activeElement"):
        page.keyboard.press("Tab")

    replaced = "() => new Promise(done => document.body.addEventListener('htmx:afterSettle', done, {once: true}))"
    page.evaluate(replaced)
    page.evaluate(replaced)
    assert page.evaluate(FOCUSED)["element"] == "button#job-abort-now Abort the job"
    page.keyboard.press("Enter")  # the button still has the focus: the abort is sent
    # While watch requests wait on it, DaCHS may still say EXECUTING just after an abort.
    expect(page.locator(".messages")).to_contain_text(re.compile(r"Job aborted\.|Abort requested"))
    expect(phase_heading(page)).to_have_text("Phase: ABORTED", timeout=15_000)
