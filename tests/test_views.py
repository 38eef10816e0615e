"""The portal's pages against a scripted service: what the user sees, what is sent."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fakeuws import Reply, job_xml

pytestmark = pytest.mark.django_db

DALI_ERROR = (
    '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
    '<INFO name="QUERY_STATUS" value="ERROR">{}</INFO></RESOURCE></VOTABLE>'
)
SEE_JOB = {"Location": "http://127.0.0.1/ignored"}


@pytest.fixture
def client() -> Client:
    return Client()


def text(response) -> str:
    return response.content.decode()


def changes(fake) -> list:
    """What the portal asked the service to change (its reads left out)."""
    return [request for request in fake.requests if request.method != "GET"]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- start pages ---------------------------------------------------------------------


def test_home_shows_the_seven_operations_and_the_new_query_form(client, fake):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    for label in ("Run", "Status", "Execution duration", "Destruction", "Results", "Abort", "Delete"):
        assert f"<h3>{label}</h3>" in page
    assert page.count('name="job_id"') == 7
    assert 'action="/fake/async"' in page
    assert fake.requests == []  # nothing is asked of a service to show the page


def test_service_page_is_for_that_service_and_unknown_ones_are_404(client, fake):
    assert 'value="dead"' in text(client.get("/dead/"))
    response = client.get("/nosuch/")
    assert response.status_code == 404
    assert "no service named nosuch" in text(response)


def test_status_form_ends_at_the_job_page(client, fake):
    response = client.get("/go", {"service": "fake", "op": "status", "job_id": "abc123"})
    assert response.status_code == 302
    assert response["Location"] == "/fake/async/abc123"


def test_results_form_ends_at_the_jobs_results(client, fake):
    response = client.get("/go", {"service": "fake", "op": "results", "job_id": "abc123"})
    assert response["Location"] == "/fake/async/abc123#results"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"op": "status", "job_id": "../etc"}, "A job id is made of"),
        ({"op": "status", "job_id": ""}, "This field is required"),
        ({"op": "executionduration", "job_id": "abc", "executionduration": "1.5"}, "whole number of seconds"),
        ({"op": "executionduration", "job_id": "abc", "executionduration": "-3"}, "whole number of seconds"),
        ({"op": "destruction", "job_id": "abc", "destruction": "next week"}, "ISO 8601"),
        ({"op": "destruction", "job_id": "abc", "destruction": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"op": "status", "job_id": "abc", "service": "elsewhere"}, "Select a valid choice"),
    ],
)
def test_job_id_forms_refuse_bad_input_without_asking_the_service(client, fake, data, message):
    response = client.post("/go", {"service": "fake", **data})
    assert response.status_code == 400
    assert message in text(response)
    assert fake.requests == []


def test_run_form_runs_the_job_and_ends_at_its_page(client, fake):
    fake.reply("POST", "/tap/async/abc123/phase", 303, headers=SEE_JOB)
    fake.route(
        "GET",
        "/tap/async/abc123",
        lambda request: Reply(body=job_xml(phase="EXECUTING" if changes(fake) else "PENDING").encode()),
    )
    response = client.post("/go", {"service": "fake", "op": "run", "job_id": "abc123"}, follow=True)
    assert response.redirect_chain[-1][0] == "/fake/async/abc123"
    (run,) = changes(fake)
    assert run.form == {"PHASE": ["RUN"]}
    assert "Run requested: the job is now EXECUTING." in messages_of(response)


def test_changing_forms_need_a_post(client, fake):
    response = client.get("/go", {"service": "fake", "op": "delete", "job_id": "abc"})
    assert response.status_code == 405
    assert fake.requests == []


# -- the job page --------------------------------------------------------------------


def test_job_page_shows_everything_parsed(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc123",
        body=job_xml(
            phase="COMPLETED",
            execution_duration="0",
            query="SELECT TOP 5 ra, dec FROM ivoa.obscore WHERE a < 1",
            results=f'<uws:result id="result" xlink:href="{fake.url}/tap/async/abc123/results/result" '
            'mime-type="application/x-votable+xml" size="2048"/>',
        ),
    )
    response = client.get("/fake/async/abc123")
    assert response.status_code == 200
    page = text(response)
    assert 'Phase: <span class="phase">COMPLETED</span>' in page
    assert "finished successfully" in page
    assert "unlimited" in page
    assert "<code>SELECT TOP 5 ra, dec FROM ivoa.obscore WHERE a &lt; 1</code>" in page
    assert 'href="/fake/async/abc123/results/result"' in page
    assert "2.0\xa0KB" in page
    assert "2099-01-01 00:00:00 UTC" in page and "(expires in " in page
    # In COMPLETED only destruction and delete make sense.
    assert 'name="DESTRUCTION"' in page and 'value="DELETE"' in page
    assert 'value="RUN"' not in page and 'value="ABORT"' not in page and 'name="EXECUTIONDURATION"' not in page


def test_pending_job_page_offers_run_abort_and_limits(client, fake):
    fake.reply("GET", "/tap/async/abc123", body=job_xml(phase="PENDING"))
    page = text(client.get("/fake/async/abc123"))
    for control in ('value="RUN"', 'value="ABORT"', 'name="EXECUTIONDURATION"', 'name="DESTRUCTION"', 'value="DELETE"'):
        assert control in page


def test_error_job_page_shows_the_summary_and_links_the_error_document(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc123",
        body=job_xml(
            phase="ERROR",
            error='<uws:errorSummary type="fatal" hasDetail="true"><uws:message>Could not locate table</uws:message>'
            "</uws:errorSummary>",
        ),
    )
    page = text(client.get("/fake/async/abc123"))
    assert "Could not locate table" in page
    assert 'href="/fake/async/abc123/error"' in page


def test_unknown_job_is_a_404_naming_service_and_job(client, fake):
    fake.reply("GET", "/tap/async/nosuchjob", 404, DALI_ERROR.format("UWS job 'nosuchjob' could not be located"))
    response = client.get("/fake/async/nosuchjob")
    assert response.status_code == 404
    page = text(response)
    assert "Fake service" in page and "nosuchjob" in page
    assert "could not be located" in page


def test_job_ids_that_could_leave_the_path_are_404_before_any_request(client, fake):
    for url in ("/fake/async/..%2Fsecret", "/fake/async/a%0d%0aX:1", "/fake/async/" + "a" * 200):
        assert client.get(url).status_code == 404
    assert fake.requests == []


def test_dead_service_is_a_502_saying_so(client, fake):
    response = client.get("/dead/async/abc")
    assert response.status_code == 502
    assert "refused the connection" in text(response)


def test_slow_service_is_a_504_saying_so(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 0.5)
    fake.reply("GET", "/tap/async/abc", body=job_xml(), delay=1.5)
    response = client.get("/fake/async/abc")
    assert response.status_code == 504
    assert "did not answer in time" in text(response)


def test_garbage_from_the_service_is_a_502(client, fake):
    fake.reply("GET", "/tap/async/abc", body="<html>Oops</html>", headers={"Content-Type": "text/html"})
    response = client.get("/fake/async/abc")
    assert response.status_code == 502
    assert "could not be read" in text(response)


def test_text_from_the_service_is_escaped(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", query="<script>alert(1)</script>"))
    page = text(client.get("/fake/async/abc"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- operations on the job page --------------------------------------------------------


@pytest.mark.parametrize(
    ("posted", "path", "sent"),
    [
        ({"PHASE": "RUN"}, "/tap/async/abc/phase", {"PHASE": ["RUN"]}),
        ({"phase": "abort"}, "/tap/async/abc/phase", {"PHASE": ["ABORT"]}),
        ({"ExecutionDuration": "120"}, "/tap/async/abc/executionduration", {"EXECUTIONDURATION": ["120"]}),
        (
            {"DESTRUCTION": "2030-01-01T01:00:00+01:00"},
            "/tap/async/abc/destruction",
            {"DESTRUCTION": ["2030-01-01T00:00:00Z"]},
        ),
    ],
)
def test_each_operation_sends_the_standard_request_and_redirects(client, fake, posted, path, sent):
    fake.reply("POST", path, 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    response = client.post("/fake/async/abc", posted)
    assert response.status_code == 302
    assert response["Location"] == "/fake/async/abc"
    (change,) = changes(fake)
    assert (change.method, change.path, change.form) == ("POST", path, sent)
    assert fake.requests[-1].method == "GET"  # the job is read again to show what the service kept


def test_a_clamped_duration_says_what_the_service_kept(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", execution_duration="3600"))
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "99999"}, follow=True)
    assert "You asked for 99999 s; the service kept 3600 s." in messages_of(response)


def test_a_destruction_change_reports_the_kept_value(client, fake):
    fake.reply("POST", "/tap/async/abc/destruction", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", destruction="2030-01-01T00:00:00Z"))
    response = client.post("/fake/async/abc", {"DESTRUCTION": "2030-01-01T00:00:00Z"}, follow=True)
    assert "Destruction set to 2030-01-01T00:00:00Z." in messages_of(response)


def test_a_refused_action_shows_the_job_page_with_the_services_words(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 200, DALI_ERROR.format("Cannot change in phase ERROR"))
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ERROR"))
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"})
    assert response.status_code == 409
    page = text(response)
    assert "Cannot change in phase ERROR" in page
    assert "Job <code>abc</code>" in page


def test_a_403_refusal_shows_the_job_page_too(client, fake):
    fake.reply(
        "POST",
        "/tap/async/abc/phase",
        403,
        "Job is not in a phase that allows this",
        headers={"Content-Type": "text/plain"},
    )
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED"))
    response = client.post("/fake/async/abc", {"PHASE": "ABORT"})
    assert response.status_code == 409
    assert "Job is not in a phase that allows this" in text(response)


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"EXECUTIONDURATION": "ten"}, "whole number of seconds"),
        ({"EXECUTIONDURATION": ""}, "This field is required"),
        ({"DESTRUCTION": "2000-01-01T00:00:00Z"}, "in the past"),
        ({"DESTRUCTION": "soon"}, "ISO 8601"),
        ({"PHASE": "SUSPEND"}, "PHASE must be RUN or ABORT"),
        ({"ACTION": "EXPLODE"}, "Nothing to do"),
        ({}, "Nothing to do"),
    ],
)
def test_bad_input_on_the_job_page_sends_nothing(client, fake, posted, message):
    response = client.post("/fake/async/abc", posted)
    assert response.status_code == 400
    assert message in text(response)
    assert "Nothing was sent to the service." in text(response)
    assert fake.requests == []


def test_delete_goes_to_the_job_list_and_checks_the_job_is_gone(client, fake):
    fake.reply("DELETE", "/tap/async/abc", 303, headers={"Location": f"{fake.url}/tap/async"})
    fake.job_until_deleted("/tap/async/abc", job_xml(job_id="abc"))
    response = client.post("/fake/async/abc", {"action": "delete", "confirmed": "yes"})
    assert response.status_code == 302
    assert response["Location"] == "/fake/async"
    assert [(request.method, request.path) for request in fake.requests] == [
        ("GET", "/tap/async/abc"),
        ("DELETE", "/tap/async/abc"),
        ("GET", "/tap/async/abc"),
    ]


def test_an_archiving_delete_is_reported_as_such(client, fake):
    fake.reply("DELETE", "/tap/async/abc", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="ARCHIVED"))
    fake.reply("GET", "/tap/async", body='<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0"/>')
    response = client.post("/fake/async/abc", {"ACTION": "DELETE", "CONFIRMED": "yes"}, follow=True)
    assert "The service archived job abc instead of deleting it." in messages_of(response)


def test_an_action_on_a_dead_service_says_nothing_was_done(client, fake):
    response = client.post("/dead/async/abc", {"PHASE": "RUN"})
    assert response.status_code == 502
    assert "refused the connection" in text(response)


# -- job list and new jobs ---------------------------------------------------------------


def jobs_xml(count: int) -> str:
    refs = "".join(
        f'<uws:jobref id="job{n:05d}" xlink:href="x/job{n:05d}"><uws:phase>COMPLETED</uws:phase>'
        f"<uws:creationTime>2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z</uws:creationTime></uws:jobref>"
        for n in range(count)
    )
    return (
        '<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1">{refs}</uws:jobs>'
    )


def test_job_list_passes_filters_and_pages_newest_first(client, fake):
    fake.reply("GET", "/tap/async", body=jobs_xml(120))
    response = client.get(
        "/fake/async", {"PHASE": ["completed", "ERROR"], "after": "2026-01-01T00:00:00+01:00", "LAST": "120"}
    )
    assert response.status_code == 200
    assert [request.query for request in fake.requests] == [
        {"PHASE": [phase], "AFTER": ["2025-12-31T23:00:00Z"], "LAST": ["120"]} for phase in ("COMPLETED", "ERROR")
    ]
    page = text(response)
    assert "120 jobs, page 1 of 3" in page
    assert page.index("job00119") < page.index("job00070")
    assert "job00069" not in page
    second = text(client.get("/fake/async", {"LAST": "120", "page": "2"}))
    assert "job00069" in second and "job00119" not in second


@pytest.mark.parametrize(
    "query", [{"PHASE": "RUNNING"}, {"AFTER": "yesterday"}, {"LAST": "-1"}, {"LAST": "x"}, {"page": "0"}]
)
def test_bad_list_filters_are_refused_without_a_request(client, fake, query):
    response = client.get("/fake/async", query)
    assert response.status_code == 400
    assert fake.requests == []


def test_new_query_creates_runs_and_redirects_to_the_job(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "http://elsewhere/tap/async/n3w"})
    fake.reply("POST", "/tap/async/n3w/phase", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/n3w", body=job_xml(job_id="n3w", phase="QUEUED"))
    response = client.post(
        "/fake/async", {"query": "SELECT TOP 1 * FROM t", "format": "csv", "maxrec": "10", "runid": "mine", "run": "on"}
    )
    assert response["Location"] == "/fake/async/n3w"
    created = fake.requests[0]
    assert created.form == {
        "REQUEST": ["doQuery"],
        "LANG": ["ADQL"],
        "QUERY": ["SELECT TOP 1 * FROM t"],
        "FORMAT": ["csv"],
        "MAXREC": ["10"],
        "RUNID": ["mine"],
    }
    assert (fake.requests[1].path, fake.requests[1].form) == ("/tap/async/n3w/phase", {"PHASE": ["RUN"]})


def test_new_query_without_run_leaves_it_pending(client, fake):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/p1"})
    response = client.post("/fake/async", {"query": "SELECT 1", "format": "votable"}, follow=True)
    assert "Job p1 created. It waits (PENDING) until you run it." in messages_of(response)
    assert [request.method for request in fake.requests][:1] == ["POST"]
    assert all(request.path != "/tap/async/p1/phase" for request in fake.requests)


def test_an_empty_query_is_refused_before_any_request(client, fake):
    response = client.post("/fake/async", {"query": "   ", "format": "votable"})
    assert response.status_code == 400
    assert "The query is empty" in text(response)
    assert fake.requests == []


# -- results and errors ---------------------------------------------------------------------

RESULT = '<uws:result id="result" xlink:href="{}"/>'


def test_result_is_streamed_with_type_length_and_a_file_name(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(
            job_id="abc", phase="COMPLETED", results=RESULT.format(f"{fake.url}/x/__system__/abc/results/result")
        ),
    )
    fake.reply("GET", "/tap/async/abc/results/result", body="a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Length"] == "8"
    assert response["Content-Disposition"] == 'attachment; filename="abc-result.csv"'


def test_a_result_the_job_does_not_have_is_a_404_saying_what_it_has(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 404
    assert "is EXECUTING and lists" in text(response)


def test_a_result_on_another_host_is_linked_not_proxied(client, fake):
    signed = "https://storage.example.org/b/r.fits?sig=1"
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(job_id="abc", phase="COMPLETED", results=RESULT.format(signed.replace("&", "&amp;"))),
    )
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 302
    assert response["Location"] == signed
    assert [request.path for request in fake.requests] == ["/tap/async/abc"]


def test_error_document_is_shown(client, fake):
    fake.reply("GET", "/tap/async/abc/error", body=DALI_ERROR.format("Could not parse your query (line:1, col:8)"))
    response = client.get("/fake/async/abc/error")
    assert response.status_code == 200
    assert "Could not parse your query (line:1, col:8)" in text(response)


def test_an_empty_error_document_is_said_to_be_empty(client, fake):
    fake.route("GET", "/tap/async/abc/error", lambda request: Reply(200, b"", {"Content-Type": "text/plain"}))
    assert "no error document" in text(client.get("/fake/async/abc/error"))


def test_job_list_links_by_the_href_when_the_jobref_id_is_not_the_job_id(client, fake):
    fake.reply(
        "GET",
        "/tap/async",
        body='<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<uws:jobref id="2014-06-03T15:33:29:4235" xlink:href="https://h/uws/query/335912448787925">'
        "<uws:phase>COMPLETED</uws:phase></uws:jobref>"
        '<uws:jobref id="bad id"><uws:phase>ERROR</uws:phase></uws:jobref></uws:jobs>',
    )
    page = text(client.get("/fake/async"))
    assert 'href="/fake/async/335912448787925"' in page
    assert "(2014-06-03T15:33:29:4235)" in page
    assert "<code>bad id</code>" in page and 'href="/fake/async/bad' not in page


def test_other_methods_get_a_page_that_says_so(client, fake):
    response = client.put("/fake/async/abc")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert "does not take PUT" in text(response)
    assert fake.requests == []


def test_a_form_without_its_csrf_token_is_refused_with_a_page(fake):
    response = Client(enforce_csrf_checks=True).post("/fake/async/abc", {"PHASE": "RUN"})
    assert response.status_code == 403
    assert "Nothing was sent to the service." in text(response)
    assert fake.requests == []


def test_a_large_result_streams_through_in_constant_memory(client, fake):
    import tracemalloc

    size, chunk = 200 * 1024 * 1024, b"x" * (1024 * 1024)
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(
            job_id="abc", phase="COMPLETED", results=RESULT.format(f"{fake.url}/tap/async/abc/results/result")
        ),
    )
    fake.route(
        "GET",
        "/tap/async/abc/results/result",
        lambda request: Reply(
            body=(chunk for _ in range(size // len(chunk))),
            headers={"Content-Type": "application/x-votable+xml", "Content-Length": str(size)},
        ),
    )
    tracemalloc.start()
    try:
        response = client.get("/fake/async/abc/results/result")
        assert response["Content-Length"] == str(size)
        assert response["Content-Disposition"] == 'attachment; filename="abc-result.vot"'
        received = sum(len(piece) for piece in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB result"


def test_the_job_page_links_a_result_on_another_host_directly(client, fake):
    signed = "https://storage.example.org/b/r.fits?sig=1&amp;exp=2"
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", results=RESULT.format(signed)))
    page = text(client.get("/fake/async/abc"))
    assert 'href="https://storage.example.org/b/r.fits?sig=1&amp;exp=2" rel="noreferrer"' in page
    assert "/fake/async/abc/results/result" not in page


def test_relative_result_hrefs_are_resolved_and_pseudo_results_are_not_links(client, fake):
    results = (
        '<uws:result id="votable.xml" xlink:href="./abc/./results/result"/>'
        '<uws:result id="diag" xlink:href="uws:executing:4"/>'
        '<uws:result id="evil" xlink:href="javascript:alert(1)"/>'
    )
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", results=results))
    page = text(client.get("/fake/async/abc"))
    assert 'href="/fake/async/abc/results/votable.xml"' in page
    assert "uws:executing:4" in page and 'href="uws:' not in page
    assert 'href="javascript:' not in page


def test_the_start_page_picks_a_service(client, fake):
    page = text(client.get("/", {"service": "dead"}))
    assert '<option value="dead" selected>' in page
    assert 'name="service" value="dead"' in page  # the job-id forms are for it


def test_a_delete_asks_for_confirmation_first(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="COMPLETED", query="SELECT 42"))
    for response in (
        client.post("/fake/async/abc", {"ACTION": "DELETE"}),
        client.post("/go", {"service": "fake", "op": "delete", "job_id": "abc"}),
    ):
        page = text(response)
        assert response.status_code == 200
        assert "cannot be undone" in page and "SELECT 42" in page and "COMPLETED" in page
        assert 'name="CONFIRMED" value="yes"' in page
    assert changes(fake) == []  # nothing deleted yet


def test_an_action_that_times_out_says_it_may_or_may_not_have_happened(client, fake, monkeypatch):
    monkeypatch.setattr("jobs.uws.transport.READ_TIMEOUT", 0.5)
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB, delay=1.5)
    page = text(client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"}))
    assert "may or may not have done it" in page


def test_an_action_accepted_but_not_read_back_says_so(client, fake):
    fake.reply("POST", "/tap/async/abc/executionduration", 303, headers=SEE_JOB)
    fake.reply("GET", "/tap/async/abc", 500, "<html>down</html>", headers={"Content-Type": "text/html"})
    response = client.post("/fake/async/abc", {"EXECUTIONDURATION": "60"})
    assert response.status_code == 502
    assert "accepted the request to change the execution duration, but reading the job back failed" in text(response)


def test_a_created_job_that_could_not_be_started_is_said_to_exist(client, fake, monkeypatch):
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/n1"})
    fake.reply("POST", "/tap/async/n1/phase", 502, "<html>proxy error</html>", headers={"Content-Type": "text/html"})
    page = text(client.post("/fake/async", {"query": "SELECT 1", "format": "votable", "run": "on"}))
    assert "Job n1 was created and is listed in My jobs, but the service did not start it." in page


def test_pages_have_a_short_title(client, fake):
    import re

    for url in ("/", "/fake/", "/mine", "/nosuch/"):
        title = re.search(r"<title>(.*?)</title>", text(client.get(url)), re.S)[1]
        assert len(title) < 80 and "<" not in title, (url, title)
