"""What the page tests share: reading a response, and the documents they answer with."""

from __future__ import annotations

import time

DALI_ERROR = (
    '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="ERROR">{}</INFO></RESOURCE></VOTABLE>'
)
# A result element of a job document, for a given href.
RESULT = '<uws:result id="result" xlink:href="{}"/>'
# A Location the portal never follows after a change.
SEE_JOB = {"Location": "http://127.0.0.1/ignored"}


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
