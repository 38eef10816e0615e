"""What each UWS phase means to a user, and which operations make sense in it.

UWS 1.1 §2.1.3 defines the phases; the transitions a client can cause are RUN from
PENDING or HELD, and ABORT from PENDING, QUEUED, EXECUTING (and HELD/SUSPENDED,
where the server is holding the job).
"""

from dataclasses import dataclass

RUN = "run"
ABORT = "abort"
DURATION = "executionduration"
DESTRUCTION = "destruction"
DELETE = "delete"
ORDER = (RUN, ABORT, DURATION, DESTRUCTION, DELETE)  # as the page lists them


@dataclass(frozen=True)
class PhaseInfo:
    meaning: str
    actions: frozenset[str]


_ALL = frozenset({RUN, ABORT, DURATION, DESTRUCTION, DELETE})

PHASE_INFO: dict[str, PhaseInfo] = {
    "PENDING": PhaseInfo(
        "The job is created but not started. Change its limits, then run it.",
        _ALL,
    ),
    "QUEUED": PhaseInfo(
        "The job is waiting for the service to start it.",
        frozenset({ABORT, DESTRUCTION, DELETE}),
    ),
    "EXECUTING": PhaseInfo(
        "The job is running. Results appear when it completes.",
        frozenset({ABORT, DESTRUCTION, DELETE}),
    ),
    "COMPLETED": PhaseInfo(
        "The job finished successfully. Its results can be downloaded until it is destroyed.",
        frozenset({DESTRUCTION, DELETE}),
    ),
    "ERROR": PhaseInfo(
        "The job failed. The error below says why; fix the query and submit it again.",
        frozenset({DESTRUCTION, DELETE}),
    ),
    "ABORTED": PhaseInfo(
        "The job was aborted before it finished.",
        frozenset({DESTRUCTION, DELETE}),
    ),
    "HELD": PhaseInfo(
        "The service is holding the job; run it to let it continue.",
        frozenset({RUN, ABORT, DESTRUCTION, DELETE}),
    ),
    "SUSPENDED": PhaseInfo(
        "The service has suspended the job (for example while it stages data); it resumes by itself.",
        frozenset({ABORT, DESTRUCTION, DELETE}),
    ),
    "ARCHIVED": PhaseInfo(
        "The job has ended and its results were removed; only its description is kept.",
        frozenset({DELETE}),
    ),
}

UNKNOWN = PhaseInfo(
    "The service does not say what state the job is in; reload later.",
    _ALL,
)


def phase_info(phase: str) -> PhaseInfo:
    return PHASE_INFO.get(phase, UNKNOWN)
