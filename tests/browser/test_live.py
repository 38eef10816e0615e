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


def test_where_the_stream_cannot_be_reached_the_page_asks_every_few_seconds_as_before(
    page, fake, settings, worker_running, console_errors
):
    """A proxy that does not send /live/ to the live server: the page's stream fails, and htmx's questions go on."""
    from jobs.watching import checks
    from tests.fakeuws import job_xml

    settings.PORTAL_LIVE_STREAM = True  # the pages say where the stream is; this portal (WSGI alone) has none there
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/fake/async/abc")
    expect(page.get_by_role("heading", name=re.compile(r"^Phase: "))).to_have_text("Phase: EXECUTING")
    page.evaluate("window.stillTheSamePage = true")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    checks.run_due_checks()  # the worker's eager check sees the end
    expect(page.get_by_role("heading", name=re.compile(r"^Phase: "))).to_have_text("Phase: COMPLETED", timeout=5_000)
    assert page.evaluate("window.stillTheSamePage === true && live.open === false")
    assert any("/live/events?" in url for url in asked) and any("watch=EXECUTING" in url for url in asked)
    # The only error is the stream's own: the portal answered its address with a page, not events.
    assert [error for error in console_errors if "EventSource" not in error and "/live/events" not in error] == []
