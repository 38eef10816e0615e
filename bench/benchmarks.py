"""Benchmarks of the portal on loopback: its own cost on each kind of page, against the services it fronts.

It starts the fast service of bench/upstream.py (recorded documents, results made up as they
are sent), the portal under gunicorn with portal/gunicorn.conf.py and production settings
(plain http, so PORTAL_SSL_REDIRECT=0), a services file naming that service and the real
DaCHS (scripts/dachs.sh, http://127.0.0.1:8080/tap), and a fresh SQLite database. Each figure
is compared with the same request sent straight to the service in the same run, interleaved,
because this machine is shared and noisy: medians and ratios, not single times. The goals of
the job page, of throughput and of the job list are stated against the floor (bench/floor.py,
the thinnest Python proxy, under gunicorn with the same settings), measured in the same rounds:
what a page costs through gunicorn depends on the machine as much as on the portal.
The jobs it creates on DaCHS are deleted on the way out, failures included. The results go
to docs/benchmarks.md (between its markers: the prose around them is kept) and to the
terminal. A watchdog ends the run after 15 minutes.

    .venv/bin/python -m bench.benchmarks      (make bench: it installs wrk and starts DaCHS first)
"""

from __future__ import annotations

import argparse
import html
import importlib.metadata
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench import profiles, upstream
from bench.client import (
    Browser,
    children,
    cpu_model,
    cpu_seconds,
    find_process,
    median,
    percentile,
    rss_bytes,
    workers_cpu_seconds,
    wrk,
    wrk_version,
)
from bench.loadtest import (
    DROPPED_ENV,
    HOST,
    PYTHON,
    ROOT,
    _free_port,
    _memory,
    arm_watchdog,
    gunicorn_settings,
    start_gunicorn,
    start_portal,
    stop_gunicorn,
)
from jobs.uws.transport import MAX_CONCURRENT

WATCHING_STEPS = ["unattended", "worker", "banner", "open"]  # bench/watching.py

DACHS = "http://127.0.0.1:8080/tap"  # scripts/dachs.sh: loopback only
WATCHDOG_SECONDS = 15 * 60
BEGIN, END = "<!-- bench:begin (written by make bench) -->", "<!-- bench:end -->"
MiB = 1024 * 1024
PREVIEW_SIZES = {"1 MB": 1_000_000, "100 MB": 100_000_000, "1 GiB": 1024**3}
PACKAGES = ["Django", "gunicorn", "requests", "urllib3", "lxml", "django-htmx", "whitenoise"]
STEPS = ["page", "list", "preview", "download", "results", "throughput", "watch", "memory", *WATCHING_STEPS]


@dataclass
class Figure:
    """One line of the summary: a measured figure beside its goal."""

    goal: int
    what: str
    measured: str
    target: str
    met: bool
    note: str = ""


def at_most(goal: int, what: str, value: float, limit: float, shown: str, target: str, why: str = "") -> Figure:
    met = value <= limit
    return Figure(
        goal, what, shown, target, met, "" if met else f"{(value / limit - 1) * 100:.0f} % over the goal{why}"
    )


def at_least(goal: int, what: str, value: float, limit: float, shown: str, target: str, why: str = "") -> Figure:
    met = value >= limit
    return Figure(
        goal, what, shown, target, met, "" if met else f"{(1 - value / limit) * 100:.0f} % short of the goal{why}"
    )


def _failed(figure: Figure, errors: int, detail: object = "") -> Figure:
    """A figure measured on answers of which some were errors does not meet its goal."""
    if errors:
        figure.met = False
        figure.note = "; ".join(filter(None, [f"{errors} answers were not as expected {detail}".strip(), figure.note]))
    return figure


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def add(self, *figures: Figure, section: list[str]) -> None:
        self.figures.extend(figures)
        self.sections.append("\n".join(section))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat): how much else was running."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _busy_since(start: tuple[float, float]) -> float:
    busy, total = _busy()
    return (busy - start[0]) / max(1, total - start[1])


# -- what the benchmarks run against ---------------------------------------------------------


class Portal:
    """The portal under gunicorn with a fresh database; its log holds one line per request to a service."""

    def __init__(self, workdir: Path, name: str, services: str, extra_env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.log = workdir / f"{name}.log"
        services_file = workdir / f"{name}-services.toml"
        services_file.write_text(services)
        env = {key: value for key, value in os.environ.items() if key.lower() not in DROPPED_ENV}
        env.pop("GUNICORN_CMD_ARGS", None)
        env.update(
            PORTAL_PRODUCTION="1",
            PORTAL_SSL_REDIRECT="0",  # plain http on loopback; a deployment has its proxy's https
            PORTAL_SECRET_KEY=secrets.token_urlsafe(50),
            PORTAL_SERVICES=str(services_file),
            PORTAL_SQLITE_PATH=str(workdir / f"{name}.sqlite3"),
            PORTAL_BIND=f"{HOST}:{self.port}",
            PORTAL_ALLOWED_HOSTS=HOST,
            NO_PROXY=HOST,
            no_proxy=HOST,
            **(extra_env or {}),
        )
        self.env = env
        self.process = start_portal(env, self.log, f"http://{HOST}:{self.port}")

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def cpu(self) -> float:
        """The CPU seconds its workers have used so far, those replaced on the way included."""
        return workers_cpu_seconds(self.process.pid)

    def upstream_lines(self, needle: str) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if "upstream service=" in line and needle in line]

    def browser(self) -> Browser:
        return Browser(HOST, self.port)

    def in_process(self, paths: list[str], browsers: list[str] | None = None) -> dict[str, float]:
        """CPU ms per request of each path in one process with this portal's settings (bench/inprocess.py): in a
        database of its own, or asked by each of `browsers` in this portal's (then keyed "browser path", and
        the banner check of each browser alone keyed "banner check browser")."""
        env = {
            **self.env,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_ALLOWED_HOSTS": "testserver",  # Django's test client
        }
        arguments = paths
        if browsers:
            arguments = [
                word for browser in browsers for word in ("--browser", browser, *paths, "--banner-check", browser)
            ]
        else:
            env["PORTAL_SQLITE_PATH"] = str(self.log.with_suffix(".inprocess.sqlite3"))
        command = [sys.executable, "-m", "bench.inprocess", *arguments]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        stop_gunicorn(self.process)


