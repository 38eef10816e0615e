"""A fast UWS service on loopback for the benchmarks: recorded documents, results made up as they are sent.

It must be much faster than the portal, so that what a benchmark measures through the portal
is the portal's own cost: one process, asyncio, every document built once and sent from
memory, HTTP/1.1 with keep-alive. It answers GET only, and ignores WAIT (as a UWS 1.0 service
does). Under its base URL `/tap` (and `/small/tap`, whose job list is short):

- `async`: a job list of `LIST_JOBS` jobs (`SMALL_LIST_JOBS` under `/small`);
- `async/<id>`: the completed job DaCHS 2.7 sent in a recorded session (dachs-samples
  19-job-completed.http) under that id, with one result `result`; a job whose id starts with
  `missing` does not exist (404);
- `async/<id>/results/result`: for the job `download`, `DOWNLOAD_BYTES` bytes of
  application/octet-stream as fast as the client takes them (for `download-<Mbit/s>`, at that
  rate); for `preview-<bytes>`, a TABLEDATA VOTable of that many bytes (columns id, name, ra, dec,
  mag); for `obscore-<bytes>`, an ObsCore-shaped TABLEDATA VOTable of that many bytes (obs_id,
  access_url, access_format, access_estsize, s_ra, s_dec; every fourth row's access_url a
  DataLink document); for any other job, a VOTable of a few rows. Large results are never held
  in memory: one block is made and sent again and again, as the client takes it;
- `async/run-<start>-<end>-<label>` (times in ms since the epoch): a job that is EXECUTING from
  `start` and COMPLETED from `end`, for the benchmarks of watching (bench/watching.py). For these
  jobs alone it honours UWS WAIT (UWS 1.1 §2.2.3.1: an answer held while the job stays in its
  active phase, and in `PHASE` if given, at most `WAIT` seconds), as DaCHS and VOLLT do.

Beside them, `/stats` answers a JSON object of when each job's document was asked for
(`{"<job id>": [epoch seconds, …]}`), so that a benchmark can count what the portal asked of
each job, and when.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

HOST = "127.0.0.1"
LIST_JOBS = 10_000
SMALL_LIST_JOBS = 500
DOWNLOAD_BYTES = 1024**3
BLOCK = 1024 * 1024  # what one write hands to the kernel
SMALL_RESULT_BYTES = 4096
# The job document DaCHS 2.7 sent for a completed query (dachs-samples/19-job-completed.http), with
# placeholders for what depends on the phase: a job that has not ended has a nil endTime and no result.
JOB_TEMPLATE = """<?xml-stylesheet href='/static/xsl/tap-job-to-html.xsl' type='text/xsl'?><uws:job version="1.1" \
xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.ivoa.net/xml/UWS/v1.0 \
http://vo.ari.uni-heidelberg.de/docs/schemata/UWS-1.1.xsd http://www.w3.org/1999/xlink \
http://vo.ari.uni-heidelberg.de/docs/schemata/xlink.xsd"><uws:jobId>{job_id}</uws:jobId><uws:ownerId xsi:nil="true">\
</uws:ownerId><uws:phase>{phase}</uws:phase><uws:quote>2026-11-24T12:11:51Z</uws:quote><uws:creationTime>\
{creation_time}</uws:creationTime><uws:startTime>{start_time}</uws:startTime>{end_time}\
<uws:executionDuration>120</uws:executionDuration><uws:destruction>\
2030-01-01T00:00:00Z</uws:destruction><uws:parameters><uws:parameter id="request">doQuery</uws:parameter>\
<uws:parameter id="lang">ADQL</uws:parameter><uws:parameter id="query">SELECT TOP 5 id, name, ra, dec, mag, note \
FROM portaltest.objects ORDER BY id</uws:parameter><uws:parameter id="version"/><uws:parameter id="format">votable\
</uws:parameter><uws:parameter id="upload"/><uws:parameter id="responseformat"/><uws:parameter id="maxrec">100\
</uws:parameter><uws:parameter id="verb"/></uws:parameters><uws:results>{results}</uws:results></uws:job>"""
VOTABLE_HEAD = b"""<?xml version="1.0" encoding="utf-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE><FIELD name="id" datatype="int" ucd="meta.id;meta.main"/>
<FIELD name="name" datatype="char" arraysize="*" ucd="meta.id"/>
<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="mag" datatype="float" unit="mag" ucd="phot.mag"/>
<DATA><TABLEDATA>
"""
VOTABLE_TAIL = b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n"
OBSCORE_HEAD = b"""<?xml version="1.0" encoding="utf-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>
<TABLE><FIELD name="obs_id" datatype="char" arraysize="*" ucd="meta.id"/>
<FIELD name="access_url" datatype="char" arraysize="*" ucd="meta.ref.url"/>
<FIELD name="access_format" datatype="char" arraysize="*" ucd="meta.code.mime"/>
<FIELD name="access_estsize" datatype="long" unit="kbyte" ucd="phys.size;meta.file"/>
<FIELD name="s_ra" datatype="double" unit="deg" ucd="pos.eq.ra"/>
<FIELD name="s_dec" datatype="double" unit="deg" ucd="pos.eq.dec"/>
<DATA><TABLEDATA>
"""
_PREVIEW_ID = re.compile(r"preview-(\d+)")
_OBSCORE_ID = re.compile(r"obscore-(\d+)")
_DOWNLOAD_ID = re.compile(r"download(?:-(\d+))?")
_TIMED_ID = re.compile(r"run-(\d+)-(\d+)-[A-Za-z0-9_]+")
ACTIVE = "EXECUTING"


def job_document(
    base: str,
    job_id: str,
    phase: str = "COMPLETED",
    started: str = "2026-11-24T12:11:49Z",
    ended: str = "2026-11-24T12:11:50Z",
) -> bytes:
    """The recorded job under `job_id`: COMPLETED with one result `result`, or in another phase without."""
    if phase == "COMPLETED":
        href = escape(f"{base}/async/{job_id}/results/result", {'"': "&quot;"})
        end_time, results = f"<uws:endTime>{ended}</uws:endTime>", f'<uws:result id="result" xlink:href="{href}"/>'
    else:
        end_time, results = '<uws:endTime xsi:nil="true"></uws:endTime>', ""
    creation = "2026-11-24T12:11:48Z" if started == "2026-11-24T12:11:49Z" else started
    return JOB_TEMPLATE.format(
        job_id=escape(job_id),
        phase=phase,
        creation_time=creation,
        start_time=started,
        end_time=end_time,
        results=results,
    ).encode()


def _uws_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timed_phase(job_id: str, now: float | None = None) -> tuple[str, float] | None:
    """For a job `run-<start>-<end>-<label>`: its phase now, and the seconds until it ends (else None)."""
    timed = _TIMED_ID.fullmatch(job_id)
    if timed is None:
        return None
    left = int(timed[2]) / 1000 - (time.time() if now is None else now)
    return ("COMPLETED", 0.0) if left <= 0 else (ACTIVE, left)


def job_list(base: str, count: int) -> bytes:
    """A UWS 1.1 job list as DaCHS writes it, `count` jobs, one created every minute."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    phases = ("COMPLETED", "ERROR", "ABORTED", "EXECUTING", "PENDING")
    refs = "".join(
        f'<uws:jobref id="j{number:06d}" xlink:href="{base}/async/j{number:06d}"><uws:phase>{phases[number % 5]}'
        f'</uws:phase><uws:ownerId xsi:nil="true"/><uws:creationTime>'
        f"{start + timedelta(minutes=number):%Y-%m-%dT%H:%M:%SZ}</uws:creationTime></uws:jobref>"
        for number in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><uws:jobs version="1.1" xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{refs}</uws:jobs>"
    ).encode()


