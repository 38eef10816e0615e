from __future__ import annotations

import os

import pytest
from django.template.backends import jinja2 as jinja2_backend
from django.test import Client
from django.test.signals import template_rendered

from jobs import services
from tests.fakeuws import FakeUWS


@pytest.fixture(scope="session", autouse=True)
def _templates_report_their_context():
    """`response.context` for Jinja2 templates, as Django's test client gives it for its own engine.

    The client listens for `template_rendered`, which only Django's engine sends.
    """
    render = jinja2_backend.Template.render

    def reporting(self, context=None, request=None):
        rendered = render(self, context, request)
        template_rendered.send(sender=self, template=self, context=dict(context or {}))
        return rendered

    jinja2_backend.Template.render = reporting
    yield
    jinja2_backend.Template.render = render


@pytest.fixture(scope="session")
def _fake_server():
    server = FakeUWS()
    yield server
    server.close()


@pytest.fixture
def fake(_fake_server, settings, tmp_path):
    """A scripted service, configured as `fake` (at <url>/tap) beside the loopback ones."""
    _fake_server.reset()
    path = tmp_path / "services.toml"
    path.write_text(
        f"""
[services.fake]
title = "Fake service"
url = "{_fake_server.url}/tap"
description = "Answers what the test says"

[services.dead]
title = "Dead service"
url = "http://127.0.0.1:9/tap"
"""
    )
    settings.PORTAL_SERVICES_FILE = path
    yield _fake_server
    services._loaded.pop(path, None)


@pytest.fixture
def client() -> Client:
    """A browser of the portal's pages (Django's test client)."""
    return Client()


@pytest.fixture
def worker_running(monkeypatch):
    """A worker that finished a tick just now (its record, as the task library keeps it)."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from jobs.watching import live
    from jobs.watching.tasks import tick

    DBTaskResult.objects.create(
        task_path=tick.module_path,
        status="SUCCESSFUL",
        finished_at=timezone.now(),
        args_kwargs={},
        backend_name="default",
        run_after=timezone.now(),
    )
    monkeypatch.setitem(live._alive_cache, "checked", 0.0)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the session (the browser tests, the cluster's page)."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `bash scripts/chromium.sh` (as root)")
    # Playwright's sync API runs an event loop in the test's thread, and Django refuses
    # database calls from a thread with a running loop (SynchronousOnlyOperation): the
    # flush after each transactional test would fail without this.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
