"""Benchmarks of results to use (issue 13): a plot of the preview's rows, a result as CSV, the download script.

Each runs through the portal of bench/benchmarks.py (gunicorn, production settings) on the fast
service of bench/upstream.py, which makes its VOTables up as it sends them: `preview-<bytes>`
(id, name, ra, dec, mag) for the plot and the CSV, `obscore-<bytes>` (access_url,
access_format, access_estsize...) for the script. The CSV is compared with the direct
download of the same result in the same run; the worker's resident memory is read from /proc
every 5 ms during each transfer through the portal, as for the download (section 3).
"""

from __future__ import annotations

import random
import time

from bench.benchmarks import (
    PREVIEW_SIZES,
    MiB,
    Portal,
    Report,
    _busy,
    _busy_since,
    _ms,
    _RssWatch,
    at_least,
    at_most,
)
from bench.client import Browser, cpu_seconds, median, percentile
from bench.loadtest import HOST

GiB = 1024**3
GOAL = 9  # the section and goal number in docs/benchmarks.md
PLOT_ROWS = 1000  # the preview's limit (PreviewForm)
LIMIT, FLAT = "≤ 150 ms", "≤ 1.25"


def _plot_path(size: int) -> str:
    return f"/fast/async/preview-{size}/results/result/plot.png?plot=histogram&x=mag&rows={PLOT_ROWS}"


def plots(report: Report, portal: Portal, rounds: int) -> list[str]:
    """A histogram of 1,000 rows of results of 1 MB, 100 MB and 1 GiB, the sizes in random order each round."""
    browser = portal.browser()
    times: dict[str, list[float]] = {label: [] for label in PREVIEW_SIZES}
    rng = random.Random(9)
    for number in range(rounds + 2):
        labels = list(PREVIEW_SIZES)
        rng.shuffle(labels)
        for label in labels:
            path = _plot_path(PREVIEW_SIZES[label])
            answer = browser.get(path)
            if answer.status != 200 or not answer.body.startswith(b"\x89PNG"):
                raise RuntimeError(f"GET {path}: {answer.status}, {answer.body[:300]!r}")
            if number >= 2:  # the first two rounds warm up
                times[label].append(answer.seconds)
    browser.close()
    medians = {label: median(values) for label, values in times.items()}
    spread = max(medians.values()) / min(medians.values())
    report.figures += [
        *(
            at_most(
                GOAL, f"Plot of 1,000 rows of a {label} VOTable (median)", value, 0.15, f"{_ms(value)} ms", "≤ 150 ms"
            )
            for label, value in medians.items()
        ),
        at_most(
            GOAL,
            "Plot: flat in the size of the result (largest median / smallest)",
            spread,
            1.25,
            f"{spread:.2f}",
            "≤ 1.25",
        ),
    ]
    return [
        f"**The plot.** `GET {_plot_path(0).replace('preview-0', 'preview-<bytes>')}` "
        f"(a PNG of the first {PLOT_ROWS:,} rows), {rounds} rounds, the sizes in random order in each, after two "
        "rounds of warm-up.",
        "",
        "| result | median ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {_ms(medians[label])} | {_ms(percentile(values, 0.99))} | {_ms(max(values))} |"
            for label, values in times.items()
        ),
    ]


class _Transfer:
    """One GET read to its end: seconds, bytes, the worker's memory growth and CPU, the machine's load."""

    def __init__(self, browser: Browser, path: str, portal: Portal | None, upstream_pid: int) -> None:
        watch = _RssWatch(portal.workers()) if portal else None
        before = portal.cpu() if portal else 0.0
        service_before, busy = cpu_seconds(upstream_pid), _busy()
        response, started = browser.open(path)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}, {response.read(300)!r}")
        buffer = bytearray(MiB)
        self.size = 0
        self.tail = b""
        while read := response.readinto(buffer):
            self.size += read
            self.tail = (self.tail + bytes(buffer[:read]))[-200:]
        self.seconds = time.perf_counter() - started
        self.growth = watch.growth() if watch else 0
        self.worker_cpu = (portal.cpu() - before) / self.seconds if portal else 0.0
        self.service_cpu = (cpu_seconds(upstream_pid) - service_before) / self.seconds
        self.machine = _busy_since(busy) * 2


def _row(label: str, transfer: _Transfer, result: int) -> str:
    worker = f"{transfer.worker_cpu * 100:.0f} %" if transfer.worker_cpu else ""
    growth = f"{transfer.growth / MiB:.1f}" if worker else ""
    return (
        f"| {label} | {transfer.seconds:.1f} | {result / transfer.seconds / MiB:.1f} | {transfer.size / MiB:.0f} "
        f"| {growth} | {worker} | {transfer.service_cpu * 100:.0f} % | {transfer.machine * 100:.0f} % |"
    )


