"""Every flow a user has, end to end in Chromium against the real DaCHS, with and without JavaScript.

With JavaScript the job page follows the job by itself (htmx); without it the user
follows the "Reload" link. Everything else is the same plain forms and links.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from jobs.uws import changes
from jobs.uws.client import UWSClient
from jobs.uws.errors import Failure, ServiceError
from tests.browser.conftest import wait_for_phase

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dachs,
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"]),
]

FAST = "SELECT TOP 5 * FROM portaltest.objects"
FEW_SLOW = "SELECT TOP 3 * FROM portaltest.slow"  # a row a second: long enough to be seen EXECUTING
SLOW = "SELECT TOP 100 * FROM portaltest.slow"
FAILING = "SELECT TOP 5 *\nFROM portaltest.objects\nWHERE mag >> 3"  # DaCHS names line 3, column 12
FIXED = "SELECT TOP 5 *\nFROM portaltest.objects\nWHERE mag > 3"


def phase_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name=re.compile(r"^Phase: "))


def follow_job(page: Page, js: bool, phases: Iterable[str], timeout: float = 30) -> str:
    """Follow the job page until its phase is one of `phases`; the phase reached.

    With JavaScript the page changes by itself; without, the user clicks "Reload".
    """
    pattern = re.compile(rf"^Phase: ({'|'.join(phases)})$")
    if js:
        expect(phase_heading(page)).to_have_text(pattern, timeout=timeout * 1000)
    else:
        deadline = time.monotonic() + timeout
        while not pattern.match(phase_heading(page).inner_text()):
            assert time.monotonic() < deadline, f"still {phase_heading(page).inner_text()} after {timeout} s"
            page.wait_for_timeout(300)  # a person's pace, not a busy loop on the service
            page.get_by_role("link", name="Reload", exact=True).click()
    return phase_heading(page).inner_text().removeprefix("Phase: ")


def messages(page: Page) -> Locator:
    return page.locator(".messages")


def job_id_form(page: Page, operation: str) -> Locator:
    """One of the seven job-id forms of the start page, by its heading."""
    return page.locator("form.operation").filter(has=page.get_by_role("heading", name=operation, exact=True))


def submit_query(page: Page, query: str) -> str:
    """Submit a new query from the start page; the id of the job it made."""
    page.goto("/dachs/")
    page.get_by_label("ADQL query").fill(query)
    page.get_by_role("button", name="Submit the query").click()
    page.wait_for_url(re.compile(r"/dachs/async/[^/?#]+$"))
    return page.url.rsplit("/", 1)[-1]


def create(uws: UWSClient, dachs_jobs: list[str], query: str = FAST, *, run: bool = False) -> str:
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    dachs_jobs.append(job_id)
    if run:
        uws.change(job_id, changes.RUN)
    return job_id


# -- the seven job-id forms of the start page ------------------------------------------


def test_the_run_form_starts_a_pending_job(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    form = job_id_form(page, "Run")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_role("button", name="Run").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(messages(page)).to_contain_text("Run requested: the service started the job.")
    assert follow_job(page, js, ["COMPLETED", "ERROR"]) == "COMPLETED"
    assert console_errors == []


def test_the_status_form_opens_the_job_page(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    form = job_id_form(page, "Status")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_role("button", name="Status").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Job {job_id}")
    expect(phase_heading(page)).to_have_text("Phase: PENDING")
    assert console_errors == []


def test_the_execution_duration_form_says_what_dachs_kept(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    form = job_id_form(page, "Execution duration")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_label("Seconds").fill("120")
    form.get_by_role("button", name="Execution duration").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(messages(page)).to_have_text("Execution duration set to 120 s.")
    assert uws.get_job(job_id).execution_duration == 120
    assert console_errors == []


def test_the_destruction_form_says_what_dachs_kept(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    page.goto("/dachs/")
    form = job_id_form(page, "Destruction")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_label("Destruction time").fill(when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    form.get_by_role("button", name="Destruction").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(messages(page)).to_have_text(f"Destruction set to {when:%Y-%m-%dT%H:%M:%SZ}.")
    assert uws.get_job(job_id).destruction == when
    assert console_errors == []


def test_the_results_form_opens_the_results_of_the_job(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs, run=True)
    assert wait_for_phase(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page.goto("/dachs/")
    form = job_id_form(page, "Results")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_role("button", name="Results").click()

    page.wait_for_url(f"**/dachs/async/{job_id}#results")
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_role("link", name="Download result")).to_be_visible()
    expect(results.get_by_role("link", name="Preview")).to_be_visible()
    assert console_errors == []


def test_the_abort_form_aborts_a_job(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    form = job_id_form(page, "Abort")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_role("button", name="Abort").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(messages(page)).to_have_text("Job aborted.")
    expect(phase_heading(page)).to_have_text("Phase: ABORTED")
    assert console_errors == []


def test_the_delete_form_asks_first_and_then_deletes(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto("/dachs/")
    form = job_id_form(page, "Delete")
    form.get_by_label("Job id").fill(job_id)
    form.get_by_role("button", name="Delete").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete job {job_id}?")
    assert uws.get_job(job_id).phase == "PENDING"  # nothing happened before the confirmation
    page.get_by_role("button", name=f"Yes, delete job {job_id}").click()

    page.wait_for_url("**/dachs/async")
    expect(messages(page)).to_have_text(f"Job {job_id} deleted.")
    with pytest.raises(ServiceError) as gone:
        uws.get_job(job_id)
    assert gone.value.failure is Failure.NOT_FOUND
    assert console_errors == []


# -- a job's life ---------------------------------------------------------------------


def test_a_new_query_is_followed_to_completed_previewed_and_downloaded(page, js, dachs_jobs, console_errors):
    job_id = submit_query(page, FEW_SLOW)
    dachs_jobs.append(job_id)
    expect(messages(page)).to_contain_text(f"Job {job_id} created and started by the service.")
    if js:
        expect(phase_heading(page)).to_have_text(re.compile("^Phase: (QUEUED|EXECUTING)$"))
        page.evaluate("window.stillTheSamePage = true")  # gone if the page were loaded again
    assert follow_job(page, js, ["COMPLETED", "ERROR", "ABORTED"]) == "COMPLETED"
    if js:
        assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
        expect(page.locator("#phase-announcer")).to_have_text("The job is now COMPLETED.")

    results = page.get_by_role("region", name="Results")
    results.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Result result of job {job_id}")
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name=re.compile(r"^id\b"))).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)

    page.get_by_role("link", name="Back to the job").click()
    with page.expect_download() as download_info:
        page.get_by_role("region", name="Results").get_by_role("link", name="Download result").click()
    download = download_info.value
    assert download.suggested_filename == f"{job_id}-result.vot"
    content = download.path().read_bytes()
    assert re.match(rb"(<\?xml[^>]*\?>\s*)?<VOTABLE[ >]", content), content[:200]
    assert b'name="QUERY_STATUS" value="OK"' in content
    assert console_errors == []


def test_a_slow_job_is_aborted_while_it_executes(page, js, dachs_jobs, console_errors):
    job_id = submit_query(page, SLOW)
    dachs_jobs.append(job_id)
    assert follow_job(page, js, ["EXECUTING", "COMPLETED", "ERROR"]) == "EXECUTING"

    page.get_by_role("button", name="Abort the job").click()
    expect(messages(page)).to_have_text("Job aborted.")
    expect(phase_heading(page)).to_have_text("Phase: ABORTED")
    assert console_errors == []


def test_a_failing_query_is_read_fixed_and_submitted_again(page, js, dachs_jobs, console_errors):
    job_id = submit_query(page, FAILING)
    dachs_jobs.append(job_id)
    assert follow_job(page, js, ["ERROR", "COMPLETED"]) == "ERROR"
    error = page.get_by_role("region", name="Error", exact=True)
    expect(error).to_contain_text("Could not parse your query")

    error.get_by_role("link", name="Read the full error document").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Error document of job {job_id}")
    expect(page.get_by_text("line 3, column 12")).to_be_visible()
    expect(page.locator("mark")).to_have_text(">")  # the spot DaCHS names, marked in the query

    page.get_by_role("link", name="Edit the query and submit it again").click()
    expect(messages(page)).to_contain_text(f"holds the query of job {job_id}")
    query = page.get_by_label("ADQL query")
    assert query.input_value().replace("\r\n", "\n") == FAILING
    query.fill(FIXED)
    page.get_by_role("button", name="Submit the query").click()

    page.wait_for_url(re.compile(r"/dachs/async/[^/?#]+$"))
    fixed_id = page.url.rsplit("/", 1)[-1]
    dachs_jobs.append(fixed_id)
    assert fixed_id != job_id
    assert follow_job(page, js, ["COMPLETED", "ERROR"]) == "COMPLETED"
    assert console_errors == []


def test_a_day_more_before_destruction_says_the_time_dachs_kept(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    before = uws.get_job(job_id).destruction
    page.goto(f"/dachs/async/{job_id}")
    page.get_by_role("button", name="+1 day").click()

    kept = uws.get_job(job_id).destruction
    assert timedelta(hours=23) < kept - before <= timedelta(days=1, minutes=1)
    # "Destruction set to …" when DaCHS kept what was asked, "…; the service kept …" if not.
    expect(messages(page)).to_contain_text(re.compile(rf"(set to|kept) {kept:%Y-%m-%dT%H:%M:%SZ}\."))
    expect(page.get_by_role("region", name="Details")).to_contain_text(f"{kept:%Y-%m-%d %H:%M:%S} UTC")
    assert console_errors == []


def test_a_job_is_deleted_from_its_page_after_confirmation(page, js, uws, dachs_jobs, console_errors):
    job_id = create(uws, dachs_jobs)
    page.goto(f"/dachs/async/{job_id}")
    page.get_by_role("button", name="Delete", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete job {job_id}?")
    expect(page.get_by_role("link", name="No, keep it")).to_have_attribute("href", f"/dachs/async/{job_id}")
    assert uws.get_job(job_id).phase == "PENDING"
    page.get_by_role("button", name=f"Yes, delete job {job_id}").click()

    page.wait_for_url("**/dachs/async")
    expect(messages(page)).to_have_text(f"Job {job_id} deleted.")
    expect(page.get_by_role("link", name=job_id, exact=True)).to_have_count(0)
    assert console_errors == []


def test_my_jobs_are_there_after_the_browser_is_closed_and_opened_again(js, new_context, dachs_jobs):
    first = new_context(java_script_enabled=js)
    page = first.new_page()
    job_id = submit_query(page, FAST)
    dachs_jobs.append(job_id)
    # Only the portal's browser cookie is kept: it is the one that matters.
    cookies = [cookie for cookie in first.storage_state()["cookies"] if cookie["name"] == "portal_browser"]
    assert cookies, "the portal set no portal_browser cookie"
    first.close()

    again = new_context(java_script_enabled=js, storage_state={"cookies": cookies, "origins": []}).new_page()
    again.goto("/mine")
    mine = again.get_by_role("table")
    expect(mine.get_by_role("link", name=job_id, exact=True)).to_have_attribute("href", f"/dachs/async/{job_id}")
    expect(mine).to_contain_text(FAST)

    stranger = new_context(java_script_enabled=js).new_page()
    stranger.goto("/mine")
    expect(stranger.get_by_text("No jobs yet")).to_be_visible()


def test_the_job_list_is_filtered_by_phase(page, js, uws, dachs_jobs, console_errors):
    # DaCHS lists every job of every test, unsorted: "created after" keeps this test's own.
    since = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    done = create(uws, dachs_jobs, run=True)
    pending = create(uws, dachs_jobs)
    assert wait_for_phase(uws, done, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page.goto("/dachs/async")
    page.get_by_role("group", name="Phase").get_by_label("COMPLETED").check()
    page.get_by_label("Created after").fill(since)
    page.get_by_role("button", name="Filter").click()

    page.wait_for_url(re.compile(r"[?&]PHASE=COMPLETED(&|$)"))
    expect(page.get_by_role("group", name="Phase").get_by_label("COMPLETED")).to_be_checked()
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name=done, exact=True)).to_be_visible()
    expect(table.get_by_role("link", name=pending, exact=True)).to_have_count(0)
    phases = table.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert phases and set(phases) == {"COMPLETED"}
    assert console_errors == []