class Floor:
    """The floor (bench/floor.py) in front of the fast service, under gunicorn with the portal's settings."""

    def __init__(self, workdir: Path, portal: Portal, upstream_port: int) -> None:
        self.port = _free_port()
        env = {**portal.env, "PORTAL_BIND": f"{HOST}:{self.port}", "FLOOR_SERVICE": f"http://{HOST}:{upstream_port}"}
        command = [str(PYTHON.with_name("gunicorn")), "-c", "python:bench.floor"]
        ready = f"http://{HOST}:{self.port}/tap/async/ready"
        self.process = start_gunicorn(command, env, workdir / "floor.log", ready)

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def cpu(self) -> float:
        return workers_cpu_seconds(self.process.pid)

    def browser(self) -> Browser:
        return Browser(HOST, self.port)

    def stop(self) -> None:
        stop_gunicorn(self.process)


class Dachs:
    """The real service; every job this run creates on it is deleted by `delete_all`."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.created: list[str] = []
        self.server = self.session.get(f"{DACHS}/availability", timeout=5).headers.get("Server", "DaCHS")

    def create(self, query: str) -> str:
        answer = self.session.post(
            f"{DACHS}/async",
            data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query},
            allow_redirects=False,
            timeout=30,
        )
        job_id = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        self.created.append(job_id)
        return job_id

    def run(self, job_id: str) -> None:
        self.session.post(f"{DACHS}/async/{job_id}/phase", data={"PHASE": "RUN"}, allow_redirects=False, timeout=30)

    def phase(self, job_id: str) -> str:
        return self.session.get(f"{DACHS}/async/{job_id}/phase", timeout=30).text.strip()

    def wait_until_final(self, job_id: str, limit: float) -> str:
        deadline = time.monotonic() + limit
        while (phase := self.phase(job_id)) not in ("COMPLETED", "ERROR", "ABORTED"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"DaCHS job {job_id} still {phase} after {limit:.0f} s")
            time.sleep(0.2)
        return phase

    def delete_all(self) -> None:
        for job_id in self.created:
            try:
                self.session.delete(f"{DACHS}/async/{job_id}", allow_redirects=False, timeout=30)
            except requests.RequestException as exc:
                print(f"could not delete DaCHS job {job_id}: {exc}", file=sys.stderr)


def _services(upstream_port: int) -> str:
    base = f"http://{HOST}:{upstream_port}"
    return (
        f'[services.fast]\ntitle = "Fast service"\nurl = "{base}/tap"\n\n'
        f'[services.small]\ntitle = "Small list service"\nurl = "{base}/small/tap"\n\n'
        f'[services.dachs]\ntitle = "DaCHS"\nurl = "{DACHS}"\n'
    )


def _rounds(timers: list[Callable[[], float]], count: int) -> list[list[float]]:
    """Time `count` rounds of every timer, in an order drawn at random for each round."""
    rng = random.Random(1)
    times: list[list[float]] = [[] for _ in timers]
    for _ in range(count):
        order = list(range(len(timers)))
        rng.shuffle(order)
        for which in order:
            times[which].append(timers[which]())
    return times


def _rounds_with_cpu(
    timers: list[Callable[[], float]], count: int, *, warm_up: int, servers: list[Portal | Floor]
) -> tuple[list[list[float]], list[float]]:
    """`_rounds` after `warm_up` rounds not counted, with each server's workers' CPU seconds per round."""
    _rounds(timers, warm_up)
    before = [server.cpu() for server in servers]
    times = _rounds(timers, count)
    return times, [(server.cpu() - start) / count for server, start in zip(servers, before, strict=True)]


def _timed(browser: Browser, path: str, expect: bytes, headers: dict[str, str] | None = None) -> Callable[[], float]:
    """A GET that must answer 200 with `expect` in its body; returns its seconds."""

    def once() -> float:
        answer = browser.get(path, headers)
        if answer.status != 200 or expect not in answer.body:
            raise RuntimeError(f"GET {path}: {answer.status}, {answer.body[:300]!r}")
        return answer.seconds

    return once


# -- 1. the job page -------------------------------------------------------------------------


def _page_row(service: str, through: str, via: list[float], alone: list[float], cpu: float) -> str:
    ratio, ratio_99 = median(via) / median(alone), percentile(via, 0.99) / percentile(alone, 0.99)
    return (
        f"| {service} | {through} | {len(via)} | {_ms(median(via))} | {_ms(percentile(via, 0.99))} "
        f"| {_ms(median(alone))} | {_ms(percentile(alone, 0.99))} | {ratio:.2f} | {ratio_99:.2f} "
        f"| {_ms(median(via) - median(alone))} | {_ms(cpu)} |"
    )


def job_page(report: Report, portal: Portal, floor: Floor, upstream_port: int, dachs_job: str, pairs: int) -> None:
    # The fast service: the portal, the floor and the service itself, in rounds of three.
    browser, floor_browser, direct = portal.browser(), floor.browser(), Browser(HOST, upstream_port)
    timers = [
        _timed(browser, "/fast/async/bench1", b"Phase:"),
        _timed(floor_browser, "/tap/async/bench1", b"<uws:job"),
        _timed(direct, "/tap/async/bench1", b"<uws:job"),
    ]
    # The 20 rounds of warm-up fill the connections, the caches and the remembered job.
    (via, floored, alone), (cpu, floor_cpu) = _rounds_with_cpu(timers, pairs, warm_up=20, servers=[portal, floor])
    for each in (browser, floor_browser, direct):
        each.close()
    own, floor_own = median(via) - median(alone), median(floored) - median(alone)
    rows = [
        _page_row("fast service", "the portal", via, alone, cpu),
        _page_row("fast service", "the floor", floored, alone, floor_cpu),
    ]
    ratio = own / floor_own
    what = "Job page: the portal's own time / the floor's (fast service; each median − median direct)"
    why = f"; CPU per page: the portal's workers {_ms(cpu)} ms, the floor's {_ms(floor_cpu)} ms"
    shown = f"{ratio:.2f} ({_ms(own)} / {_ms(floor_own)} ms)"
    figures = [at_most(1, what, ratio, 2, shown, "≤ 2", why)]
    alone_ms = portal.in_process(["/fast/async/bench1"])["/fast/async/bench1"]
    what = "Job page: the portal's own CPU time in one process, without gunicorn (fast service)"
    why = "; gunicorn adds about 0.5 ms (see the prose above the results)"
    figures.append(at_most(1, what, alone_ms / 1000, 0.003, f"{alone_ms:.1f} ms", "≤ 3 ms", why))

    # DaCHS: the portal and the service itself, in pairs.
    browser, direct = portal.browser(), Browser(HOST, 8080)
    timers = [
        _timed(browser, f"/dachs/async/{dachs_job}", b"Phase:"),
        _timed(direct, f"/tap/async/{dachs_job}", b"<uws:job"),
    ]
    (via, alone), (cpu,) = _rounds_with_cpu(timers, pairs, warm_up=20, servers=[portal])
    browser.close()
    direct.close()
    rows.append(_page_row("DaCHS", "the portal", via, alone, cpu))
    why = f"; DaCHS answered in {_ms(median(alone))} ms, the portal added {_ms(median(via) - median(alone))} ms"
    for name, value in (
        ("median", median(via) / median(alone)),
        ("p99", percentile(via, 0.99) / percentile(alone, 0.99)),
    ):
        what = f"Job page on DaCHS: {name} through the portal / direct"
        figures.append(at_most(1, what, value, 1.25, f"{value:.2f}", "≤ 1.25", why))
    report.add(
        *figures,
        section=[
            "### 1. The job page",
            "",
            "The same job document through the portal (the whole page, `GET /<service>/async/<job>`), through the "
            "floor (bench/floor.py: the job document fetched and returned, no framework) and straight from the "
            f"service, {pairs} rounds whose order is drawn at random each time; one kept-alive connection each, the "
            "portal's cookies sent back as a browser does. Times in ms, from sending the request to the last byte. "
            "The own time of the portal or the floor is the difference of the medians with the direct requests of "
            "the same rounds; the workers' CPU time per page is read from /proc and counts only the workers of "
            "that server.",
            "",
            "| service | through | rounds | median | p99 | direct median | direct p99 | ratio of medians "
            "| ratio of p99s | own time (− direct, medians) | workers' CPU per page |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"The portal's own time is {ratio:.2f} times the floor's. In one process (bench/inprocess.py: Django's "
            f"test client with the same settings, CPU time, the best of 20 batches of 50 requests), the fast "
            f"service's job page costs {alone_ms:.1f} ms.",
        ],
    )


# -- 2. throughput ---------------------------------------------------------------------------


def throughput(
    report: Report,
    portal: Portal,
    floor: Floor,
    upstream_pid: int,
    upstream_port: int,
    dachs_job: str,
    *,
    seconds: float,
    rounds: int,
    connections: int,
    profile: Path | None,
) -> None:
    browser = portal.browser()
    browser.get("/fast/async/bench1")  # the cookies a returning browser sends
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items())}
    browser.close()
    rows, figures = [], []
    # DaCHS answers one request at a time: more connections than the portal lets wait on one service
    # (MAX_CONCURRENT per worker) would only be told "busy". The floor stands in front of the fast service only.
    for label, urls, service_pid, clients in (
        (
            "fast service",
            {
                "portal": f"http://{HOST}:{portal.port}/fast/async/bench1",
                "floor": f"http://{HOST}:{floor.port}/tap/async/bench1",
                "direct": f"http://{HOST}:{upstream_port}/tap/async/bench1",
            },
            upstream_pid,
            connections,
        ),
        (
            "DaCHS",
            {"portal": f"http://{HOST}:{portal.port}/dachs/async/{dachs_job}", "direct": f"{DACHS}/async/{dachs_job}"},
            find_process("dachs serve"),
            MAX_CONCURRENT,
        ),
    ):
        cpu: dict[str, Callable[[], float]] = {
            "portal": portal.cpu,
            "floor": floor.cpu,
            "service": (lambda pid=service_pid: cpu_seconds(pid)) if service_pid else lambda: 0.0,
        }
        runs: dict[str, list] = {which: [] for which in urls}
        shares: dict[str, list[dict[str, float]]] = {which: [] for which in urls}
        names = list(urls)
        for number in range(rounds):
            for which in names[number % len(names) :] + names[: number % len(names)]:  # each goes first in turn
                spies = []
                if profile and which in ("portal", "floor") and number == 0:
                    spies = [
                        profiles.record(pid, seconds, profile / f"{label.replace(' ', '-')}-{which}-{pid}.txt")
                        for pid in (portal if which == "portal" else floor).workers()
                    ]
                before = {name: used() for name, used in cpu.items()}
                started, machine = time.monotonic(), _busy()
                runs[which].append(wrk(urls[which], seconds=seconds, connections=clients, headers=headers))
                wall = time.monotonic() - started
                share = {name: (used() - before[name]) / wall for name, used in cpu.items()}
                shares[which].append({**share, "machine": _busy_since(machine) * 2})
                for spy in spies:
                    spy.wait(timeout=60)
        rate = {which: median([run.rate for run in runs[which]]) for which in urls}
        errors = sum(run.errors for which in ("portal", "floor") if which in runs for run in runs[which])

        def share(which: str, name: str, shares=shares) -> str:
            if which not in shares:
                return "–"
            return f"{median([sample[name] for sample in shares[which]]) * 100:.0f} %"

        floor_rate = f"{rate['floor']:.0f}" if "floor" in rate else "–"
        to_floor = f"{rate['portal'] / rate['floor']:.2f}" if "floor" in rate else "–"
        client = max(run.client_cpu for run in runs["portal"])
        rows.append(
            f"| {label} | {clients} | {rate['portal']:.0f} | {floor_rate} | {rate['direct']:.0f} | {to_floor} "
            f"| {rate['portal'] / rate['direct']:.2f} | {share('portal', 'portal')} | {share('floor', 'floor')} "
            f"| {share('portal', 'service')} | {share('direct', 'service')} | {client * 100:.0f} % "
            f"| {share('portal', 'machine')} | {errors} |"
        )
        if label == "fast service":
            ratio = rate["portal"] / rate["floor"]
            why = (
                f"; the portal's workers used {share('portal', 'portal')} of a core, the floor's "
                f"{share('floor', 'floor')}, the machine {share('portal', 'machine')} and {share('floor', 'machine')}"
            )
            what = "Job pages per second through gunicorn, fast service: the portal / the floor"
            shown = f"{ratio:.2f} ({rate['portal']:.0f} / {rate['floor']:.0f} pages/s)"
            figure = at_least(2, what, ratio, 0.5, shown, "≥ 0.5", why)
        else:
            ratio = rate["portal"] / rate["direct"]
            what = "Job pages per second on DaCHS: through the portal / direct"
            what += f" ({rate['portal']:.0f} / {rate['direct']:.0f})"
            figure = at_least(2, what, ratio, 0.8, f"{ratio:.2f}", "≥ 0.8")
        figures.append(_failed(figure, errors))
    report.add(
        *figures,
        section=[
            "### 2. Throughput",
            "",
            f"wrk (one thread, kept-alive connections, the portal's cookies) asks the same job page for {seconds:g} s, "
            "through the portal, through the floor (fast service only) and straight from the service in turn, each "
            f"first in one of the {rounds} rounds; the rates are the medians of the rounds. CPU: the share of one core "
            "each process used during the runs through the portal (for the floor's workers during the floor's runs, "
            "for the service also during the direct runs), read from /proc; 200 % is the whole machine. DaCHS gets "
            f"{MAX_CONCURRENT} connections, the number of requests to one service a worker lets wait at once: it "
            'answers one request at a time, so more would only be told "busy".',
            "",
            "| service | connections | portal pages/s | floor pages/s | direct pages/s | portal / floor "
            "| portal / direct | portal's workers' CPU | floor's workers' CPU | service's CPU | service's CPU, direct "
            "| wrk's CPU | whole machine | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "The client is not the bottleneck: the same wrk gets the fast service's page straight at the rate in "
            "the direct column, many times the portal's, and while it drove the portal it used the CPU share "
            "in its column (the largest of the rounds).",
        ],
    )


# -- 3. download -----------------------------------------------------------------------------


class _RssWatch:
    """The largest resident memory of some processes, read from /proc every 5 ms."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = {pid: rss_bytes(pid) for pid in pids}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid))

    def growth(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak[pid] - self.start[pid] for pid in self.pids)


