"""The job page follows a running job by itself, in a real browser, with no reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs.uws import changes
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]


def test_a_slow_job_goes_from_executing_to_completed_without_a_reload(page, uws, dachs_jobs, console_errors):
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT TOP 6 * FROM portaltest.slow"})
    dachs_jobs.append(job_id)
    uws.change(job_id, changes.RUN)

    page.goto(f"/dachs/async/{job_id}")
    phase = page.get_by_role("heading", name=re.compile(r"^Phase: "))
    expect(phase).to_have_text("Phase: EXECUTING", timeout=10_000)
    page.evaluate("window.stillTheSamePage = true")  # gone if the page were loaded again
    screenshot(page, "job-executing")

    expect(phase).to_have_text("Phase: COMPLETED", timeout=30_000)
    assert page.evaluate("window.stillTheSamePage === true")
    expect(page.locator("#phase-announcer")).to_have_text("The job is now COMPLETED.")
    expect(page.get_by_role("link", name="Download result")).to_have_attribute(
        "href", f"/dachs/async/{job_id}/results/result"
    )
    screenshot(page, "job-completed")
    assert console_errors == []
