"""Every operation through the portal against a real GAVO DaCHS on loopback.

`make test` starts it (scripts/dachs.sh); the `dachs` service of tests/services.toml
points at it. The data: portaltest.objects (500 known rows) and portaltest.slow,
which takes about one second per row.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.cache import cache
from django.test import Client

from jobs.examples import service_examples
from jobs.services import configured_services
from jobs.uws.errors import Failure, ServiceError
from tests.helpers import listed, messages_of, wait_for

pytestmark = [pytest.mark.dachs, pytest.mark.django_db]

TAP = "http://127.0.0.1:8080/tap"
FAST_QUERY = "SELECT TOP 5 id, name, ra, dec, mag, note FROM portaltest.objects ORDER BY id"


@pytest.fixture(scope="module", autouse=True)
def _dachs_is_up():
    try:
        answer = requests.get(f"{TAP}/availability", timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"DaCHS does not answer at {TAP} ({exc}); start it with `bash scripts/dachs.sh start`")
    assert answer.status_code == 200


@pytest.fixture
def uws():
    return configured_services()["dachs"].client(page=False)


def create(client: Client, query: str, run: bool, **extra) -> str:
    data = {"query": query, "format": "votable", **extra}
    if run:
        data["run"] = "on"
    response = client.post("/dachs/async", data)
    assert response.status_code == 302, response.content[:2000]
    location = response["Location"]
    assert location.startswith("/dachs/async/")
    return location.rsplit("/", 1)[-1]


def test_a_created_job_waits_pending_and_its_page_shows_it(client):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.get(f"/dachs/async/{job_id}")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<span class="phase">PENDING</span>' in page
    assert "SELECT TOP 5 id, name, ra, dec, mag, note FROM portaltest.objects ORDER BY id" in page
    assert "3600 s" in page  # DaCHS's default execution duration


def test_the_status_form_of_the_start_page_reaches_the_job(client):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.get("/go", {"service": "dachs", "op": "status", "job_id": job_id}, follow=True)
    assert response.redirect_chain == [(f"/dachs/async/{job_id}", 302)]
    assert job_id.encode() in response.content


def test_execution_duration_and_destruction_show_what_dachs_kept(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post(f"/dachs/async/{job_id}", {"EXECUTIONDURATION": "120"}, follow=True)
    assert "Execution duration set to 120 s." in messages_of(response)
    assert uws.get_job(job_id).execution_duration == 120

    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    response = client.post(
        "/go", {"service": "dachs", "op": "destruction", "job_id": job_id, "destruction": when.isoformat()}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/dachs/async/{job_id}"
    assert f"Destruction set to {when:%Y-%m-%dT%H:%M:%SZ}." in messages_of(response)
    assert uws.get_job(job_id).destruction == when


def test_a_run_job_completes_and_its_result_streams_through(client, uws):
    job_id = create(client, FAST_QUERY, run=True)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page = client.get(f"/dachs/async/{job_id}").content.decode()
    assert f'href="/dachs/async/{job_id}/results/result"' in page

    response = client.get(f"/dachs/async/{job_id}/results/result")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-votable+xml")
    assert response["Content-Disposition"] == f'attachment; filename="{job_id}-result.vot"'
    body = b"".join(response.streaming_content)
    assert b"<VOTABLE" in body and b'name="QUERY_STATUS" value="OK"' in body
    assert body == requests.get(f"{TAP}/async/{job_id}/results/result", timeout=10).content


def test_the_run_form_runs_a_pending_job(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post("/go", {"service": "dachs", "op": "run", "job_id": job_id}, follow=True)
    assert response.redirect_chain[-1][0] == f"/dachs/async/{job_id}"
    assert any(message == "Run requested: the service started the job." for message in messages_of(response))
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"


def test_running_an_ended_job_says_dachs_ignored_it(client, uws):
    job_id = create(client, FAST_QUERY, run=True)
    assert wait_for(uws, job_id, {"COMPLETED"}) == "COMPLETED"
    time.sleep(1.1)
    response = client.post(f"/dachs/async/{job_id}", {"PHASE": "RUN"}, follow=True)
    assert "Run requested, but the service did not start it (it was COMPLETED when read back)." in messages_of(response)


def test_a_bad_query_ends_in_error_and_its_message_is_shown(client, uws):
    job_id = create(client, "SELECT FROM WHERE nonsense", run=True)
    assert wait_for(uws, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    page = client.get(f"/dachs/async/{job_id}").content.decode()
    assert "Could not parse your query" in page
    error_page = client.get(f"/dachs/async/{job_id}/error")
    assert error_page.status_code == 200
    assert "Could not parse your query" in error_page.content.decode()


def test_a_slow_job_can_be_aborted_while_executing(client, uws):
    job_id = create(client, "SELECT TOP 60 * FROM portaltest.slow", run=True)
    assert wait_for(uws, job_id, {"EXECUTING", "COMPLETED", "ERROR"}) == "EXECUTING"
    page = client.get(f"/dachs/async/{job_id}").content.decode()
    assert 'value="ABORT"' in page
    response = client.post(f"/dachs/async/{job_id}", {"PHASE": "ABORT"}, follow=True)
    assert "Job aborted." in messages_of(response)
    assert uws.get_job(job_id).phase == "ABORTED"


def test_the_abort_form_of_the_start_page_aborts_a_pending_job(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post("/go", {"service": "dachs", "op": "abort", "job_id": job_id}, follow=True)
    assert "Job aborted." in messages_of(response)


def test_delete_removes_the_job_and_lands_on_the_list(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    asked = client.post("/go", {"service": "dachs", "op": "delete", "job_id": job_id})
    assert "cannot be undone" in asked.content.decode()
    assert uws.get_job(job_id).phase == "PENDING"  # not deleted before the confirmation
    response = client.post(f"/dachs/async/{job_id}", {"ACTION": "DELETE", "CONFIRMED": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dachs/async"
    assert f"Job {job_id} deleted." in messages_of(response)
    with pytest.raises(ServiceError) as caught:
        uws.get_job(job_id)
    assert caught.value.failure is Failure.NOT_FOUND
    assert client.get(f"/dachs/async/{job_id}").status_code == 404


def test_an_unknown_job_is_a_404_page(client):
    response = client.get("/dachs/async/nosuchjob")
    assert response.status_code == 404
    page = response.content.decode()
    assert "nosuchjob" in page and "Local DaCHS" in page
    assert "could not be located" in page


def test_the_job_list_filters_by_phase_and_last(client, uws):
    # DaCHS's list is unordered and keeps jobs of earlier runs: AFTER scopes it to this test.
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    done = create(client, FAST_QUERY, run=True)
    time.sleep(1.1)  # DaCHS keeps creation times to the second; LAST=1 must have one newest job
    pending = create(client, FAST_QUERY, run=False)
    assert wait_for(uws, done, {"COMPLETED"}) == "COMPLETED"

    completed = listed(client.get("/dachs/async", {"PHASE": "COMPLETED", "AFTER": since}))
    assert done in completed and pending not in completed
    both = listed(client.get("/dachs/async", {"PHASE": ["COMPLETED", "PENDING"], "AFTER": since}))
    assert done in both and pending in both
    last = listed(client.get("/dachs/async", {"LAST": "1"}))
    assert pending in last and done not in last
    future = client.get("/dachs/async", {"AFTER": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert future.status_code == 200
    assert pending not in listed(future)


def test_a_result_that_does_not_exist_yet_is_a_404_page(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.get(f"/dachs/async/{job_id}/results/result")
    assert response.status_code == 404
    assert "is PENDING and lists no results" in " ".join(response.content.decode().split())


def test_a_watched_job_reaches_the_page_within_2_s_of_ending_with_few_requests(client, uws):
    """The htmx watch loop, as the browser runs it: WAIT on DaCHS, then the next watch."""
    job_id = create(client, "SELECT TOP 6 * FROM portaltest.slow", run=True)
    shown, watches = "QUEUED", 0
    started = time.monotonic()
    while shown not in ("COMPLETED", "ERROR", "ABORTED") and time.monotonic() - started < 60:
        page = client.get(f"/dachs/async/{job_id}", {"watch": shown}, HTTP_HX_REQUEST="true").content.decode()
        watches += 1
        shown = page.split('<span class="phase">', 1)[1].split("<", 1)[0]
    seen_at = datetime.now(UTC)
    job = uws.get_job(job_id)
    assert shown == "COMPLETED"
    # DaCHS keeps whole seconds: the job ended at most 1 s after its endTime.
    assert (seen_at - job.end_time).total_seconds() < 2 + 1
    minutes = (time.monotonic() - started) / 60
    assert watches <= max(3, 6 * minutes + 2), f"{watches} watch requests in {minutes:.2f} min"


@pytest.mark.parametrize("result_format", ["votable", "votable/td", "votable/b2", "csv"])
def test_the_preview_of_a_real_result_agrees_with_astropy(client, uws, result_format):
    import io

    from astropy.io import votable
    from astropy.table import Table

    query = "SELECT TOP 120 id, name, ra, dec, mag, note FROM portaltest.objects ORDER BY id"
    job_id = create(client, query, run=True, format=result_format)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    response = client.get(f"/dachs/async/{job_id}/results/result/preview", {"rows": "50"})
    assert response.status_code == 200
    shown = response.context["table"]
    assert len(shown.rows) == 50 and shown.more_rows

    body = requests.get(f"{TAP}/async/{job_id}/results/result", timeout=10).content
    if result_format == "csv":
        oracle = Table.read(io.BytesIO(body), format="ascii.csv")
    else:
        oracle = votable.parse_single_table(io.BytesIO(body)).to_table()
        units = {column.name: column.unit for column in shown.columns}
        assert units["ra"] == "deg" and units["mag"] == "mag"
    assert [column.name for column in shown.columns] == oracle.colnames
    for shown_row, oracle_row in zip(shown.rows, oracle[:50], strict=True):
        for cell, value in zip(shown_row, oracle_row, strict=True):
            if cell is None:
                assert value is None or getattr(value, "mask", False) is True or str(value) in ("", "--")
            elif isinstance(value, float) or hasattr(value, "dtype") and value.dtype.kind == "f":
                assert float(cell) == pytest.approx(float(value), rel=1e-6)
            else:
                assert cell == str(value)


def test_an_overflowing_result_is_previewed_with_a_warning(client, uws):
    job_id = create(client, "SELECT id FROM portaltest.objects", run=True, maxrec="3")
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page = client.get(f"/dachs/async/{job_id}/results/result/preview").content.decode()
    assert "Row limit reached:" in page and "MAXREC = 3 rows" in page


def test_the_table_browser_lists_dachss_tables_and_columns(client):
    from django.core.cache import cache

    cache.delete("tables:dachs")
    page = client.get("/dachs/tables", {"q": "mag"}, HTTP_HX_REQUEST="true").content.decode()
    assert "portaltest.objects" in page and 'data-insert="mag"' in page and "phot.mag" in page


def test_dachss_examples_are_listed_and_one_click_puts_a_query_in_the_editor(client):
    cache.delete("examples:dachs")
    fragment = client.get("/dachs/examples", HTTP_HX_REQUEST="true").content.decode()
    for name in ["The brightest objects", "Objects within 10 degrees of a position", "FITS files and their sizes"]:
        assert f">{name}</a>" in fragment
    assert 'href="/dachs/?example=Thebrightestobjects#new-query"' in fragment
    page = client.get("/dachs/", {"example": "Thebrightestobjects"}).content.decode()
    assert "FROM portaltest.objects\nWHERE mag &lt; 10.5\nORDER BY mag, id" in page


def test_every_dachs_example_runs_as_it_is(client, uws):
    examples = service_examples(configured_services()["dachs"]).examples
    assert len(examples) == 4
    jobs = {example.name: create(client, example.query, run=True) for example in examples}
    for name, job_id in jobs.items():
        assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED", name
