"""A job as the portal keeps it in the database (JSON), and back: what an open page reads instead of the service."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime

from ..uws.model import ErrorSummary, Job, Parameter, Result

_TIMES = ("quote", "creation_time", "start_time", "end_time", "destruction")


def job_record(job: Job) -> dict:
    record = asdict(job)
    for name in _TIMES:
        record[name] = record[name].isoformat() if record[name] else None
    return record


def job_from_record(record: dict) -> Job:
    values = {field.name: record.get(field.name) for field in fields(Job) if field.name in record}
    for name in _TIMES:
        values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
    values["parameters"] = tuple(Parameter(**item) for item in values.get("parameters") or ())
    values["results"] = tuple(Result(**item) for item in values.get("results") or ())
    values["error_summary"] = ErrorSummary(**values["error_summary"]) if values.get("error_summary") else None
    return Job(**values)
