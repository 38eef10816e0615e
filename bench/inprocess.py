"""The portal's own CPU time for a page, measured in one process, without gunicorn and without waits.

bench/benchmarks.py runs it with the portal's environment (production settings, a services
file, a database of its own): Django's test client asks each path given on the command line
in 20 batches of 50, and the best batch's CPU time per request is printed as JSON, in ms.
The best batch, because the machine's other work only ever adds to it; the batches of the
paths in turn. After `--browser KEY` the paths are asked as that browser (its cookie), as the
database the settings name has it, and printed as "KEY PATH". `--banner-check KEY` times the
question every page asks for the browser's banners (jobs/watching/views.py), alone.

    python -m bench.inprocess /fast/async/bench1 ... [--browser KEY PATH ...] [--banner-check KEY] ...
"""

from __future__ import annotations

import json
import sys
import time

BATCHES, REQUESTS = 20, 50


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from jobs.middleware import COOKIE
    from jobs.watching.views import has_banners

    call_command("migrate", verbosity=0)
    asked: list[tuple[str, Client, str]] = []  # (the figure's name, the client that asks, its path)
    client, browser = Client(), ""  # a client keeps the cookies it is given, as a browser does
    words = iter(sys.argv[1:])
    checks: list[str] = []
    for word in words:
        if word == "--banner-check":
            checks.append(next(words))
        elif word == "--browser":
            browser = next(words)
            client = Client()
            client.cookies[COOKIE] = browser
        else:
            asked.append((f"{browser} {word}" if browser else word, client, word))
    for _, client, path in asked:
        for _ in range(REQUESTS):
            status = client.get(path).status_code
            if status != 200:
                raise SystemExit(f"GET {path}: {status}")
    # The batches of all the paths in turn, so that a slower spell of the machine falls on each alike.
    best = dict.fromkeys((name for name, _, _ in asked), float("inf"))
    for _ in range(BATCHES):
        for name, client, path in asked:
            started = time.process_time()
            for _ in range(REQUESTS):
                client.get(path)
            best[name] = min(best[name], (time.process_time() - started) / REQUESTS)
    for browser in checks:  # the question every page asks of the database for its browser, alone
        best[f"banner check {browser}"] = _best(lambda browser=browser: has_banners(browser))
    print(json.dumps({name: seconds * 1000 for name, seconds in best.items()}))


def _best(call, batches: int = BATCHES, calls: int = 1000) -> float:
    """The CPU seconds of one call, in the best of `batches` batches."""
    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - started) / calls)
    return best


if __name__ == "__main__":
    main()
