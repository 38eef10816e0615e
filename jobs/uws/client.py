"""The UWS operations on one service's job list (`{base}/async`, or the list its entry names).

Every request goes through the transport (`jobs/uws/transport.py`); this module says
what to ask and what the answers mean: reading jobs and lists, creating a job, the
round trip of a change (`UWSClient.change`), and where a result is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .changes import Change, Outcome, Value
from .errors import Failure, ServiceError
from .model import ErrorDocument, Job, JobList, JobRefs, Result, newest_first
from .parse import JobRow, dali_error_message, error_document, parse_job, parse_job_rows
from .times import parse_time
from .transport import COMPRESSED_PIECE, PIECE, REDIRECT_STATUSES, ExternalResult, ResultStream, Transport
from .vosi import Availability, Capabilities, parse_availability, parse_capabilities

# VOSI documents only describe the service: a slow one must not hold a page up.
VOSI_TIMEOUT = (3.0, 5.0)
# After a change of phase that may still be on its way, the job is read again with this
# WAIT (seconds) before the portal says the service left it as it was.
SETTLE_WAIT = 2


def _quote_id(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class ResultLink:
    """Where a result is: `url` (absolute), and whether the portal streams it or only links it.

    Results on the service's own host, below its URL or its job list, pass through the
    portal; pre-signed storage on another host is linked, never fetched.
    """

    url: str
    proxied: bool


class UWSClient(Transport):
    """The UWS operations of one service."""

    # -- where things are --------------------------------------------------------------

    def job_url(self, job_id: str) -> str:
        return f"{self.jobs_url}/{_quote_id(job_id)}"

    def result_link(self, job_id: str, result: Result) -> ResultLink | None:
        """Where a result is kept, or None for pseudo-results (`uws:executing:4`, `final:0`).

        Relative hrefs are resolved against the job's URL (UWS-NOTES §4.6).
        """
        href = result.href
        if not href or ":" in href.split("/", 1)[0] and not href.startswith(("http://", "https://")):
            return None
        url = urljoin(self.job_url(job_id), href)
        if not url.startswith(("http://", "https://")):
            return None
        same_host = urlsplit(url).netloc.lower() == urlsplit(self.jobs_url).netloc.lower()
        return ResultLink(url, proxied=same_host)

    # -- reading -------------------------------------------------------------------------

    def get_job(self, job_id: str, *, wait: int | None = None, phase: str | None = None) -> Job:
        """The job; with `wait`, block up to that many seconds while it stays in `phase`.

        UWS 1.1 §2.2.1.1: the server answers at the first phase change, or earlier;
        1.0 servers ignore WAIT and answer at once.
        """
        url = self.job_url(job_id)
        params: list[tuple[str, str]] = []
        timeout = None
        if wait is not None:
            params.append(("WAIT", str(wait)))
            if phase:
                params.append(("PHASE", phase))
            timeout = (self.timeout[0], self.timeout[1] + wait)
        body = self.document(url, params=params or None, job_id=job_id, timeout=timeout, watch=wait is not None)
        return self.parse(parse_job, body, url)

    def list_jobs(self, *, phases: Sequence[str] = (), after: str | None = None, last: int | None = None) -> JobList:
        """The job list with the UWS 1.1 §2.2.2.1 filters, applied here too, newest first.

        A repeated PHASE is a union in the standard, but DaCHS 2.7 honours only the
        last one, so each phase is asked for on its own. UWS 1.0 servers ignore the
        filters altogether (UWS-NOTES §4.8): what comes back is filtered again.
        """
        common: list[tuple[str, str]] = []
        if after:
            common.append(("AFTER", after))
        if last is not None:
            common.append(("LAST", str(last)))
        queries = [[("PHASE", phase), *common] for phase in dict.fromkeys(phases)] or [common]
        version = "1.0"
        found: dict[str, JobRow] = {}
        for query in queries:
            body = self.document(self.jobs_url, params=query or None)
            version, rows = self.parse(parse_job_rows, body, self.jobs_url)
            for row in rows:
                found.setdefault(row.id, row)
        chosen = list(found.values())
        if phases:
            chosen = [row for row in chosen if row.phase in phases]
        after_time = parse_time(after)
        if after_time:
            chosen = [row for row in chosen if row.creation_time is None or row.creation_time > after_time]
        chosen = newest_first(chosen)
        if last is not None:
            chosen = chosen[:last]
        return JobList(jobs=JobRefs(chosen), version=version)

    def get_error(self, job_id: str) -> ErrorDocument:
        response, body = self.exchange("GET", self.job_url(job_id) + "/error", accept="*/*", job_id=job_id)
        return error_document(body, response.headers.get("Content-Type", ""))

    def get_availability(self) -> Availability:
        """VOSI availability (VOSI 1.1 §3.3), asked with a short timeout: it is only a hint."""
        url = f"{self.base_url}/availability"
        return self.parse(parse_availability, self.document(url, timeout=VOSI_TIMEOUT), url)

    def get_capabilities(self) -> Capabilities:
        """The TAP capabilities (TAPRegExt): output formats and limits."""
        url = f"{self.base_url}/capabilities"
        return self.parse(parse_capabilities, self.document(url, timeout=VOSI_TIMEOUT), url)

    def open_result(self, job_id: str, result_id: str) -> ResultStream | ExternalResult:
        """Open `{job}/results/{id}` for streaming (TAP 1.1 §3.4), or name the other host it lives on."""
        url = f"{self.job_url(job_id)}/results/{_quote_id(result_id)}"
        response = self.get(url, accept="*/*", elsewhere=True)
        if isinstance(response, ExternalResult):
            return response
        if response.status_code >= 400:
            body = self.read(response, limit=1024 * 1024)
            # Not job_id: a 404 here is about the result; the job may well be there (its page listed it).
            self.check_status(response, body)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        length = response.headers.get("Content-Length")
        compressed = response.headers.get("Content-Encoding", "identity").strip().lower() != "identity"
        if compressed:
            # The body is passed on decompressed: the service's length is that of the compressed bytes.
            length = None
        return ResultStream(
            response=response,
            content_type=content_type,
            content_length=int(length) if length and length.isdigit() else None,
            transport=self,
            piece=COMPRESSED_PIECE if compressed else PIECE,
        )

    # -- changing ------------------------------------------------------------------------

    def create_job(self, parameters: Mapping[str, str]) -> str:
        """Create a job (TAP 1.1 §3.3) and return its id; it is not started."""
        url = self.jobs_url
        response, body = self.exchange("POST", url, data=dict(parameters))
        location = response.headers.get("Location")
        if response.status_code in REDIRECT_STATUSES or (response.status_code == 201 and location):
            if not location:
                raise self.error(
                    Failure.BAD_RESPONSE, "The service created a job but did not say where.", url, response.status_code
                )
            job_id = urlsplit(urljoin(url, location)).path.rstrip("/").rsplit("/", 1)[-1]
            if not job_id:
                raise self.error(Failure.BAD_RESPONSE, "The service's answer names no job.", url, response.status_code)
            return job_id
        # Some servers answer 200 with the new job's document instead of a redirect.
        return self.parse(parse_job, body, url).job_id

    def change(self, job_id: str, change: Change, value: Value = None, *, phase_before: str | None = None) -> Outcome:
        """Send one change and read the job back: what the service did, kept, or ignored.

        The job is read first (unless its phase is known, as for a job just created):
        its phase before is the only witness of an ignored RUN or ABORT. A failure to
        send raises the ServiceError (its `reached` says whether the service got it); a
        refusal (4xx, or an error document with 200) is an outcome: nothing changed.
        """
        earlier = None if phase_before is not None else self._job_before(job_id)
        before = phase_before if phase_before is not None else (earlier.phase if earlier else None)

        def outcome(after: Job | None, **failures: ServiceError) -> Outcome:
            return Outcome(change, value, before, after, earlier=earlier, **failures)

        try:
            self._send(job_id, change, value)
        except ServiceError as error:
            if not error.refused:
                raise
            try:
                return outcome(self.get_job(job_id), refusal=error)
            except ServiceError as read_error:
                return outcome(None, refusal=error, unread=read_error)
        try:
            job = self.get_job(job_id)
            if job.phase in change.settling:
                job = self.get_job(job_id, wait=SETTLE_WAIT, phase=job.phase)
        except ServiceError as error:
            if change.method == "DELETE" and error.failure == Failure.NOT_FOUND:
                return outcome(None)
            return outcome(None, unread=error)
        return outcome(job)

    def _job_before(self, job_id: str) -> Job | None:
        """The job now, or None if it cannot be read; a job the service does not have stops the change.

        Some services answer a change to a job they do not have with 303 (VOLLT, even to
        a DELETE): reading it first is how the user learns it is not there.
        """
        try:
            return self.get_job(job_id)
        except ServiceError as error:
            if error.failure == Failure.NOT_FOUND:
                raise
            return None

    def _send(self, job_id: str, change: Change, value: Value) -> None:
        """The change's request; 200, 302 and 303 all mean accepted (UWS-NOTES §4.4)."""
        url = self.job_url(job_id) + change.path
        response, body = self.exchange(change.method, url, data=change.form(value) or None, job_id=job_id)
        if response.status_code == 200 and body.strip():
            detail = dali_error_message(body)
            if detail:
                raise self.error(Failure.REFUSED, "The service refused the request.", url, 200, detail)
