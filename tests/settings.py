"""Settings for the tests: the portal's own, with loopback services only."""

import os
from pathlib import Path

os.environ.setdefault("PORTAL_SECRET_KEY", "tests-only-secret-key")
# Never the default (remote) services: tests talk to loopback only.
os.environ["PORTAL_SERVICES"] = str(Path(__file__).with_name("services.toml"))

from portal.settings import *  # noqa: E402,F403

# SQLite in memory, unless DATABASE_URL names another database: `make test` runs the tests
# of what the portal keeps (remembered jobs, sessions) again on PostgreSQL that way.
if not os.environ.get("DATABASE_URL"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    # SQLite in memory is one connection's: the worker's checks run one after another there.
    PORTAL_WATCH_THREADS = 1
# The tests do not run collectstatic, so no manifest of hashed names exists.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT = None  # nothing collected: WhiteNoise serves from the finders
WHITENOISE_USE_FINDERS = True
