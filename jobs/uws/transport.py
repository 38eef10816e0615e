"""The one way the portal talks to a service over HTTP.

Every request goes through `Transport.request`, which sets the timeouts, the
User-Agent and the Accept header, refuses any URL that is not below the service's
base URL, follows no redirect by itself, and turns every failure into a
`ServiceError` whose message a user can read and which says whether the request
reached the service. `Transport.get` is the one redirect walk, for documents and
result downloads alike; `Transport.exchange` reads a bounded answer and checks its
status.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .errors import Failure, ServiceError
from .parse import UWSParseError, dali_error_message, service_message

USER_AGENT = "tap-job-portal/1.0 (UWS client; +https://www.ivoa.net/documents/UWS/)"
# UWS 1.1 §2.2: job resources are XML, single values text/plain.
ACCEPT_DOCUMENT = "application/xml, text/xml;q=0.9, text/plain;q=0.8, */*;q=0.1"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# Documents we parse are read into memory; a job or a job list beyond this is refused.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
# A document that trickles in (each read within the read timeout, the whole far
# slower) is given up after this many seconds.
DOCUMENT_DEADLINE = 60.0
# All the requests one page makes to a service end within this many seconds, whatever the
# service does (silent, trickling, never ending), so that the page itself answers within 30 s.
PAGE_BUDGET = 25.0
# Requests one process has under way to one service at once; beyond that the
# user is told the service is busy, so a slow service cannot take every worker
# thread from the pages of the others.
MAX_CONCURRENT = 8
# Watched job pages hold a request open for a whole UWS WAIT: they get a pool of
# their own, so that people watching jobs do not lock everyone else out of the
# service's pages (and the reverse).
# The worker holds one for each job whose page is open (jobs/watching/checks.py): 50 jobs open at
# once in make bench.
MAX_WATCHING = 64
# A result passes through in pieces of at most this size: the work per piece is then small
# against the copying. A 1 GiB download through the portal on loopback (docs/benchmarks.md):
# 1.1 GiB/s with 64 KiB pieces, 1.6–1.7 with 256 KiB, 2.1–2.3 with 1 MiB, 1.7 with 4 MiB
# (pieces larger than the CPU's caches are copied through memory). A compressed result is inflated a piece
# at a time, in pieces of 64 KiB (tests/test_faults.py holds a gzip bomb to that).
PIECE = 1024 * 1024
COMPRESSED_PIECE = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

log = logging.getLogger("jobs.upstream")
_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(base_url: str, pool: str, size: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        if (base_url, pool) not in _slots:
            _slots[(base_url, pool)] = threading.BoundedSemaphore(size)
        return _slots[(base_url, pool)]


@dataclass
class ResultStream:
    """An open result download; `close()` it when done (the transfer is then logged)."""

    response: requests.Response
    content_type: str
    content_length: int | None
    transport: Transport
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
                self.transport.name,
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
            self.transport.log(self.response, self.sent)


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
    """A requests session that leaves redirects to the transport (`Transport.get`).

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