def _download(browser: Browser, path: str) -> tuple[float, int]:
    """Seconds and bytes of one whole download, read into one buffer (the client copies nothing)."""
    response, started = browser.open(path)
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status}")
    buffer = bytearray(MiB)
    size = 0
    while read := response.readinto(buffer):
        size += read
    return time.perf_counter() - started, size


@dataclass
class _Transfers:
    """Downloads of one result, through the portal and direct."""

    rates: dict[str, list[float]] = field(default_factory=lambda: {"portal": [], "direct": []})
    service_cpu: dict[str, list[float]] = field(default_factory=lambda: {"portal": [], "direct": []})
    machine: dict[str, list[float]] = field(default_factory=lambda: {"portal": [], "direct": []})
    worker_cpu: list[float] = field(default_factory=list)
    growths: list[int] = field(default_factory=list)

    def rate(self, which: str) -> float:
        return median(self.rates[which])

    def row(self, label: str, which: str) -> str:
        each = ", ".join(f"{rate / MiB:.0f}" for rate in self.rates[which])
        portal = which == "portal"
        growths = ", ".join(f"{value / MiB:.1f}" for value in self.growths) if portal else ""
        worker = f"{median(self.worker_cpu) * 100:.0f} %" if portal else ""
        return (
            f"| {label} | {self.rate(which) / MiB:.0f} | {each} | {growths} | {worker} "
            f"| {median(self.service_cpu[which]) * 100:.0f} % | {median(self.machine[which]) * 100:.0f} % |"
        )


