"""Secure by default: headers, no inline code, production settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.fakeuws import job_xml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db


def pages(fake) -> list[str]:
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    fake.reply(
        "GET",
        "/tap/examples",
        body='<html><body><div typeof="example" id="x"><h2 property="name">&lt;script&gt;x()&lt;/script&gt;</h2>'
        '<pre property="query">SELECT \'"&gt;&lt;script&gt;x()&lt;/script&gt;\'</pre></div></body></html>',
    )
    return [
        "/",
        "/fake/",
        "/fake/async/abc",
        "/mine",
        "/nosuch/",
        "/fake/service",
        "/fake/examples",
        "/fake/?example=x",
    ]


def test_every_page_has_the_security_headers(fake):
    client = Client()
    for url in pages(fake):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_no_page_holds_inline_script_or_style(fake):
    client = Client()
    for url in pages(fake):
        page = client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), url
        assert "<style" not in page and " style=" not in page, url
        assert not re.search(r"\son[a-z]+=", page), url  # no event handler attributes


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PORTAL_SQLITE_PATH": "/tmp/portal-check.sqlite3", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_silent_with_production_settings():
    key = "k3y-" + "".join(chr(ord("a") + n % 26) + str(n % 10) for n in range(40))
    completed = manage("check", "--deploy", "--fail-level", "DEBUG", PORTAL_PRODUCTION="1", PORTAL_SECRET_KEY=key)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == ""
    assert completed.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_refuses_to_start_without_its_own_secret_key():
    completed = manage("check", PORTAL_PRODUCTION="1")
    assert completed.returncode != 0
    assert "Set PORTAL_SECRET_KEY" in completed.stderr
