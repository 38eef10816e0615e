"""The parser over every real document of the shared corpus, and over our own."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.uws.model import Job, JobList
from jobs.uws.parse import (
    UWSParseError,
    dali_error_message,
    error_document,
    parse_job,
    parse_job_list,
    parse_job_rows,
)
from jobs.uws.times import parse_time

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "uws-corpus"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared UWS corpus is not at {CORPUS} (it lives in ../shared beside the repo)"
)


def _corpus_kinds() -> list[tuple[str, str]]:
    """(path, kind) for every corpus document, as PROVENANCE.md describes it."""
    if not CORPUS.is_dir():
        return []
    text = (CORPUS / "PROVENANCE.md").read_text()
    entries = re.findall(r"^### `([^`]+)`.*?^- kind: ([^\n]+)", text, flags=re.M | re.S)
    return entries


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@needs_corpus
def test_the_corpus_describes_all_55_documents():
    described = {path for path, _ in _corpus_kinds()}
    on_disk = {str(path.relative_to(CORPUS)) for path in CORPUS.glob("*/*")}
    assert described == on_disk
    assert len(described) == 55


@needs_corpus
@pytest.mark.parametrize(("name", "kind"), _corpus_kinds() or [("-", "-")], ids=lambda value: value)
def test_it_reads_every_corpus_document_as_what_it_is(name, kind):
    data = corpus(name)
    if kind.startswith("job list") or kind.startswith("ESAC jobs/async search"):
        listing = parse_job_list(data)
        assert isinstance(listing, JobList)
        assert all(ref.id and ref.phase for ref in listing.jobs)
    elif kind.startswith("job"):
        job = parse_job(data)
        assert isinstance(job, Job)
        assert job.job_id.strip() == job.job_id != ""
        assert job.phase in kind.split()[-1] or job.phase in kind
    elif kind.startswith("VOTable error"):
        assert dali_error_message(data)
    elif kind.startswith("VOTable result"):
        assert dali_error_message(data) is None
    else:  # schemas, JSON results, a bare results list: not jobs, and said so
        with pytest.raises(UWSParseError):
            parse_job(data)


@needs_corpus
def test_it_trims_cdata_and_reads_offsets_without_colon():
    job = parse_job(corpus("astroquery/casda_soda_job_EXECUTING.xml"))
    assert job.job_id == "a7b53da7-1201-46ee-8718-0bf5b64dd5b8"
    assert job.start_time == utc(2020, 4, 17, 0, 10, 22, 793000)
    assert job.execution_duration == 0
    assert job.destruction is None and job.quote is None and job.end_time is None
    assert job.parameter("ID") == "ABCDEF"


@needs_corpus
def test_it_reads_the_uws_1_1_example_completely():
    job = parse_job(corpus("ivoa-std_UWS/UWS-1.1-REC_example_job_COMPLETED.xml"))
    assert job.version == "1.1"
    assert job.run_id == "myjobref"
    assert job.owner_id is None
    assert job.creation_time == utc(2009, 5, 19, 17, 1, 44, 38000)
    assert job.execution_duration == 86400
    image = job.parameters[1]
    assert image.by_reference and image.value == "http://myserver.org/uws/jobs/jobid123/param/image"
    (result,) = job.results
    assert (result.id, result.size, result.mime_type) == ("correctedImage", 3000960, "image/fits")
    assert job.error_summary.message == "we have problem"
    assert job.error_summary.type == "transient" and job.error_summary.has_detail


@needs_corpus
def test_it_reads_the_pre_rec_namespace_and_null_owner():
    job = parse_job(corpus("opencadc_uws/test-job_v1.0rc3_EXECUTING.xml"))
    assert job.phase == "EXECUTING"
    assert job.owner_id is None
    assert job.start_time == utc(1977, 11, 25, 0, 10)


@needs_corpus
def test_it_reads_documents_with_undeclared_prefixes():
    job = parse_job(corpus("ivoa-std_DALI/DALI-1.1-REC_example_job_PENDING.xml"))
    assert (job.job_id, job.phase, job.owner_id, job.start_time) == ("123", "PENDING", None, None)
    diag = parse_job(corpus("pyvo/job_diag_result_only_COMPLETED.xml"))
    assert [(result.id, result.href) for result in diag.results] == [("diag", "uws:executing:10")]


@needs_corpus
def test_it_reads_a_quote_of_minus_one_as_unknown_and_esac_full_job_listings():
    listing = parse_job_list(corpus("astroquery/gaia_esac_jobs_async_search.xml"))
    assert [ref.id for ref in listing.jobs][:2] == ["1479386030738O", "14793860307381"]
    assert listing.jobs[0].creation_time is not None


@needs_corpus
def test_it_keeps_jobref_hrefs_that_differ_from_the_id():
    listing = parse_job_list(corpus("aipescience_uws-client/cosmosim_joblist.xml"))
    first = listing.jobs[0]
    assert first.id == "2014-06-03T15:33:29:4235"
    assert first.href == "https://www.cosmosim.org/uws/query/335912448787925"


@needs_corpus
def test_it_reads_an_error_summary_without_attributes_or_message_as_none():
    job = parse_job(corpus("pyvo/job_empty_errorSummary_ERROR.xml"))
    assert job.phase == "ERROR"
    assert job.error_summary is None


@needs_corpus
def test_it_finds_the_dali_status_wherever_it_sits_and_reads_the_last_one():
    assert dali_error_message(corpus("lsst-sqre_safir/safir_error_votable.xml")).startswith("Error: Whoops")
    assert dali_error_message(corpus("pyvo/query_overflowstatus.xml")) is None
    assert dali_error_message(corpus("pyvo/query_rootinfo.xml")) is None
    assert "no connection" in dali_error_message(corpus("astroquery/vizier_db_unreachable_error.xml"))


@needs_corpus
def test_it_keeps_duplicate_and_non_url_results():
    job = parse_job(corpus("lsst-sqre_sqr-094/rubin_cadc_job_COMPLETED_diag.xml"))
    assert [result.id for result in job.results].count("diag") == 7
    assert job.result("result").href.endswith("result_ae5m9odqwt7wi.xml")
    assert job.run_id is None  # <uws:runId/> is empty


def test_it_tolerates_odd_dates_whitespace_and_bare_error_text():
    job = parse_job((FIXTURES / "job_odd_dates.xml").read_bytes())
    assert job.phase == "EXECUTING"
    assert job.quote is None
    assert job.creation_time == utc(2026, 11, 24, 10, 0, 0)
    assert job.start_time == utc(2026, 11, 24, 9, 0, 0, 500000)
    assert job.end_time is None
    assert job.execution_duration is None
    assert job.destruction == utc(2026, 11, 30)
    assert job.error_summary.message == "bare text, no message element"
    assert job.results == () and job.parameters == ()


def test_it_reads_elements_in_any_order_and_keeps_unknown_phases():
    job = parse_job((FIXTURES / "job_unordered_nonstandard_phase.xml").read_bytes())
    assert job.job_id == "21530"
    assert job.phase == "STAGING"
    assert job.query == "SELECT * FROM t WHERE a < 3"
    assert job.owner_id is None
    assert job.results[0].href == "./21530/./results/result"
    assert job.results[0].size is None  # a negative size is no size


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"<html><body>Service down</body></html>",
        b"<uws:job xmlns:uws='http://www.ivoa.net/xml/UWS/v1.0'><uws:jobId>1</uws:jobId>",
        b"<uws:job xmlns:uws='http://www.ivoa.net/xml/UWS/v1.0'><uws:phase>PENDING</uws:phase></uws:job>",
        b"\xff\xfe garbage",
        b'{"jobId": "1"}',
    ],
    ids=["empty", "blank", "html", "truncated", "no-job-id", "binary", "json"],
)
def test_it_refuses_what_is_not_a_job_with_its_own_error(data):
    with pytest.raises(UWSParseError):
        parse_job(data)


def test_it_does_not_expand_entities():
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE job [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>x&d;</jobId><phase>PENDING</phase></job>"""
    try:
        job = parse_job(laughs)
    except UWSParseError:
        return
    assert len(job.job_id) < 100


