"""What a change sends, and what its outcome says the service did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs.uws import changes
from jobs.uws.changes import Outcome
from jobs.uws.errors import Failure, ServiceError
from jobs.uws.model import Job


def job(phase: str = "PENDING", **values) -> Job:
    return Job(job_id="j", phase=phase, **values)


def test_each_change_sends_one_parameter_as_uws_wants_it():
    assert changes.RUN.form(None) == {"PHASE": "RUN"}
    assert changes.ABORT.form(None) == {"PHASE": "ABORT"}
    assert changes.SET_EXECUTION_DURATION.form(600) == {"EXECUTIONDURATION": "600"}
    assert changes.SET_DESTRUCTION.form(datetime(2030, 1, 31, 12, tzinfo=UTC)) == {
        "DESTRUCTION": "2030-01-31T12:00:00Z"
    }
    assert changes.DELETE.form(None) == {} and changes.DELETE.method == "DELETE"


@pytest.mark.parametrize(
    ("change", "before", "after", "ignored"),
    [
        (changes.RUN, "PENDING", "QUEUED", False),
        (changes.RUN, "PENDING", "PENDING", True),
        (changes.RUN, None, "HELD", True),
        (changes.RUN, None, "COMPLETED", False),  # fast: it ended before it was read back
        (changes.RUN, "COMPLETED", "COMPLETED", True),  # DaCHS answers 303 and does nothing
        (changes.ABORT, "EXECUTING", "ABORTED", False),
        (changes.ABORT, "EXECUTING", "COMPLETED", True),
        (changes.ABORT, "ABORTED", "ABORTED", True),
    ],
)
def test_an_outcome_says_whether_a_change_of_phase_was_ignored(change, before, after, ignored):
    assert Outcome(change, None, before, job(after)).ignored is ignored


def test_an_outcome_says_what_the_service_kept():
    clamped = Outcome(changes.SET_EXECUTION_DURATION, 99999, "PENDING", job(execution_duration=3600))
    assert (clamped.kept, clamped.kept_as_asked) == (3600, False)
    asked = datetime(2030, 1, 1, 0, 0, 0, 400_000, tzinfo=UTC)
    kept = Outcome(changes.SET_DESTRUCTION, asked, "PENDING", job(destruction=asked.replace(microsecond=0)))
    assert kept.kept_as_asked  # services keep whole seconds


def test_a_delete_is_gone_only_when_the_job_could_be_read_as_gone():
    refusal = ServiceError(Failure.REFUSED, "no", service="s", url="u")
    assert Outcome(changes.DELETE, None, "COMPLETED", None).gone
    assert not Outcome(changes.DELETE, None, "COMPLETED", job("ARCHIVED")).gone
    assert not Outcome(changes.DELETE, None, "COMPLETED", None, unread=refusal).gone
    assert not Outcome(changes.DELETE, None, "COMPLETED", job("COMPLETED"), refusal=refusal).gone


@pytest.mark.parametrize(
    ("earlier", "after", "kept_back"),
    [
        (datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC), True),  # VOLLT, a finished job
        (datetime(2026, 12, 3, tzinfo=UTC), datetime(2027, 5, 31, tzinfo=UTC), False),  # kept longer
        (datetime(2035, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), False),  # cut to the service's limit
        (None, datetime(2026, 12, 3, tzinfo=UTC), False),  # nothing to compare with
    ],
)
def test_an_outcome_says_when_a_later_destruction_was_accepted_and_left_undone(earlier, after, kept_back):
    asked = datetime(2030, 1, 1, tzinfo=UTC)
    outcome = Outcome(
        changes.SET_DESTRUCTION,
        asked,
        "COMPLETED",
        job("COMPLETED", destruction=after),
        earlier=job("COMPLETED", destruction=earlier),
    )
    assert outcome.destruction_kept_back is kept_back