def csv_and_script(report: Report, portal: Portal, upstream_pid: int, upstream_port: int) -> list[str]:
    """A 1 GiB TABLEDATA VOTable: direct, downloaded through the portal, and as CSV; then the download
    script of a 1 GiB ObsCore result."""
    through, direct = portal.browser(), Browser(HOST, upstream_port)
    job = f"preview-{GiB}"
    runs = {
        "direct": _Transfer(direct, f"/tap/async/{job}/results/result", None, upstream_pid),
        "download": _Transfer(through, f"/fast/async/{job}/results/result", portal, upstream_pid),
        "csv": _Transfer(through, f"/fast/async/{job}/results/result/csv", portal, upstream_pid),
        "direct, again": _Transfer(direct, f"/tap/async/{job}/results/result", None, upstream_pid),
    }
    script = _Transfer(through, f"/fast/async/obscore-{GiB}/results/result/script", portal, upstream_pid)
    direct_obscore = _Transfer(direct, f"/tap/async/obscore-{GiB}/results/result", None, upstream_pid)
    through.close()
    direct.close()
    for name, run in runs.items():
        expected = None if name == "csv" else GiB
        if expected and run.size != expected:
            raise RuntimeError(f"the {name} transfer of {job} ended after {run.size} bytes")
    if not runs["csv"].tail.endswith(b"\r\n") or b"access_estsize in all" not in script.tail:
        raise RuntimeError(f"the CSV or the script ended early: {runs['csv'].tail!r}, {script.tail!r}")
    direct_rate = median([GiB / runs["direct"].seconds, GiB / runs["direct, again"].seconds])
    csv_rate = GiB / runs["csv"].seconds
    ratio = csv_rate / direct_rate
    why = (
        f": the worker converts at {csv_rate / MiB:.0f} MiB/s of VOTable using {runs['csv'].worker_cpu * 100:.0f} % "
        "of a core (section 9)"
    )
    report.figures += [
        at_least(
            GOAL,
            "1 GiB VOTable as CSV: throughput through the portal / the direct download",
            ratio,
            0.5,
            f"{ratio:.3f} ({csv_rate / MiB:.1f} / {direct_rate / MiB:.0f} MiB/s)",
            "≥ 0.5",
            why,
        ),
        at_most(
            GOAL,
            "1 GiB VOTable as CSV: growth of the worker's resident memory",
            runs["csv"].growth,
            32 * MiB,
            f"{runs['csv'].growth / MiB:.1f} MiB",
            "≤ 32 MiB",
        ),
        at_most(
            GOAL,
            f"Download script of a 1 GiB ObsCore result: growth of the worker's resident memory "
            f"({script.seconds:.0f} s, {GiB / script.seconds / MiB:.1f} MiB/s)",
            script.growth,
            32 * MiB,
            f"{script.growth / MiB:.1f} MiB",
            "≤ 32 MiB",
        ),
    ]
    return [
        f"**CSV and the download script.** A 1 GiB TABLEDATA VOTable (`{job}`: id, name, ra, dec, mag; "
        "75 bytes a row) straight from the fast service, through the portal as it is (`/results/result`) and as "
        "CSV (`/results/result/csv`), then straight again; then the download script of a 1 GiB ObsCore-shaped "
        f"VOTable (`obscore-{GiB}`: obs_id, access_url, access_format, access_estsize, s_ra, s_dec; every fourth "
        "row a DataLink document), and that VOTable straight. Once each, one after the other; the ratio is "
        "the CSV's rate against the median of the two direct downloads. MiB/s count the VOTable read, not "
        "what the portal wrote; CPU as in 2.",
        "",
        "| transfer | seconds | MiB/s of VOTable | MiB sent | worker memory growth, MiB | worker's CPU "
        "| service's CPU | whole machine |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _row("direct", runs["direct"], GiB),
        _row("through the portal, as it is", runs["download"], GiB),
        _row("through the portal, as CSV", runs["csv"], GiB),
        _row("direct, again", runs["direct, again"], GiB),
        _row("ObsCore result: the download script", script, GiB),
        _row("ObsCore result: direct", direct_obscore, GiB),
    ]


def results(report: Report, portal: Portal, upstream_pid: int, upstream_port: int, rounds: int) -> None:
    """Section 9 of the report: the plot, the CSV and the download script."""
    section = [
        "### 9. Results: plots, CSV, download script",
        "",
        *plots(report, portal, rounds),
        "",
        *csv_and_script(report, portal, upstream_pid, upstream_port),
    ]
    report.sections.append("\n".join(section))