def _rows_block(size: int) -> bytes:
    rows = []
    total = number = 0
    while total < size:
        number += 1
        row = (
            f"<TR><TD>{number}</TD><TD>obj-{number:04d}</TD><TD>{(number - 1) * 0.72:.2f}</TD>"
            f"<TD>{(number * 37) % 161 - 80}.0</TD><TD>{10 + number % 50 / 10:.1f}</TD></TR>\n"
        ).encode()
        rows.append(row)
        total += len(row)
    return b"".join(rows[:-1])  # whole rows only, at most `size` bytes


def _obscore_block(size: int) -> bytes:
    rows = []
    total = number = 0
    while total < size:
        number += 1
        datalink = number % 4 == 0
        url = f"https://archive.example.org/{'datalink?ID=' if datalink else 'files/'}obs{number:07d}.fits"
        kind = "application/x-votable+xml;content=datalink" if datalink else "application/fits"
        row = (
            f"<TR><TD>obs{number:07d}</TD><TD>{escape(url)}</TD><TD>{kind}</TD><TD>{1000 + number % 97 * 250}</TD>"
            f"<TD>{(number * 0.37) % 360:.4f}</TD><TD>{(number * 37) % 161 - 80.5}</TD></TR>\n"
        ).encode()
        rows.append(row)
        total += len(row)
    return b"".join(rows[:-1])


