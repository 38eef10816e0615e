"""What each UWS phase (UWS 1.1 §2.1.3) means to a user.

Which operations each phase allows is said by the operations themselves (`jobs/operations.py`).
"""

MEANINGS: dict[str, str] = {
    "PENDING": "The job is created but not started. Change its limits, then run it.",
    "QUEUED": "The job is waiting for the service to start it.",
    "EXECUTING": "The job is running. Results appear when it completes.",
    "COMPLETED": "The job finished successfully. Its results can be downloaded until it is destroyed.",
    "ERROR": "The job failed. The error below says why; fix the query and submit it again.",
    "ABORTED": "The job was aborted before it finished.",
    "HELD": "The service is holding the job; run it to let it continue.",
    "SUSPENDED": "The service has suspended the job (for example while it stages data); it resumes by itself.",
    "ARCHIVED": "The job has ended and its results were removed; only its description is kept.",
}
UNKNOWN = "The service does not say what state the job is in; reload later."


def meaning(phase: str) -> str:
    return MEANINGS.get(phase, UNKNOWN)
