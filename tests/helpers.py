"""What the page tests share: reading a response, and the documents they answer with."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

DALI_ERROR = (
    '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="ERROR">{}</INFO></RESOURCE></VOTABLE>'
)
# A result element of a job document, for a given href.
RESULT = '<uws:result id="result" xlink:href="{}"/>'
# A Location the portal never follows after a change.
SEE_JOB = {"Location": "http://127.0.0.1/ignored"}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    # Chromium will not start as root with its sandbox (`make test` runs as root). Playwright
    # passes this too unless chromium_sandbox=True; said here so the reason is on record.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No calls home at start-up (updates, sync, field trials): the machine has no network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's /dev/shm may be tiny
    # Debian's Chromium looks names up at start; only loopback may resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
SHARED = Path(__file__).resolve().parents[2] / "shared"
VOLLT_TAP = "http://127.0.0.1:8097/tap"  # ../shared/tools/vollt-up.sh, which make test runs
# The marks of a test module against VOLLT: skipped, saying so, without ../shared.
VOLLT_MARKS = [
    pytest.mark.vollt,
    pytest.mark.skipif(not (SHARED / "tools" / "vollt-up.sh").exists(), reason=f"no VOLLT: {SHARED} is absent"),
]


def require_answering(name: str, tap: str, start: str) -> None:
    """Fail, saying how to start it, when the loopback service at `tap` does not answer its availability."""
    try:
        answer = requests.get(f"{tap}/availability", timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"{name} does not answer at {tap} ({exc}); start it with `{start}`")
    assert answer.status_code == 200


def require_vollt() -> None:
    """Fail, saying how to start it, when VOLLT does not answer (../shared is there: it should)."""
    require_answering("VOLLT", VOLLT_TAP, "bash ../shared/tools/vollt-up.sh")


def wait_for_end_time(uws, job_id: str, timeout: float = 60) -> None:
    """Wait until the service gives the job's end time. VOLLT answers ABORTED as soon as a job's execution
    duration runs out, and gives its endTime only once the query has stopped: on a busy machine, many
    seconds later."""
    deadline = time.monotonic() + timeout
    while uws.get_job(job_id).end_time is None and time.monotonic() < deadline:
        time.sleep(0.5)


def wait_in_page(page, expression: str, timeout: float = 10) -> None:
    """Wait until a JavaScript expression holds in the page, asking it from outside: the portal's pages forbid eval,
    which Playwright's own wait_for_function uses once its first try fails."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"in {timeout} s, the page never had {expression}")
        page.wait_for_timeout(100)


def text(response) -> str:
    return response.content.decode()


def changes(fake) -> list:
    """What the portal asked the service to change (its reads left out)."""
    return [request for request in fake.requests if request.method != "GET"]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def listed(response) -> str:
    """The job table of a list page (messages above it may name other jobs)."""
    page = response.content.decode()
    start = page.find('<table class="jobs">')
    return page[start : page.find("</table>", start)] if start >= 0 else ""


def wait_for(uws, job_id: str, phases: set[str], timeout: float = 60) -> str:
    """Ask a real service until the job is in one of `phases` (or the time is up); the phase it is in."""
    deadline = time.monotonic() + timeout
    while True:
        phase = uws.get_job(job_id).phase
        if phase in phases or time.monotonic() > deadline:
            return phase
        time.sleep(0.3)
