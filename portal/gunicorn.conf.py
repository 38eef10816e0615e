"""gunicorn settings for the portal (`make run`, `make serve`, `bench/loadtest.py`).

Threads, not processes, carry the concurrency: a request to a slow service waits
on the network, not on the CPU, so one worker per core with many threads keeps
slow services from holding every worker. docs/loadtest.md has the measurements.
"""

import multiprocessing
import os

# Loopback: in production the HTTPS proxy on the same host is the only client.
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
# One per core for the CPU work (templates, parsing), and at least two, so that one
# still accepts connections while the other restarts (max_requests below). Each
# process has its own per-service limit (jobs/uws/client.py MAX_CONCURRENT), so a
# service sees at most workers × MAX_CONCURRENT requests from the portal at once.
workers = int(os.environ.get("PORTAL_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
# A thread is held for as long as its request waits on a service: a watched job
# page's long poll (UWS WAIT, 10 s) or a slow service's answer (read timeout 30 s)
# holds one for the whole wait, up to MAX_CONCURRENT per service and worker, and
# every request beyond that holds one for up to 1 s before it is told "busy". When
# every thread waits, a page of any other service waits in the queue behind them:
# with 200 clients on a slow service and 2 workers, 16 threads left the other
# services' pages at a p99 of 11-16 s, 64 at 2 s, 128 at 0.1-0.4 s. A waiting
# thread costs little memory. With PostgreSQL, each thread may keep a connection open
# (CONN_MAX_AGE), so max_connections must exceed workers × threads.
threads = int(os.environ.get("PORTAL_THREADS", 128))
# In a gthread worker this guards the worker's main loop, which reports in every
# second whatever its threads wait on; it is still set above the longest wait of a
# single request on a service (connect 5 s + a trickling document's 60 s deadline +
# its last read, 30 s + 10 s of WAIT), so that switching to sync workers kills no
# request that the client would still have ended by itself.
timeout = 120
# On a restart or a deploy, requests under way may finish: enough for a watch or a
# page waiting on a slow service (connect 5 s + read 30 s + WAIT 10 s). Downloads
# longer than that are cut; the browser sees an incomplete file.
graceful_timeout = 45
# Replace a worker after some thousands of requests, so that memory a long-lived
# process accumulates (large documents parsed, result previews) goes back to the
# system. A restarting worker accepts no new connection until its requests under
# way are done, and its replacement starts only then: workers that restart together
# leave no one to accept. The workers share the load evenly, so only a wide jitter
# keeps them apart (in the load test, a jitter of 10 % let both restart within a
# second and stalled every page for 8 s).
max_requests = 5000
max_requests_jitter = 5000
# An idle kept-alive connection waits in the worker's poller, not in a thread.
keepalive = 5
# Only the proxy may say a request came over https (X-Forwarded-Proto). Django reads
# the header itself (SECURE_PROXY_SSL_HEADER), so what really protects it is that
# only the proxy can reach `bind` and that the proxy overwrites the header.
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn ≥ 25 opens a control socket by default, at one path per user account
# ($HOME/.gunicorn/gunicorn.ctl): a second instance (`make run`, the load test)
# would take it over, and nothing here uses `gunicornc`.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# The path without the query string, and no %(u)s (it is read from the
# Authorization header) nor the referrer (it carries the query strings of our own
# pages). The peer is the proxy; the proxy's X-Forwarded-For names the browser.
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'


def post_worker_init(worker) -> None:
    """Compile the templates before the worker takes its first request (portal/templating.py)."""
    from portal.templating import compile_all

    compile_all()
