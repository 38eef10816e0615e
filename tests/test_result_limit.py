"""Cut short by the row limit: the job page's box, read from the whole result after the page, and the resubmit."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from jobs import results
from jobs.tables import extent
from tests.fakeuws import Reply
from tests.test_result_csv import _big_tabledata
from tests.test_result_preview import serve, votable
from tests.test_service_info import CAPABILITIES

pytestmark = pytest.mark.django_db
VOTABLE = "application/x-votable+xml"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _limit(fake, body: str, content_type: str = VOTABLE, maxrec: str = "", htmx: bool = True) -> str:
    serve(fake, body, content_type, maxrec)
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = Client().get("/fake/async/j1/results/result/limit", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_job_page_loads_the_box_after_itself_and_reads_no_result(fake):
    serve(fake, votable(3, "OVERFLOW"), VOTABLE, maxrec="3")
    page = Client().get("/fake/async/j1").content.decode()
    assert 'hx-get="/fake/async/j1/results/result/limit" hx-trigger="load"' in page
    assert 'href="/fake/async/j1/results/result/limit">Did the row limit cut the result short?' in page
    assert [request.path for request in fake.requests] == ["/tap/async/j1"]


def test_an_overflow_after_the_table_says_cut_and_offers_a_higher_maxrec(fake):
    box = _limit(fake, votable(3, "OVERFLOW", "more rows"), maxrec="3")
    assert "Cut short by the row limit:" in box
    assert "as many as its row limit (MAXREC = 3)" in box and "QUERY_STATUS=OVERFLOW" in box
    assert 'action="/fake/#new-query"' in box and 'name="resubmit" value="j1"' in box
    assert 'name="maxrec" type="number" min="4" max="2000000" value="1000"' in box
    assert "<html" not in box  # a fragment for htmx


def test_exactly_maxrec_rows_without_overflow_is_cut_too(fake):
    box = _limit(fake, votable(5), maxrec="5")
    assert "Cut short by the row limit:" in box and "the query may match more" in box


def test_fewer_rows_than_the_limit_is_the_whole_result(fake):
    box = _limit(fake, votable(4), maxrec="5")
    assert "All of the result: 4 rows, within the row limit of 5." in box


def test_without_maxrec_the_services_default_is_the_limit(fake):
    box = _limit(fake, votable(3), maxrec="")
    assert "All of the result: 3 rows, within the row limit of 20000." in box


def test_a_csv_result_of_maxrec_rows_is_cut(fake):
    box = _limit(fake, "id,ra\n1,2\n3,4\n", "text/csv; header=present", maxrec="2")
    assert "Cut short by the row limit:" in box


def test_at_the_services_largest_limit_it_says_to_narrow_the_query(fake):
    box = _limit(fake, votable(3, "OVERFLOW"), maxrec="2000000")  # the service stopped below MAXREC
    assert "That is the largest this service gives (2000000 rows)" in box
    assert 'name="maxrec"' not in box


def test_without_javascript_it_is_a_page(fake):
    page = _limit(fake, votable(3, "OVERFLOW"), maxrec="3", htmx=False)
    assert "<h1>Did the row limit cut result <code>result</code> short?</h1>" in page
    assert "Cut short by the row limit:" in page


def test_a_failing_service_is_a_box_that_says_so(fake):
    serve(fake, votable(3), VOTABLE, maxrec="3")
    fake.reply("GET", "/tap/async/j1/results/result", status=500, body="oops")
    box = Client().get("/fake/async/j1/results/result/limit", HTTP_HX_REQUEST="true")
    assert box.status_code == 200  # htmx swaps no error answer
    assert "Whether the row limit cut the result short is not known:" in box.content.decode()
    page = Client().get("/fake/async/j1/results/result/limit")  # without JavaScript: a page of its own
    assert page.status_code == 502
    assert "is not known: The service failed with HTTP 500." in page.content.decode()


def test_a_result_larger_than_the_bound_is_read_only_so_far(fake, monkeypatch):
    monkeypatch.setattr(results, "LIMIT_READ_BYTES", 100_000)
    box = _limit(fake, b"".join(_big_tabledata(20_000)).decode(), maxrec="20000")
    assert "Whether the row limit cut the result short is not known: it is larger than the" in box


def test_a_result_that_trickles_is_read_only_until_the_deadline(fake, monkeypatch):
    monkeypatch.setattr(results, "LIMIT_READ_SECONDS", 0.5)

    def slowly() -> Iterator[bytes]:
        for chunk in _big_tabledata(100_000):
            yield chunk
            time.sleep(0.05)

    serve(fake, "", VOTABLE, maxrec="100000")
    fake.route("GET", "/tap/async/j1/results/result", lambda _: Reply(200, slowly(), {"Content-Type": VOTABLE}))
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    started = time.monotonic()
    box = Client().get("/fake/async/j1/results/result/limit", HTTP_HX_REQUEST="true").content.decode()
    assert time.monotonic() - started < 3
    assert "is not known: the service sent only" in box and "of it in the 0.5 s the portal reads" in box


def test_counting_a_large_result_takes_constant_memory():
    tracemalloc.start()
    try:
        counted = extent(_big_tabledata(50_000), VOTABLE, max_bytes=2**40, max_seconds=60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counted.rows == 50_000 and counted.complete
    assert peak < 1024 * 1024


def test_the_resubmit_fills_the_form_with_the_higher_maxrec(fake):
    serve(fake, votable(3, "OVERFLOW"), VOTABLE, maxrec="3")
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    page = Client().get("/fake/", {"resubmit": "j1", "maxrec": "30"}).content.decode()
    assert 'name="maxrec" value="30"' in page
    assert "with a row limit of 30: edit it and submit." in page


def test_a_maxrec_above_the_services_largest_is_brought_down_to_it(fake):
    serve(fake, votable(3, "OVERFLOW"), VOTABLE, maxrec="3")
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    page = Client().get("/fake/", {"resubmit": "j1", "maxrec": "99999999"}).content.decode()
    assert 'name="maxrec" value="2000000"' in page
    assert "with a row limit of 2000000, the largest this service allows" in page


def test_a_maxrec_that_is_no_number_is_refused(fake):
    response = Client().get("/fake/", {"resubmit": "j1", "maxrec": "lots"})
    assert response.status_code == 400
