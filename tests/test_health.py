"""The health check: the database, and never a service."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client()


def test_it_answers_ok_when_the_database_answers(client, fake):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]
    assert fake.requests == []


def test_it_answers_503_when_the_database_fails(client, fake):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("unable to open database file")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"the database does not answer"
    assert fake.requests == []


def test_it_answers_head_for_monitors(client, fake):
    response = client.head("/healthz")

    assert response.status_code == 200
    assert fake.requests == []


def test_it_refuses_post(client, fake):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert fake.requests == []
