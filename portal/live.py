"""ASGI entry point of the live server, for uvicorn: `uvicorn portal.live:application` (jobs/watching/stream.py).

It serves only `/live/events`, the streams that tell open pages of changes; gunicorn
(portal/wsgi.py) serves everything else, and the proxy in front sends `/live/` here.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from jobs.watching.stream import LiveStreams  # noqa: E402  (the models need the settings first)

application = LiveStreams()
