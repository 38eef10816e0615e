"""The portal's own CPU time for a page, measured in one process, without gunicorn and without waits.

bench/benchmarks.py runs it with the portal's environment (production settings, a services
file, a database of its own): Django's test client asks each path given on the command line
in 20 batches of 50, and the best batch's CPU time per request is printed as JSON, in ms.
The best batch, because the machine's other work only ever adds to it.

    python -m bench.inprocess /fast/async/bench1 ...
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

    call_command("migrate", verbosity=0)
    client = Client()  # keeps the cookies it is given, as a browser does
    found = {}
    for path in sys.argv[1:]:
        for _ in range(REQUESTS):
            status = client.get(path).status_code
            if status != 200:
                raise SystemExit(f"GET {path}: {status}")
        best = float("inf")
        for _ in range(BATCHES):
            started = time.process_time()
            for _ in range(REQUESTS):
                client.get(path)
            best = min(best, (time.process_time() - started) / REQUESTS)
        found[path] = best * 1000
    print(json.dumps(found))


if __name__ == "__main__":
    main()