def _transfers(portal: Portal, upstream_pid: int, upstream_port: int, job_id: str, rounds: int) -> _Transfers:
    through, direct = portal.browser(), Browser(HOST, upstream_port)
    found = _Transfers()
    for number in range(rounds):
        for which in ("portal", "direct") if number % 2 == 0 else ("direct", "portal"):
            workers = portal.workers()
            before, service_before, busy = portal.cpu(), cpu_seconds(upstream_pid), _busy()
            if which == "portal":
                watch = _RssWatch(workers)
                seconds, size = _download(through, f"/fast/async/{job_id}/results/result")
                found.growths.append(watch.growth())
                found.worker_cpu.append((portal.cpu() - before) / seconds)
            else:
                seconds, size = _download(direct, f"/tap/async/{job_id}/results/result")
            if size != upstream.DOWNLOAD_BYTES:
                raise RuntimeError(f"the {which} download of {job_id} ended after {size} bytes")
            found.rates[which].append(size / seconds)
            found.service_cpu[which].append((cpu_seconds(upstream_pid) - service_before) / seconds)
            found.machine[which].append(_busy_since(busy) * 2)
    through.close()
    direct.close()
    return found


def download(report: Report, portal: Portal, upstream_pid: int, upstream_port: int, rounds: int) -> None:
    fast = _transfers(portal, upstream_pid, upstream_port, "download", rounds)
    paced = _transfers(portal, upstream_pid, upstream_port, "download-10000", 1)
    ratio = fast.rate("portal") / fast.rate("direct")
    paced_ratio = paced.rate("portal") / paced.rate("direct")
    growth = max(fast.growths + paced.growths)
    why = (
        f": the worker used {median(fast.worker_cpu) * 100:.0f} % of a core, the machine "
        f"{median(fast.machine['portal']) * 100:.0f} % of its 200 %; at 10 Gbit/s the ratio is {paced_ratio:.2f}"
    )
    shown = f"{ratio:.2f} ({fast.rate('portal') / MiB:.0f} / {fast.rate('direct') / MiB:.0f} MiB/s)"
    report.add(
        at_least(3, "1 GiB download: throughput through the portal / direct", ratio, 0.9, shown, "≥ 0.9", why),
        at_most(
            3,
            "1 GiB download: growth of the worker's resident memory",
            growth,
            32 * MiB,
            f"{growth / MiB:.1f} MiB",
            "≤ 32 MiB",
        ),
        section=[
            "### 3. Download",
            "",
            f"A 1 GiB result (bytes made up as they are sent), {rounds} times through the portal and {rounds} times "
            "straight from the fast service, alternating; then once each with the service sending at 10 Gbit/s, "
            "what a fast network delivers. The client reads into one buffer. The worker's resident memory is read "
            "from /proc every 5 ms during each transfer through the portal; CPU as in 2.",
            "",
            "| | MiB/s (median) | each run, MiB/s | worker memory growth, MiB | worker's CPU | service's CPU "
            "| whole machine |",
            "|---|---:|---|---|---:|---:|---:|",
            fast.row("through the portal", "portal"),
            fast.row("direct", "direct"),
            paced.row("through the portal, service at 10 Gbit/s", "portal"),
            paced.row("direct, service at 10 Gbit/s", "direct"),
        ],
    )


