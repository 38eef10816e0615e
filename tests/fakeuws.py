"""A scripted HTTP service on loopback, for the cases a real server will not produce.

Each test says what the service answers (`fake.reply(...)`) and reads what the
portal sent (`fake.requests`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""  # chunks are sent as they come (set Content-Length)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


class FakeUWS:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | Callable[[Recorded], Reply]] = {}
        self.requests: list[Recorded] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
            # client's delayed acknowledgement on a kept-alive connection (40 ms each answer).
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={key.lower(): value for key, value in self.headers.items()},
                    form=parse_qs(body),
                )
                fake.requests.append(recorded)
                route = fake.routes.get((self.command, parts.path))
                reply = route(recorded) if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/xml", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in headers and isinstance(reply.body, bytes):
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    for chunk in [reply.body] if isinstance(reply.body, bytes) else reply.body:
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, method: str, path: str, status: int = 200, body: bytes | str = b"", **kwargs) -> None:
        if isinstance(body, str):
            body = body.encode()
        self.routes[(method, path)] = Reply(status, body, **kwargs)

    def route(self, method: str, path: str, handler: Callable[[Recorded], Reply]) -> None:
        self.routes[(method, path)] = handler

    def job_until_deleted(self, path: str, body: str) -> None:
        """GET `path` answers the job document until a DELETE of it has come, then 404."""

        def answer(request: Recorded) -> Reply:
            if any(seen.method == "DELETE" and seen.path == path for seen in self.requests):
                return Reply(404, b"gone", {"Content-Type": "text/plain"})
            return Reply(200, body.encode())

        self.route("GET", path, answer)

    def posted(self) -> list[Recorded]:
        """The POST requests the service received, in order."""
        return [request for request in self.requests if request.method == "POST"]

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def job_xml(
    job_id: str = "abc123",
    phase: str = "PENDING",
    *,
    execution_duration: str = "3600",
    destruction: str = "2099-01-01T00:00:00Z",
    query: str = "SELECT TOP 5 * FROM t",
    results: str = "",
    error: str = "",
    extra: str = "",
) -> str:
    """A UWS 1.1 job document, for tests that need one with given values."""
    from xml.sax.saxutils import escape

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">
  <uws:jobId>{escape(job_id)}</uws:jobId>
  <uws:ownerId xsi:nil="true"/>
  <uws:phase>{phase}</uws:phase>
  <uws:creationTime>2026-11-24T10:00:00Z</uws:creationTime>
  <uws:startTime xsi:nil="true"/>
  <uws:endTime xsi:nil="true"/>
  <uws:executionDuration>{execution_duration}</uws:executionDuration>
  <uws:destruction>{destruction}</uws:destruction>
  <uws:parameters>
    <uws:parameter id="LANG">ADQL</uws:parameter>
    <uws:parameter id="QUERY">{escape(query)}</uws:parameter>
  </uws:parameters>
  <uws:results>{results}</uws:results>
  {error}{extra}
</uws:job>"""
