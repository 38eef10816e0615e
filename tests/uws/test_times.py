"""Times as UWS servers write them, and the one form the portal writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from jobs.uws.times import parse_time, utc_iso


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T10:00:00Z", utc(2026, 11, 24, 10)),
        ("2026-11-24T10:00:00.123456789Z", utc(2026, 11, 24, 10, 0, 0, 123456)),
        ("2026-11-24T10:00:00", utc(2026, 11, 24, 10)),
        ("2026-11-24 10:00", utc(2026, 11, 24, 10)),
        ("2026-11-24T11:00:00+0100", utc(2026, 11, 24, 10)),
        ("2026-11-24T08:00:00-02:00", utc(2026, 11, 24, 10)),
        ("2026-11-24", utc(2026, 11, 24)),
        ("2999-12-31T23:59:59Z", utc(2999, 12, 31, 23, 59, 59)),
        ("-1", None),
        ("", None),
        (None, None),
        ("2026-13-01T00:00:00Z", None),
        ("2026-11-24T25:00:00Z", None),
        ("tomorrow", None),
        ("0001-01-01T00:00:00+05:00", None),
    ],
)
def test_parse_time_reads_iso_8601_variants(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        (utc(2030, 1, 31, 12), "2030-01-31T12:00:00Z"),
        (datetime(2030, 1, 31, 13, tzinfo=timezone(timedelta(hours=1))), "2030-01-31T12:00:00Z"),
        (utc(2030, 1, 31, 12, 0, 0, 999_999), "2030-01-31T12:00:00Z"),  # services keep whole seconds
        (utc(999, 1, 1), "0999-01-01T00:00:00Z"),  # four digits, as ISO 8601 wants
    ],
)
def test_utc_iso_writes_utc_with_a_z_and_whole_seconds(moment, written):
    assert utc_iso(moment) == written
    assert parse_time(written) == moment.replace(microsecond=0)
