"""gunicorn settings for the portal (`make run`).

Threads, not processes, carry the concurrency: a request to a slow service waits
on the network, not on the CPU, so one worker per core with many threads keeps
slow services from holding every worker.
"""

import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("PORTAL_THREADS", 16))
# Longer than the client's read timeout to a service (30 s), so the portal can
# still answer "the service is too slow" before gunicorn kills the worker.
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
