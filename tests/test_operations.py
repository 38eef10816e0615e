"""The table of operations: what each allows, and the sentences the user reads after one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs import operations
from jobs.operations import BY_ID, allowed_changes, outcome_message
from jobs.uws import changes
from jobs.uws.changes import Outcome
from jobs.uws.model import Job


def test_the_start_page_offers_the_seven_operations_in_the_order_of_esos_page():
    assert [operation.id for operation in operations.START_PAGE] == [
        "run",
        "status",
        "executionduration",
        "destruction",
        "results",
        "abort",
        "delete",
    ]
    assert [operation.method for operation in operations.START_PAGE] == [
        "post",
        "get",
        "post",
        "post",
        "get",
        "post",
        "post",
    ]


@pytest.mark.parametrize(
    ("phase", "allowed"),
    [
        ("PENDING", ["run", "executionduration", "destruction", "abort", "delete"]),
        ("QUEUED", ["destruction", "abort", "delete"]),
        ("EXECUTING", ["destruction", "abort", "delete"]),
        ("COMPLETED", ["destruction", "delete"]),
        ("ERROR", ["destruction", "delete"]),
        ("HELD", ["run", "destruction", "abort", "delete"]),
        ("ARCHIVED", ["delete"]),
        ("UNKNOWN", ["run", "executionduration", "destruction", "abort", "delete"]),
        ("STAGING", ["run", "executionduration", "destruction", "abort", "delete"]),  # not in the standard
    ],
)
def test_each_phase_allows_the_changes_uws_allows(phase, allowed):
    assert [operation.id for operation in allowed_changes(phase)] == allowed


def test_the_names_the_job_page_takes_are_listed_from_the_table():
    assert operations.posted_names() == "PHASE=RUN, EXECUTIONDURATION, DESTRUCTION, PHASE=ABORT or ACTION=DELETE"


def test_only_delete_asks_to_be_confirmed():
    assert [operation.id for operation in operations.OPERATIONS if operation.danger] == ["delete"]


@pytest.mark.parametrize(
    ("outcome", "created", "message"),
    [
        (
            Outcome(changes.RUN, None, "PENDING", Job("j1", "EXECUTING")),
            False,
            "Run requested: the service started the job.",
        ),
        (
            Outcome(changes.RUN, None, "PENDING", Job("j1", "QUEUED")),
            True,
            "Job j1 created and started by the service.",
        ),
        (
            Outcome(changes.RUN, None, "COMPLETED", Job("j1", "COMPLETED")),
            False,
            "Run requested, but the service did not start it (it was COMPLETED when read back).",
        ),
        (Outcome(changes.ABORT, None, "EXECUTING", Job("j1", "ABORTED")), False, "Job aborted."),
        (
            Outcome(changes.SET_EXECUTION_DURATION, 99999, "PENDING", Job("j1", "PENDING", execution_duration=3600)),
            False,
            "You asked for 99999 s; the service kept 3600 s.",
        ),
        (
            Outcome(changes.SET_EXECUTION_DURATION, 0, "PENDING", Job("j1", "PENDING", execution_duration=0)),
            False,
            "Execution duration set to unlimited (0).",
        ),
        (
            Outcome(
                changes.SET_DESTRUCTION,
                datetime(2031, 1, 1, tzinfo=UTC),
                "PENDING",
                Job("j1", "PENDING", destruction=datetime(2030, 1, 1, tzinfo=UTC)),
            ),
            False,
            "You asked for destruction at 2031-01-01T00:00:00Z; the service kept 2030-01-01T00:00:00Z.",
        ),
    ],
)
def test_the_message_after_a_change_says_what_the_service_did(outcome, created, message):
    assert outcome_message(outcome, created=created) == message


def test_every_change_has_a_form_on_the_job_page():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[1] / "templates" / "jobs" / "operations"
    assert {path.stem for path in templates.glob("*.html")} == {operation.id for operation in operations.CHANGES}
    assert BY_ID["delete"].change is changes.DELETE
