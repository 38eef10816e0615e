"""The one error type of every failure talking to a service, and its kinds."""

from __future__ import annotations

import enum


class Failure(enum.Enum):
    """What went wrong, which decides what the user is shown."""

    UNREACHABLE = "unreachable"  # no connection
    TIMEOUT = "timeout"  # no answer in time
    NOT_FOUND = "not_found"  # the service does not know the job (404)
    REFUSED = "refused"  # the service said no (403, or an error document)
    BAD_REQUEST = "bad_request"  # the service rejected what we sent (400)
    SERVER_ERROR = "server_error"  # 5xx
    BAD_RESPONSE = "bad_response"  # an answer we cannot use
    FORBIDDEN_URL = "forbidden_url"  # a URL outside the service
    BUSY = "busy"  # the portal already waits on this service for many requests


class ServiceError(Exception):
    """Any failure talking to a service, with a message for the user.

    `reached` says what the service got: True when it answered (whatever it said),
    False when the request never left the portal or found no one listening, and None
    when it was sent but no complete answer came back (the service may have acted).
    """

    def __init__(
        self,
        failure: Failure,
        message: str,
        *,
        service: str,
        url: str,
        status: int | None = None,
        detail: str | None = None,
        reached: bool | None = True,
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message
        self.service = service
        self.url = url
        self.status = status
        self.detail = detail  # the service's own words, when it gave any
        self.reached = reached

    @property
    def refused(self) -> bool:
        """The service answered no: it understood the request and did nothing."""
        return self.failure in (Failure.REFUSED, Failure.BAD_REQUEST)

    def __str__(self) -> str:
        status = f", HTTP {self.status}" if self.status else ""
        return f"{self.message} ({self.service}: {self.url}{status})"
