"""The database the suite runs on is the one the environment names (portal/settings.py)."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from jobs.models import RememberedJob
from jobs.uws.model import Job, Parameter

pytestmark = pytest.mark.django_db


def test_the_suite_runs_on_the_database_that_database_url_names():
    url = os.environ.get("DATABASE_URL", "")
    assert connection.vendor == ("postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite")


def test_a_job_is_remembered_once_and_follows_its_phase():
    query = (Parameter("query", "SELECT  1\n FROM t"),)
    RememberedJob.remember("b" * 32, "fake", "abc123", Job("abc123", "EXECUTING", parameters=query))
    RememberedJob.remember("b" * 32, "fake", "abc123", Job("abc123", "COMPLETED", parameters=query))
    (entry,) = RememberedJob.objects.filter(browser="b" * 32)
    assert (entry.service, entry.job_id, entry.phase, entry.query_start) == (
        "fake",
        "abc123",
        "COMPLETED",
        "SELECT 1 FROM t",
    )


def test_sqlite_as_the_portal_opens_it_is_in_wal_mode_and_commits_without_waiting_for_the_disk(tmp_path):
    from django.db.utils import ConnectionHandler

    from portal import settings as portal_settings

    if os.environ.get("DATABASE_URL"):
        pytest.skip("the portal's settings name PostgreSQL here")
    handler = ConnectionHandler(
        {"default": {**portal_settings.DATABASES["default"], "NAME": str(tmp_path / "db.sqlite3")}}
    )
    opened = handler["default"]
    try:
        with opened.cursor() as cursor:
            assert cursor.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert cursor.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    finally:
        opened.close()
