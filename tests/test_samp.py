"""Send with SAMP: the button on results and previews, sampjs as published, and the CSP opened to the hub only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.test import Client

from tests.test_result_preview import serve, votable

pytestmark = pytest.mark.django_db

SAMPJS = Path(__file__).resolve().parents[1] / "static" / "js" / "sampjs-1.0.3" / "samp.js"
# samp.js of the npm package sampjs 1.0.3 (`npm pack sampjs@1.0.3`), byte for byte.
SAMPJS_SHA256 = "399858fe6c10ab1c55c09217178135999b866433a9f3e0b1f0748d4e2abd61bf"


def test_sampjs_is_the_published_file():
    assert hashlib.sha256(SAMPJS.read_bytes()).hexdigest() == SAMPJS_SHA256


def test_the_policy_lets_pages_reach_the_web_profile_hub_and_nothing_else(fake):
    response = Client().get("/fake/")
    directives = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert directives["connect-src"] == "'self' http://localhost:21012"
    assert directives["script-src"] == "'self'"


def test_a_votable_result_has_the_button_with_its_absolute_url(fake):
    serve(fake, votable(3), "application/x-votable+xml")
    for path, button in (("/fake/async/j1", "result-1-samp"), ("/fake/async/j1/results/result/preview", "result-samp")):
        page = Client().get(path).content.decode()
        assert f'id="{button}"' in page
        assert 'data-samp-url="http://testserver/fake/async/j1/results/result"' in page
        assert 'data-samp-name="j1-result"' in page
        assert "/static/js/samp-send.js" in page


def test_a_csv_result_has_no_button(fake):
    serve(fake, "a,b\n1,2\n", "text/csv; header=present")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert "data-samp-url" not in page
