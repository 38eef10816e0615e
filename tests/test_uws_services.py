"""A UWS service that is not TAP, whose job list is not `<url>/async` (a SODA cutout service):
every operation works on it through the portal's own URLs, and it gets no ADQL form."""

from __future__ import annotations

import pytest

from jobs import services
from tests.fakeuws import job_xml
from tests.helpers import SEE_JOB, text

pytestmark = pytest.mark.django_db

JOB = "/api/cutout/jobs/c1"


@pytest.fixture
def cutouts(fake, settings, tmp_path):
    path = tmp_path / "services.toml"
    path.write_text(
        f'[services.cutouts]\ntitle = "Cutouts"\nurl = "{fake.url}/api/cutout"\njobs = "{fake.url}/api/cutout/jobs"\n'
    )
    settings.PORTAL_SERVICES_FILE = path
    yield fake
    services._loaded.pop(path, None)


def cutout_job(phase: str = "COMPLETED", href: str = "") -> str:
    result = f'<uws:result id="cutout" xlink:href="{href}"/>' if href else ""
    return job_xml(job_id="c1", phase=phase, query="", results=result)


def test_the_start_page_offers_the_job_forms_but_no_adql_form(client, cutouts):
    page = text(client.get("/cutouts/"))
    assert f"{cutouts.url}/api/cutout/jobs" in page
    assert 'name="query"' not in page and 'name="job_id"' in page


def test_a_query_posted_to_it_anyway_is_refused_without_a_request(client, cutouts):
    response = client.post("/cutouts/async", {"query": "SELECT 1", "format": "votable"})
    assert response.status_code == 400 and "not a TAP service" in text(response)
    assert cutouts.requests == []


def test_its_job_page_list_and_changes_go_to_its_own_job_list(client, cutouts):
    cutouts.reply("GET", JOB, body=cutout_job("PENDING"))
    assert "c1" in text(client.get("/cutouts/async/c1"))
    cutouts.reply("POST", f"{JOB}/executionduration", 303, headers=SEE_JOB)
    assert client.post("/cutouts/async/c1", {"EXECUTIONDURATION": "60"}).status_code == 302
    cutouts.reply("POST", f"{JOB}/phase", 303, headers=SEE_JOB)
    assert client.post("/cutouts/async/c1", {"PHASE": "RUN"}).status_code == 302
    cutouts.reply(
        "GET",
        "/api/cutout/jobs",
        body='<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f'<uws:jobref id="c1" xlink:href="{cutouts.url}{JOB}"><uws:phase>PENDING</uws:phase></uws:jobref></uws:jobs>',
    )
    assert 'href="/cutouts/async/c1"' in text(client.get("/cutouts/async"))
    cutouts.reply("DELETE", JOB, 303, headers=SEE_JOB)
    assert client.post("/cutouts/async/c1", {"ACTION": "DELETE", "CONFIRMED": "yes"}).status_code == 302
    sent = {(request.method, request.path) for request in cutouts.requests}
    assert sent >= {("POST", f"{JOB}/executionduration"), ("POST", f"{JOB}/phase"), ("DELETE", JOB)}
    assert all(request.path.startswith("/api/cutout/jobs") for request in cutouts.requests)
    assert "Create the same job again" not in text(client.get("/cutouts/async/c1"))


def test_a_result_below_the_service_is_streamed_and_one_elsewhere_linked(client, cutouts):
    cutouts.reply("GET", JOB, body=cutout_job(href=f"{cutouts.url}/api/cutout/jobs/c1/results/cutout"))
    cutouts.reply("GET", f"{JOB}/results/cutout", body=b"SIMPLE  =", headers={"Content-Type": "application/fits"})
    response = client.get("/cutouts/async/c1/results/cutout")
    assert b"".join(response.streaming_content) == b"SIMPLE  ="
    assert response["Content-Disposition"] == 'attachment; filename="c1-cutout.fits"'
    cutouts.reply("GET", JOB, body=cutout_job(href="https://storage.example.org/c1.fits?sig=x"))
    response = client.get("/cutouts/async/c1/results/cutout")
    assert (response.status_code, response["Location"]) == (302, "https://storage.example.org/c1.fits?sig=x")
