"""The template engine's shortcuts (portal/templating.py) give what Django's own functions give."""

from __future__ import annotations

import pytest
from django.template import defaultfilters
from django.urls import reverse, set_script_prefix

from portal.templating import truncatechars, url


@pytest.mark.parametrize(
    ("value", "length"),
    [
        ("SELECT * FROM t", 300),
        ("x" * 300, 300),
        ("x" * 301, 300),
        ("é" * 10, 300),
        ("e\u0301" * 5, 6),  # combining accents count for nothing in Django's filter
        ("", 0),
        ("abc", 0),
        (None, 10),
        (12345, 3),
    ],
)
def test_truncatechars_is_djangos(value, length):
    assert truncatechars(value, length) == defaultfilters.truncatechars(value, length)


def test_url_is_reverse_and_follows_the_script_prefix():
    assert url("job_detail", "fake", "abc") == reverse("job_detail", args=["fake", "abc"]) == "/fake/async/abc"
    set_script_prefix("/portal/")
    try:
        assert url("job_detail", "fake", "abc") == "/portal/fake/async/abc"
    finally:
        set_script_prefix("/")
    assert url("job_detail", "fake", "abc") == "/fake/async/abc"
