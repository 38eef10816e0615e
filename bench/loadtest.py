"""Load test on loopback: does one slow, crowded service leave the other services' pages answering?

It starts two UWS services on loopback ("slow" answers every request after 5 s, "fast"
at once), the portal under gunicorn with portal/gunicorn.conf.py and production
settings (plain http, so PORTAL_SSL_REDIRECT=0), a services file naming both and a
fresh SQLite database. Then 200 clients ask job pages of the slow service back to back
for 30 s while one probe asks job pages of the fast service, one at a time. The
results go to docs/loadtest.md and to the terminal. Everything it starts is stopped
on the way out, Ctrl-C and failures included; a watchdog ends the run after 90 s.

    .venv/bin/python -m bench.loadtest        (make loadtest)
"""

from __future__ import annotations

import argparse
import collections
import math
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gunicorn
import requests

from bench.upstream import job_document
from jobs.uws.transport import MAX_CONCURRENT

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
GUNICORN = [str(PYTHON.with_name("gunicorn")), "-c", "portal/gunicorn.conf.py"]
HOST = "127.0.0.1"  # loopback only: nothing here listens on or talks to another address
SLOW_DELAY = 5.0
BASELINE_SECONDS = 3.0
# The clients give up on an answer after this long, so the run ends soon after the load does.
CLIENT_TIMEOUT = (5.0, 25.0)
WATCHDOG_SECONDS = 90
# Variables that would send loopback traffic through a proxy, or the portal to another database.
DROPPED_ENV = {"http_proxy", "https_proxy", "all_proxy", "database_url", "portal_debug"}
LOG_FINDINGS = {
    "upstream requests to slow": "upstream service=Slow service",
    "upstream requests to fast": "upstream service=Fast service",
    "tracebacks": "Traceback (most recent call last)",
    "'database is locked'": "database is locked",
    "worker timeouts": "WORKER TIMEOUT",
    "worker restarts after max_requests": "Autorestarting worker",
}


class Watchdog(Exception):
    """The run took longer than it may (`arm_watchdog`)."""


