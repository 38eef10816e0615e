"""Talk to one TAP service's UWS job list (`{base}/async`) over HTTP.

Every request goes through `UWSClient.request`, which sets the timeouts, the
User-Agent and the Accept header, refuses any URL that is not below the service's
base URL, follows no redirect by itself, and turns every failure into a
`ServiceError` whose message a user can read.
"""

from __future__ import annotations

import enum
import http.client
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .model import ErrorDocument, Job, JobList, JobRef
from .parse import UWSParseError, dali_error_message, error_document, parse_job, parse_job_list, parse_time
from .vosi import Availability, Capabilities, parse_availability, parse_capabilities

USER_AGENT = "tap-job-portal/1.0 (UWS client; +https://www.ivoa.net/documents/UWS/)"
# UWS 1.1 §2.2: job resources are XML, single values text/plain.
ACCEPT_DOCUMENT = "application/xml, text/xml;q=0.9, text/plain;q=0.8, */*;q=0.1"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# Documents we parse are read into memory; a job or a job list beyond this is refused.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
# VOSI documents only describe the service: a slow one must not hold a page up.
VOSI_TIMEOUT = (3.0, 5.0)
# A document that trickles in (each read within the read timeout, the whole far
# slower) is given up after this many seconds.
DOCUMENT_DEADLINE = 60.0
# Requests one process has under way to one service at once; beyond that the
# user is told the service is busy, so a slow service cannot take every worker
# thread from the pages of the others.
MAX_CONCURRENT = 8
# Watched job pages hold a request open for a whole UWS WAIT: they get a pool of
# their own, so that people watching jobs do not lock everyone else out of the
# service's pages (and the reverse).
MAX_WATCHING = 32
# A result passes through in pieces of at most this size: the work per piece is then small
# against the copying. A 1 GiB download through the portal on loopback (docs/benchmarks.md):
# 1.1 GiB/s with 64 KiB pieces, 1.6–1.7 with 256 KiB, 2.1–2.3 with 1 MiB, 1.7 with 4 MiB
# (pieces larger than the CPU's caches are copied through memory). A compressed result is inflated a piece
# at a time, in pieces of 64 KiB (tests/test_faults.py holds a gzip bomb to that).
PIECE = 1024 * 1024
COMPRESSED_PIECE = 64 * 1024

