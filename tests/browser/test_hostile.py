"""A hostile service's documents, rendered in Chromium with JavaScript on: nothing of theirs runs.

The service is tests/faultuws.py in its `script` mode (markup and script in every text
field, javascript: and data: result hrefs, an HTML error document with script) and a few
others that answer with HTML. The browser listens for dialogs (alert), console errors (a
script the Content-Security-Policy blocked is one) and uncaught errors; then the DOM is
searched for anything that could run: nothing may fire and nothing may be found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from jobs import services
from tests.faultuws import FaultUWS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Everything in the page that could run: script not served by the portal, handlers, and
# URLs with a scheme that runs (blanks and control characters are ignored by browsers).
RUNNABLE = r"""() => {
    const found = [];
    for (const e of document.querySelectorAll("*")) {
        if (e.tagName === "SCRIPT" && !(e.getAttribute("src") || "").startsWith("/static/")) found.push(e.outerHTML);
        if (["IFRAME", "OBJECT", "EMBED", "BASE"].includes(e.tagName)) found.push(e.outerHTML);
        for (const a of e.attributes) {
            const value = a.value.replace(/[\x00-\x20]/g, "").toLowerCase();
            if (a.name.startsWith("on")) found.push(`${e.tagName} ${a.name}=${a.value}`);
            if (/^(javascript|data|vbscript):/.test(value)) found.push(`${e.tagName} ${a.name}=${a.value}`);
        }
    }
    return found;
}"""

# A hover or focus handler would fire now. Events sent by script, not the mouse: the page
# may still be replacing a part of itself, so elements found a moment ago may be gone.
PROVOKE = """() => document.querySelectorAll("body *").forEach(e => {
    for (const type of ["mouseover", "mouseenter", "focus"]) e.dispatchEvent(new Event(type));
})"""


@pytest.fixture(scope="module")
def fault_service() -> Iterator[FaultUWS]:
    service = FaultUWS()
    yield service
    service.close()


@pytest.fixture
def faults(fault_service: FaultUWS, settings, tmp_path) -> Iterator[FaultUWS]:
    """The fault service configured in the portal (the live server shares these settings)."""
    path = tmp_path / "services.toml"
    path.write_text(fault_service.services_toml())
    settings.PORTAL_SERVICES_FILE = path
    fault_service.canary_hits.clear()
    yield fault_service
    services._loaded.pop(path, None)


def _refused_action(page: Page) -> None:
    page.goto("/faults/async/script")
    page.get_by_role("button", name="+1 day").click()  # the service refuses, with script in its words


def _my_jobs(page: Page) -> None:
    page.goto("/faults/async/script")
    page.goto("/mine")


def _confirm_delete(page: Page) -> None:
    page.goto("/faults/async/script")
    page.get_by_role("button", name="Delete", exact=True).click()


@dataclass(frozen=True)
class Hostile:
    name: str
    open: Callable[[Page], None]
    shows: str  # the service's words, shown as text


def goto(path: str) -> Callable[[Page], None]:
    return lambda page: page.goto(path)


HOSTILE = [
    Hostile("job", goto("/faults/async/script"), "<script>alert('query')</script>"),
    Hostile("job-list", goto("/script/async"), "<script>alert('jobref')</script>"),
    Hostile("error-document", goto("/faults/async/script/error"), "<script>alert('page')</script>"),
    Hostile("preview", goto("/faults/async/script/results/result/preview"), "<script>alert('cell')</script>"),
    Hostile("refused-action", _refused_action, "<script>alert('refusal')</script>"),
    Hostile("confirm-delete", _confirm_delete, "<script>alert('query')</script>"),
    Hostile("my-jobs", _my_jobs, "<script>alert('query')</script>"),
    Hostile("resubmit", goto("/faults/?resubmit=script"), "holds the query of job script"),
    Hostile("upstream-html", goto("/faults/async/http-500"), "The service failed"),
    Hostile("html-instead-of-xml", goto("/faults/async/html"), "cannot read"),
    Hostile("redirect-to-javascript", goto("/faults/async/redirect-javascript"), "did not follow"),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[hostile.name for hostile in HOSTILE])
def test_nothing_a_hostile_service_sends_runs_in_the_browser(page: Page, faults: FaultUWS, hostile: Hostile):
    fired: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # An error page's own HTTP status is logged as a failed load: that is no script.
        if message.type == "error" and not message.text.startswith("Failed to load resource: the server responded"):
            fired.append(f"console: {message.text}")

    page.on("dialog", lambda dialog: (fired.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: fired.append(f"page error: {error}"))
    page.on("console", on_console)

    hostile.open(page)
    expect(page.locator("main")).to_contain_text(hostile.shows)
    page.wait_for_load_state("load")
    page.evaluate(PROVOKE)
    assert page.evaluate(RUNNABLE) == []
    assert fired == []
    assert faults.canary_hits == []  # nothing was fetched from the other host either
    assert re.match(r"^http://(localhost|127\.0\.0\.1):\d+/", page.url), page.url


def test_the_checks_would_see_script_that_ran(page: Page):
    fired: list[str] = []
    page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
    page.set_content(  # about:blank: no policy of the portal's to stop it
        '<a href=" java\tscript:alert(1)">x</a><a href="data:text/html,x">y</a>'
        '<img src="x" onerror="alert(2)"><script>alert(3)</script><b onmouseover="alert(4)">z</b>'
    )
    assert len(page.evaluate(RUNNABLE)) == 5
    page.evaluate(PROVOKE)
    page.wait_for_function("() => document.images[0].complete")
    assert sorted(fired) == ["2", "3", "4"]
