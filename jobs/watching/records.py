"""A job as the portal keeps it in the database (JSON), and back: what an open page reads instead of the service."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from ..uws.model import ErrorSummary, Job, Parameter, Result

_TIMES = ("quote", "creation_time", "start_time", "end_time", "destruction")


def job_record(job: Job) -> dict:
    """The job as JSON keeps it (lists, not tuples), so that it compares equal to the one read back.

    Written out rather than `dataclasses.asdict`, which deep-copies every value: the worker
    makes one for each check (a tenth of a check's time).
    """
    error = job.error_summary
    return {
        "job_id": job.job_id,
        "phase": job.phase,
        "run_id": job.run_id,
        "owner_id": job.owner_id,
        **{name: _iso(getattr(job, name)) for name in _TIMES},
        "execution_duration": job.execution_duration,
        "parameters": [
            {"id": item.id, "value": item.value, "by_reference": item.by_reference} for item in job.parameters
        ],
        "results": [
            {"id": item.id, "href": item.href, "size": item.size, "mime_type": item.mime_type} for item in job.results
        ],
        "error_summary": (
            {"message": error.message, "type": error.type, "has_detail": error.has_detail} if error else None
        ),
        "version": job.version,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def job_from_record(record: dict) -> Job:
    values = {field.name: record.get(field.name) for field in fields(Job) if field.name in record}
    for name in _TIMES:
        values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
    values["parameters"] = tuple(Parameter(**item) for item in values.get("parameters") or ())
    values["results"] = tuple(Result(**item) for item in values.get("results") or ())
    values["error_summary"] = ErrorSummary(**values["error_summary"]) if values.get("error_summary") else None
    return Job(**values)