class Transport:
    """HTTP to one service: everything below `base_url` (and below `jobs_url`, where the jobs live)."""

    # The level of the line logged for each request. The worker's checks log theirs at DEBUG: a worker
    # watching 10,000 jobs asks 20,000 times a minute, and it logs the changes and failures itself.
    log_level = logging.INFO

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        jobs_url: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] | None = None,
        token: str | None = None,
        max_concurrent: int = MAX_CONCURRENT,
        budget: float | None = None,
    ) -> None:
        """`budget`: seconds all of this transport's requests must end within (a page's), or None."""
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.jobs_url = (jobs_url or f"{self.base_url}/async").rstrip("/")
        self.session = session or _Session()
        self.timeout = timeout or (CONNECT_TIMEOUT, READ_TIMEOUT)
        self._token = token  # sent only with requests to this service, never logged
        self._slot = _slot(self.base_url, "requests", max_concurrent)
        self._watch_slot = _slot(self.base_url, "watches", MAX_WATCHING)
        self._deadline = time.monotonic() + budget if budget is not None else None

    def _remaining(self, url: str) -> float | None:
        """Seconds left of the budget; a ServiceError once it is spent."""
        if self._deadline is None:
            return None
        remaining = self._deadline - time.monotonic()
        if remaining <= 0.05:
            raise self.error(
                Failure.TIMEOUT, "The service is too slow: the portal stopped waiting for it.", url, reached=None
            )
        return remaining

    def is_own_url(self, url: str) -> bool:
        """True if `url` lies below this service's base URL or its job list (same scheme, host, port, path)."""
        return _below(url, self.base_url) or _below(url, self.jobs_url)

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
        headers are read: the body is left to `read` (which bounds its size and time) or
        to a `ResultStream`, so no answer is ever read whole without a limit.
        """
        if not self.is_own_url(url):
            raise self.error(
                Failure.FORBIDDEN_URL, "The portal only contacts the configured service.", url, reached=False
            )
        timeout = timeout or self.timeout
        remaining = self._remaining(url)
        if remaining is not None:
            timeout = (min(timeout[0], remaining), min(timeout[1], remaining))
        headers = {"User-Agent": USER_AGENT, "Accept": accept}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        slot = self._watch_slot if watch else self._slot
        if not slot.acquire(timeout=1.0):
            raise self.error(
                Failure.BUSY,
                "The portal is already waiting on this service for many requests; try again shortly.",
                url,
                reached=False,
            )
        started = time.monotonic()
        reached: bool | None = None  # sent, but no complete answer
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout:
            failure, message, reached = Failure.TIMEOUT, "The service did not accept a connection in time.", False
        except requests.exceptions.Timeout:
            failure, message = Failure.TIMEOUT, "The service did not answer in time."
        except requests.exceptions.ConnectionError as exc:
            failure, message = Failure.UNREACHABLE, "The service could not be reached."
            violation = _http_violation(exc)
            if violation:
                failure, message = Failure.BAD_RESPONSE, f"The service's answer is not valid HTTP ({violation})."
            elif _never_connected(exc):
                reached = False
                if "Connection refused" in str(exc):
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
        log.log(
            self.log_level,
            "upstream service=%s method=%s url=%s status=- duration_ms=%d bytes=0 failure=%s",
            self.name,
            method,
            _loggable(url, params),
            (time.monotonic() - started) * 1000,
            failure.value,
        )
        raise self.error(failure, message, url, reached=reached)

    def log(self, response: requests.Response, size: int) -> None:
        """One line per request: service, method, URL, status, duration, bytes (never a token)."""
        started = getattr(response, "started", time.monotonic())
        log.log(
            self.log_level,
            "upstream service=%s method=%s url=%s status=%d duration_ms=%d bytes=%d",
            self.name,
            response.request.method,
            response.url,
            response.status_code,
            (time.monotonic() - started) * 1000,
            size,
        )

    def error(
        self,
        failure: Failure,
        message: str,
        url: str,
        status: int | None = None,
        detail: str | None = None,
        *,
        reached: bool | None = True,
    ) -> ServiceError:
        return ServiceError(failure, message, service=self.name, url=url, status=status, detail=detail, reached=reached)

    def get(
        self,
        url: str,
        *,
        params=None,
        accept: str = ACCEPT_DOCUMENT,
        timeout=None,
        watch: bool = False,
        elsewhere: bool = False,
    ) -> requests.Response | ExternalResult:
        """GET, following redirects while they stay within the service.

        A redirect out of the service is refused, except that with `elsewhere` (a result,
        which may be kept on another web host) it ends the walk with an `ExternalResult`.
        """
        for _ in range(MAX_REDIRECTS + 1):
            response = self.request("GET", url, params=params, accept=accept, timeout=timeout, watch=watch)
            if response.status_code not in REDIRECT_STATUSES:
                return response
            response.close()
            self.log(response, 0)
            location = response.headers.get("Location")
            if not location:
                raise self.error(
                    Failure.BAD_RESPONSE, "The service redirected without saying where.", url, response.status_code
                )
            url, params = urljoin(url, location), None
            if self.is_own_url(url):
                continue
            if not elsewhere:
                raise self.error(
                    Failure.FORBIDDEN_URL,
                    "The service redirected to an address outside the service; the portal does not follow it.",
                    url,
                    response.status_code,
                )
            if urlsplit(url).scheme not in ("http", "https"):
                raise self.error(Failure.BAD_RESPONSE, "The service redirected to a non-web address.", url)
            return ExternalResult(url)
        raise self.error(Failure.BAD_RESPONSE, "The service redirected too many times.", url)

    def read(self, response: requests.Response, limit: int | None = None) -> bytes:
        """The body, at most `limit` bytes (MAX_DOCUMENT_BYTES); any transfer failure is a ServiceError."""
        limit = limit or MAX_DOCUMENT_BYTES
        started = getattr(response, "started", time.monotonic())
        deadline = started + DOCUMENT_DEADLINE
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in _arriving(response):
                size += len(chunk)
                if size > limit:
                    raise self.error(
                        Failure.BAD_RESPONSE,
                        f"The service sent a document larger than the portal reads ({limit:,} bytes).",
                        response.url,
                        response.status_code,
                    )
                if time.monotonic() > deadline:
                    raise self.error(
                        Failure.TIMEOUT,
                        "The service sent its answer too slowly "
                        f"(not complete after {time.monotonic() - started:.0f} s).",
                        response.url,
                        response.status_code,
                        reached=None,
                    )
                chunks.append(chunk)
            # Read to its end: the connection may serve the next request (close() would end it).
            response.raw.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            failure, message = _transfer_failure(exc)
            raise self.error(failure, message, response.url, response.status_code, reached=None) from None
        finally:
            response.close()
            self.log(response, size)
        return b"".join(chunks)

    def check_status(self, response: requests.Response, body: bytes, *, job_id: str | None = None) -> None:
        """Turn an HTTP error status into a ServiceError carrying the service's own words."""
        status = response.status_code
        if status < 400:
            return
        detail = service_message(body, response.headers.get("Content-Type", ""))
        if status == 404:
            what = f"The service has no job {job_id}." if job_id else "The service does not know this resource."
            raise self.error(Failure.NOT_FOUND, what, response.url, status, detail)
        if status in (401, 403):
            raise self.error(Failure.REFUSED, "The service refused the request.", response.url, status, detail)
        if status < 500:
            raise self.error(Failure.BAD_REQUEST, "The service rejected the request.", response.url, status, detail)
        raise self.error(Failure.SERVER_ERROR, f"The service failed with HTTP {status}.", response.url, status, detail)

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params=None,
        data: Mapping[str, str] | None = None,
        accept: str = ACCEPT_DOCUMENT,
        timeout=None,
        watch: bool = False,
        job_id: str | None = None,
    ) -> tuple[requests.Response, bytes]:
        """One request and its whole (bounded) answer, its error status turned into a ServiceError.

        A GET follows redirects within the service (and refuses one that leaves it); other
        methods follow none: the caller reads the Location it is given (UWS-NOTES §4.4).
        """
        if method == "GET":
            response = self.get(url, params=params, accept=accept, timeout=timeout, watch=watch)
        else:
            response = self.request(method, url, params=params, data=data, accept=accept, timeout=timeout)
        body = self.read(response)
        self.check_status(response, body, job_id=job_id)
        return response, body

    def document(self, url: str, *, params=None, job_id: str | None = None, timeout=None, watch: bool = False) -> bytes:
        """The body of a GET that succeeded."""
        return self.exchange("GET", url, params=params, job_id=job_id, timeout=timeout, watch=watch)[1]

    def parse(self, parser, body: bytes, url: str):
        """`parser(body)`, its failure a ServiceError; DaCHS answers errors with 200 and a DALI VOTable."""
        try:
            return parser(body)
        except UWSParseError as exc:
            detail = dali_error_message(body)
            if detail:
                raise self.error(Failure.REFUSED, "The service reported an error.", url, 200, detail) from None
            raise self.error(
                Failure.BAD_RESPONSE, f"The service's answer could not be read: {exc}.", url, 200
            ) from None


def _below(url: str, base_url: str) -> bool:
    base = urlsplit(base_url)
    target = urlsplit(url)
    if (target.scheme, target.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return False
    base_path = base.path.rstrip("/")
    return target.path == base_path or target.path.startswith(base_path + "/")


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


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it wraps (requests and urllib3 nest them in their args)."""
    seen: list[BaseException] = [exc]
    visited: set[int] = set()
    while seen:
        current = seen.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        yield current
        seen += [arg for arg in current.args if isinstance(arg, BaseException)]
        if current.__cause__ is not None:
            seen.append(current.__cause__)


def _http_violation(exc: BaseException) -> str | None:
    """What was wrong with an answer that is not HTTP (too many headers, a header line too long), if that was it."""
    for current in _causes(exc):
        if isinstance(current, http.client.HTTPException) and not isinstance(current, _CUT_SHORT):
            return str(current) or current.__class__.__name__
    return None


def _never_connected(exc: BaseException) -> bool:
    """True when no connection was made (refused, no route): the request was never sent."""
    return any(isinstance(current, urllib3.exceptions.NewConnectionError) for current in _causes(exc))


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