_ROWS = _rows_block(BLOCK)
_OBSCORE_ROWS = _obscore_block(BLOCK)
_BYTES = os.urandom(BLOCK)


def votable(size: int, head: bytes = VOTABLE_HEAD, rows: bytes = _ROWS) -> Iterator[bytes]:
    """A TABLEDATA VOTable of exactly `size` bytes (at least its head and tail), made as it is sent."""
    body = max(0, size - len(head) - len(VOTABLE_TAIL))
    yield head
    full, rest = divmod(body, len(rows))
    for _ in range(full):
        yield rows
    cut = rows[:rest].rfind(b"\n") + 1  # whole rows, then spaces up to the size
    yield rows[:cut] + b" " * (rest - cut)
    yield VOTABLE_TAIL


def random_bytes(size: int) -> Iterator[bytes]:
    full, rest = divmod(size, BLOCK)
    for _ in range(full):
        yield _BYTES
    yield _BYTES[:rest]


class Service:
    """What the service answers, by path."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.lists = {
            "/tap": job_list(f"{base}/tap", LIST_JOBS),
            "/small/tap": job_list(f"{base}/small/tap", SMALL_LIST_JOBS),
        }
        self.jobs: dict[str, bytes] = {}
        self.small_result = b"".join(votable(SMALL_RESULT_BYTES))
        self.asked: collections.defaultdict[str, list[float]] = collections.defaultdict(list)  # GETs of each job

    def received(self, target: str) -> float:
        """Count a GET of a job's document; the seconds to hold the answer (a WAIT honoured), else 0."""
        path, _, query = target.partition("?")
        rest = path.split("/")
        if len(rest) < 2 or rest[-2] != "async":
            return 0.0
        job_id = rest[-1]
        self.asked[job_id].append(round(time.time(), 3))
        timed = timed_phase(job_id)
        if timed is None or timed[0] != ACTIVE:
            return 0.0
        parameters = {name.upper(): value for name, value in parse_qsl(query)}
        try:
            wait = float(parameters.get("WAIT", "0"))
        except ValueError:
            return 0.0
        if wait == 0 or parameters.get("PHASE", ACTIVE) != ACTIVE:
            return 0.0
        until_end = timed[1] + 0.01  # the timer may fire a little early: answer once it has ended
        return until_end if wait < 0 else min(wait, until_end)  # -1: until the phase changes

    def answer(self, path: str) -> tuple[int, str, int, Iterator[bytes] | bytes, float | None]:
        """Status, content type, length, body and the rate to send it at (bytes/s, None: at once)."""
        path = path.split("?", 1)[0]
        if path == "/stats":
            body = json.dumps(self.asked).encode()
            return 200, "application/json", len(body), body, None
        for prefix in ("/small/tap", "/tap"):
            if path.startswith(prefix + "/"):
                rest = path[len(prefix) + 1 :].split("/")
                break
        else:
            return 404, "text/plain", 9, b"not found", None
        if rest == ["async"]:
            body = self.lists[prefix]
            return 200, "text/xml", len(body), body, None
        if len(rest) < 2 or rest[0] != "async" or rest[1].startswith("missing"):
            return 404, "text/plain", 9, b"not found", None
        job_id = rest[1]
        timed = _TIMED_ID.fullmatch(job_id)
        if len(rest) == 2 and timed:
            phase = timed_phase(job_id)[0]
            started, ended = _uws_time(int(timed[1])), _uws_time(int(timed[2]))
            body = job_document(f"{self.base}{prefix}", job_id, phase, started, ended)
            return 200, "text/xml", len(body), body, None
        if len(rest) == 2:
            key = f"{prefix}/{job_id}"
            if key not in self.jobs:
                self.jobs[key] = job_document(f"{self.base}{prefix}", job_id)
            body = self.jobs[key]
            return 200, "text/xml", len(body), body, None
        if rest[2:] != ["results", "result"]:
            return 404, "text/plain", 9, b"not found", None
        download = _DOWNLOAD_ID.fullmatch(job_id)
        if download:
            rate = int(download[1]) * 1_000_000 / 8 if download[1] else None
            return 200, "application/octet-stream", DOWNLOAD_BYTES, random_bytes(DOWNLOAD_BYTES), rate
        size = _PREVIEW_ID.fullmatch(job_id)
        if size:
            return 200, "application/x-votable+xml", int(size[1]), votable(int(size[1])), None
        size = _OBSCORE_ID.fullmatch(job_id)
        if size:
            body = votable(int(size[1]), OBSCORE_HEAD, _OBSCORE_ROWS)
            return 200, "application/x-votable+xml", int(size[1]), body, None
        return 200, "application/x-votable+xml", len(self.small_result), self.small_result, None


