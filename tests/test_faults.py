"""The portal against a hostile service (tests/faultuws.py): every fault ends in a page that says what happened.

Each case drives one page of the portal at one fault and checks what the user gets: the
HTTP status, a sentence saying what happened, no markup or script of the service alive in
the page, no exception (Django's test client would raise it), and no request at the canary,
where every "other host" of the fault service points.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from typing import NamedTuple

import pytest
from django.test import Client

from jobs import services
from jobs.models import RememberedJob
from tests.faultuws import MODES, ODD_TIMES, FaultUWS, obscore_csv

pytestmark = pytest.mark.django_db

# Waits cut short for the modes that make the portal wait, so that the file runs in seconds;
# every other mode gets waits long enough that a loaded machine does not fail it.
SHORT_WAITS = {
    "silent": {"jobs.uws.transport.READ_TIMEOUT": 1.0},
    "stall": {"jobs.uws.transport.READ_TIMEOUT": 1.0},
    "trickle": {
        "jobs.uws.transport.DOCUMENT_DEADLINE": 1.0,
        "jobs.tables.MAX_SECONDS": 1.0,
        "jobs.results.LIMIT_READ_SECONDS": 1.0,
    },
    "chunked-forever": {
        "jobs.uws.transport.DOCUMENT_DEADLINE": 1.0,
        "jobs.tables.MAX_SECONDS": 1.0,
        "jobs.results.LIMIT_READ_SECONDS": 1.0,
    },
}


@pytest.fixture(scope="module")
def fault_service():
    service = FaultUWS()
    yield service
    service.close()


@pytest.fixture
def faults(fault_service, settings, tmp_path, monkeypatch):
    """The fault service configured in the portal: `faults` (jobs by mode), one service per list mode, `refused`."""
    path = tmp_path / "services.toml"
    path.write_text(fault_service.services_toml())
    settings.PORTAL_SERVICES_FILE = path
    monkeypatch.setattr("jobs.uws.transport.CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 10.0)
    fault_service.canary_hits.clear()
    yield fault_service
    services._loaded.pop(path, None)
    assert fault_service.canary_hits == []  # whatever else the test checked


def short_waits(monkeypatch, mode: str) -> None:
    for name, value in SHORT_WAITS.get(mode, {}).items():
        monkeypatch.setattr(name, value)


def visit(client: Client, page: str, mode: str):
    """One of the portal's pages, pointed at a fault mode."""
    if mode == "refused":  # a service where nothing listens
        job, service = "/refused/async/abc", "refused"
    else:
        job, service = f"/faults/async/{mode}", "faults" if mode == "ok" else mode
    # A result misbehaves below a well-behaved job when its own id is the mode.
    result = f"{job}/results/result"
    if mode in MODES and "result" in MODES[mode].kinds:
        result = f"/faults/async/ok/results/{mode}"
    if page == "job":
        return client.get(job)
    if page == "action":
        return client.post(job, {"EXECUTIONDURATION": "600"})
    if page == "run":
        return client.post(job, {"PHASE": "RUN"})
    if page == "list":
        return client.get(f"/{service}/async")
    if page == "create":
        return client.post(f"/{service}/async", {"query": "SELECT TOP 1 * FROM ivoa.obscore", "format": "csv"})
    if page == "result":
        return client.get(result)
    if page in ("preview", "csv", "script", "limit"):
        return client.get(f"{result}/{page}")
    if page == "error":
        return client.get(f"{job}/error")
    if page == "watch":
        return client.get(job, {"watch": "PENDING"}, HTTP_HX_REQUEST="true")
    raise ValueError(page)


