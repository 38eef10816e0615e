"""The same operation from the command line: curl, wget and pyvo, as ESO's page shows them.

Every value is shell-quoted (or Python-quoted) here, so what a user copies runs as
shown whatever the job id, query or date holds.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import urlencode

from . import phases


@dataclass(frozen=True)
class Commands:
    title: str
    curl: str
    wget: str
    pyvo: str


def _q(value: str) -> str:
    return shlex.quote(value)


def _job_py(job_url: str) -> str:
    return f"import pyvo\n\njob = pyvo.dal.AsyncTAPJob({job_url!r})\n"


def for_job(async_url: str, job_id: str, operation: str, value: str | None = None) -> Commands:
    """The commands for one operation on one job; `value` is the duration or destruction."""
    job = f"{async_url}/{job_id}"
    py = _job_py(job)
    if operation == "status":
        return Commands(
            "Read the job",
            f"curl {_q(job)}",
            f"wget -q -O - {_q(job)}",
            py + "print(job.phase)",
        )
    if operation in (phases.RUN, phases.ABORT):
        word = "RUN" if operation == phases.RUN else "ABORT"
        return Commands(
            "Run the job" if word == "RUN" else "Abort the job",
            f"curl -d PHASE={word} {_q(job + '/phase')}",
            f"wget -q -O - --post-data=PHASE={word} {_q(job + '/phase')}",
            py + ("job.run()" if word == "RUN" else "job.abort()"),
        )
    if operation == phases.DURATION:
        seconds = str(value if value is not None else 3600)
        return Commands(
            "Change the execution duration",
            f"curl -d EXECUTIONDURATION={_q(seconds)} {_q(job + '/executionduration')}",
            f"wget -q -O - --post-data=EXECUTIONDURATION={_q(seconds)} {_q(job + '/executionduration')}",
            py + f"job.execution_duration = {int(seconds)}",
        )
    if operation == phases.DESTRUCTION:
        when = value or "2030-01-01T00:00:00Z"
        return Commands(
            "Change the destruction time",
            f"curl --data-urlencode DESTRUCTION={_q(when)} {_q(job + '/destruction')}",
            f"wget -q -O - --post-data={_q(urlencode({'DESTRUCTION': when}))} {_q(job + '/destruction')}",
            "from datetime import datetime\n\n" + py + f"job.destruction = datetime.fromisoformat({when!r})",
        )
    if operation == phases.DELETE:
        return Commands(
            "Delete the job",
            f"curl -X DELETE {_q(job)}",
            f"wget -q -O - --method=DELETE {_q(job)}",
            py + "job.delete()",
        )
    if operation == "results":
        result = f"{job}/results/result"
        return Commands(
            "Download the result",
            f"curl -L -o {_q(job_id + '-result')} {_q(result)}",
            f"wget -O {_q(job_id + '-result')} {_q(result)}",
            py + "table = job.fetch_result().to_table()\nprint(table)",
        )
    if operation == "error":
        return Commands(
            "Read the error",
            f"curl {_q(job + '/error')}",
            f"wget -q -O - {_q(job + '/error')}",
            py + "job.raise_if_error()",
        )
    raise ValueError(f"no commands for {operation!r}")


def for_new_job(base_url: str, parameters: dict[str, str]) -> Commands:
    """Create a job as the new-query form does (TAP 1.1 §3.3), then start it."""
    data = " ".join(f"--data-urlencode {_q(f'{key}={value}')}" for key, value in parameters.items())
    post = urlencode(parameters)
    keywords = "".join(
        f", maxrec={int(value)}" if key == "MAXREC" else f", {key}={value!r}"
        for key, value in parameters.items()
        if key not in ("REQUEST", "LANG", "QUERY")
    )
    return Commands(
        "Create a job",
        f"curl -i {data} {_q(base_url + '/async')}",
        f"wget -S -O - --post-data={_q(post)} {_q(base_url + '/async')}",
        f"import pyvo\n\nservice = pyvo.dal.TAPService({base_url!r})\n"
        f"job = service.submit_job({parameters.get('QUERY', '')!r}{keywords})\njob.run()\nprint(job.url)",
    )
