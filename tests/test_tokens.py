"""Tokens for protected data: this session only, this service only, never shown or logged."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.fakeuws import job_xml

pytestmark = pytest.mark.django_db
TOKEN = "eyJhbGciOi.secret-part.signature"


def test_a_token_goes_to_its_service_only_and_is_never_shown_or_logged(fake, caplog):
    client = Client()
    client.post("/fake/token", {"token": TOKEN})
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    with caplog.at_level(logging.INFO, logger="jobs.upstream"):
        page = client.get("/fake/async/abc").content.decode()
        client.get("/dead/async/abc")  # another service: no token goes there
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in page and TOKEN not in client.get("/fake/").content.decode()
    assert "A bearer token for Fake service is kept" in client.get("/fake/").content.decode()
    assert TOKEN not in caplog.text
    assert "upstream service=Fake service method=GET" in caplog.text


def test_another_browser_does_not_get_the_token(fake):
    Client().post("/fake/token", {"token": TOKEN})
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    Client().get("/fake/async/abc")
    assert "authorization" not in fake.requests[0].headers


def test_a_token_can_be_forgotten_with_one_click(fake):
    client = Client()
    client.post("/fake/token", {"token": TOKEN})
    client.post("/fake/token/forget")
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    client.get("/fake/async/abc")
    assert "authorization" not in fake.requests[0].headers


@pytest.mark.parametrize("bad", ["two words", "line\r\nX-Evil: 1", ""])
def test_a_token_that_would_break_the_header_is_refused(fake, bad):
    client = Client()
    response = client.post("/fake/token", {"token": bad}, follow=True)
    assert "The token was not kept." in response.content.decode()
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc"))
    client.get("/fake/async/abc")
    assert "authorization" not in fake.requests[0].headers
