"""The parser and the error reading over the raw exchanges with VOLLT (../shared/vollt-samples).

VOLLT is the software of ESO's services: its documents have no `uws:` prefix, write nil
elements, name parameters in its own case, and put errors in VOTables; each document it
sent must read as what it is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobs.adql_errors import error_spot
from jobs.uws.model import ID_RE
from jobs.uws.parse import dali_error_message, parse_job, parse_job_list, service_message

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "vollt-samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no VOLLT samples: {SAMPLES} is absent")


def exchange(name: str) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the last answer recorded in a sample."""
    raw = (SAMPLES / name).read_bytes()
    answers = re.split(rb"(?m)^(?=HTTP/1\.1 \d{3})", raw.split(b"\n### elapsed", 1)[0])
    head, _, body = answers[-1].replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode("latin-1").split("\n")
    status = int(lines[0].split()[1])
    headers = {key.strip().lower(): value.strip() for key, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def samples() -> list[str]:
    """The samples that recorded an answer (one request timed out by design)."""
    if not SAMPLES.is_dir():
        return []
    return sorted(path.name for path in SAMPLES.glob("*.txt") if b"\nHTTP/1.1 " in path.read_bytes())


def root_of(body: bytes) -> str | None:
    match = re.search(rb"<(?!\?)(?:\w+:)?(\w+)[\s>]", body)
    return match[1].decode() if match else None


@pytest.mark.parametrize("name", [name for name in samples() if root_of(exchange(name)[2]) == "job"])
def test_every_job_document_reads_as_the_job_it_is(name):
    status, _, body = exchange(name)
    job = parse_job(body)
    assert status == 200
    assert job.phase == re.search(rb"<phase>(\w+)</phase>", body)[1].decode()
    assert ID_RE.fullmatch(job.job_id)
    assert job.owner_id is None  # written xsi:nil="true"
    if b'<parameter id="query">' in body:
        assert job.query and job.parameter("QUERY") == job.query
    if b'<parameter id="maxRec">' in body:
        assert job.parameter("maxrec").isdigit()


@pytest.mark.parametrize("name", [name for name in samples() if root_of(exchange(name)[2]) == "jobs"])
def test_every_job_list_reads_whole_and_links_each_job(name):
    body = exchange(name)[2]
    listing = parse_job_list(body)
    assert len(listing.jobs) == body.count(b"<jobref ")
    assert all(ref.job_id == ref.id and ref.creation_time is not None for ref in listing.jobs)


@pytest.mark.parametrize(
    "name", [name for name in samples() if exchange(name)[0] >= 400 and root_of(exchange(name)[2]) == "VOTABLE"]
)
def test_every_refusal_gives_the_services_own_words(name):
    status, headers, body = exchange(name)
    words = service_message(body, headers.get("content-type", ""))
    assert words and words == dali_error_message(body)


def test_a_job_stopped_at_its_execution_duration_is_told_apart_from_one_aborted():
    assert parse_job(exchange("093-job-after-executionduration-exceeded.txt")[2]).ran_out_of_time
    assert not parse_job(exchange("078-job-aborted-from-executing.txt")[2]).ran_out_of_time
    assert not parse_job(exchange("098-job-aborted-from-pending.txt")[2]).ran_out_of_time


def test_the_error_messages_point_into_their_queries():
    unknown = parse_job(exchange("111-job-error-unknown-column.txt")[2])
    spot = error_spot(unknown.error_summary.message, unknown.query)
    assert [text for line in spot.lines for text, marked in line.segments if marked] == ["nosuchcol"]
    syntax = parse_job(exchange("101-job-error-syntax.txt")[2])
    assert error_spot(syntax.error_summary.message, syntax.query).token == "SELEC"
    details = exchange("113-job-error-unknown-column-error-details.txt")[2]
    assert "[l.1 c.8 - l.1 c.17]" in dali_error_message(details)