def arm_watchdog(seconds: int) -> None:
    """Raise Watchdog after `seconds`, and KeyboardInterrupt on SIGTERM, in the main thread:
    either way the run's `finally` stops everything it started."""

    def stop(signum, _frame):
        raise Watchdog() if signum == signal.SIGALRM else KeyboardInterrupt()

    signal.signal(signal.SIGALRM, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.alarm(seconds)


# -- the two services ----------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the portal opens many connections at once


def _uws_server(delay: float) -> ThreadingHTTPServer:
    """A service whose every job exists and is EXECUTING; each answer comes after `delay` s."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
        # client's delayed acknowledgement on a kept-alive connection (40 ms each answer).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            time.sleep(delay)
            parts = self.path.split("?", 1)[0].split("/")
            if len(parts) == 4 and parts[1:3] == ["tap", "async"]:
                base = f"http://{HOST}:{self.server.server_address[1]}/tap"
                status, body = 200, job_document(base, parts[3], "EXECUTING")
            else:
                status, body = 404, b"not found"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the portal gave up first

        def log_message(self, *args) -> None:
            pass

    return _Server((HOST, 0), Handler)


def serve_services(ports: multiprocessing.Queue) -> None:
    """Run both services, in a process of their own: their threads take no GIL from the clients."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops this process
    servers = [_uws_server(SLOW_DELAY), _uws_server(0.0)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports.put([server.server_address[1] for server in servers])
    threading.Event().wait()


# -- the clients -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What a set of requests got: (status, seconds) for each."""

    answers: list[tuple[str, float]] = field(default_factory=list)

    @property
    def statuses(self) -> collections.Counter:
        return collections.Counter(status for status, _ in self.answers)

    @property
    def errors(self) -> int:
        return sum(1 for status, _ in self.answers if status != "200")

    def seconds(self, status: str | None = None) -> list[float]:
        return [seconds for got, seconds in self.answers if status is None or got == status]


def _get(session: requests.Session, url: str) -> tuple[str, float]:
    started = time.monotonic()
    try:
        status = str(session.get(url, timeout=CLIENT_TIMEOUT, allow_redirects=False).status_code)
    except requests.exceptions.Timeout:
        status = "client timeout"
    except requests.exceptions.RequestException as exc:
        status = f"client error ({exc.__class__.__name__})"
    return status, time.monotonic() - started


def crowd(base: str, clients: int, start_at: float, stop_at: float, results: multiprocessing.Queue) -> None:
    """`clients` browsers asking slow-service job pages back to back, in a process of their own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def one_client(number: int) -> list[tuple[str, float]]:
        answers = []
        with requests.Session() as session:
            session.trust_env = False
            time.sleep(max(0.0, start_at - time.time()))
            while time.time() < stop_at:
                answers.append(_get(session, f"{base}/slow/async/crowd-{number}"))
        return answers

    total = Tally()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for answers in pool.map(one_client, range(clients)):
            total.answers.extend(answers)
    results.put(total)


def probe(base: str, stop_at: float) -> Tally:
    """One user on the fast service, page after page; a new connection each time, so that
    every gunicorn worker is sampled, not only the one a kept-alive connection sticks to."""
    tally = Tally()
    number = 0
    while time.time() < stop_at:
        with requests.Session() as session:
            session.trust_env = False
            tally.answers.append(_get(session, f"{base}/fast/async/probe-{number % 50}"))
        number += 1
    return tally


# -- the portal ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def portal_env(workdir: Path, slow_port: int, fast_port: int, bind: str) -> dict[str, str]:
    services = workdir / "services.toml"
    services.write_text(
        f'[services.slow]\ntitle = "Slow service"\nurl = "http://{HOST}:{slow_port}/tap"\n\n'
        f'[services.fast]\ntitle = "Fast service"\nurl = "http://{HOST}:{fast_port}/tap"\n'
    )
    env = {key: value for key, value in os.environ.items() if key.lower() not in DROPPED_ENV}
    env.update(
        PORTAL_PRODUCTION="1",
        PORTAL_SSL_REDIRECT="0",  # plain http on loopback; a deployment has its proxy's https
        PORTAL_SECRET_KEY=secrets.token_urlsafe(50),
        PORTAL_SERVICES=str(services),
        PORTAL_SQLITE_PATH=str(workdir / "portal.sqlite3"),
        PORTAL_BIND=bind,
        PORTAL_ALLOWED_HOSTS=HOST,
        NO_PROXY=HOST,
        no_proxy=HOST,
    )
    return env


def start_portal(env: dict[str, str], log: Path, base: str) -> subprocess.Popen:
    """Migrate, collect the static files and start gunicorn; return once /healthz answers."""
    manage = [str(PYTHON), "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=60)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=60)
    return start_gunicorn([*GUNICORN, "portal.wsgi"], env, log, f"{base}/healthz")


def start_gunicorn(command: list[str], env: dict[str, str], log: Path, ready: str) -> subprocess.Popen:
    """Start gunicorn; return once a GET of the URL `ready` answers 200."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, and only by us
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}")
            try:
                if requests.get(ready, timeout=1).status_code == 200:
                    return server
            except requests.exceptions.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer {ready} within 20 s")
    except BaseException:
        stop_gunicorn(server)
        raise


def stop_gunicorn(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers: quickly, then for sure."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGINT)  # gunicorn's quick shutdown
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


def gunicorn_settings(env: dict[str, str]) -> dict[str, str]:
    """The settings gunicorn runs with, as it prints them (`--print-config`)."""
    printed = subprocess.run(
        [*GUNICORN, "--print-config", "portal.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    settings = {}
    for line in printed.splitlines():
        key, equals, value = line.partition(" = ")
        if equals:
            settings[key.strip()] = value.strip()
    return settings


def read_log(log: Path) -> dict[str, int]:
    text = log.read_text(errors="replace")
    return {finding: text.count(needle) for finding, needle in LOG_FINDINGS.items()}


# -- the report ------------------------------------------------------------------------------


def _ms(values: list[float], share: float) -> str:
    """The nearest-rank percentile, in milliseconds."""
    if not values:
        return "–"
    ordered = sorted(values)
    return f"{ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000:.0f}"


def _probe_row(label: str, tally: Tally) -> str:
    seconds = tally.seconds()
    median = f"{statistics.median(seconds) * 1000:.0f}" if seconds else "–"
    return (
        f"| {label} | {len(seconds)} | {tally.errors} | {median} | {_ms(seconds, 0.95)} | {_ms(seconds, 0.99)} "
        f"| {_ms(seconds, 1.0)} |"
    )


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def report(
    *,
    args: argparse.Namespace,
    load_before: float,
    gunicorn_conf: dict[str, str],
    baseline: Tally,
    loaded: Tally,
    crowd_tally: Tally,
    log_findings: dict[str, int],
) -> str:
    p99 = _ms(loaded.seconds(), 0.99)
    met = loaded.answers and loaded.errors == 0 and float(p99) < args.goal_ms
    slow = crowd_tally.statuses
    other = ", ".join(f"{status}: {n}" for status, n in sorted(slow.items()) if status not in ("200", "503", "504"))
    slow_ok = crowd_tally.seconds("200")
    lines = [
        "# Load test: a slow, crowded service and the pages of the others",
        "",
        f"**Goal**: while one service is slow and crowded, the job pages of the other services keep answering "
        f"with no errors and a p99 under {args.goal_ms} ms. **Measured**: {loaded.errors} errors in "
        f"{len(loaded.answers)} requests, p99 {p99} ms — goal {'met' if met else 'NOT met'}.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: nproc {len(os.sched_getaffinity(0))}, {_memory()} memory, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average {load_before:.2f} before the run "
        "(other work on the machine shows in the first row of the probe)",
        f"- Portal: gunicorn {gunicorn.__version__} with `portal/gunicorn.conf.py`: {gunicorn_conf['workers']} "
        f"workers × {gunicorn_conf['threads']} threads ({gunicorn_conf['worker_class']}), max_requests "
        f"{gunicorn_conf['max_requests']} (+ up to {gunicorn_conf['max_requests_jitter']}); production settings "
        f"(PORTAL_SSL_REDIRECT=0: plain http on loopback), SQLite; at most {MAX_CONCURRENT} requests under way to "
        "one service per worker (MAX_CONCURRENT), the next one waits up to 1 s, then is answered 503 (busy)",
        f"- Load: {args.clients} clients ask job pages of **slow** (answers every request after {SLOW_DELAY:.0f} s) "
        f"back to back for {args.duration} s, each on its kept-alive connection; one probe asks job pages of "
        "**fast** (answers at once), one after the other, each on a new connection",
        "- The clients, the services and the portal share this machine; all traffic is on loopback",
        "- Reproduce: `make loadtest` (or `.venv/bin/python -m bench.loadtest --help`; PORTAL_WORKERS and "
        "PORTAL_THREADS reach gunicorn)",
        "",
        "## Job pages of the fast service (the probe)",
        "",
        "| when | requests | errors (not 200) | median ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _probe_row(f"alone, {BASELINE_SECONDS:.0f} s before the load", baseline),
        _probe_row(f"under load, {args.duration} s", loaded),
        "",
        "## Job pages of the slow service (the crowd)",
        "",
        "| 200 | 503 busy | 504 too slow | other | total | median ms of the 200s |",
        "|---:|---:|---:|---|---:|---:|",
        f"| {slow['200']} | {slow['503']} | {slow['504']} | {other or '–'} | {len(crowd_tally.answers)} "
        f"| {_ms(slow_ok, 0.5)} |",
        "",
        "The 503s are the per-service limit at work: the portal never had more than workers × MAX_CONCURRENT "
        "requests under way to the slow service and told the rest of the crowd within a second that it was busy, "
        "so that the threads stayed free for the pages of the other services.",
        "",
        "## In the portal's log",
        "",
        *(f"- {finding}: {n}" for finding, n in log_findings.items()),
        "",
    ]
    return "\n".join(lines)


# -- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="clients on the slow service (200)")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load (30)")
    parser.add_argument("--goal-ms", type=int, default=1000, help="the p99 the fast pages must stay under (1000)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "loadtest.md", help="the markdown report")
    parser.add_argument("--log", type=Path, help="keep the portal's log (gunicorn and Django) in this file")
    args = parser.parse_args()
    if args.duration + BASELINE_SECONDS + sum(CLIENT_TIMEOUT) + 20 > WATCHDOG_SECONDS:
        parser.error(f"--duration must leave the run within {WATCHDOG_SECONDS} s")
    load_before = os.getloadavg()[0]
    arm_watchdog(WATCHDOG_SECONDS)

    spawn = multiprocessing.get_context("spawn")
    ports, results = spawn.Queue(), spawn.Queue()
    helpers: list[multiprocessing.Process] = []
    portal = None
    with tempfile.TemporaryDirectory(prefix="portal-loadtest-") as tmp:
        workdir = Path(tmp)
        log = args.log or workdir / "gunicorn.log"
        try:
            helpers.append(spawn.Process(target=serve_services, args=(ports,), daemon=True))
            helpers[-1].start()
            slow_port, fast_port = ports.get(timeout=15)
            bind = f"{HOST}:{_free_port()}"
            base = f"http://{bind}"
            env = portal_env(workdir, slow_port, fast_port, bind)
            portal = start_portal(env, log, base)
            print(f"portal on {base}, slow service :{slow_port}, fast service :{fast_port}", file=sys.stderr)

            baseline = probe(base, time.time() + BASELINE_SECONDS)
            start_at = time.time() + 2  # time for the spawned process to import and start its threads
            stop_at = start_at + args.duration
            helpers.append(
                spawn.Process(target=crowd, args=(base, args.clients, start_at, stop_at, results), daemon=True)
            )
            helpers[-1].start()
            time.sleep(max(0.0, start_at - time.time()))
            print(f"{args.clients} clients on slow for {args.duration} s; probing fast", file=sys.stderr)
            loaded = probe(base, stop_at)
            crowd_tally = results.get(timeout=sum(CLIENT_TIMEOUT) + 5)
            stop_gunicorn(portal)
            text = report(
                args=args,
                load_before=load_before,
                gunicorn_conf=gunicorn_settings(env),
                baseline=baseline,
                loaded=loaded,
                crowd_tally=crowd_tally,
                log_findings=read_log(log),
            )
        except BaseException:
            if log.exists():
                print("--- the last lines of the portal's log (--log FILE keeps all of it)", file=sys.stderr)
                print("\n".join(log.read_text(errors="replace").splitlines()[-30:]), file=sys.stderr)
            raise
        finally:
            signal.alarm(0)
            if portal is not None:
                stop_gunicorn(portal)
            for helper in helpers:
                helper.terminate()
                helper.join(5)
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
