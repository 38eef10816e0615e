"""The operations on a job, each named once: what the start page, the job page, the forms,
the messages and the command lines all read.

An operation either reads (status, results, error) or sends one UWS change
(`jobs/uws/changes.py`). Adding one is an entry here plus its form on the job page,
`templates/jobs/operations/<id>.html`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .uws import changes
from .uws.changes import Change, Outcome
from .uws.model import PHASES
from .uws.times import utc_iso


@dataclass(frozen=True)
class Operation:
    id: str  # in the start page's forms (`op`) and in the commands
    label: str  # its button
    wording: str  # what the user asked for, in sentences: "… to start the job"
    command_title: str  # the heading of its command lines
    pyvo: Callable[[str | None], str]  # the pyvo statement on `job`, given the value
    change: Change | None = None  # the UWS request it makes; None for an operation that only reads
    # The portal's own form of it, as ESO's examples post it to the job URL: NAME=value.
    field: str | None = None
    fixed: str | None = None
    allowed_in: frozenset[str] | None = None  # the phases it makes sense in; None: any
    on_start_page: bool = True  # one of the seven job-id forms of the start page
    danger: bool = False  # cannot be undone: asked to confirm first

    @property
    def method(self) -> str:
        """How the start page's form sends it: a change takes a POST (and its CSRF token)."""
        return "post" if self.change else "get"

    @property
    def takes_value(self) -> bool:
        return self.field is not None and self.fixed is None

    def allowed(self, phase: str) -> bool:
        """Whether it makes sense now; in a phase the standard does not name, everything is offered."""
        return self.allowed_in is None or phase not in PHASES or phase == "UNKNOWN" or phase in self.allowed_in


def _destruction_pyvo(value: str | None) -> str:
    return f"job.destruction = datetime.fromisoformat({value!r})"


_LIVING = frozenset(PHASES) - {"ARCHIVED"}

# UWS 1.1 §2.1.3: RUN from PENDING or HELD; ABORT while the job may still run; the
# execution duration only before it starts; the destruction while the job is kept.
# In the order of ESO's page.
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "run",
        "Run",
        "start the job",
        "Run the job",
        lambda value: "job.run()",
        changes.RUN,
        "PHASE",
        "RUN",
        frozenset({"PENDING", "HELD"}),
    ),
    Operation("status", "Status", "read the job", "Read the job", lambda value: "print(job.phase)"),
    Operation(
        "executionduration",
        "Execution duration",
        "change the execution duration",
        "Change the execution duration",
        lambda value: f"job.execution_duration = {int(value or 0)}",
        changes.SET_EXECUTION_DURATION,
        "EXECUTIONDURATION",
        allowed_in=frozenset({"PENDING"}),
    ),
    Operation(
        "destruction",
        "Destruction",
        "change the destruction time",
        "Change the destruction time",
        _destruction_pyvo,
        changes.SET_DESTRUCTION,
        "DESTRUCTION",
        allowed_in=_LIVING,
    ),
    Operation(
        "results",
        "Results",
        "read the results",
        "Download the result",
        lambda value: "table = job.fetch_result().to_table()\nprint(table)",
    ),
    Operation(
        "abort",
        "Abort",
        "abort the job",
        "Abort the job",
        lambda value: "job.abort()",
        changes.ABORT,
        "PHASE",
        "ABORT",
        frozenset({"PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"}),
    ),
    Operation(
        "delete",
        "Delete",
        "delete the job",
        "Delete the job",
        lambda value: "job.delete()",
        changes.DELETE,
        "ACTION",
        "DELETE",
        danger=True,
    ),
    Operation(
        "error",
        "Error",
        "read the error",
        "Read the error",
        lambda value: "job.raise_if_error()",
        on_start_page=False,
    ),
)
BY_ID: dict[str, Operation] = {operation.id: operation for operation in OPERATIONS}
START_PAGE: tuple[Operation, ...] = tuple(operation for operation in OPERATIONS if operation.on_start_page)
CHANGES: tuple[Operation, ...] = tuple(operation for operation in OPERATIONS if operation.change)


def allowed_changes(phase: str) -> tuple[Operation, ...]:
    """The changes that make sense for a job in `phase`, in the table's order."""
    return tuple(operation for operation in CHANGES if operation.allowed(phase))


def posted_names() -> str:
    """The job page's POST forms, for a message to whoever sent none of them."""
    names = [f"{op.field}={op.fixed}" if op.fixed else op.field for op in CHANGES]
    return ", ".join(names[:-1]) + " or " + names[-1]


def outcome_message(outcome: Outcome, *, created: bool = False) -> str:
    """One sentence on what the service did, from the job as it was read back.

    It names no phase the job may since have left: the page shows the phase as it is
    now, and a notice saying "now EXECUTING" above "Phase: COMPLETED" would contradict it.
    """
    change, job = outcome.change, outcome.after
    if change.moves_phase:
        if change is changes.RUN:
            prefix = f"Job {job.job_id} created" if created else "Run requested"
            if outcome.ignored:
                return f"{prefix}, but the service did not start it (it was {job.phase} when read back)."
            return f"{prefix} and started by the service." if created else "Run requested: the service started the job."
        if outcome.ignored:
            return f"Abort requested, but the service did not abort the job (it was {job.phase} when read back)."
        return "Job aborted."
    if change is changes.SET_EXECUTION_DURATION:
        if outcome.kept_as_asked:
            return f"Execution duration set to {_seconds(outcome.kept)}."
        return f"You asked for {_seconds(outcome.asked)}; the service kept {_seconds(outcome.kept)}."
    if change is changes.SET_DESTRUCTION:
        if outcome.kept_as_asked:
            return f"Destruction set to {utc_iso(outcome.kept)}."
        shown = utc_iso(outcome.kept) if outcome.kept else "no destruction time"
        if outcome.destruction_kept_back:
            return (
                f"You asked for destruction at {utc_iso(outcome.asked)}; the service left it at {shown}: "
                f"it does not move the destruction of a job that is {job.phase}. Download what you need before then."
            )
        return f"You asked for destruction at {utc_iso(outcome.asked)}; the service kept {shown}."
    raise ValueError(change.name)


def _seconds(value: int | None) -> str:
    if value is None:
        return "no value"
    return "unlimited (0)" if value == 0 else f"{value} s"
