"""The template engine's helpers (portal/templating.py) and what every page gets from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import Client

from portal.templating import clock, utc
from tests.fakeuws import job_xml


def test_utc_writes_times_in_utc_to_the_second_or_minute():
    plus_eight = timezone(timedelta(hours=8))
    assert utc(datetime(2030, 1, 31, 20, 0, 5, 123456, tzinfo=plus_eight)) == "2030-01-31 12:00:05"
    assert utc(datetime(2030, 1, 31, 12, 0, 5, tzinfo=UTC), "minutes") == "2030-01-31 12:00"
    assert clock(datetime(2030, 1, 31, 20, 0, 5, tzinfo=plus_eight)) == "12:00:05"


def test_utc_pads_years_before_1000_to_four_digits():
    assert utc(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31 23:59:59"


@pytest.mark.parametrize("missing", [None, ""])
def test_a_missing_time_prints_nothing(missing):
    assert utc(missing) == "" and clock(missing) == ""


@pytest.mark.django_db
def test_the_forms_of_a_page_share_one_csrf_token(fake):
    fake.reply("GET", "/tap/async/abc123", body=job_xml(phase="PENDING"))
    client = Client(enforce_csrf_checks=True)
    page = client.get("/fake/async/abc123").content.decode()
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert len(tokens) >= 5 and len(set(tokens)) == 1
    # And the token works: the run form posts.
    fake.reply("POST", "/tap/async/abc123/phase", status=303, headers={"Location": f"{fake.url}/tap/async/abc123"})
    answer = client.post("/fake/async/abc123", {"PHASE": "RUN", "csrfmiddlewaretoken": tokens[0]})
    assert answer.status_code == 302


@pytest.mark.django_db
def test_a_page_without_a_form_sets_no_csrf_cookie():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert "csrftoken" not in response.cookies


def test_every_template_compiles():
    """What a gunicorn worker does before its first request (portal/gunicorn.conf.py)."""
    from pathlib import Path

    from django.conf import settings

    from portal.templating import compile_all

    assert compile_all() == len(list(Path(settings.BASE_DIR, "templates").rglob("*.html")))


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "unlimited"),
        (45, "45 seconds"),
        (600, "10 minutes"),
        (3600, "1 hour"),
        (5400, "1 hour 30 minutes"),
        (86400, "1 day"),
        (90061, "1 day 1 hour"),
        (15552000, "180 days"),
    ],
)
def test_durations_are_written_in_human_units(seconds, shown):
    from portal.templating import duration

    assert duration(seconds) == shown
