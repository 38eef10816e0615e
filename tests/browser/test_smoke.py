"""The portal in a real browser: the start page, a new query, and a job found by its id.

The queries go to the real DaCHS of `make test` (scripts/dachs.sh), like test_dachs.py.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot

# The live server's thread writes the remembered jobs: the test must see its commits.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP = "http://127.0.0.1:8080/tap"
FAST_QUERY = "SELECT TOP 5 * FROM portaltest.objects"
FINAL_PHASES = {"COMPLETED", "ERROR", "ABORTED"}
OPERATIONS = ["Run", "Status", "Execution duration", "Destruction", "Results", "Abort", "Delete"]
ACCENT = "rgb(11, 92, 173)"  # --accent of static/css/portal.css, the buttons' background


def phase_heading(page: Page):
    return page.get_by_role("heading", name=re.compile(r"^Phase: "))


def test_the_start_page_offers_the_seven_job_id_forms_styled_and_without_errors(page, console_errors):
    page.goto("/dachs/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Local DaCHS")
    manage = page.get_by_role("region", name="Manage a job by its id")
    expect(manage.get_by_role("heading", level=3)).to_have_text(OPERATIONS)
    expect(manage.get_by_label("Job id")).to_have_count(7)
    for name in OPERATIONS:
        expect(manage.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_label("ADQL query")).to_be_editable()
    # The stylesheet is served and applied: the browser's own buttons are grey.
    expect(page.get_by_role("button", name="Submit the query")).to_have_css("background-color", ACCENT)
    expect(page.locator("body")).to_have_css("margin", "0px")
    screenshot(page, "start-page")
    assert console_errors == []


@pytest.mark.dachs
def test_a_new_query_run_at_once_completes_and_its_page_links_the_result(page, console_errors, dachs_jobs):
    page.goto("/dachs/")
    page.get_by_label("ADQL query").fill(FAST_QUERY)
    expect(page.get_by_label("Run it now")).to_be_checked()
    page.get_by_role("button", name="Submit the query").click()

    page.wait_for_url(re.compile(r"/dachs/async/[^/?#]+$"))
    job_id = page.url.rsplit("/", 1)[-1]
    dachs_jobs.append(job_id)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Job {job_id}")
    deadline = time.monotonic() + 30
    while (phase := phase_heading(page).inner_text().removeprefix("Phase: ")) not in FINAL_PHASES:
        assert time.monotonic() < deadline, f"job {job_id} still {phase} after 30 s"
        page.wait_for_timeout(500)
        page.reload()
    assert phase == "COMPLETED"

    download = page.get_by_role("region", name="Results").get_by_role("link", name=re.compile(r"^Download"))
    expect(download).to_have_attribute("href", re.compile(rf"^/dachs/async/{job_id}/results/[^/]+$"))
    result = page.request.get(download.get_attribute("href"))
    assert result.ok, result.status
    assert b"<VOTABLE" in result.body()
    screenshot(page, "job-completed")
    assert console_errors == []


@pytest.mark.dachs
def test_a_job_id_typed_in_the_status_form_opens_the_job_page(page, console_errors, uws, dachs_jobs):
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": FAST_QUERY})
    dachs_jobs.append(job_id)
    page.goto("/dachs/")

    status = page.locator("form").filter(has=page.get_by_role("heading", name="Status", exact=True))
    status.get_by_label("Job id").fill(job_id)
    status.get_by_role("button", name="Status").click()

    page.wait_for_url(f"**/dachs/async/{job_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Job {job_id}")
    expect(phase_heading(page)).to_have_text("Phase: PENDING")
    assert console_errors == []
