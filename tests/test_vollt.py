"""Every operation through the portal against CDS VOLLT on loopback: the software of ESO's services.

`make test` starts it with ../shared/tools/vollt-up.sh, configured like ESO (retention 1 day
by default, 180 days at most; execution duration 600 s by default, 1800 s at most); the
`vollt` service of tests/services.toml points at it. Without ../shared these tests are
skipped, saying so. The data: demo.stars (100 rows), and the view demo.slow (1 s per row).
"""

from __future__ import annotations

import csv
import html
import io
import re
import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
import requests
from astropy.io import votable

from jobs.services import configured_services
from jobs.uws.errors import Failure, ServiceError
from tests.helpers import VOLLT_MARKS, VOLLT_TAP, listed, messages_of, require_vollt, text, wait_for, wait_for_end_time

FAST_QUERY = "SELECT TOP 5 id, name, ra, dec, mag FROM demo.stars ORDER BY id"
SLOW_QUERY = "SELECT * FROM demo.slow"

pytestmark = [
    *VOLLT_MARKS,
    pytest.mark.django_db,
]


@pytest.fixture(scope="module", autouse=True)
def _vollt_is_up():
    require_vollt()


@pytest.fixture
def uws():
    return configured_services()["vollt"].client(page=False)


def create(client, query: str, run: bool, **extra) -> str:
    data = {"query": query, "format": "votable", **extra}
    if run:
        data["run"] = "on"
    response = client.post("/vollt/async", data)
    assert response.status_code == 302, response.content[:3000]
    return response["Location"].rsplit("/", 1)[-1]


def test_a_created_job_waits_pending_with_vollts_defaults(client):
    job_id = create(client, FAST_QUERY, run=False)
    page = text(client.get(f"/vollt/async/{job_id}"))
    assert '<span class="phase">PENDING</span>' in page
    assert html.escape(FAST_QUERY) in page
    assert "600 s" in page  # VOLLT's default execution duration
    assert re.search(r"expires in (23\xa0hours|1\xa0day)", html.unescape(page))  # retention 1 day, as ESO


def test_the_status_form_reaches_the_job(client):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.get("/go", {"service": "vollt", "op": "status", "job_id": job_id}, follow=True)
    assert response.redirect_chain == [(f"/vollt/async/{job_id}", 302)]