# -- 4. preview ------------------------------------------------------------------------------


def preview(report: Report, portal: Portal, rounds: int) -> None:
    browser = portal.browser()
    times: dict[str, list[float]] = {label: [] for label in PREVIEW_SIZES}
    rng = random.Random(4)
    for number in range(rounds + 2):
        labels = list(PREVIEW_SIZES)
        rng.shuffle(labels)
        for label in labels:
            path = f"/fast/async/preview-{PREVIEW_SIZES[label]}/results/result/preview"
            seconds = _timed(browser, path, b"obj-0100")()  # the 100th row is on the page
            if number >= 2:  # the first two rounds warm up
                times[label].append(seconds)
    browser.close()
    medians = {label: median(values) for label, values in times.items()}
    spread = max(medians.values()) / min(medians.values())
    report.add(
        *(
            at_most(
                4,
                f"Preview: the first 100 rows of a {label} VOTable (median)",
                value,
                0.1,
                f"{_ms(value)} ms",
                "≤ 100 ms",
            )
            for label, value in medians.items()
        ),
        at_most(
            4,
            "Preview: flat in the size of the result (largest median / smallest)",
            spread,
            1.25,
            f"{spread:.2f}",
            "≤ 1.25",
        ),
        section=[
            "### 4. Preview",
            "",
            f"`GET /fast/async/preview-<bytes>/results/result/preview` (100 rows, the default), {rounds} rounds, "
            "the sizes in random order in each, after two rounds of warm-up. The service makes the TABLEDATA "
            "VOTable up as it sends it and stops when the portal closes the connection.",
            "",
            "| result | median ms | p99 ms | max ms |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {_ms(medians[label])} | {_ms(percentile(values, 0.99))} | {_ms(max(values))} |"
                for label, values in times.items()
            ),
        ],
    )


# -- 5. the job list -------------------------------------------------------------------------


def job_list(report: Report, portal: Portal, floor: Floor, upstream_port: int, pairs: int) -> None:
    browser, floor_browser, direct = portal.browser(), floor.browser(), Browser(HOST, upstream_port)
    timers = [
        _timed(browser, "/fast/async", f"j{upstream.LIST_JOBS - 1:06d}".encode()),  # the newest job first
        _timed(floor_browser, "/tap/async", f"{upstream.LIST_JOBS} jobs".encode()),
        _timed(direct, "/tap/async", b"</uws:jobs>"),
    ]
    (via, floored, alone), (cpu, floor_cpu) = _rounds_with_cpu(timers, pairs, warm_up=2, servers=[portal, floor])
    for each in (browser, floor_browser, direct):
        each.close()
    ratio = median(via) / median(floored)
    size = len(upstream.job_list(f"http://{HOST}:{upstream_port}/tap", upstream.LIST_JOBS))
    what = (
        f"Job list of {upstream.LIST_JOBS:,} jobs, the first page: the portal / the floor's fetch and parse (medians)"
    )
    shown = f"{ratio:.2f} ({_ms(median(via))} / {_ms(median(floored))} ms)"
    why = f"; CPU per list: the portal's workers {_ms(cpu)} ms, the floor's {_ms(floor_cpu)} ms"
    report.add(
        at_most(5, what, ratio, 2, shown, "≤ 2", why),
        section=[
            "### 5. The job list",
            "",
            f"`GET /fast/async`: the service lists {upstream.LIST_JOBS:,} jobs ({size / MiB:.1f} MiB); the portal "
            "shows the newest 50. The floor fetches the same list and parses it with lxml (`etree.fromstring`), "
            f"the least a page of it needs, and answers with the number of jobs. {pairs} rounds of the three, "
            "with the direct GET of the list, in an order drawn at random each time.",
            "",
            "| | median ms | p99 ms | workers' CPU per page, ms |",
            "|---|---:|---:|---:|",
            f"| through the portal (first page) | {_ms(median(via))} | {_ms(percentile(via, 0.99))} | {_ms(cpu)} |",
            f"| through the floor (fetch and parse) | {_ms(median(floored))} | {_ms(percentile(floored, 0.99))} "
            f"| {_ms(floor_cpu)} |",
            f"| the list straight from the service | {_ms(median(alone))} | {_ms(percentile(alone, 0.99))} | |",
        ],
    )


