"""A job's error document page."""

from __future__ import annotations

import pytest

from tests.fakeuws import Reply
from tests.helpers import DALI_ERROR, text

pytestmark = pytest.mark.django_db


def test_error_document_is_shown(client, fake):
    fake.reply("GET", "/tap/async/abc/error", body=DALI_ERROR.format("Could not parse your query (line:1, col:8)"))
    response = client.get("/fake/async/abc/error")
    assert response.status_code == 200
    assert "Could not parse your query (line:1, col:8)" in text(response)


def test_an_empty_error_document_is_said_to_be_empty(client, fake):
    fake.route("GET", "/tap/async/abc/error", lambda request: Reply(200, b"", {"Content-Type": "text/plain"}))
    assert "no error document" in text(client.get("/fake/async/abc/error"))
