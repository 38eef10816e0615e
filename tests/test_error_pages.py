"""The portal's own error pages: wrong methods, missing CSRF tokens, and short titles on every page."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.helpers import text

pytestmark = pytest.mark.django_db


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


def test_pages_have_a_short_title(client, fake):
    import re

    for url in ("/", "/fake/", "/mine", "/nosuch/"):
        title = re.search(r"<title>(.*?)</title>", text(client.get(url)), re.S)[1]
        assert len(title) < 80 and "<" not in title, (url, title)


def test_a_service_that_refuses_connections_is_marked_down_on_its_page_and_in_the_navigation(client, fake):
    from django.core.cache import cache

    cache.delete("down:dead")
    assert "(down)" not in text(client.get("/dead/"))
    assert client.get("/dead/async/abc").status_code == 502
    page = text(client.get("/fake/"))
    assert 'Dead service <span class="down">(down)</span>' in page
    assert "it may be down" in text(client.get("/dead/"))
    cache.delete("down:dead")