# -- 6. watching a job -----------------------------------------------------------------------

_LIVE = re.compile(r'<div id="job-live"([^>]*)>')
_SHOWN_PHASE = re.compile(r'<span class="phase">([A-Z]+)</span>')


def _next_watch(body: bytes) -> tuple[str, float] | None:
    """The URL and delay of the next watch request in a page or fragment, as htmx reads them."""
    live = _LIVE.search(body.decode())
    if live is None:
        raise RuntimeError("the page has no #job-live")
    url = re.search(r'hx-get="([^"]+)"', live[1])
    delay = re.search(r'hx-trigger="load delay:(\d+(?:\.\d+)?)s"', live[1])
    return (html.unescape(url[1]), float(delay[1])) if url and delay else None


def _shown(body: bytes) -> str:
    found = _SHOWN_PHASE.search(body.decode())
    if found is None:
        raise RuntimeError("the page shows no phase")
    return found[1]


def watching(report: Report, portal: Portal, dachs: Dachs, seconds: int) -> None:
    job_id = dachs.create(f"SELECT TOP {seconds} id, name FROM portaltest.slow")
    changes: list[tuple[float, str]] = []  # (when, phase) as DaCHS has it, asked every 0.1 s
    done = threading.Event()

    def probe() -> None:
        last = None
        while not done.is_set():
            asked = time.monotonic()
            phase = dachs.phase(job_id)
            if phase != last:
                changes.append(((asked + time.monotonic()) / 2, phase))
                last = phase
            time.sleep(0.1)

    dachs.run(job_id)
    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    browser = portal.browser()
    started = time.monotonic()
    page = browser.get(f"/dachs/async/{job_id}")
    seen = [(started, time.monotonic(), _shown(page.body))]  # (sent, answered, phase shown) of each request
    watch = _next_watch(page.body)
    deadline = started + seconds + 120
    while watch is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the watched job {job_id} did not end in time")
        time.sleep(watch[1])
        sent = time.monotonic()
        answer = browser.get(watch[0], {"HX-Request": "true"})
        if answer.status != 200:
            raise RuntimeError(f"watch request: {answer.status}")
        seen.append((sent, time.monotonic(), _shown(answer.body)))
        watch = _next_watch(answer.body)
    ended = time.monotonic()
    done.set()
    prober.join()
    browser.close()
    asked = len(portal.upstream_lines(f"/async/{job_id}"))
    # The rate while the job executes: one over the median time between consecutive watch requests sent
    # before the end of EXECUTING (a count in a window would also count the fence posts).
    executing_end = next((when for when, phase in changes if phase not in ("QUEUED", "EXECUTING", "PENDING")), ended)
    watches = [sent for sent, _, _ in seen[1:] if sent < executing_end]
    intervals = [later - earlier for earlier, later in zip(watches, watches[1:], strict=False)]
    per_minute = 60 / median(intervals) if intervals else float("nan")
    delays = []
    for when, phase in changes[1:]:
        if when < seen[0][1]:
            continue  # changed before the page was first shown
        shown_at = next((answered for _, answered, shown in seen if shown == phase and answered >= when), None)
        if shown_at is not None:
            delays.append((phase, shown_at - when))
    worst = max((delay for _, delay in delays), default=float("nan"))
    report.add(
        at_most(
            6,
            "Watching an executing job: the portal's requests to the service per minute",
            per_minute,
            6,
            f"{per_minute:.2f}",
            "≤ 6",
        ),
        at_most(
            6,
            "Watching a job: from the phase change on DaCHS to the page showing it (worst)",
            worst,
            2,
            f"{worst:.2f} s",
            "≤ 2 s",
        ),
        section=[
            "### 6. Watching a job",
            "",
            f"A DaCHS job `SELECT TOP {seconds} id, name FROM portaltest.slow` (about {seconds} s), watched as the "
            "browser does: the job page, then `GET ...?watch=<phase>` with `HX-Request: true` after each "
            "fragment's `hx-trigger` delay, until a fragment stops asking. A probe asks DaCHS for the phase every "
            "0.1 s, to time each change. The rate is one over the median time between consecutive watch requests "
            "while the job executes; each is one request to DaCHS (the portal's log has one line per request).",
            "",
            f"- watched for {ended - started:.0f} s: the page and {len(seen) - 1} watch requests; the portal's log "
            f"has {asked} requests to DaCHS for this job",
            f"- {len(watches)} watch requests while the job executed, one every {median(intervals):.2f} s "
            f"(median; from {min(intervals):.2f} to {max(intervals):.2f} s): {per_minute:.2f} a minute"
            if intervals
            else "- fewer than two watch requests while the job executed",
            f"- the phases DaCHS went through: {' → '.join(phase for _, phase in changes)}",
            *(f"- {phase} shown {delay:.2f} s after DaCHS had it" for phase, delay in delays),
        ],
    )