def test_it_does_not_read_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    document = f"""<?xml version="1.0"?>
<!DOCTYPE job [<!ENTITY x SYSTEM "file://{secret}">]>
<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>j&x;</jobId><phase>PENDING</phase></job>""".encode()
    try:
        job = parse_job(document)
    except UWSParseError:
        return
    assert "TOPSECRET" not in job.job_id


def test_it_refuses_a_list_where_a_job_is_expected_and_the_reverse():
    listing = b"<jobs xmlns='http://www.ivoa.net/xml/UWS/v1.0' version='1.1'/>"
    with pytest.raises(UWSParseError, match="expected a UWS job document"):
        parse_job(listing)
    assert parse_job_list(listing) == JobList(jobs=(), version="1.1")
    with pytest.raises(UWSParseError, match="expected a UWS job list"):
        parse_job_list(b"<job xmlns='http://www.ivoa.net/xml/UWS/v1.0'><jobId>1</jobId></job>")


def test_error_document_keeps_any_format_and_pulls_the_dali_message():
    votable = (
        b'<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
        b'<INFO name="QUERY_STATUS" value="ERROR">Could not parse your query (line:1, col:8)</INFO>'
        b"</RESOURCE></VOTABLE>"
    )
    document = error_document(votable, "text/xml")
    assert document.message == "Could not parse your query (line:1, col:8)"
    plain = error_document(b"Table not found\n", "text/plain")
    assert (plain.message, plain.text) == (None, "Table not found\n")
    assert error_document(b"\xff\xfeoops", "application/octet-stream").text.endswith("oops")