class _Connection(asyncio.Protocol):
    """One client connection: requests one after the other (no pipelining needed by our clients)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.buffer = b""
        self.body: Iterator[bytes] | None = None  # a body being sent, as the client takes it
        self.rate: float | None = None  # its bytes per second
        self.sent = 0
        self.began = 0.0
        self.writable = True  # the client takes what is sent (pause_writing, resume_writing)
        self.held = False  # ahead of the rate: sending again soon
        self.close_after = False
        self.waiting = False  # an answer held for a WAIT

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=4 * BLOCK)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._answer_waiting()

    def _answer_waiting(self) -> None:
        while self.body is None and not self.waiting and not self.transport.is_closing() and b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            self.close_after = any(line.lower().replace(" ", "") == "connection:close" for line in lines[1:])
            hold = self.service.received(target) if method == "GET" else 0.0
            if hold > 0:  # a WAIT honoured: the answer after the change, or after WAIT
                self.waiting = True
                asyncio.get_running_loop().call_later(hold, self._answer_held, method, target)
                return
            self._answer(method, target)

    def _answer_held(self, method: str, target: str) -> None:
        self.waiting = False
        if not self.transport.is_closing():
            self._answer(method, target)
            self._answer_waiting()

    def _answer(self, method: str, target: str) -> None:
        if method != "GET":
            status, content_type, length, body, rate = 405, "text/plain", 0, b"", None
        else:
            status, content_type, length, body, rate = self.service.answer(target)
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\nServer: bench-upstream\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        if isinstance(body, bytes):
            self.transport.write(body)
            self._done()
        else:
            self.body, self.rate, self.sent, self.began = body, rate, 0, time.monotonic()
            self._send()

    def _send(self) -> None:
        """Hand the kernel the body being sent until it is all sent or the client lags (pause_writing)."""
        while self.body is not None and self.writable and not self.held:
            ahead = self.began + self.sent / self.rate - time.monotonic() if self.rate else 0
            if ahead > 0.001:
                self.held = True
                asyncio.get_running_loop().call_later(ahead, self._release)
                return
            chunk = next(self.body, None)
            if chunk is None:
                self.body = None
                self._done()
                self._answer_waiting()
            else:
                self.transport.write(chunk)
                self.sent += len(chunk)

    def _release(self) -> None:
        self.held = False
        self._send()

    def _done(self) -> None:
        if self.close_after:
            self.transport.close()

    def pause_writing(self) -> None:
        self.writable = False

    def resume_writing(self) -> None:
        self.writable = True
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.body = None  # the client went away (a preview stops reading early): stop making the result


async def _serve(port: int, ready) -> None:
    loop = asyncio.get_running_loop()
    service = Service(f"http://{HOST}:{port}")
    server = await loop.create_server(lambda: _Connection(service), HOST, port, backlog=1024, reuse_address=True)
    ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def serve(ports) -> None:
    """Serve on a free loopback port, in a process of its own; its port goes into the queue `ports`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops this process
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    asyncio.run(_serve(port, ports.put))
