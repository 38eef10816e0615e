"""Cut short by the row limit, in Chromium against DaCHS: the box comes after the page, and leads to the
new-query form filled in with a higher MAXREC; without JavaScript through a link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from jobs.uws import changes
from tests.browser.conftest import axe_violations, screenshot, screenshots_everywhere, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

QUERY = "SELECT id, name FROM portaltest.objects ORDER BY id"


@pytest.fixture(scope="module")
def job(module_uws) -> str:
    parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": QUERY, "FORMAT": "votable", "MAXREC": "3"}
    job_id = module_uws.create_job(parameters)
    module_uws.change(job_id, changes.RUN)
    assert wait_for_phase(module_uws, job_id, {"COMPLETED"}) == "COMPLETED"
    return job_id


def _resubmitted(page: Page) -> None:
    page.locator("#row-limit-maxrec").fill("40")
    page.locator("#row-limit-resubmit").click()
    page.wait_for_url("**/dachs/?resubmit=*maxrec=40*")
    assert page.locator("#id_maxrec").input_value() == "40"
    assert page.locator("#id_query").input_value() == QUERY


def test_the_box_comes_after_the_page_and_fills_in_the_new_query(page: Page, job, console_errors):
    page.goto(f"/dachs/async/{job}")
    box = page.locator("#row-limit")
    box.get_by_text("Cut short by the row limit:").wait_for()
    assert "QUERY_STATUS=OVERFLOW" in box.inner_text()
    assert screenshots_everywhere(page, "row-limit-job") == []
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "row-limit-job-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    _resubmitted(page)
    screenshot(page, "row-limit-resubmit-1280")
    assert console_errors == []


@pytest.mark.parametrize("js", [False])
def test_without_javascript_a_link_leads_to_the_same_box(page: Page, job):
    page.goto(f"/dachs/async/{job}")
    page.locator("#row-limit-check").click()
    page.get_by_text("Cut short by the row limit:").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "row-limit-page-nojs-390")
    _resubmitted(page)


def test_the_job_page_with_the_box_passes_axe(axe_page: Page, job, request):
    axe_page.goto(f"/dachs/async/{job}")
    axe_page.locator("#row-limit .refusal").wait_for()
    failing = []
    for width in (1280, 390):
        axe_page.set_viewport_size({"width": width, "height": 800})
        failing += axe_violations(axe_page, request.config, f"row limit ({width} px)")
    assert failing == []