# -- 7. memory -------------------------------------------------------------------------------


def _mixed_requests(count: int) -> list[tuple[str, dict[str, str] | None]]:
    """Job pages, lists, watch fragments, previews, start pages and 404s, shuffled (the same every run)."""
    rng = random.Random(7)
    watch = {"HX-Request": "true"}
    mixed: list[tuple[str, dict[str, str] | None]] = []
    for number in range(count // 20):
        batch = [
            *((f"/fast/async/m{rng.randrange(300)}", None) for _ in range(6)),
            *((f"/small/async/s{rng.randrange(100)}", None) for _ in range(2)),
            *((f"/fast/async/w{rng.randrange(50)}?watch=EXECUTING", watch) for _ in range(4)),
            ("/fast/async" if number % 5 == 0 else "/small/async", None),
            ("/small/async?page=2", None),
            *(("/fast/async/preview-1000000/results/result/preview", None) for _ in range(2)),
            ("/", None),
            ("/fast/", None),
            ("/nosuch/", None),
            (f"/fast/async/missing-{number}", None),
        ]
        rng.shuffle(batch)
        mixed += batch
    return mixed


def memory(report: Report, workdir: Path, upstream_port: int, count: int, clients: int) -> None:
    # One worker that is not replaced on the way (max_requests): otherwise the repo's configuration.
    extra = {"PORTAL_WORKERS": "1", "GUNICORN_CMD_ARGS": "--max-requests 0"}
    portal = Portal(workdir, "memory", _services(upstream_port), extra)
    try:
        [worker] = portal.workers()
        todo = _mixed_requests(count)
        checkpoints: list[tuple[int, int]] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()

        def client(share: list[tuple[str, dict[str, str] | None]]) -> None:
            browser = portal.browser()
            for path, headers in share:
                status = browser.get(path, headers).status
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
            browser.close()

        started = time.monotonic()
        for first in range(0, len(todo), 1000):
            batch = todo[first : first + 1000]
            threads = [threading.Thread(target=client, args=(batch[index::clients],)) for index in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            checkpoints.append((first + len(batch), rss_bytes(worker)))
        seconds = time.monotonic() - started
        if portal.workers() != [worker]:
            raise RuntimeError("the worker was replaced during the memory run")
    finally:
        portal.stop()
    warm = next(rss for done, rss in checkpoints if done >= 2000)
    last = checkpoints[-1][1]
    growth = last / warm - 1
    unexpected = {status: n for status, n in statuses.items() if status not in (200, 404)}
    what = f"Memory: a worker's resident memory after {count:,} mixed requests / after 2,000"
    shown = f"{growth * 100:+.1f} % ({warm / MiB:.0f} → {last / MiB:.0f} MiB)"
    report.add(
        _failed(at_most(7, what, growth, 0.10, shown, "≤ +10 %"), sum(unexpected.values()), unexpected),
        section=[
            "### 7. Memory",
            "",
            f"One worker (PORTAL_WORKERS=1, and `--max-requests 0` so that it is not replaced on the way; the rest "
            f"as in portal/gunicorn.conf.py) answers {count:,} requests from {clients} clients in {seconds:.0f} s: "
            "in every 20, 8 job pages (of 400 jobs, so the table of remembered jobs grows), 4 watch fragments, 2 job "
            "lists (500 jobs; every fifth time 10,000), a second page of a list, 2 previews (1 MB), 2 start pages "
            "and 2 pages not found. Resident memory (/proc) after each thousand:",
            "",
            "| requests | " + " | ".join(f"{done:,}" for done, _ in checkpoints) + " |",
            "|---|" + "---:|" * len(checkpoints),
            "| RSS, MiB | " + " | ".join(f"{rss / MiB:.1f}" for _, rss in checkpoints) + " |",
            "",
            f"Answers: {', '.join(f'{n} × {status}' for status, n in sorted(statuses.items()))}.",
        ],
    )


# -- the report ------------------------------------------------------------------------------


def _machine(load_before: float, busy: float, dachs_server: str, gunicorn_conf: dict[str, str]) -> list[str]:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in PACKAGES)
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: nproc {len(os.sched_getaffinity(0))}, {_memory()} memory, CPU {cpu_model()}, "
        f"{platform.system()} {platform.release()}. It is shared: load average {load_before:.2f} before the run, "
        f"and its two cores were {busy * 100:.0f} % busy over the run (this run's processes included)",
        f"- Python {platform.python_version()}; {versions}; wrk {wrk_version()}; the real service: {dachs_server}",
        f"- Portal: `portal/gunicorn.conf.py` ({gunicorn_conf.get('workers', '?')} workers × "
        f"{gunicorn_conf.get('threads', '?')} threads, {gunicorn_conf.get('worker_class', '?')}), production "
        "settings (PORTAL_SSL_REDIRECT=0: plain http on loopback), a fresh SQLite database",
        "- The fast service: bench/upstream.py (asyncio, one process, documents from memory, results made up as "
        "they are sent). The clients, the services and the portal share the machine, on loopback",
        "- Reproduce: `make bench` (it installs wrk and starts DaCHS if need be), or "
        "`.venv/bin/python -m bench.benchmarks --only page list` for some of the benchmarks (`--help`); "
        "`--profile DIR` adds py-spy profiles of the workers during the throughput runs",
    ]


def render(report: Report, machine: list[str]) -> str:
    met = sum(figure.met for figure in report.figures)
    return "\n".join(
        [
            BEGIN,
            "",
            f"## Results: {met} of {len(report.figures)} figures meet their goal",
            "",
            *machine,
            "",
            "| goal | what | measured | goal | met | note |",
            "|---:|---|---:|---:|---|---|",
            *(
                f"| {figure.goal} | {figure.what} | {figure.measured} | {figure.target} | "
                f"{'yes' if figure.met else '**no**'} | {figure.note} |"
                for figure in sorted(report.figures, key=lambda figure: figure.goal)
            ),
            "",
            *(f"{section}\n" for section in sorted(report.sections, key=lambda text: text.split(".", 1)[0])),
            END,
        ]
    )


