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
