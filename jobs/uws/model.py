"""Plain, immutable data for UWS documents (UWS 1.1 §2.2.3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar, overload
from urllib.parse import urlsplit

# The characters real services use in job and result ids (DaCHS `x2r_q5u4`, ESAC
# `1479386030738O`, CASDA UUIDs, `votable.xml`); nothing that can leave the path
# segment (`/`, `%`, `?`, `#`, whitespace) and no leading dot. The portal puts only
# such ids in its URLs and in requests to a service.
ID_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._~:@+-]{0,127}"
ID_RE = re.compile(ID_PATTERN)

# UWS 1.1 §2.1.3. A server may still send a phase outside this list; it is kept
# as text and treated like UNKNOWN.
PHASES = (
    "PENDING",
    "QUEUED",
    "EXECUTING",
    "COMPLETED",
    "ERROR",
    "ABORTED",
    "UNKNOWN",
    "HELD",
    "SUSPENDED",
    "ARCHIVED",
)
FINAL_PHASES = frozenset({"COMPLETED", "ERROR", "ABORTED", "ARCHIVED"})


@dataclass(frozen=True)
class Parameter:
    id: str
    value: str
    by_reference: bool = False


@dataclass(frozen=True)
class Result:
    id: str
    href: str
    size: int | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class ErrorSummary:
    message: str
    type: str | None = None  # "fatal" or "transient"; servers often leave it out
    has_detail: bool = False


@dataclass(frozen=True)
class Job:
    job_id: str
    phase: str
    run_id: str | None = None
    owner_id: str | None = None
    quote: datetime | None = None
    creation_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    execution_duration: int | None = None  # seconds; 0 means unlimited
    destruction: datetime | None = None
    parameters: tuple[Parameter, ...] = ()
    results: tuple[Result, ...] = ()
    error_summary: ErrorSummary | None = None
    version: str = "1.0"

    @property
    def is_final(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def ran_out_of_time(self) -> bool:
        """ABORTED, with no error, when its execution duration ran out: VOLLT (ESO's services) ends such jobs so.

        The run lasted at least its execution duration, give or take the second the
        service may take to stop it.
        """
        if self.phase != "ABORTED" or self.error_summary is not None or not self.execution_duration:
            return False
        if self.start_time is None or self.end_time is None:
            return False
        return (self.end_time - self.start_time).total_seconds() >= self.execution_duration - 1

    def parameter(self, name: str) -> str | None:
        """The value of a parameter; ids come in any case (UWS-NOTES §4.11)."""
        wanted = name.lower()
        for parameter in self.parameters:
            if parameter.id.lower() == wanted:
                return parameter.value
        return None

    @property
    def query(self) -> str | None:
        return self.parameter("query")

    def result(self, result_id: str) -> Result | None:
        for result in self.results:
            if result.id == result_id:
                return result
        return None


@dataclass(frozen=True)
class JobRef:
    """One entry of a job list; `href` is the job's own URL when the server gives it."""

    id: str
    phase: str
    href: str | None = None
    run_id: str | None = None
    owner_id: str | None = None
    creation_time: datetime | None = None

    @property
    def job_id(self) -> str | None:
        """The id that names the job in its URL, or None if no usable one is given.

        Some services' jobref ids are not job ids (CosmoSim's are table names): the last
        segment of the href, when there is one, is the job's own (UWS-NOTES §4.8).
        """
        if self.href:
            segment = urlsplit(self.href).path.rstrip("/").rsplit("/", 1)[-1]
            if ID_RE.fullmatch(segment):
                return segment
        return self.id if ID_RE.fullmatch(self.id) else None


class Listed(Protocol):
    """An entry of a job list as read for merging, filtering and sorting; `ref()` makes its JobRef."""

    id: str
    phase: str
    creation_time: datetime | None

    def ref(self) -> JobRef: ...


class JobRefs(Sequence[JobRef]):
    """A job list's entries, each made a JobRef only when it is asked for: of a list of
    10,000 jobs a page shows 50 (docs/benchmarks.md)."""

    def __init__(self, entries: Sequence[Listed]) -> None:
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> JobRef: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[JobRef, ...]: ...

    def __getitem__(self, index: int | slice) -> JobRef | tuple[JobRef, ...]:
        if isinstance(index, slice):
            return tuple(entry.ref() for entry in self._entries[index])
        return self._entries[index].ref()


@dataclass(frozen=True)
class JobList:
    jobs: Sequence[JobRef] = field(default_factory=tuple)
    version: str = "1.0"

    def newest_first(self) -> tuple[JobRef, ...]:
        """The jobs, newest first where the service says when (services send lists unsorted, UWS-NOTES §4.8)."""
        return newest_first(self.jobs)


_DAWN = datetime.min.replace(tzinfo=UTC)
_Dated = TypeVar("_Dated", JobRef, Listed)


def newest_first(jobs: Sequence[_Dated]) -> tuple[_Dated, ...]:
    """Jobs by creation time, newest first; those without one last, in the order given."""
    return tuple(sorted(jobs, key=lambda ref: ref.creation_time or _DAWN, reverse=True))


@dataclass(frozen=True)
class ErrorDocument:
    """What a job's `/error` resource holds, whatever its format (UWS-NOTES §4.7)."""

    content_type: str
    text: str  # the document as text, for showing
    message: str | None = None  # the message pulled out of a DALI VOTable, if any
