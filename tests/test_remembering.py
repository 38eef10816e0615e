"""RememberedJob.remember: what a job page writes, whichever process wrote the entry before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.models import RememberedJob
from jobs.uws.model import Job, Parameter

pytestmark = pytest.mark.django_db

BROWSER = "b" * 32
QUERY = (Parameter("query", "SELECT  1\n FROM t"),)
CREATED = datetime(2026, 1, 31, 12, 0, 0, 250000, tzinfo=UTC)


def _job(phase: str = "EXECUTING", created: datetime | None = CREATED) -> Job:
    return Job("abc123", phase, creation_time=created, parameters=QUERY)


def _entry() -> RememberedJob:
    return RememberedJob.objects.get(browser=BROWSER, service="fake", job_id="abc123")


@pytest.mark.parametrize("created", [CREATED, None])
def test_an_unchanged_job_costs_one_query_and_writes_nothing(django_assert_num_queries, created):
    RememberedJob.remember(BROWSER, "fake", "abc123", _job(created=created))
    seen = _entry().seen_at
    with django_assert_num_queries(1):
        RememberedJob.remember(BROWSER, "fake", "abc123", _job(created=created))
    assert _entry().seen_at == seen


def test_an_entry_deleted_meanwhile_is_made_again():
    RememberedJob.remember(BROWSER, "fake", "abc123", _job())
    RememberedJob.objects.all().delete()  # as another worker does when the user removes it
    RememberedJob.remember(BROWSER, "fake", "abc123", _job())
    assert (_entry().phase, _entry().creation_time, _entry().query_start) == ("EXECUTING", CREATED, "SELECT 1 FROM t")


def test_an_entry_changed_meanwhile_is_set_to_what_the_service_says():
    RememberedJob.remember(BROWSER, "fake", "abc123", _job())
    RememberedJob.objects.update(phase="QUEUED", creation_time=None, query_start="")
    RememberedJob.remember(BROWSER, "fake", "abc123", _job())
    assert (_entry().phase, _entry().creation_time, _entry().query_start) == ("EXECUTING", CREATED, "SELECT 1 FROM t")
    RememberedJob.remember(BROWSER, "fake", "abc123", _job("COMPLETED", created=None))
    assert (_entry().phase, _entry().creation_time) == ("COMPLETED", None)


def test_the_entry_of_a_job_is_the_browsers_own_or_none():
    RememberedJob.remember(BROWSER, "fake", "abc123", _job())
    RememberedJob.objects.update(notify=True)
    assert RememberedJob.entry(BROWSER, "fake", "abc123") == _entry()
    assert RememberedJob.entry(BROWSER, "fake", "abc123").notify is True
    assert RememberedJob.entry("c" * 32, "fake", "abc123") is None
    assert RememberedJob.entry(BROWSER, "other", "abc123") is None