def test_the_duration_vollt_kept_is_said_when_it_clamps(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post(f"/vollt/async/{job_id}", {"EXECUTIONDURATION": "60"}, follow=True)
    assert "Execution duration set to 60 s." in messages_of(response)
    response = client.post(f"/vollt/async/{job_id}", {"EXECUTIONDURATION": "99999"}, follow=True)
    assert "You asked for 99999 s; the service kept 1800 s." in messages_of(response)
    assert uws.get_job(job_id).execution_duration == 1800


def test_the_destruction_vollt_kept_is_said_when_it_clamps(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = client.post(f"/vollt/async/{job_id}", {"DESTRUCTION": when.isoformat()}, follow=True)
    assert f"Destruction set to {when:%Y-%m-%dT%H:%M:%SZ}." in messages_of(response)
    far = when + timedelta(days=3650)
    response = client.post(f"/vollt/async/{job_id}", {"DESTRUCTION": far.isoformat()}, follow=True)
    (message,) = messages_of(response)
    assert message.startswith(f"You asked for destruction at {far:%Y-%m-%dT%H:%M:%SZ}; the service kept ")
    kept = uws.get_job(job_id).destruction
    assert kept < far and kept - datetime.now(UTC) < timedelta(days=181)  # 180 days at most, as ESO


def test_a_run_job_completes_and_its_binary_votable_is_previewed_and_downloaded_whole(client, uws):
    from astropy.io import votable

    job_id = create(client, FAST_QUERY, run=True)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    response = client.get(f"/vollt/async/{job_id}/results/result")
    assert response["Content-Type"].startswith("application/x-votable+xml")
    body = b"".join(response.streaming_content)
    assert body == requests.get(f"{VOLLT_TAP}/async/{job_id}/results/result", timeout=10).content
    assert b"<BINARY" in body or b"<BINARY2" in body  # VOLLT's default serialization

    preview = client.get(f"/vollt/async/{job_id}/results/result/preview")
    shown = preview.context["table"]
    oracle = votable.parse_single_table(io.BytesIO(body)).to_table()
    assert [column.name for column in shown.columns] == oracle.colnames
    assert [row[0] for row in shown.rows] == [str(value) for value in oracle["id"]]


def test_the_run_form_runs_a_pending_job(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post("/go", {"service": "vollt", "op": "run", "job_id": job_id}, follow=True)
    assert any(message == "Run requested: the service started the job." for message in messages_of(response))
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"


def test_an_unknown_column_marks_vollts_range_in_the_query(client, uws):
    job_id = create(client, "SELECT nosuchcol FROM demo.stars", run=True)
    assert wait_for(uws, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    page = text(client.get(f"/vollt/async/{job_id}"))
    assert "unresolved identifiers: nosuchcol" in page
    assert "<mark>nosuchcol</mark>" in page
    error_page = client.get(f"/vollt/async/{job_id}/error")  # VOLLT redirects to /error/details
    assert error_page.status_code == 200
    assert "<mark>nosuchcol</mark>" in text(error_page)


def test_a_syntax_error_marks_the_token_vollt_names(client, uws):
    job_id = create(client, "SELEC TOP 5 * FROM demo.stars", run=True)
    assert wait_for(uws, job_id, {"ERROR", "COMPLETED"}) == "ERROR"
    page = html.unescape(text(client.get(f"/vollt/async/{job_id}")))
    assert 'Encountered "SELEC"' in page
    assert "<mark>SELEC</mark>" in page and "its first occurrence in the query is marked" in page


def test_a_slow_job_can_be_aborted_while_executing(client, uws):
    job_id = create(client, SLOW_QUERY, run=True)
    assert wait_for(uws, job_id, {"EXECUTING", "COMPLETED", "ERROR"}) == "EXECUTING"
    response = client.post(f"/vollt/async/{job_id}", {"PHASE": "ABORT"}, follow=True)
    assert "Job aborted." in messages_of(response)
    assert uws.get_job(job_id).phase == "ABORTED"


def test_a_job_that_ran_out_of_time_says_so(client, uws):
    job_id = create(client, SLOW_QUERY, run=False)
    client.post(f"/vollt/async/{job_id}", {"EXECUTIONDURATION": "2"})
    client.post(f"/vollt/async/{job_id}", {"PHASE": "RUN"})
    assert wait_for(uws, job_id, {"ABORTED", "COMPLETED", "ERROR"}, timeout=30) == "ABORTED"
    wait_for_end_time(uws, job_id)  # until then, nothing says it ran out of time
    page = text(client.get(f"/vollt/async/{job_id}"))
    assert "It ran out of time:" in page and "(2 seconds)" in page


def test_delete_removes_the_job(client, uws):
    job_id = create(client, FAST_QUERY, run=False)
    response = client.post(f"/vollt/async/{job_id}", {"ACTION": "DELETE", "CONFIRMED": "yes"}, follow=True)
    assert f"Job {job_id} deleted." in messages_of(response)
    with pytest.raises(ServiceError) as caught:
        uws.get_job(job_id)
    assert caught.value.failure is Failure.NOT_FOUND


def test_deleting_a_job_vollt_does_not_have_is_not_found_though_it_answers_303(client):
    response = client.post("/vollt/async/1000000000000", {"ACTION": "DELETE", "CONFIRMED": "yes"})
    assert response.status_code == 404
    page = text(response)
    assert "Nothing was changed: the service does not know the job." in page
    assert client.post("/vollt/async/1000000000000", {"PHASE": "RUN"}).status_code == 404


def test_an_unknown_job_is_a_404_page(client):
    response = client.get("/vollt/async/1000000000000")
    assert response.status_code == 404
    assert "1000000000000" in text(response)


def test_the_job_list_is_newest_first_and_filters(client, uws):
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    done = create(client, FAST_QUERY, run=True)
    time.sleep(1.1)  # VOLLT keeps creation times to the second
    pending = create(client, FAST_QUERY, run=False)
    assert wait_for(uws, done, {"COMPLETED"}) == "COMPLETED"
    table = listed(client.get("/vollt/async", {"AFTER": since}))
    assert table.index(pending) < table.index(done)  # VOLLT's own order is not by time
    completed = listed(client.get("/vollt/async", {"PHASE": "COMPLETED", "AFTER": since}))
    assert done in completed and pending not in completed
    last = listed(client.get("/vollt/async", {"LAST": "1"}))
    assert pending in last and done not in last


def test_resubmitting_reads_vollts_parameter_names(client, uws):
    job_id = create(client, FAST_QUERY, run=False, maxrec="7", format="csv")
    page = text(client.get("/vollt/", {"resubmit": job_id}))
    assert html.escape(FAST_QUERY) in page
    assert 'value="7"' in page  # VOLLT writes maxRec


def test_maxrec_5_is_cut_at_the_limit_and_the_higher_one_is_offered(client, uws):
    job_id = create(client, "SELECT id, name FROM demo.stars ORDER BY id", run=True, maxrec="5")
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page = client.get(f"/vollt/async/{job_id}").content.decode()
    assert f'hx-get="/vollt/async/{job_id}/results/result/limit"' in page
    box = client.get(f"/vollt/async/{job_id}/results/result/limit", HTTP_HX_REQUEST="true").content.decode()
    # VOLLT sends BINARY and writes its OVERFLOW INFO after the table.
    assert "Cut short by the row limit:" in box and "QUERY_STATUS=OVERFLOW" in box and "(MAXREC = 5)" in box
    form = client.get("/vollt/", {"resubmit": job_id, "maxrec": "50"}).content.decode()
    assert 'name="maxrec" value="50"' in form


def test_a_binary_votable_result_converts_to_csv_with_astropys_rows(client, uws):
    job_id = create(client, "SELECT id, name, ra, dec, mag FROM demo.stars ORDER BY id", run=True)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    response = client.get(f"/vollt/async/{job_id}/results/result/csv")
    assert response.status_code == 200
    records = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    body = requests.get(f"{VOLLT_TAP}/async/{job_id}/results/result", timeout=10).content
    assert b"<BINARY" in body  # VOLLT's default serialization
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = votable.parse_single_table(io.BytesIO(body)).to_table()
    assert records[0] == oracle.colnames and len(records) - 1 == len(oracle) == 100
    for record, row in zip(records[1:], oracle, strict=True):
        assert int(record[0]) == row["id"] and record[1] == str(row["name"])
        assert float(record[2]) == pytest.approx(float(row["ra"])) and float(record[3]) == pytest.approx(
            float(row["dec"])
        )


def test_a_plot_of_a_binary_votable_result_is_a_png_with_its_text(client, uws):
    job_id = create(client, "SELECT id, ra, dec, mag FROM demo.stars ORDER BY id", run=True)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page = text(client.get(f"/vollt/async/{job_id}/results/result/preview", {"plot": "sky", "x": "ra", "y": "dec"}))
    assert "100 of 100 rows plotted" in page
    image = client.get(f"/vollt/async/{job_id}/results/result/plot.png", {"plot": "scatter", "x": "ra", "y": "mag"})
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
