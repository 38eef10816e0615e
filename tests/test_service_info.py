"""What a service says of itself (VOSI): shown, cached briefly, never required."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db

AVAILABLE = """<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">
<vosi:available>true</vosi:available><vosi:upSince>2026-11-20T08:00:00Z</vosi:upSince></vosi:availability>"""
CAPABILITIES = """<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
<outputFormat><mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>
<outputFormat><mime>text/csv</mime><alias>csv</alias></outputFormat>
<outputFormat><mime>application/x-parquet</mime><alias>parquet</alias></outputFormat>
<retentionPeriod><default>172800</default></retentionPeriod>
<executionDuration><default>3600</default><hard>7200</hard></executionDuration>
<outputLimit><default unit="row">20000</default><hard unit="row">2000000</hard></outputLimit>
</capability></vosi:capabilities>"""


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_start_page_asks_nothing_until_the_box_is_loaded(fake):
    page = Client().get("/fake/").content.decode()
    assert 'hx-get="/fake/service"' in page and 'href="/fake/service"' in page
    assert fake.requests == []


def test_the_service_box_shows_availability_and_limits(fake):
    fake.reply("GET", "/tap/availability", body=AVAILABLE)
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    page = Client().get("/fake/service").content.decode()
    assert "Up</strong> since 2026-11-20 08:00 UTC" in page
    assert "1 hour by default, at most 2 hours" in page
    assert "2 days by default" in page
    assert "20000 rows by default, at most 2000000 rows" in page


def test_the_capabilities_fill_the_format_choice_and_are_cached(fake):
    fake.reply("GET", "/tap/availability", body=AVAILABLE)
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    fragment = Client().get("/fake/service", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-swap-oob="true"' in fragment and '<option value="parquet">' in fragment
    page = Client().get("/fake/").content.decode()  # from the cache, no new request
    assert '<option value="parquet">' in page
    assert len(fake.requests) == 2


def test_a_service_format_is_accepted_by_the_new_query_form(fake):
    fake.reply("GET", "/tap/availability", body=AVAILABLE)
    fake.reply("GET", "/tap/capabilities", body=CAPABILITIES)
    fake.reply("POST", "/tap/async", 303, headers={"Location": "/tap/async/p1"})
    response = Client().post("/fake/async", {"query": "SELECT 1", "format": "parquet"})
    assert response.status_code == 302
    (created,) = [request for request in fake.requests if request.method == "POST"]
    assert created.form["FORMAT"] == ["parquet"]


def test_a_service_without_vosi_still_works(fake):
    page = Client().get("/dead/service").content.decode()
    assert "Availability unknown: The service refused the connection" in page
    assert "the portal works without them" in page
    assert '<option value="votable">' not in page  # the full page has no form
    home = Client().get("/dead/").content.decode()
    assert '<option value="votable" selected>' in home
