"""Rules the plain data carries: which id names a listed job, the order of a list, parameters in any case."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs.uws.model import Job, JobList, JobRef, Parameter


def test_a_listed_job_is_named_by_the_last_segment_of_its_href():
    # CosmoSim's jobref ids are table names; the href names the job.
    ref = JobRef(id="my_table_2", phase="COMPLETED", href="https://example.org/uws/query/1479386030738")
    assert ref.job_id == "1479386030738"


def test_a_listed_job_without_a_usable_href_is_named_by_its_id_if_that_is_usable():
    assert JobRef(id="abc", phase="PENDING").job_id == "abc"
    assert JobRef(id="abc", phase="PENDING", href="https://example.org/async/").job_id == "async"
    assert JobRef(id="has space", phase="PENDING").job_id is None
    assert JobRef(id="../x", phase="PENDING", href="https://example.org/a%2Fb").job_id is None


def test_a_list_is_shown_newest_first_whatever_order_the_service_sent():
    def ref(name: str, day: int | None) -> JobRef:
        return JobRef(id=name, phase="COMPLETED", creation_time=datetime(2026, 1, day, tzinfo=UTC) if day else None)

    listing = JobList(jobs=(ref("b", 2), ref("undated", None), ref("c", 3), ref("a", 1)))
    assert [job.id for job in listing.newest_first()] == ["c", "b", "a", "undated"]


def test_parameters_are_found_whatever_case_the_service_writes_them_in():
    job = Job(job_id="j", phase="PENDING", parameters=(Parameter("QUERY", "SELECT 1"), Parameter("maxRec", "10")))
    assert (job.query, job.parameter("MAXREC"), job.parameter("format")) == ("SELECT 1", "10", None)
