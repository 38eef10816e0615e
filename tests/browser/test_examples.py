"""The example queries beside the editor, in Chromium against the real DaCHS, with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dachs,
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"]),
]

BRIGHTEST = "SELECT TOP 10 id, name, ra, dec, mag\nFROM portaltest.objects\nWHERE mag < 10.5\nORDER BY mag, id"
CONE = (
    "SELECT id, name, ra, dec\nFROM portaltest.objects\n"
    "WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 90, 0, 10))"
)


def test_a_click_on_an_example_puts_its_query_into_the_editor(page: Page, js, console_errors):
    page.goto("/dachs/")
    editor = page.get_by_label("ADQL query")
    editor.fill("SELECT 1")
    page.get_by_label("Run id").fill("my run")
    page.get_by_text("Example queries of Local DaCHS").click()
    if not js:
        # Without JavaScript the box holds a link to the examples' own page.
        page.get_by_role("link", name="Show the examples").click()
        expect(page).to_have_url(re.compile(r"/dachs/examples$"))
    page.get_by_role("link", name="The brightest objects").click()
    expect(editor).to_have_value(BRIGHTEST)
    if js:
        # In place: the page did not change, nothing else typed is lost, and Ctrl+Z brings back the old query.
        expect(page).to_have_url(re.compile(r"/dachs/$"))
        expect(page.get_by_label("Run id")).to_have_value("my run")
        expect(page.locator("#example-loaded")).to_have_text("The editor holds the example “The brightest objects”.")
        editor.press("Control+z")
        expect(editor).to_have_value("SELECT 1")
    else:
        expect(page).to_have_url(re.compile(r"/dachs/\?example=Thebrightestobjects#new-query$"))
        expect(page.locator(".messages")).to_contain_text("holds the example “The brightest objects”")
    # The examples stay open beside the editor: another is one click away.
    page.get_by_role("link", name="Objects within 10 degrees of a position").click()
    expect(editor).to_have_value(CONE)
    assert console_errors == []


def test_an_example_is_submitted_as_a_job(page: Page, js, dachs_jobs):
    page.goto("/dachs/?example=FITSfilesandtheirsizes")
    page.get_by_role("button", name="Submit the query").click()
    page.wait_for_url(re.compile(r"/dachs/async/[^/?#]+$"))
    dachs_jobs.append(page.url.rsplit("/", 1)[-1])
    expect(page.locator("main")).to_contain_text("WHERE access_format = 'application/fits'")
