from __future__ import annotations

import pytest

from jobs import services
from tests.fakeuws import FakeUWS


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