log = logging.getLogger("jobs.upstream")
_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(base_url: str, pool: str, size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if (base_url, pool) not in _slots:
            _slots[(base_url, pool)] = threading.BoundedSemaphore(size)
        return _slots[(base_url, pool)]


REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    """Any failure talking to a service, with a message for the user."""

    def __init__(
        self,
        failure: Failure,
        message: str,
        *,
        service: str,
        url: str,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message
        self.service = service
        self.url = url
        self.status = status
        self.detail = detail  # the service's own words, when it gave any

    def __str__(self) -> str:
        status = f", HTTP {self.status}" if self.status else ""
        return f"{self.message} ({self.service}: {self.url}{status})"


@dataclass
class ResultStream:
    """An open result download; `close()` it when done (the transfer is then logged)."""

    response: requests.Response
    content_type: str
    content_length: int | None
    client: UWSClient
    piece: int = PIECE
    sent: int = 0
    closed: bool = False

    def chunks(self, size: int | None = None) -> Iterator[bytes]:
        """The body as it arrives; a transfer that breaks off raises ConnectionError.

        Ending quietly instead would make a body sent without Content-Length look
        complete: the browser must see the download fail (the server then closes the
        connection without the last chunk), and a preview must know it was cut short.
        """
        try:
            for chunk in _arriving(self.response, size or self.piece):
                self.sent += len(chunk)
                yield chunk
        except urllib3.exceptions.HTTPError:
            log.warning(
                "upstream service=%s url=%s transfer broke after %d bytes",
                self.client.name,
                self.response.url,
                self.sent,
            )
            raise ConnectionError(f"the service broke off the transfer after {self.sent} bytes") from None
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.response.close()
            self.client._log(self.response, self.sent)


@dataclass(frozen=True)
class ExternalResult:
    """A result the service keeps on another host (pre-signed storage URLs): link, never proxy."""

    url: str


# The connections to the services, shared by every client of this process: a page reuses a
# kept-alive connection instead of opening one for each request (on loopback that alone was
# a fifth of the portal's time for a job page; docs/benchmarks.md). Only the connections are
# shared: each client has its own session, so nothing a service sets (cookies) passes between
# users. Up to MAX_CONCURRENT + MAX_WATCHING requests to one service may be under way.
_CONNECTIONS = HTTPAdapter(pool_maxsize=MAX_CONCURRENT + MAX_WATCHING)
_environment: dict[tuple, dict] = {}


class _Session(requests.Session):
    """A requests session that leaves redirects to the client (`_get`, `open_result`).

    Even told not to follow a redirect, requests works out where it would go, and fails
    with a UnicodeDecodeError on a Location that is not UTF-8: that Location may belong
    to an answer the portal reads no further (the 303 after an accepted action).
    """

    def __init__(self) -> None:
        super().__init__()
        self.mount("http://", _CONNECTIONS)
        self.mount("https://", _CONNECTIONS)

    def resolve_redirects(self, *args, **kwargs) -> Iterator:
        return iter(())

    def merge_environment_settings(self, url, proxies, stream, verify, cert) -> dict:
        """requests reads the proxy and CA-bundle variables again for every request (0.1 ms);
        they do not change while the portal runs, so they are read once for each host."""
        if proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (*urlsplit(url)[:2], stream, verify, cert)
        if key not in _environment:
            _environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        settings = _environment[key]
        return {**settings, "proxies": dict(settings["proxies"])}


def _quote_id(value: str) -> str:
    return quote(value, safe="")


class UWSClient:
    """The UWS operations of one TAP service, whose base URL holds `/async`."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] | None = None,
        token: str | None = None,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.async_url = f"{self.base_url}/async"
        self.session = session or _Session()
        self.timeout = timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
        self._token = token  # sent only with requests to this service, never logged
        self._slot = _slot(self.base_url, "requests", max_concurrent)
        self._watch_slot = _slot(self.base_url, "watches", MAX_WATCHING)

    # -- the one request function -------------------------------------------------

    def is_own_url(self, url: str) -> bool:
        """True if `url` lies below this service's base URL (same scheme, host, port, path)."""
        base = urlsplit(self.base_url)
        target = urlsplit(url)
        if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
            return False
        base_path = base.path.rstrip("/")
        return target.path == base_path or target.path.startswith(base_path + "/")

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        data: Mapping[str, str] | None = None,
        accept: str = ACCEPT_DOCUMENT,
        timeout: tuple[float, float] | None = None,
        watch: bool = False,
    ) -> requests.Response:
        """Send one request to the service; any failure becomes a ServiceError.

        Redirects are never followed here (UWS-NOTES §4.4): the caller decides. Only the
        headers are read: the body is left to `_read` (which bounds its size and time) or
        to a `ResultStream`, so no answer is ever read whole without a limit.
        """
        if not self.is_own_url(url):
            raise self._error(Failure.FORBIDDEN_URL, "The portal only contacts the configured service.", url)
        headers = {"User-Agent": USER_AGENT, "Accept": accept}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        slot = self._watch_slot if watch else self._slot
        if not slot.acquire(timeout=1.0):
            raise self._error(
                Failure.BUSY, "The portal is already waiting on this service for many requests; try again shortly.", url
            )
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout or self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout:
            failure, message = Failure.TIMEOUT, "The service did not accept a connection in time."
        except requests.exceptions.Timeout:
            failure, message = Failure.TIMEOUT, "The service did not answer in time."
        except requests.exceptions.ConnectionError as exc:
            failure, message = Failure.UNREACHABLE, "The service could not be reached."
            violation = _http_violation(exc)
            if violation:
                failure, message = Failure.BAD_RESPONSE, f"The service's answer is not valid HTTP ({violation})."
            elif "Connection refused" in str(exc):
                message = "The service refused the connection: it may be down."
            elif "reset" in str(exc).lower() or "aborted" in str(exc).lower():
                message = "The service closed the connection before it finished answering."
        except requests.exceptions.RequestException as exc:
            failure, message = Failure.BAD_RESPONSE, f"The request failed: {exc.__class__.__name__}."
        else:
            response.started = started  # for the log line once the body is read
            return response
        finally:
            slot.release()
        log.info(
            "upstream service=%s method=%s url=%s status=- duration_ms=%d bytes=0 failure=%s",
            self.name,
            method,
            _loggable(url, params),
            (time.monotonic() - started) * 1000,
            failure.value,
        )
        raise self._error(failure, message, url)

    def _log(self, response: requests.Response, size: int) -> None:
        """One line per request: service, method, URL, status, duration, bytes (never a token)."""
        started = getattr(response, "started", time.monotonic())
        log.info(
            "upstream service=%s method=%s url=%s status=%d duration_ms=%d bytes=%d",
            self.name,
            response.request.method,
            response.url,
            response.status_code,
            (time.monotonic() - started) * 1000,
            size,
        )

    def _error(
        self, failure: Failure, message: str, url: str, status: int | None = None, detail: str | None = None
    ) -> ServiceError:
        return ServiceError(failure, message, service=self.name, url=url, status=status, detail=detail)

    # -- helpers ------------------------------------------------------------------

    def job_url(self, job_id: str) -> str:
        return f"{self.async_url}/{_quote_id(job_id)}"

    def _read(self, response: requests.Response, limit: int | None = None) -> bytes:
        """The body, at most `limit` bytes (MAX_DOCUMENT_BYTES); any transfer failure is a ServiceError."""
        limit = limit or MAX_DOCUMENT_BYTES
        started = getattr(response, "started", time.monotonic())
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in _arriving(response):
                size += len(chunk)
                if size > limit:
                    raise self._error(
                        Failure.BAD_RESPONSE,
                        f"The service sent a document larger than the portal reads ({limit:,} bytes).",
                        response.url,
                        response.status_code,
                    )
                if time.monotonic() - started > DOCUMENT_DEADLINE:
                    raise self._error(
                        Failure.TIMEOUT,
                        f"The service sent its answer too slowly (not complete after {DOCUMENT_DEADLINE:.0f} s).",
                        response.url,
                        response.status_code,
                    )
                chunks.append(chunk)
            # Read to its end: the connection may serve the next request (close() would end it).
            response.raw.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            failure, message = _transfer_failure(exc)
            raise self._error(failure, message, response.url, response.status_code) from None
        finally:
            response.close()
            self._log(response, size)
        return b"".join(chunks)

    def _get(
        self, url: str, *, params=None, accept: str = ACCEPT_DOCUMENT, timeout=None, watch: bool = False
    ) -> requests.Response:
        """GET, following redirects only while they stay within the service."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self.request("GET", url, params=params, accept=accept, timeout=timeout, watch=watch)
            if response.status_code not in REDIRECT_STATUSES:
                return response
            response.close()
            self._log(response, 0)
            location = response.headers.get("Location")
            if not location:
                raise self._error(
                    Failure.BAD_RESPONSE, "The service redirected without saying where to.", url, response.status_code
                )
            url, params = urljoin(url, location), None
            if not self.is_own_url(url):
                raise self._error(
                    Failure.FORBIDDEN_URL,
                    "The service redirected to an address outside the service; the portal does not follow it.",
                    url,
                    response.status_code,
                )
        raise self._error(Failure.BAD_RESPONSE, "The service redirected too many times.", url)

    def _check_status(self, response: requests.Response, body: bytes, *, job_id: str | None = None) -> None:
        """Turn an HTTP error status into a ServiceError carrying the service's own words."""
        status = response.status_code
        if status < 400:
            return
        detail = _service_message(body, response.headers.get("Content-Type", ""))
        if status == 404:
            what = f"The service has no job {job_id}." if job_id else "The service does not know this resource."
            raise self._error(Failure.NOT_FOUND, what, response.url, status, detail)
        if status in (401, 403):
            raise self._error(Failure.REFUSED, "The service refused the request.", response.url, status, detail)
        if status < 500:
            raise self._error(Failure.BAD_REQUEST, "The service rejected the request.", response.url, status, detail)
        raise self._error(Failure.SERVER_ERROR, f"The service failed with HTTP {status}.", response.url, status, detail)

    def _document(
        self, url: str, *, params=None, job_id: str | None = None, timeout=None, watch: bool = False
    ) -> bytes:
        response = self._get(url, params=params, timeout=timeout, watch=watch)
        body = self._read(response)
        self._check_status(response, body, job_id=job_id)
        return body

    def _parse(self, parser, body: bytes, url: str):
        try:
            return parser(body)
        except UWSParseError as exc:
            detail = dali_error_message(body)
            if detail:  # DaCHS answers errors with 200 and a DALI VOTable
                raise self._error(Failure.REFUSED, "The service reported an error.", url, 200, detail) from None
            raise self._error(
                Failure.BAD_RESPONSE, f"The service's answer could not be read: {exc}.", url, 200
            ) from None

    # -- the UWS operations ---------------------------------------------------------

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
        body = self._document(url, params=params or None, job_id=job_id, timeout=timeout, watch=wait is not None)
        return self._parse(parse_job, body, url)

    def list_jobs(self, *, phases: Sequence[str] = (), after: str | None = None, last: int | None = None) -> JobList:
        """The job list with the UWS 1.1 §2.2.2.1 filters, applied here too.

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
        found: dict[str, JobRef] = {}
        for query in queries:
            listing = self._parse(parse_job_list, self._document(self.async_url, params=query or None), self.async_url)
            version = listing.version
            for ref in listing.jobs:
                found.setdefault(ref.id, ref)
        jobs = list(found.values())
        if phases:
            jobs = [ref for ref in jobs if ref.phase in phases]
        after_time = parse_time(after)
        if after_time:
            jobs = [ref for ref in jobs if ref.creation_time is None or ref.creation_time > after_time]
        if last is not None and len(jobs) > last:
            oldest = datetime.min.replace(tzinfo=UTC)
            jobs = sorted(jobs, key=lambda ref: ref.creation_time or oldest, reverse=True)[:last]
        return JobList(jobs=tuple(jobs), version=version)

    def create_job(self, parameters: Mapping[str, str]) -> str:
        """Create a job (TAP 1.1 §3.3) and return its id; it is not started."""
        url = self.async_url
        response = self.request("POST", url, data=dict(parameters))
        body = self._read(response)
        self._check_status(response, body)
        location = response.headers.get("Location")
        if response.status_code in REDIRECT_STATUSES or (response.status_code == 201 and location):
            if not location:
                raise self._error(
                    Failure.BAD_RESPONSE, "The service created a job but did not say where.", url, response.status_code
                )
            job_id = urlsplit(urljoin(url, location)).path.rstrip("/").rsplit("/", 1)[-1]
            if not job_id:
                raise self._error(Failure.BAD_RESPONSE, "The service's answer names no job.", url, response.status_code)
            return job_id
        # Some servers answer 200 with the new job's document instead of a redirect.
        return self._parse(parse_job, body, url).job_id

    def _post_action(self, job_id: str, path: str, data: Mapping[str, str], method: str = "POST") -> None:
        """POST to a job sub-resource; 200, 302 and 303 all mean accepted (UWS-NOTES §4.4)."""
        url = self.job_url(job_id) + path
        response = self.request(method, url, data=data or None)
        body = self._read(response)
        self._check_status(response, body, job_id=job_id)
        if response.status_code == 200:
            detail = dali_error_message(body) if body.strip() else None
            if detail:
                raise self._error(Failure.REFUSED, "The service refused the request.", url, 200, detail)

    def run(self, job_id: str) -> None:
        # Always through /phase: some servers ignore PHASE=RUN anywhere else (UWS-NOTES §4.5).
        self._post_action(job_id, "/phase", {"PHASE": "RUN"})

    def abort(self, job_id: str) -> None:
        self._post_action(job_id, "/phase", {"PHASE": "ABORT"})

    def set_execution_duration(self, job_id: str, seconds: int) -> None:
        self._post_action(job_id, "/executionduration", {"EXECUTIONDURATION": str(seconds)})

    def set_destruction(self, job_id: str, when: str) -> None:
        self._post_action(job_id, "/destruction", {"DESTRUCTION": when})

    def delete(self, job_id: str) -> None:
        # The redirect after a DELETE is never followed: one large service answers
        # it with its whole job list (UWS-NOTES §4.4).
        self._post_action(job_id, "", {}, method="DELETE")

    def get_availability(self) -> Availability:
        """VOSI availability (VOSI 1.1 §3.3), asked with a short timeout: it is only a hint."""
        url = f"{self.base_url}/availability"
        response = self._get(url, timeout=VOSI_TIMEOUT)
        body = self._read(response)
        self._check_status(response, body)
        return self._parse(parse_availability, body, url)

    def get_capabilities(self) -> Capabilities:
        """The TAP capabilities (TAPRegExt): output formats and limits."""
        url = f"{self.base_url}/capabilities"
        response = self._get(url, timeout=VOSI_TIMEOUT)
        body = self._read(response)
        self._check_status(response, body)
        return self._parse(parse_capabilities, body, url)

    def get_error(self, job_id: str) -> ErrorDocument:
        response = self._get(self.job_url(job_id) + "/error", accept="*/*")
        body = self._read(response)
        self._check_status(response, body, job_id=job_id)
        return error_document(body, response.headers.get("Content-Type", ""))

    def open_result(self, job_id: str, result_id: str) -> ResultStream | ExternalResult:
        """Open `{job}/results/{id}` for streaming (TAP 1.1 §3.4), or name the other host it lives on."""
        url = f"{self.job_url(job_id)}/results/{_quote_id(result_id)}"
        for _ in range(MAX_REDIRECTS + 1):
            response = self.request("GET", url, accept="*/*")
            if response.status_code not in REDIRECT_STATUSES:
                break
            response.close()
            self._log(response, 0)
            location = response.headers.get("Location")
            if not location:
                raise self._error(
                    Failure.BAD_RESPONSE, "The service redirected without saying where.", url, response.status_code
                )
            url = urljoin(url, location)
            if not self.is_own_url(url):
                if urlsplit(url).scheme not in ("http", "https"):
                    raise self._error(Failure.BAD_RESPONSE, "The service redirected to a non-web address.", url)
                return ExternalResult(url)
        else:
            raise self._error(Failure.BAD_RESPONSE, "The service redirected too many times.", url)
        if response.status_code >= 400:
            body = self._read(response, limit=1024 * 1024)
            self._check_status(response, body, job_id=job_id)
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
            client=self,
            piece=COMPRESSED_PIECE if compressed else PIECE,
        )


def _arriving(response: requests.Response, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body, decompressed, in pieces as they arrive (at most `size` bytes each).

    requests' iter_content waits until it has `size` bytes: a service that trickles a
    byte at a time, each within the read timeout, would hold it for hours, and no
    deadline checked between pieces could fire. read1 returns what one read gives.
    Its errors are urllib3's own (a broken connection, a read timeout, a bad compressed
    stream), not requests' wrappers of them.
    """
    while piece := response.raw.read1(size, decode_content=True):
        yield piece


# http.client's names for an answer that ended early: a broken connection, not bad HTTP.
_CUT_SHORT = (http.client.IncompleteRead, http.client.RemoteDisconnected)


def _http_violation(exc: BaseException) -> str | None:
    """What was wrong with an answer that is not HTTP (too many headers, a header line too long), if that was it."""
    seen: list[BaseException] = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, http.client.HTTPException) and not isinstance(current, _CUT_SHORT):
            return str(current) or current.__class__.__name__
        seen += [arg for arg in current.args if isinstance(arg, BaseException)]
    return None


def _transfer_failure(exc: urllib3.exceptions.HTTPError) -> tuple[Failure, str]:
    """What went wrong while an answer's body was being read."""
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return Failure.TIMEOUT, "The service stopped sending in the middle of its answer."
    if isinstance(exc, urllib3.exceptions.DecodeError):
        return Failure.BAD_RESPONSE, "The service's compressed answer could not be decompressed."
    return Failure.UNREACHABLE, "The connection broke while the service was answering."


def _loggable(url: str, params) -> str:
    if not params:
        return url
    pairs = params.items() if isinstance(params, Mapping) else params
    return f"{url}?{urlencode(list(pairs))}"


def _service_message(body: bytes, content_type: str) -> str | None:
    """The service's own words from an error answer, if any can be found."""
    if not body.strip():
        return None
    message = dali_error_message(body)
    if message:
        return message
    if "text/plain" in content_type:
        return body[:2000].decode("utf-8", errors="replace").strip() or None
    return None
