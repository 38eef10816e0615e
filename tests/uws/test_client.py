"""The UWS client against a scripted service on loopback."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.uws import changes
from jobs.uws.client import UWSClient
from jobs.uws.errors import Failure, ServiceError
from jobs.uws.transport import USER_AGENT, ExternalResult, ResultStream
from tests.fakeuws import Reply, job_xml

DALI_ERROR = (
    '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="ERROR">{}</INFO></RESOURCE></VOTABLE>'
)


@pytest.fixture
def client(fake) -> UWSClient:
    return UWSClient("Fake service", f"{fake.url}/tap", timeout=(2, 2))


def test_it_sends_user_agent_accept_and_reads_the_job(client, fake):
    fake.reply("GET", "/tap/async/abc123", body=job_xml(phase="QUEUED"))
    job = client.get_job("abc123")
    assert job.phase == "QUEUED"
    (request,) = fake.requests
    assert request.headers["user-agent"] == USER_AGENT
    assert "application/xml" in request.headers["accept"]


def test_it_quotes_the_job_id_into_one_path_segment(client, fake):
    with pytest.raises(ServiceError):
        client.get_job("a/../b?c")
    assert fake.requests[0].path == "/tap/async/a%2F..%2Fb%3Fc"


def test_it_turns_404_into_not_found_naming_the_job(client, fake):
    fake.reply("GET", "/tap/async/gone", 404, DALI_ERROR.format("UWS job 'gone' could not be located"))
    with pytest.raises(ServiceError) as caught:
        client.get_job("gone")
    assert caught.value.failure is Failure.NOT_FOUND
    assert "gone" in caught.value.message
    assert caught.value.detail == "UWS job 'gone' could not be located"
    assert caught.value.status == 404


def test_it_handles_a_refused_connection():
    client = UWSClient("Dead", "http://127.0.0.1:9/tap")
    with pytest.raises(ServiceError) as caught:
        client.get_job("abc")
    assert caught.value.failure is Failure.UNREACHABLE
    assert "refused" in caught.value.message


def test_it_handles_timeout(client, fake):
    fake.reply("GET", "/tap/async/slow", body=job_xml(), delay=3)
    with pytest.raises(ServiceError) as caught:
        client.get_job("slow")
    assert caught.value.failure is Failure.TIMEOUT


@pytest.mark.parametrize(
    ("status", "failure"), [(500, Failure.SERVER_ERROR), (503, Failure.SERVER_ERROR), (403, Failure.REFUSED)]
)
def test_it_maps_error_statuses(client, fake, status, failure):
    fake.reply("GET", "/tap/async/abc", status, "<html>broken</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ServiceError) as caught:
        client.get_job("abc")
    assert caught.value.failure is failure
    assert caught.value.status == status


def test_it_reports_a_document_it_cannot_read(client, fake):
    fake.reply("GET", "/tap/async/abc", body="<html><body>maintenance</body></html>")
    with pytest.raises(ServiceError) as caught:
        client.get_job("abc")
    assert caught.value.failure is Failure.BAD_RESPONSE
    assert "could not be read" in caught.value.message


def test_it_follows_a_get_redirect_within_the_service_only(client, fake):
    fake.reply("GET", "/tap/async/abc", 302, headers={"Location": "/tap/async/abc/"})
    fake.reply("GET", "/tap/async/abc/", body=job_xml())
    assert client.get_job("abc").job_id == "abc123"
    fake.reply("GET", "/tap/async/out", 302, headers={"Location": "http://example.org/steal"})
    with pytest.raises(ServiceError) as caught:
        client.get_job("out")
    assert caught.value.failure is Failure.FORBIDDEN_URL
    assert [request.path for request in fake.requests][-1] == "/tap/async/out"


def test_it_refuses_any_url_outside_the_service(client):
    for url in ("http://example.org/tap/async", "https://127.0.0.1/tap/async", "http://127.0.0.1:1/tap/async"):
        with pytest.raises(ServiceError) as caught:
            client.request("GET", url)
        assert caught.value.failure is Failure.FORBIDDEN_URL
    assert not client.is_own_url(client.base_url + "x/async")  # a sibling path is not below the base


def test_it_creates_a_job_and_takes_the_id_from_location(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "http://elsewhere:8080/__system__/tap/run/async/k1_z"})
    job_id = client.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT 1"})
    assert job_id == "k1_z"
    assert fake.requests[0].form["QUERY"] == ["SELECT 1"]
    assert len(fake.requests) == 1  # the Location (another host) was not followed


def test_it_accepts_a_creation_answered_with_the_job_itself(client, fake):
    fake.reply("POST", "/tap/async", 200, job_xml(job_id="fromdoc"))
    assert client.create_job({"QUERY": "SELECT 1"}) == "fromdoc"


def test_it_starts_jobs_through_phase_and_does_not_follow_the_redirect(client, fake):
    fake.route(
        "GET",
        "/tap/async/abc",
        lambda request: Reply(body=job_xml(job_id="abc", phase="EXECUTING" if fake.posted() else "PENDING").encode()),
    )
    fake.reply("POST", "/tap/async/abc/phase", 303, headers={"Location": "http://127.0.0.1:1/x"})
    outcome = client.change("abc", changes.RUN)
    assert [(request.method, request.path) for request in fake.requests] == [
        ("GET", "/tap/async/abc"),
        ("POST", "/tap/async/abc/phase"),
        ("GET", "/tap/async/abc"),
    ]
    assert fake.posted()[0].form == {"PHASE": ["RUN"]}
    assert (outcome.before, outcome.after.phase, outcome.ignored) == ("PENDING", "EXECUTING", False)


@pytest.mark.parametrize(
    ("change", "value", "path", "form"),
    [
        (changes.ABORT, None, "/tap/async/abc/phase", {"PHASE": ["ABORT"]}),
        (changes.SET_EXECUTION_DURATION, 60, "/tap/async/abc/executionduration", {"EXECUTIONDURATION": ["60"]}),
        (
            changes.SET_DESTRUCTION,
            datetime(2030, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            "/tap/async/abc/destruction",
            {"DESTRUCTION": ["2030-01-01T00:00:00Z"]},
        ),
    ],
)
def test_it_posts_each_change_to_its_sub_resource(client, fake, change, value, path, form):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", path, 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    client.change("abc", change, value)
    (posted,) = fake.posted()
    assert (posted.path, posted.form) == (path, form)


def test_it_says_when_the_service_ignored_a_change_of_phase(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    fake.reply("POST", "/tap/async/abc/phase", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    outcome = client.change("abc", changes.ABORT)
    assert outcome.ignored and outcome.after.phase == "COMPLETED"


def test_it_gives_a_change_still_on_its_way_a_short_wait(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    fake.reply("POST", "/tap/async/abc/phase", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    client.change("abc", changes.ABORT)
    last = fake.requests[-1]
    assert (last.method, last.query) == ("GET", {"WAIT": ["2"], "PHASE": ["EXECUTING"]})


def test_it_reads_back_what_the_service_kept(client, fake):
    fake.route(
        "GET",
        "/tap/async/abc",
        lambda request: Reply(body=job_xml(job_id="abc", execution_duration="600" if fake.posted() else "60").encode()),
    )
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers={"Location": f"{fake.url}/tap/async/abc"})
    outcome = client.change("abc", changes.SET_EXECUTION_DURATION, 99999)
    assert (outcome.asked, outcome.kept, outcome.kept_as_asked) == (99999, 600, False)


def test_it_deletes_with_http_delete_and_never_follows(client, fake):
    fake.reply("DELETE", "/tap/async/abc", 303, headers={"Location": f"{fake.url}/tap/async"})
    fake.job_until_deleted("/tap/async/abc", job_xml(job_id="abc"))
    outcome = client.change("abc", changes.DELETE)
    assert [(request.method, request.path) for request in fake.requests] == [
        ("GET", "/tap/async/abc"),
        ("DELETE", "/tap/async/abc"),
        ("GET", "/tap/async/abc"),
    ]
    assert outcome.gone


def test_a_change_to_a_job_the_service_does_not_have_is_not_found_and_not_sent(client, fake):
    # VOLLT answers 303 even to a DELETE of a job it does not have.
    fake.reply("DELETE", "/tap/async/nope", 303, headers={"Location": f"{fake.url}/tap/async"})
    with pytest.raises(ServiceError) as caught:
        client.change("nope", changes.DELETE)
    assert caught.value.failure is Failure.NOT_FOUND
    assert [request.method for request in fake.requests] == ["GET"]


def test_it_takes_a_dali_error_with_200_as_a_refusal(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", "/tap/async/abc/phase", 200, DALI_ERROR.format("Field phase: Bad phase: FOO"))
    outcome = client.change("abc", changes.ABORT)
    assert outcome.refusal.failure is Failure.REFUSED
    assert outcome.refusal.detail == "Field phase: Bad phase: FOO"
    assert outcome.after.phase == "PENDING"  # the job as it is, to show beside the refusal


def test_a_failed_request_says_whether_it_reached_the_service(client, fake, monkeypatch):
    with pytest.raises(ServiceError) as caught:
        UWSClient("Dead", "http://127.0.0.1:9/tap").get_job("x")
    assert caught.value.reached is False
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 0.5)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers={"Location": "/x"}, delay=1.5)
    with pytest.raises(ServiceError) as caught:
        UWSClient("Slow", f"{fake.url}/tap").change("abc", changes.SET_EXECUTION_DURATION, 60)
    assert caught.value.failure is Failure.TIMEOUT and caught.value.reached is None
    fake.reply("POST", "/tap/async/abc/executionduration", 500, "down", headers={"Content-Type": "text/plain"})
    with pytest.raises(ServiceError) as caught:
        client.change("abc", changes.SET_EXECUTION_DURATION, 60)
    assert caught.value.reached is True


def test_it_asks_for_each_phase_and_merges_the_lists(client, fake):
    fake.route(
        "GET",
        "/tap/async",
        lambda request: Reply(
            body=(
                '<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">'
                f'<uws:jobref id="{request.query["PHASE"][0].lower()}"><uws:phase>{request.query["PHASE"][0]}'
                "</uws:phase></uws:jobref></uws:jobs>"
            ).encode()
        ),
    )
    listing = client.list_jobs(phases=["QUEUED", "EXECUTING"], after="2026-01-01T00:00:00Z", last=5)
    assert [ref.id for ref in listing.jobs] == ["queued", "executing"]
    assert [request.query for request in fake.requests] == [
        {"PHASE": ["QUEUED"], "AFTER": ["2026-01-01T00:00:00Z"], "LAST": ["5"]},
        {"PHASE": ["EXECUTING"], "AFTER": ["2026-01-01T00:00:00Z"], "LAST": ["5"]},
    ]


def test_it_applies_the_filters_a_uws_1_0_server_ignores(client, fake):
    refs = "".join(
        f'<jobref id="j{n}"><phase>{phase}</phase><creationTime>2026-01-0{n}T00:00:00Z</creationTime></jobref>'
        for n, phase in [(1, "COMPLETED"), (2, "ERROR"), (3, "COMPLETED"), (4, "COMPLETED")]
    )
    fake.reply("GET", "/tap/async", body=f'<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0">{refs}</jobs>')
    listing = client.list_jobs(phases=["COMPLETED"], after="2026-01-01T12:00:00Z", last=1)
    assert [ref.id for ref in listing.jobs] == ["j4"]


def test_it_refuses_a_document_over_the_size_limit(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.uws.transport.MAX_DOCUMENT_BYTES", 1000)
    fake.reply("GET", "/tap/async/big", body=job_xml(query="x" * 5000))
    with pytest.raises(ServiceError) as caught:
        client.get_job("big")
    assert caught.value.failure is Failure.BAD_RESPONSE
    assert "larger than" in caught.value.message


def test_it_streams_a_result_with_its_type_and_length(client, fake):
    fake.reply("GET", "/tap/async/abc/results/result", body="a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    opened = client.open_result("abc", "result")
    assert isinstance(opened, ResultStream)
    assert (opened.content_type, opened.content_length) == ("text/csv", 8)
    assert b"".join(opened.chunks()) == b"a,b\n1,2\n"


def test_it_names_a_result_on_another_host_instead_of_fetching_it(client, fake):
    signed = "https://storage.example.org/bucket/r.fits?X-Signature=abc"
    fake.reply("GET", "/tap/async/abc/results/result", 303, headers={"Location": signed})
    assert client.open_result("abc", "result") == ExternalResult(signed)
    assert len(fake.requests) == 1


def test_it_reads_the_error_document(client, fake):
    fake.reply("GET", "/tap/async/abc/error", body=DALI_ERROR.format("Query timed out"))
    document = client.get_error("abc")
    assert document.message == "Query timed out"


def test_each_request_is_logged_once_with_its_facts(client, fake, caplog):
    import logging

    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", "/tap/async/abc/phase", 303, headers={"Location": "/tap/async/abc"})
    fake.reply("GET", "/tap/async/abc/results/result", body="a,b\n", headers={"Content-Type": "text/csv"})
    with caplog.at_level(logging.INFO, logger="jobs.upstream"):
        client.get_job("abc")
        client.exchange("POST", f"{fake.url}/tap/async/abc/phase", data={"PHASE": "RUN"})
        b"".join(client.open_result("abc", "result").chunks())
        with pytest.raises(ServiceError):
            UWSClient("Dead", "http://127.0.0.1:9/tap").get_job("x")
    lines = [record.getMessage() for record in caplog.records if record.name == "jobs.upstream"]
    assert len(lines) == 4
    assert lines[0].startswith(f"upstream service=Fake service method=GET url={fake.url}/tap/async/abc status=200 ")
    assert " duration_ms=" in lines[0] and lines[0].endswith(f"bytes={len(job_xml(job_id='abc'))}")
    assert "method=POST" in lines[1] and "status=303" in lines[1]
    assert lines[2].endswith("bytes=4")
    assert "status=- " in lines[3] and "failure=unreachable" in lines[3]


def test_a_busy_service_is_refused_before_it_takes_every_thread(fake):
    busy = UWSClient("Busy", f"{fake.url}/busy", max_concurrent=1)
    slot = busy._slot
    assert slot.acquire(timeout=1)
    try:
        with pytest.raises(ServiceError) as caught:
            busy.get_job("abc")
        assert caught.value.failure is Failure.BUSY
    finally:
        slot.release()


def test_watches_have_their_own_pool_and_do_not_lock_out_other_pages(fake):
    fake.reply("GET", "/pools/async/abc", body=job_xml(job_id="abc"))
    client = UWSClient("Pools", f"{fake.url}/pools", max_concurrent=1)
    assert client._slot.acquire(timeout=1)  # every ordinary slot taken
    try:
        assert client.get_job("abc", wait=0).job_id == "abc"  # a watch still goes through
    finally:
        client._slot.release()


def test_a_listed_job_becomes_a_jobref_only_when_asked_for(client, fake, monkeypatch):
    from jobs.uws import parse

    refs = "".join(
        f'<jobref id="j{n:03d}" href="x/j{n:03d}"><phase>COMPLETED</phase><runId>r{n}</runId>'
        f"<creationTime>2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z</creationTime></jobref>"
        for n in range(120)
    )
    document = f'<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0">{refs}</jobs>'
    fake.reply("GET", "/tap/async", body=document)
    made = []
    monkeypatch.setattr(parse, "_jobref", lambda row, made_ref=parse._jobref: made.append(row.id) or made_ref(row))
    listing = client.list_jobs()
    assert len(listing.jobs) == 120 and made == []
    page = listing.jobs[50:100]
    assert made == [f"j{n:03d}" for n in range(69, 19, -1)]
    assert page == parse.parse_job_list(document.encode()).newest_first()[50:100]
    assert listing.jobs[0] == parse.parse_job_list(document.encode()).newest_first()[0]