def write(output: Path, text: str) -> None:
    """Replace the part between the markers; the prose around it is kept."""
    old = output.read_text() if output.exists() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        new = head + text + rest.partition(END)[2]
    else:
        new = f"# Benchmarks\n\n{text}\n"
    output.write_text(new)


# -- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=STEPS, default=STEPS, help="run these benchmarks only")
    parser.add_argument("--output", type=Path, help="the markdown file (docs/benchmarks.md for a run of all)")
    parser.add_argument("--profile", type=Path, help="py-spy profiles of the workers (throughput) into this folder")
    parser.add_argument("--pairs", type=int, default=400, help="pairs of job-page requests (400)")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs through the portal, and direct (3 each)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections to the fast service (16)")
    parser.add_argument("--watch-seconds", type=int, default=60, help="how long the watched job runs (60)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests of the memory benchmark (10,000)")
    parser.add_argument("--log", type=Path, help="keep the portal's log (gunicorn and Django) in this file")
    args = parser.parse_args()
    from bench import results  # section 9, which uses this module's helpers

    output = args.output or (ROOT / "docs" / "benchmarks.md" if args.only == STEPS else None)
    if "throughput" in args.only and wrk_version() == "not installed":
        parser.error("wrk is missing: `bash bench/wrk.sh` installs it (make bench does)")
    if args.profile and not profiles.PY_SPY.exists():
        parser.error("py-spy is missing: `make test-python` installs it (requirements-test.txt)")
    load_before, busy = os.getloadavg()[0], _busy()
    arm_watchdog(WATCHDOG_SECONDS)
    spawn = multiprocessing.get_context("spawn")
    ports = spawn.Queue()
    service = spawn.Process(target=upstream.serve, args=(ports,), daemon=True)
    report = Report()
    portal = floor = dachs = None
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        workdir = Path(tmp)
        try:
            try:
                dachs = Dachs()
            except requests.RequestException:
                raise SystemExit(
                    f"DaCHS does not answer at {DACHS}: `bash scripts/dachs.sh start` (make bench does)"
                ) from None
            service.start()
            upstream_port = ports.get(timeout=30)
            dachs_job = dachs.create("SELECT TOP 5 id, name, ra, dec, mag, note FROM portaltest.objects ORDER BY id")
            dachs.run(dachs_job)
            dachs.wait_until_final(dachs_job, 120)
            portal = Portal(workdir, "portal", _services(upstream_port))
            floor = Floor(workdir, portal, upstream_port)
            gunicorn_conf = gunicorn_settings(portal.env)
            print(
                f"portal on :{portal.port}, the floor on :{floor.port}, the fast service on :{upstream_port}, "
                f"DaCHS at {DACHS}",
                file=sys.stderr,
            )
            from bench import watching as keeping  # here: it imports this module's Portal and Report

            steps: dict[str, Callable[[], None]] = {
                "page": lambda: job_page(report, portal, floor, upstream_port, dachs_job, args.pairs),
                "list": lambda: job_list(report, portal, floor, upstream_port, 20),
                "preview": lambda: preview(report, portal, 15),
                "download": lambda: download(report, portal, service.pid, upstream_port, 3),
                "results": lambda: results.results(report, portal, service.pid, upstream_port, 15),
                "throughput": lambda: throughput(
                    report,
                    portal,
                    floor,
                    service.pid,
                    upstream_port,
                    dachs_job,
                    seconds=args.seconds,
                    rounds=args.rounds,
                    connections=args.connections,
                    profile=args.profile,
                ),
                "watch": lambda: watching(report, portal, dachs, args.watch_seconds),
                "memory": lambda: memory(report, workdir, upstream_port, args.requests, 4),
                "unattended": lambda: keeping.unattended(report, workdir, upstream_port),
                "worker": lambda: keeping.worker_cpu(report, workdir, upstream_port),
                "banner": lambda: keeping.banner_cost(report, workdir, upstream_port),
                "open": lambda: keeping.open_job_pages(report, workdir, upstream_port),
            }
            for name in STEPS:
                if name in args.only:
                    print(f"-- {name}", file=sys.stderr)
                    if name == "memory" or name in WATCHING_STEPS:  # a portal of its own
                        portal.stop()
                        floor.stop()
                    steps[name]()
        except BaseException:
            if portal is not None and portal.log.exists():
                print("--- the last lines of the portal's log (--log FILE keeps all of it)", file=sys.stderr)
                print("\n".join(portal.log.read_text(errors="replace").splitlines()[-30:]), file=sys.stderr)
            raise
        finally:
            signal.alarm(0)
            if floor is not None:
                floor.stop()
            if portal is not None:
                portal.stop()
                if args.log:
                    args.log.write_bytes(portal.log.read_bytes())
            if dachs is not None:
                dachs.delete_all()
            if service.is_alive():
                service.terminate()
                service.join(5)
    machine = _machine(load_before, _busy_since(busy), dachs.server, gunicorn_conf)
    machine.append(f"- This run took {time.monotonic() - began:.0f} s")
    text = render(report, machine)
    print(text)
    if args.profile:
        for label in ("fast-service-portal", "fast-service-floor", "DaCHS-portal"):
            found = sorted(path for path in args.profile.glob(f"{label}-*.txt") if path.stem[-1].isdigit())
            if found:
                (args.profile / f"{label}-summary.txt").write_text(profiles.summary(found) + "\n")
        print(f"profiles in {args.profile}", file=sys.stderr)
    if output:
        output.parent.mkdir(exist_ok=True)
        write(output, text)
        print(f"written to {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
