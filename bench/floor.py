"""The floor: the thinnest Python proxy of a UWS document, against which the page goals are stated.

What a job page costs through gunicorn depends on the machine as much as on the portal. So
bench/benchmarks.py also runs this module under gunicorn with the portal's own settings,
and states the goals of the job page, of throughput and of the job list as ratios to it.
`application` is a WSGI function and no framework: it GETs the service's document at the
path it was asked for (below FLOOR_SERVICE, e.g. http://127.0.0.1:8081) with one requests
session shared by the worker's threads, and returns its bytes. A job list (a path ending
in `/async`) is parsed by lxml as well, which is the least a page of it needs, and answered
with the number of jobs.

This module is also the floor's gunicorn configuration (`python:bench.floor`): every
setting of portal/gunicorn.conf.py (workers, threads, keep-alive, the access log) but its
hook, which compiles the portal's templates before a worker's first request.

    FLOOR_SERVICE=http://127.0.0.1:8081 .venv/bin/gunicorn -c python:bench.floor
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Callable, Iterable
from pathlib import Path

import requests
from lxml import etree
from requests.adapters import HTTPAdapter

_PORTAL_CONF = Path(__file__).resolve().parent.parent / "portal" / "gunicorn.conf.py"
_SETTINGS = {
    name: value
    for name, value in runpy.run_path(str(_PORTAL_CONF)).items()
    if not name.startswith("_") and name != "post_worker_init"
}
globals().update(_SETTINGS)  # gunicorn reads a `python:` configuration from the module's names
wsgi_app = "bench.floor:application"

SERVICE = os.environ.get("FLOOR_SERVICE", "")
_session = requests.Session()
_session.trust_env = False  # loopback: no proxy to look up for every request
# As many pooled connections as a worker has threads, so that none is opened per request.
_session.mount("http://", HTTPAdapter(pool_maxsize=_SETTINGS["threads"]))


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """GET the same path below FLOOR_SERVICE and answer with its status and bytes."""
    answer = _session.get(SERVICE + environ["PATH_INFO"], timeout=30)
    body = answer.content
    content_type = answer.headers.get("Content-Type", "application/octet-stream")
    if answer.status_code == 200 and environ["PATH_INFO"].endswith("/async"):
        body = f"{len(etree.fromstring(body))} jobs\n".encode()
        content_type = "text/plain"
    start_response(
        f"{answer.status_code} {answer.reason}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]
