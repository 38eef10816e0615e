"""Plots of a real DaCHS result in Chromium: they render at a phone's width, under the CSP, and pass axe."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from jobs.uws import changes
from tests.browser.conftest import axe_violations, screenshots_everywhere, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

QUERY = "SELECT id, ra, dec, mag, note FROM portaltest.objects ORDER BY id"
PLOTS = {
    "histogram": "plot=histogram&x=mag&y=id",
    "scatter": "plot=scatter&x=ra&y=mag",
    "sky": "plot=sky&x=ra&y=dec",
}


@pytest.fixture(scope="module")
def job(module_uws) -> str:
    job_id = module_uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": QUERY, "FORMAT": "votable/b2"})
    module_uws.change(job_id, changes.RUN)
    assert wait_for_phase(module_uws, job_id, {"COMPLETED"}) == "COMPLETED"
    return job_id


@pytest.mark.parametrize("kind", PLOTS)
def test_a_plot_renders_at_360_px_with_its_text_alternative(page: Page, job, kind, console_errors):
    page.goto(f"/dachs/async/{job}/results/result/preview?rows=500&{PLOTS[kind]}")
    image = page.locator(".plot-figure img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('.plot-figure img').complete")
    assert page.evaluate("() => document.querySelector('.plot-figure img').naturalWidth") > 0  # not a broken image
    assert "500 of 500 rows plotted" in image.get_attribute("alt")
    assert screenshots_everywhere(page, f"plot-{kind}") == []
    page.set_viewport_size({"width": 360, "height": 800})
    assert image.bounding_box()["width"] <= 360
    assert console_errors == []


def test_the_plot_page_passes_axe(axe_page: Page, job, request):
    axe_page.goto(f"/dachs/async/{job}/results/result/preview?{PLOTS['sky']}")
    failing = []
    for width in (1280, 360):
        axe_page.set_viewport_size({"width": width, "height": 800})
        failing += axe_violations(axe_page, request.config, f"plot ({width} px)")
    assert failing == []
