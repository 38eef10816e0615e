"""The requests that change a job (UWS 1.1 §2.2.3), and what came of one.

A `Change` says what to send and how to tell whether the service did it; the client's
`UWSClient.change` sends it and returns an `Outcome`. Services answer a change they
ignore with the same 303 as one they obey (DaCHS does, for a job that has ended), and
clamp values silently: the job read back is the only witness, so the outcome compares
it with the job before and with what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import ServiceError
from .model import Job
from .times import utc_iso

Value = int | datetime | None


@dataclass(frozen=True)
class Change:
    """One request that changes a job, sent to `<job URL><path>`."""

    name: str
    method: str  # POST, or DELETE for the job itself
    path: str = ""
    parameter: str | None = None  # the one form parameter sent
    fixed: str | None = None  # its value, when the user gives none (PHASE=RUN)
    attribute: str | None = None  # the job's field it sets, to read back what the service kept
    # For a change of phase: the phases the job must leave, or reach, for it to count as done.
    leaves: frozenset[str] = frozenset()
    reaches: frozenset[str] = frozenset()
    # A phase read right after the change that may still be on its way to the next one:
    # DaCHS takes a moment to start or stop a worker, so the job is read again with a short WAIT.
    settling: frozenset[str] = frozenset()

    def form(self, value: Value) -> dict[str, str]:
        """The form the request sends (UWS 1.1 §2.2.3: one parameter, times as UTC ISO 8601)."""
        if self.parameter is None:
            return {}
        if self.fixed is not None:
            return {self.parameter: self.fixed}
        return {self.parameter: utc_iso(value) if isinstance(value, datetime) else str(value)}

    @property
    def moves_phase(self) -> bool:
        return bool(self.leaves or self.reaches)


RUN = Change(
    "run", "POST", "/phase", "PHASE", "RUN", leaves=frozenset({"PENDING", "HELD"}), settling=frozenset({"PENDING"})
)
ABORT = Change(
    "abort",
    "POST",
    "/phase",
    "PHASE",
    "ABORT",
    reaches=frozenset({"ABORTED"}),
    settling=frozenset({"EXECUTING", "QUEUED"}),
)
SET_EXECUTION_DURATION = Change(
    "executionduration", "POST", "/executionduration", "EXECUTIONDURATION", attribute="execution_duration"
)
SET_DESTRUCTION = Change("destruction", "POST", "/destruction", "DESTRUCTION", attribute="destruction")
# The redirect after a DELETE is never followed: one large service answers it with its
# whole job list (UWS-NOTES §4.4).
DELETE = Change("delete", "DELETE")


@dataclass(frozen=True)
class Outcome:
    """What a change did, as far as the job read before and after it shows."""

    change: Change
    asked: Value
    before: str | None  # the phase before the request; None if it could not be read
    after: Job | None  # the job read back; None when it is gone, or could not be read
    refusal: ServiceError | None = None  # the service said no: nothing changed
    unread: ServiceError | None = None  # the job could not be read back (after a refusal too)
    earlier: Job | None = None  # the job as read before the change, when it was

    @property
    def destruction_kept_back(self) -> bool:
        """A later destruction was asked for and accepted, and the job's stayed where it was.

        VOLLT (ESO's software) answers 303 to a new destruction of a job that has ended, and
        leaves it: a finished job's life cannot be lengthened there.
        """
        if self.change.parameter != "DESTRUCTION" or self.refusal or not (self.earlier and self.after):
            return False
        earlier, now = self.earlier.destruction, self.after.destruction
        asked = self.asked if isinstance(self.asked, datetime) else None
        return earlier is not None and asked is not None and now == earlier < asked

    @property
    def gone(self) -> bool:
        """The job no longer exists (after a delete)."""
        return self.after is None and self.unread is None and self.refusal is None

    @property
    def ignored(self) -> bool:
        """The service accepted a change of phase, but the job is where it was (or not where it should be)."""
        if not self.change.moves_phase or self.after is None:
            return False
        phase = self.after.phase
        unchanged = self.before is not None and self.before == phase
        if self.change.reaches:
            return unchanged or phase not in self.change.reaches
        return unchanged or phase in self.change.leaves

    @property
    def kept(self) -> Value:
        """The value the service kept for the field the change sets."""
        if self.change.attribute is None or self.after is None:
            return None
        return getattr(self.after, self.change.attribute)

    @property
    def kept_as_asked(self) -> bool:
        """The service kept the value asked for (times to the second: services drop fractions)."""
        kept, asked = self.kept, self.asked
        if isinstance(asked, datetime):
            return isinstance(kept, datetime) and abs((kept - asked).total_seconds()) < 1
        return kept == asked