def test_a_jobref_keeps_the_first_of_each_field_and_reads_nil_cdata_and_spaces():
    listing = parse_job_list(
        b'<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0" xmlns:x="urn:x"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<jobref x:id=" a " id="b" href=" h "><phase> executing </phase><phase>ERROR</phase>'
        b"<ownerId>NULL</ownerId><runId><![CDATA[ r ]]></runId></jobref>"
        b'<jobref id="c"><creationTime xsi:nil="true">2026-01-01T00:00:00Z</creationTime>'
        b"<ownerId> me </ownerId></jobref>"
        b'<jobref id=" "><phase>PENDING</phase></jobref></jobs>'
    )
    assert [(ref.id, ref.phase, ref.href, ref.run_id, ref.owner_id, ref.creation_time) for ref in listing.jobs] == [
        ("a", "EXECUTING", "h", "r", None, None),
        ("c", "UNKNOWN", None, None, "me", None),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00.5Z",
        "2026-01-31T12:00:00.123456Z",
        "2026-01-31T12:00:00.1234567Z",
        "2026-01-31 12:00:00+01:00",
        "2026-01-31T12:00:00",
        "2026-02-30T12:00:00Z",
        "2026-01-31T24:00:00Z",
        "0000-01-01T00:00:00Z",
        "-1",
    ],
)
def test_a_listed_creation_time_is_read_as_parse_time_reads_it(text):
    listing = parse_job_list(
        f'<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobref id="a"><creationTime>{text}'
        f"</creationTime></jobref></jobs>".encode()
    )
    assert listing.jobs[0].creation_time == parse_time(text)
    assert parse_job(
        f'<job xmlns="http://www.ivoa.net/xml/UWS/v1.0"><jobId>a</jobId><creationTime>{text}</creationTime></job>'.encode()
    ).creation_time == parse_time(text)


ODD_LIST = (
    b'<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0" xmlns:x="urn:x"'
    b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b'<jobref x:id=" a " id="b"><phase> executing </phase><phase>ERROR</phase>'
    b"<creationTime><![CDATA[2026-01-01T00:00:00Z]]></creationTime></jobref>"
    b'<jobref id="c"><phase xsi:nil="true">QUEUED</phase><creationTime xsi:nil="true">2026-01-01T00:00:00Z'
    b"</creationTime></jobref>"
    b'<jobref id=" "><phase>PENDING</phase></jobref>'
    b"<job><jobId>d</jobId><phase>held</phase><creationTime>2026-01-02 00:00:00+01:00</creationTime></job>"
    b"<job><phase>COMPLETED</phase></job></jobs>"
)


def _own_and_corpus_lists() -> list[bytes]:
    kinds = _corpus_kinds()
    names = [name for name, kind in kinds if kind.startswith(("job list", "ESAC jobs/async search"))]
    return [ODD_LIST, *(corpus(name) for name in names)]


@pytest.mark.parametrize("data", _own_and_corpus_lists())
def test_a_lists_rows_are_its_jobrefs_id_phase_and_creation_time_in_order(data):
    version, rows = parse_job_rows(data)
    listing = parse_job_list(data)
    assert version == listing.version
    assert [(row.id, row.phase, row.creation_time) for row in rows] == [
        (ref.id, ref.phase, ref.creation_time) for ref in listing.jobs
    ]
    assert tuple(row.ref() for row in rows) == listing.jobs


def test_odd_rows_follow_the_jobref_rules():
    _, rows = parse_job_rows(ODD_LIST)
    assert [(row.id, row.phase, row.creation_time) for row in rows] == [
        ("a", "EXECUTING", utc(2026, 1, 1)),
        ("c", "UNKNOWN", None),
        ("d", "HELD", utc(2026, 1, 1, 23)),
    ]