class _Live(HTMLParser):
    """What in a page could run or load something: scripts, handlers, script URLs, embedded documents."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href", "hx-get", "hx-post"}
    EMBEDDING = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "img", "base", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in self.EMBEDDING:
            self.found.append(f"<{tag}>")
        if tag == "script" and not values.get("src", "").startswith("/static/"):
            self.found.append(f"<script {values}>")
        # The portal's own refresh of a job page without JavaScript reloads the same page (a number
        # of seconds only); a refresh that names a URL would send the browser elsewhere.
        own_refresh = values.get("http-equiv", "").lower() == "refresh" and values.get("content", "").isdigit()
        if tag == "meta" and "http-equiv" in values and not own_refresh:
            self.found.append(f"<meta http-equiv={values['http-equiv']}>")
        for name, value in values.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            # Browsers ignore blanks and control characters inside a scheme ("java\tscript:").
            scheme = re.sub(r"[\x00-\x20]", "", value).lower()
            if name in self.URL_ATTRIBUTES and scheme.startswith(("javascript:", "data:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value}>")


def live_markup(page: str) -> list[str]:
    parser = _Live()
    parser.feed(page)
    parser.close()
    return parser.found


def assert_harmless(response, faults: FaultUWS) -> str:
    """The page holds nothing of the service that runs, no secret, and nothing reached the canary; its text."""
    assert response.status_code != 500
    page = response.content.decode() if not response.streaming else ""
    assert live_markup(page) == []
    assert not re.search(r"<\s*script(?![^>]*\bsrc=\"/static/)", page, re.IGNORECASE)
    assert faults.secret not in page
    assert "stolen" not in str(response.cookies) and "stolen" not in response.get("Set-Cookie", "")
    assert faults.canary_hits == []
    return html.unescape(page)


def test_the_checks_would_see_live_markup():
    hostile = (
        '<p><script>alert(1)</script><img src=x onerror="alert(2)"><a href=" java\tscript:alert(3)">x</a>'
        '<a href="data:text/html,x">y</a><svg onload="alert(4)"></svg></p>'
    )
    assert len(live_markup(hostile)) == 7
    assert live_markup('<script src="/static/js/portal.js" defer></script><a href="/fake/">ok</a>') == []


class Case(NamedTuple):
    mode: str
    page: str
    status: int
    says: str  # a phrase of the page; for a redirect, where it leads


CASES = [
    # The well-behaved service, as the baseline.
    Case("ok", "job", 200, "finished successfully"),
    Case("ok", "list", 200, f"{len(MODES)} jobs"),
    Case("ok", "action", 302, "/faults/async/ok"),
    Case("ok", "create", 302, "/faults/async/ok"),
    Case("ok", "preview", 200, "The first 2 rows"),
    Case("ok", "error", 200, "The job has no error"),
    # No connection, no answer, half an answer.
    Case("refused", "job", 502, "refused the connection"),
    Case("refused", "list", 502, "refused the connection"),
    Case("refused", "create", 502, "refused the connection"),
    Case("reset", "job", 502, "The connection broke while the service was answering"),
    Case("reset", "action", 502, "The connection broke while the service was answering"),
    Case("reset", "create", 502, "The connection broke while the service was answering"),
    Case("reset", "list", 502, "The connection broke while the service was answering"),
    Case("reset", "preview", 200, "(the result has more)"),  # the rows that came before the break
    Case("silent", "job", 504, "The service did not answer in time"),
    Case("silent", "action", 504, "The service did not answer in time"),
    Case("silent", "list", 504, "The service did not answer in time"),
    Case("silent", "result", 504, "The service did not answer in time"),
    Case("stall", "job", 504, "The service stopped sending in the middle of its answer"),
    Case("stall", "preview", 200, "(the result has more)"),
    Case("trickle", "job", 504, "The service sent its answer too slowly"),
    Case("trickle", "action", 504, "The service sent its answer too slowly"),
    Case("trickle", "preview", 200, "the service sent too little of the result in 1 s"),
    Case("chunked-forever", "job", 504, "The service sent its answer too slowly"),
    Case("chunked-forever", "create", 504, "The service sent its answer too slowly"),
    Case("chunked-forever", "preview", 200, "(the result has more)"),
    # Error statuses.
    Case("http-500", "job", 502, "The service failed with HTTP 500"),
    Case("http-500", "list", 502, "The service failed with HTTP 500"),
    Case("http-502", "action", 502, "The service failed with HTTP 502"),
    Case("http-502", "create", 502, "The service failed with HTTP 502"),
    Case("http-503", "error", 502, "The service failed with HTTP 503"),
    Case("http-503", "result", 502, "The service failed with HTTP 503"),
    Case("http-503", "preview", 502, "The service failed with HTTP 503"),
    Case("listed-but-404", "job", 404, "The service has no job listed-but-404"),
    Case("listed-but-404", "action", 404, "The service has no job listed-but-404"),
    Case("listed-but-404", "error", 404, "The service has no job listed-but-404"),
    Case("forbidden-action", "action", 409, "The job is COMPLETED: this change is not allowed"),
    Case("forbidden-action", "run", 409, "The service refused the request"),
    Case("dali-action", "action", 409, "Cannot change job forbidden-by-dali in phase COMPLETED"),
    # Bodies that are no UWS document.
    Case("empty", "job", 502, "the document is empty"),
    Case("empty", "list", 502, "the document is empty"),
    Case("empty", "create", 502, "the document is empty"),
    Case("empty", "error", 200, "has no error document"),
    Case("empty", "preview", 200, "the result is empty"),
    Case("html", "job", 502, "could not be read: the document is not well-formed XML"),
    Case("html", "list", 502, "could not be read: the document is not well-formed XML"),
    Case("html", "error", 200, "The document as the service sent it (text/html"),
    Case("html", "preview", 200, "offered for download only"),
    Case("truncated", "job", 502, "the document is not well-formed XML"),
    Case("truncated", "list", 502, "the document is not well-formed XML"),
    Case("wrong-root", "job", 502, "expected a UWS job document, got <jobs>"),
    Case("wrong-root", "list", 502, "expected a UWS job list, got <job>"),
    Case("bad-utf8", "job", 200, "caf\ufffd"),  # read, the bad bytes shown as such
    Case("bad-utf8", "list", 200, "caf\ufffd"),
    Case("bad-utf8", "error", 200, "caf\ufffd"),
    Case("wrong-type", "job", 200, "finished successfully"),  # a job document is read whatever its label
    Case("wrong-type", "list", 200, f"{len(MODES)} jobs"),
    Case("wrong-type", "preview", 200, "Results of type image/png are offered for download only"),
    # Hostile XML.
    Case("billion-laughs", "job", 502, "Maximum entity amplification factor exceeded"),
    Case("billion-laughs", "list", 502, "Maximum entity amplification factor exceeded"),
    Case("billion-laughs", "error", 200, "The document as the service sent it"),
    Case("xxe", "job", 200, "&secret;"),  # the entity left as it is, neither the file nor the canary read
    Case("xxe", "list", 200, "&secret;"),
    Case("xxe", "error", 200, "&secret; &remote;"),
    # Too much.
    Case("huge", "job", 502, "larger than the portal reads"),
    Case("huge", "list", 502, "larger than the portal reads"),
    Case("huge", "error", 502, "larger than the portal reads"),
    Case("gzip-bomb", "job", 502, "larger than the portal reads"),
    Case("gzip-bomb", "list", 502, "larger than the portal reads"),
    Case("gzip-bomb", "error", 502, "larger than the portal reads"),
    Case("gzip-bomb", "preview", 200, "The result cannot be previewed"),
    Case("gzip-result", "preview", 200, "The first 2 rows"),
    Case("many-jobs", "list", 200, "100000 jobs, page 1 of 2000"),
    Case("many-headers", "job", 502, "not valid HTTP (got more than 100 headers)"),
    Case("many-headers", "create", 502, "not valid HTTP (got more than 100 headers)"),
    Case("huge-header", "job", 502, "not valid HTTP (got more than 65536 bytes when reading header line)"),
    Case("huge-header", "list", 502, "not valid HTTP (got more than 65536 bytes when reading header line)"),
    # Redirects.
    Case("redirect-loop", "job", 502, "The service redirected too many times"),
    Case("redirect-loop", "list", 502, "The service redirected too many times"),
    Case("redirect-loop", "result", 502, "The service redirected too many times"),
    Case("redirect-away", "job", 502, "redirected to an address outside the service; the portal does not follow it"),
    Case("redirect-away", "list", 502, "redirected to an address outside the service"),
    Case("redirect-away", "error", 502, "redirected to an address outside the service"),
    Case("redirect-away", "preview", 200, "The service keeps this result on another host"),
    # DaCHS names the new job on its own serverURL: the id is taken, the other host never asked.
    Case("redirect-away", "create", 302, "/redirect-away/async/elsewhere"),
    Case("redirect-file", "job", 502, "redirected to an address outside the service"),
    Case("redirect-file", "result", 502, "The service redirected to a non-web address"),
    Case("redirect-file", "preview", 502, "The service redirected to a non-web address"),
    Case("redirect-javascript", "job", 502, "redirected to an address outside the service"),
    Case("redirect-javascript", "list", 502, "redirected to an address outside the service"),
    Case("redirect-javascript", "result", 502, "The service redirected to a non-web address"),
    # Refusals, in every format: the form as typed (create), or the job page (action), with the words.
    *(
        Case(f"refuse-{kind}", "create", 422, "Unknown column nosuchcol")
        for kind in ("votable", "json", "text", "html")
    ),
    *(
        Case(f"refuse-{kind}", "action", 409, "Unknown column nosuchcol")
        for kind in ("votable", "json", "text", "html")
    ),
    Case("no-location", "create", 502, "The service created a job but did not say where"),
    Case("no-location", "action", 302, "/faults/async/no-location"),  # accepted; the job is read again
    Case("location-junk", "create", 502, "The service created a job whose id the portal cannot use"),
    Case("location-junk", "action", 302, "/faults/async/location-junk"),
    Case("location-junk", "list", 404, "The service does not know this resource"),  # followed, within the service
    # What a document says.
    Case("odd-phase", "job", 200, "does not say what state the job is in"),
    Case("odd-phase", "list", 200, "RUNNING"),
    Case("odd-dates", "job", 200, "2026-11-24 09:00:00 UTC"),  # the start, +0100
    Case("odd-dates", "list", 200, f"{len(ODD_TIMES)} jobs"),
    Case("calendar-ends", "job", 200, "9999-12-31 23:59:59 UTC"),
    Case("duration-overflow", "job", 200, "not given"),
    Case("script", "job", 200, "<script>alert('jobId')</script>"),  # shown as text
    Case("script", "list", 200, "<script>alert('runId')</script>"),
    Case("script", "error", 200, "Down for maintenance"),
    Case("script", "preview", 200, "<script>alert('cell')</script>"),
    Case("script", "action", 409, "<script>alert('refusal')</script>"),
    Case("script", "watch", 200, "<script>alert('error')</script>"),
    Case("result-elsewhere", "job", 200, "(another host)"),
    Case("result-elsewhere", "preview", 200, "The service keeps this result on another host"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{case.mode}:{case.page}" for case in CASES])
def test_the_user_is_told_what_the_service_did(case, faults, monkeypatch):
    short_waits(monkeypatch, case.mode)
    response = visit(Client(), case.page, case.mode)
    text = assert_harmless(response, faults)
    assert response.status_code == case.status, text[:2000]
    if 300 <= case.status < 400:
        assert response["Location"].startswith(case.says)
    else:
        assert case.says in text


# The result read as a table and written again (CSV, the download script), or read to its end (the
# row limit): a page in words before the first byte, a transfer cut off after it ("cut"), never a
# 500 and never a wait beyond the page's budget. The well-behaved result is ObsCore-shaped
# (tests/faultuws.py, obscore_csv), so that the download script has files to fetch.
CUT = "cut"
ELSEWHERE = "kept on another host"
NOT_A_TABLE = "is not a table"
CONVERTED = [
    Case("ok", "csv", 200, "id,ra,dec,access_url,access_format,access_estsize 1,10.5,-3.25,"),
    Case("ok", "script", 200, "curl -fL -o 000001-1.fits"),
    Case("ok", "limit", 200, "All of the result: 2 rows"),
    Case("gzip-result", "csv", 200, "1,10.5,-3.25,"),
    Case("gzip-result", "script", 200, "# 2 files, 1 of them DataLink documents"),
    Case("gzip-result", "limit", 200, "All of the result: 2 rows"),
    # Markup in names and cells is text in a CSV (an attachment); the VOTable names no files.
    Case("script", "csv", 200, "<script>alert('field')</script> <script>alert('cell')</script>"),
    Case("script", "script", 409, "There is no download script: the result has no column of file URLs"),
    Case("script", "limit", 200, "All of the result: 2 rows"),
    # Half the result, then a break or silence: the download is cut; the row limit is not known.
    *(Case(mode, page, 200, CUT) for mode in ("reset", "stall") for page in ("csv", "script")),
    Case("reset", "limit", 502, "is not known: the transfer broke off after 2048 bytes"),
    Case("stall", "limit", 502, "is not known: the transfer broke off after 2048 bytes"),
    # Too slow: before the first byte a page; a result that never ends is cut within the budget.
    Case("silent", "csv", 504, "The service did not answer in time"),
    Case("silent", "script", 504, "The service did not answer in time"),
    Case("silent", "limit", 504, "is not known: The service did not answer in time."),
    Case("trickle", "csv", 504, "The service is too slow: the service sent only"),
    Case("trickle", "script", 504, "The service is too slow: the service sent only"),
    Case("trickle", "limit", 200, "of it in the 1 s the portal reads to find out (0 rows by then)"),
    Case("chunked-forever", "csv", 200, CUT),
    Case("chunked-forever", "script", 200, CUT),
    Case("chunked-forever", "limit", 200, "is not known: the service sent only"),
    # Error statuses, and answers that are no HTTP.
    *(
        Case(f"http-{status}", page, 502, f"The service failed with HTTP {status}")
        for status in (500, 502, 503)
        for page in ("csv", "script", "limit")
    ),
    Case("listed-but-404", "csv", 404, "UWS job listed-but-404 not found"),
    Case("listed-but-404", "script", 404, "UWS job listed-but-404 not found"),
    Case("listed-but-404", "limit", 404, "is not known: The service does not know this resource."),
    *(
        Case("many-headers", page, 502, "not valid HTTP (got more than 100 headers)")
        for page in ("csv", "script", "limit")
    ),
    *(
        Case("huge-header", page, 502, "not valid HTTP (got more than 65536 bytes")
        for page in ("csv", "script", "limit")
    ),
    # Bodies that are no table, or a broken one.
    Case("empty", "csv", 502, "The result cannot be read: the CSV result has no header line"),
    Case("empty", "script", 502, "The result cannot be read: the CSV result has no header line"),
    Case("empty", "limit", 502, "is not known: the CSV result has no header line"),
    Case("gzip-bomb", "csv", 502, "The result cannot be read: malformed CSV: field larger than field limit"),
    Case("gzip-bomb", "script", 502, "The result cannot be read: malformed CSV: field larger than field limit"),
    Case("gzip-bomb", "limit", 502, "is not known: malformed CSV: field larger than field limit"),
    *(Case(mode, page, 409, NOT_A_TABLE) for mode in ("html", "wrong-type") for page in ("csv", "script")),
    Case("html", "limit", 409, "a result of type text/html; charset=utf-8 has no preview"),
    Case("wrong-type", "limit", 409, "a result of type image/png has no preview"),
    # Redirects: never followed off the service; a result on another host is linked, never fetched.
    *(
        Case(mode, page, 502, words)
        for mode, words in (
            ("redirect-loop", "The service redirected too many times"),
            ("redirect-file", "The service redirected to a non-web address"),
            ("redirect-javascript", "The service redirected to a non-web address"),
        )
        for page in ("csv", "script", "limit")
    ),
    *(
        Case(mode, page, 409, ELSEWHERE)
        for mode in ("redirect-away", "location-junk", "result-elsewhere")
        for page in ("csv", "script", "limit")
    ),
]


def test_every_result_mode_is_converted_and_counted():
    result_modes = {name for name, mode in MODES.items() if "result" in mode.kinds} | {"ok"}
    for page in ("csv", "script", "limit"):
        assert {case.mode for case in CONVERTED if case.page == page} == result_modes


@pytest.mark.parametrize("case", CONVERTED, ids=[f"{case.mode}:{case.page}" for case in CONVERTED])
def test_a_converted_result_is_a_page_in_words_or_a_clean_cut(case, faults, monkeypatch, caplog):
    short_waits(monkeypatch, case.mode)
    # The budget is 25 s (a page within 30 s); cut to 2 s here, so that a slow result costs seconds.
    monkeypatch.setattr("jobs.uws.transport.PAGE_BUDGET", 2.0)
    started = time.monotonic()
    response = visit(Client(), case.page, case.mode)
    text = assert_harmless(response, faults)
    assert response.status_code == case.status, text[:2000]
    if response.streaming:
        assert response["Content-Disposition"].startswith("attachment;")
        try:
            text = download(response).decode()
        except ConnectionError:
            text = CUT
    assert time.monotonic() - started < 4.0  # whatever the service does
    if case.says == CUT:
        assert text == CUT
        assert "broke off while converted" in caplog.text  # the portal logs the cut
    else:
        assert case.says in " ".join(text.split())


def test_a_refused_new_job_keeps_the_query_and_marks_the_spot(faults):
    response = visit(Client(), "create", "refuse-votable")
    page = assert_harmless(response, faults)
    assert "SELECT TOP 1 * FROM ivoa.obscore</textarea>" in page
    assert "<mark>TOP 1</mark>" in page


def test_every_mode_is_driven_by_a_case():
    assert {case.mode for case in CASES} >= set(MODES) | {"refused"}


# -- results: downloads are streamed, or sent to the other host --------------------------


def download(response) -> bytes:
    try:
        return b"".join(response.streaming_content)
    finally:
        response.close()


def test_a_result_is_streamed_through(faults):
    response = visit(Client(), "result", "ok")
    assert_harmless(response, faults)
    assert response.status_code == 200
    assert download(response) == obscore_csv(faults.canary_url)
    assert response["Content-Length"] == str(len(obscore_csv(faults.canary_url)))


def test_a_compressed_result_is_passed_on_whole_without_the_compressed_length(faults):
    response = visit(Client(), "result", "gzip-result")
    assert_harmless(response, faults)
    assert download(response) == obscore_csv(faults.canary_url)
    # The service's Content-Length counts compressed bytes: passed on, it would cut the file.
    assert response.get("Content-Length") in (None, str(len(obscore_csv(faults.canary_url))))


def test_a_gzip_bomb_result_is_streamed_in_pieces_and_claims_no_length(faults):
    response = visit(Client(), "result", "gzip-bomb")
    assert_harmless(response, faults)
    assert response.status_code == 200 and "Content-Length" not in response
    first = next(iter(response.streaming_content))
    response.close()
    assert 0 < len(first) <= 64 * 1024


@pytest.mark.parametrize("mode", ["reset", "stall"])
def test_a_result_transfer_that_breaks_off_fails_the_download(faults, monkeypatch, mode):
    short_waits(monkeypatch, mode)
    response = visit(Client(), "result", mode)
    assert_harmless(response, faults)
    assert response.status_code == 200
    # Ending quietly would hand the browser a file that looks whole when no length was given.
    with pytest.raises(ConnectionError, match="broke off the transfer"):
        download(response)


def test_a_trickling_result_is_passed_on_as_it_comes(faults, monkeypatch):
    short_waits(monkeypatch, "trickle")
    response = visit(Client(), "result", "trickle")
    assert_harmless(response, faults)
    assert response.status_code == 200
    assert next(iter(response.streaming_content)) == b"i"
    response.close()


def test_a_mislabelled_result_keeps_the_services_type_as_an_attachment(faults):
    response = visit(Client(), "result", "wrong-type")
    assert_harmless(response, faults)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert download(response) == obscore_csv(faults.canary_url)


@pytest.mark.parametrize(
    "url",
    [
        "/faults/async/result-elsewhere/results/result",  # the job's href names the other host
        "/faults/async/ok/results/result-elsewhere",  # the service redirects there
        "/faults/async/ok/results/redirect-away",
    ],
)
def test_a_result_on_another_host_is_linked_never_fetched(faults, url):
    response = Client().get(url)
    assert_harmless(response, faults)
    assert response.status_code == 302
    assert response["Location"].startswith(faults.canary_url)
    preview = assert_harmless(Client().get(f"{url}/preview"), faults)
    assert "on another host" in preview and f'href="{faults.canary_url}/' in preview


def test_a_result_redirect_with_junk_reaches_the_browser_without_it(faults):
    response = visit(Client(), "result", "location-junk")
    assert_harmless(response, faults)
    location = response["Location"]
    assert location.startswith(f"{faults.canary_url}/junk")
    assert not re.search(r"[\x00-\x20\x7f-\x9f\u2028]", location)  # percent-encoded, every one
    assert "Set-Cookie" not in response


@pytest.mark.parametrize("result_id", ["js", "data", "JS2"])
def test_result_hrefs_with_script_are_not_links(faults, result_id):
    page = assert_harmless(visit(Client(), "job", "script"), faults)
    assert "javascript:alert(1)" in page and "data:text/html" in page  # shown as text
    # The portal asks the service by the standard path, never by a script href.
    response = Client().get(f"/faults/async/script/results/{result_id}")
    assert_harmless(response, faults)
    assert response.status_code == 200 and "Location" not in response
    download(response)


# -- what the job list and the job pages say -----------------------------------------------


def test_a_listed_job_that_is_404_is_linked_then_reported_missing(faults):
    listing = assert_harmless(visit(Client(), "list", "ok"), faults)
    assert 'href="/faults/async/listed-but-404"' in listing
    response = visit(Client(), "job", "listed-but-404")
    assert response.status_code == 404
    assert "deleted, or destroyed" in assert_harmless(response, faults)


def test_a_303_without_location_on_an_action_counts_as_accepted(faults):
    client = Client()
    response = visit(client, "action", "no-location")
    assert response.status_code == 302
    page = assert_harmless(client.get(response["Location"]), faults)
    assert "You asked for 600 s; the service kept 3600 s." in page


def test_a_job_created_on_another_host_is_asked_for_at_the_service(faults):
    client = Client()
    response = visit(client, "create", "redirect-away")
    assert response.status_code == 302
    assert RememberedJob.objects.filter(service="redirect-away", job_id="elsewhere").exists()
    response = client.get(response["Location"])
    assert response.status_code == 404  # the service's own URL for that id, not the other host
    assert "Job elsewhere created" in assert_harmless(response, faults)


def test_every_odd_time_is_shown_or_left_out_never_an_error(faults):
    page = assert_harmless(visit(Client(), "list", "odd-dates"), faults)
    # The readable ones, in UTC: no zone, +0100 and -0530.
    for shown in ("2026-11-24 10:00:00", "2026-11-24 09:00:00", "2026-11-24 15:30:00"):
        assert shown in page
    assert "0000-01-01" not in page and "99999" not in page and "garbage" not in page


def test_a_job_at_the_end_of_the_calendar_offers_no_later_destruction(faults):
    page = assert_harmless(visit(Client(), "job", "calendar-ends"), faults)
    assert "+1 day" not in page and "+30 days" not in page
    assert "0001-01-01 00:00:00 UTC" in page


@pytest.mark.parametrize("mode", ["silent", "trickle", "chunked-forever"])
@pytest.mark.parametrize("page", ["job", "list", "watch"])
def test_a_page_answers_within_its_budget_whatever_the_service_does(faults, monkeypatch, mode, page):
    # The budget is 25 s (a page within 30 s); cut to 2 s here, with the ordinary waits left long.
    monkeypatch.setattr("jobs.uws.transport.PAGE_BUDGET", 2.0)
    started = time.monotonic()
    response = visit(Client(), page, mode)
    assert time.monotonic() - started < 4.0
    if page == "watch":  # htmx swaps no error answer: a 200 fragment says so
        assert response.status_code == 200 and "The page tries again" in response.content.decode()
    else:
        assert response.status_code == 504
