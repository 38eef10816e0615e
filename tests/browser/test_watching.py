"""Told while away, in a real browser: a DaCHS job watched by the worker, a banner on another page, a desktop notice."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs.uws import changes
from jobs.watching import checks
from jobs.watching.models import Watch
from tests.browser.conftest import screenshot, wait_for_phase
from tests.helpers import wait_in_page

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

# Recorded by the page: each desktop notice it shows (the real Notification is still made).
RECORD_NOTICES = """
window.shownNotices = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.shownNotices.push(title); }
};
"""


def run_the_worker_until_the_change(job_id: str, timeout: float = 30) -> None:
    """The worker's checks, as its ticks run them, until the job's watch has seen it end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        Watch.objects.filter(job_id=job_id).update(next_check_at=timezone.now())  # due now, not in 30 s
        checks.run_due_checks()
        if Watch.objects.get(job_id=job_id).phase == "COMPLETED":
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker did not see job {job_id} end")


def test_a_job_that_ends_while_another_page_is_open_shows_a_banner_and_a_desktop_notice(
    new_context, uws, dachs_jobs, console_errors
):
    context = new_context()
    context.grant_permissions(["notifications"])
    context.add_init_script(RECORD_NOTICES)
    page = context.new_page()
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT TOP 3 * FROM portaltest.slow"})
    dachs_jobs.append(job_id)

    page.goto(f"/dachs/async/{job_id}")
    page.get_by_role("button", name="Tell me when it ends").click()
    expect(page.get_by_text("The portal will tell you when job")).to_be_visible()
    page.goto("/mine")
    page.get_by_role("button", name="Show desktop notices").click()
    expect(page.get_by_role("button", name=re.compile("Desktop notices are on"))).to_be_visible()

    uws.change(job_id, changes.RUN)
    wait_for_phase(uws, job_id, {"COMPLETED"})
    run_the_worker_until_the_change(job_id)

    # The page asks the portal's database every 15 s: the banner comes without a reload.
    banner = page.locator(".banner", has_text=job_id)
    expect(banner).to_contain_text("is now COMPLETED", timeout=20_000)
    wait_in_page(page, "window.shownNotices.length > 0")
    assert page.evaluate("window.shownNotices") == [f"Job {job_id} is COMPLETED"]
    screenshot(page, "banner")
    banner.get_by_role("button", name=re.compile("Dismiss")).click()
    expect(page.locator(".banner", has_text=job_id)).to_have_count(0)
    assert console_errors == []


def test_without_javascript_the_banner_is_on_the_next_page(new_context, uws, dachs_jobs):
    page = new_context(java_script_enabled=False).new_page()
    job_id = uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT TOP 1 * FROM portaltest.slow"})
    dachs_jobs.append(job_id)
    page.goto(f"/dachs/async/{job_id}")
    page.get_by_role("button", name="Tell me when it ends").click()
    uws.change(job_id, changes.RUN)
    wait_for_phase(uws, job_id, {"COMPLETED"})
    run_the_worker_until_the_change(job_id)
    page.goto("/dachs/")
    expect(page.locator(".banner", has_text=job_id)).to_contain_text("is now COMPLETED")
