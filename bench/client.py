"""The benchmarks' side of the wire: a cheap timed HTTP client, wrk, and what /proc says of a process.

The client is http.client on one kept-alive connection, as a browser keeps one: it costs a
fraction of a millisecond a request, the same for the portal and for the service it is
compared with, so differences of medians are the portal's own time.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    seconds: float  # from sending the request to the last byte of the body


class Browser:
    """GETs on one kept-alive connection, sending back the cookies it was given (as a browser does)."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return sent

    def open(self, path: str, headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, float]:
        """Send a GET; the answer's body is the caller's to read (or close). Returns it and when it was sent."""
        for attempt in (1, 2):
            reused = self._connection is not None
            if not reused:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self._connection.request("GET", path, headers=self._headers(headers))
                response = self._connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError):
                self.close()
                if not reused or attempt == 2:
                    raise
                continue  # the server had closed the kept-alive connection (keepalive, a restart): again
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            return response, started
        raise AssertionError("unreachable")

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        response, started = self.open(path, headers)
        body = response.read()
        seconds = time.perf_counter() - started
        if response.will_close:
            self.close()
        return Answer(response.status, body, seconds)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# -- figures ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.5 is the median's upper neighbour for an even count)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- wrk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkRun:
    rate: float  # requests per second
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    client_cpu: float  # wrk's CPU seconds per second of the run: its share of one core


def wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str] | None = None) -> WrkRun:
    """Run wrk (one thread) against `url`; bench/wrk.sh installs it."""
    command = [shutil.which("wrk") or "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"wrk said something this script cannot read:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(bad[1]) if bad else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return WrkRun(float(rate[1]), int(total[1]), errors, cpu / wall)


def wrk_version() -> str:
    found = shutil.which("wrk")
    if not found:
        return "not installed"
    printed = subprocess.run([found, "-v"], capture_output=True, text=True).stdout
    return printed.split()[1] if printed.startswith("wrk ") else "unknown"


# -- /proc --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def workers_cpu_seconds(master: int) -> float:
    """CPU time a gunicorn master's workers have used so far: the live ones', and the master's
    cutime and cstime for those it has replaced (max_requests) and reaped."""
    fields = Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / _TICKS
    live = 0.0
    for pid in children(master):
        with contextlib.suppress(FileNotFoundError):  # reaped since: in the master's cutime from now on
            live += cpu_seconds(pid)
    return reaped + live


def rss_bytes(pid: int) -> int:
    """Resident memory now (statm: cheap enough to read every few milliseconds)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def find_process(needle: str) -> int | None:
    """The first process whose command line holds `needle` (to read its CPU time, nothing else)."""
    for entry in sorted(Path("/proc").iterdir(), key=lambda path: path.name):
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if needle in command:
                return int(entry.name)
    return None


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"
