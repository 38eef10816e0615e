"""The same operation from the command line: curl, wget and pyvo, as ESO's page shows them.

The curl and wget lines are written from the UWS request each operation makes
(`jobs/operations.py`), the pyvo lines from the operation's own statement. Every value
is shell-quoted (or Python-quoted) here, so what a user copies runs as shown whatever
the job id, query or date holds.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import urlencode

from .operations import BY_ID, Operation
from .results import file_name

# What the commands of a change show when the job has no value of its own to start from.
DEFAULT_VALUES = {"executionduration": "3600", "destruction": "2030-01-01T00:00:00Z"}


@dataclass(frozen=True)
class Commands:
    title: str
    curl: str
    wget: str
    pyvo: str


def _q(value: str) -> str:
    return shlex.quote(value)


def for_job(jobs_url: str, job_id: str, operation_id: str, value: str | None = None) -> Commands:
    """The commands for one operation on one job; `value` is what a change sends (duration, destruction)."""
    operation = BY_ID[operation_id]
    job = f"{jobs_url}/{job_id}"
    value = value or DEFAULT_VALUES.get(operation_id)
    pyvo = f"import pyvo\n\njob = pyvo.dal.AsyncTAPJob({job!r})\n" + operation.pyvo(value)
    if operation_id == "destruction":
        pyvo = "from datetime import datetime\n\n" + pyvo
    if operation.change is not None:
        curl, wget = _change_lines(operation, job, value)
    elif operation_id == "results":
        # `value` is what the result is: its media type, or the FORMAT the job asked for.
        media_type = result_media_type(value)
        result = f"{job}/results/result"
        name = file_name(job_id, "result", media_type) if media_type else f"{job_id}-result"
        curl = f"curl -L -o {_q(name)} {_q(result)}"
        wget = f"wget -O {_q(name)} {_q(result)}"
        pyvo = _reading(media_type, job)
    else:
        url = job + ("/error" if operation_id == "error" else "")
        curl, wget = f"curl {_q(url)}", f"wget -q -O - {_q(url)}"
    return Commands(operation.command_title, curl, wget, pyvo)


# The FORMAT values of TAP 1.1 §2.7.1 (and DaCHS's), as the media types of what they give.
_FORMATS = {
    "votable": "application/x-votable+xml",
    "votable/td": "application/x-votable+xml",
    "votable/b2": "application/x-votable+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "fits": "application/fits",
    "json": "application/json",
}


def result_media_type(value: str | None) -> str | None:
    """The media type of a result, from its own type or the FORMAT the job asked for."""
    if not value:
        return None
    value = value.strip().lower()
    return value if "/" in value and not value.startswith("votable") else _FORMATS.get(value)


_ASTROPY_FORMATS = {"text/csv": "ascii.csv", "text/tab-separated-values": "ascii.tab", "application/fits": "fits"}


def _reading(media_type: str | None, job: str) -> str:
    """The pyvo lines that read the result the way its format needs (a CSV result is no VOTable)."""
    opened = f"job = pyvo.dal.AsyncTAPJob({job!r})\n"
    form = _ASTROPY_FORMATS.get((media_type or "").split(";")[0])
    if form:
        return (
            f"import pyvo\nfrom astropy.table import Table\n\n{opened}"
            f"table = Table.read(job.result_uri, format={form!r})\nprint(table)"
        )
    return f"import pyvo\n\n{opened}table = job.fetch_result().to_table()\nprint(table)"


def _change_lines(operation: Operation, job: str, value: str | None) -> tuple[str, str]:
    """curl and wget for the UWS request of a change (UWS 1.1 §2.2.3)."""
    change = operation.change
    url = _q(job + change.path)
    if change.method == "DELETE":
        return f"curl -X DELETE {url}", f"wget -q -O - --method=DELETE {url}"
    if change.fixed is not None:
        pair = f"{change.parameter}={change.fixed}"
        return f"curl -d {pair} {url}", f"wget -q -O - --post-data={pair} {url}"
    return (
        f"curl --data-urlencode {_q(f'{change.parameter}={value}')} {url}",
        f"wget -q -O - --post-data={_q(urlencode({change.parameter: value}))} {url}",
    )


def for_new_job(base_url: str, parameters: dict[str, str], jobs_url: str | None = None) -> Commands:
    """Create a job with these parameters (TAP 1.1 §3.3), then start it, as the new-query form does."""
    jobs_url = jobs_url or base_url + "/async"
    data = " ".join(f"--data-urlencode {_q(f'{key}={value}')}" for key, value in parameters.items())
    post = urlencode(parameters)
    keywords = "".join(
        f", maxrec={int(value)}" if key == "MAXREC" else f", {key}={value!r}"
        for key, value in parameters.items()
        if key not in ("REQUEST", "LANG", "QUERY")
    )
    return Commands(
        "Create the same job again",
        f"curl -i {data} {_q(jobs_url)}",
        f"wget -S -O - --post-data={_q(post)} {_q(jobs_url)}",
        f"import pyvo\n\nservice = pyvo.dal.TAPService({base_url!r})\n"
        f"job = service.submit_job({parameters.get('QUERY', '')!r}{keywords})\njob.run()\nprint(job.url)",
    )


# The parameters of a job that make it again (TAP 1.1 §2.3), in the order the form sends them.
_CREATION_PARAMETERS = ("REQUEST", "LANG", "QUERY", "FORMAT", "MAXREC", "RUNID")


def creation_parameters(job) -> dict[str, str]:
    """The creation parameters of an existing TAP job, read back from its document; empty if it has no query."""
    if not job.query:
        return {}
    found = {"REQUEST": "doQuery", "LANG": "ADQL"}
    for name in _CREATION_PARAMETERS:
        value = job.parameter(name)
        if value:
            found[name] = value
    if job.run_id and "RUNID" not in found:
        found["RUNID"] = job.run_id
    return found
