"""A misbehaving UWS service on loopback: each request chooses its own fault.

Where the fault is chosen, so that it can be driven through the portal's ordinary URLs:
- Below a TAP base, the job id is the mode: `GET …/async/<mode>` (the job document),
  `POST …/async/<mode>/phase`, `/executionduration`, `/destruction` and
  `DELETE …/async/<mode>` (the actions), `GET …/async/<mode>/results/<id>` (a result),
  `GET …/async/<mode>/error` (the error document). A result id may name the mode too:
  the job `ok` lists a result for every mode that misbehaves on results, so that
  `…/async/ok/results/<mode>` misbehaves below a job that does not.
- The job list and job creation have no job id: their mode is in the base. `/tap` is a
  base whose list and creation behave; `/<mode>/tap` is a base whose list
  (`GET /<mode>/tap/async`) and creation (`POST /<mode>/tap/async`) misbehave as <mode>
  says. Jobs below `/<mode>/tap/async/` are chosen by their own id, as below `/tap`.
- A mode misbehaves only on the resources it names (`MODES`); on the others it answers as a
  well-behaved UWS 1.1 service would, so that the portal's re-read of a job after an
  action still works. An id that is no mode is a 404, and `/tap/async` lists every mode.
- A second listener, the canary, records every connection and request it gets. Whatever
  points to "another host" (redirects, external entities, result hrefs) points there: a
  portal that follows none of them leaves the canary empty.
- `refused_url` is a TAP base on a loopback port where nothing listens (connection refused).

By hand: `python -m tests.faultuws --port 8099` prints the modes and a services file that
points the portal at each of them (`PORTAL_SERVICES=<that file> make run`), and serves until
Ctrl-C. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import select
import socket
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

UWS = 'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
SCRIPT = "<script>alert('{}')</script>"  # what a hostile service puts in a text field
HOSTILE_HTML = (
    b"<!DOCTYPE html><html><head><title>Service unavailable</title><script>alert('page')</script></head>"
    b"<body><h1>Down for maintenance</h1><img src=x onerror=\"alert('img')\">"
    b"<a href=\"javascript:alert('link')\">status</a></body></html>"
)
HUGE_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 128 * 1024 * 1024
TRICKLE_EVERY = 0.5  # seconds between two bytes of a trickling answer
JOB_KINDS = ("job", "action", "result", "error")
KINDS = (*JOB_KINDS, "list", "create")
GET_KINDS = frozenset({"job", "result", "error", "list"})
DOCUMENT_KINDS = frozenset({"job", "list", "error"})


@dataclass
class Answer:
    """A status, headers and body, as a well-behaved service sends them."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Mode:
    about: str
    answer: Callable[[Call], None]
    kinds: frozenset[str] = frozenset(KINDS)  # the resources that misbehave


# -- documents ----------------------------------------------------------------------


def job_document(
    job_id: str,
    job_url: str,
    *,
    phase: str = "COMPLETED",
    run_id: str = "",
    owner: str = "",
    times: dict[str, str] | None = None,
    duration: str = "3600",
    query: str = "SELECT TOP 10 * FROM ivoa.obscore",
    parameters: str = "",
    results: str | None = None,
    error: str = "",
    doctype: str = "",
) -> str:
    """A UWS 1.1 job; the arguments are inserted as they are (callers escape what must be escaped)."""
    times = {
        "quote": "2026-11-24T10:05:00Z",
        "creationTime": "2026-11-24T10:00:00Z",
        "startTime": "2026-11-24T10:00:01Z",
        "endTime": "2026-11-24T10:00:09Z",
        "destruction": "2099-01-01T00:00:00Z",
        **(times or {}),
    }
    if results is None:
        results = result_element(job_url, "result")
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<uws:job {UWS} {XSI} version="1.1">
  <uws:jobId>{job_id}</uws:jobId>
  {f"<uws:runId>{run_id}</uws:runId>" if run_id else ""}
  <uws:ownerId{">" + owner + "</uws:ownerId>" if owner else ' xsi:nil="true"/>'}
  <uws:phase>{phase}</uws:phase>
  <uws:quote>{times["quote"]}</uws:quote>
  <uws:creationTime>{times["creationTime"]}</uws:creationTime>
  <uws:startTime>{times["startTime"]}</uws:startTime>
  <uws:endTime>{times["endTime"]}</uws:endTime>
  <uws:executionDuration>{duration}</uws:executionDuration>
  <uws:destruction>{times["destruction"]}</uws:destruction>
  <uws:parameters>
    <uws:parameter id="LANG">ADQL</uws:parameter>
    <uws:parameter id="QUERY">{query}</uws:parameter>{parameters}
  </uws:parameters>
  <uws:results>{results}</uws:results>{error}
</uws:job>
"""


def result_element(job_url: str, result_id: str) -> str:
    href = f"{job_url}/results/{result_id}"
    return f'<uws:result id={quoteattr(result_id)} xlink:href={quoteattr(href)} mime-type="text/csv"/>'


def obscore_csv(files: str) -> bytes:
    """The well-behaved result: a CSV of two ObsCore-shaped rows, a file and a DataLink document on `files`."""
    return (
        "id,ra,dec,access_url,access_format,access_estsize\n"
        f"1,10.5,-3.25,{files}/files/1.fits,image/fits,2880\n"
        f"2,11.0,4.5,{files}/datalink?ID=2,application/x-votable+xml;content=datalink,12\n"
    ).encode()


def list_document(refs: Iterable[str], doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}\n<uws:jobs {UWS} version="1.1">\n{"".join(refs)}</uws:jobs>\n'
    )


def jobref(job_id: str, href: str | None, *, phase: str = "COMPLETED", extra: str = "") -> str:
    link = f" xlink:href={quoteattr(href)}" if href is not None else ""
    return f"  <uws:jobref id={quoteattr(job_id)}{link}><uws:phase>{phase}</uws:phase>{extra}</uws:jobref>\n"


def dali_error(message: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}\n<VOTABLE version="1.4" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
        f'<INFO name="QUERY_STATUS" value="ERROR">{message}</INFO></RESOURCE></VOTABLE>\n'
    )


def billion_laughs_doctype(root: str) -> str:
    """A DOCTYPE whose entity &lol9; would expand to a thousand million 'lol's."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    ]
    return f"\n<!DOCTYPE {root} [\n {chr(10).join(entities)}\n]>"


# -- the request and its answer -------------------------------------------------------


class Call:
    """One request to the fault service, and the means to answer it well or badly."""

    def __init__(self, handler: BaseHTTPRequestHandler, service: FaultUWS, kind: str, base: str, mode: str) -> None:
        self.handler = handler
        self.service = service
        self.kind = kind
        self.base = base  # "/tap" or "/<mode>/tap"
        self.mode = mode
        self.path = urlsplit(handler.path).path
        self.origin = service.url
        self.canary = service.canary_url

    # -- what a well-behaved service answers --

    def job_url(self) -> str:
        return f"{self.origin}{self.base}/async/{self.mode}"

    def good(self) -> Answer:
        xml = {"Content-Type": "text/xml; charset=utf-8"}
        if self.kind == "job":
            results = None
            if self.mode == "ok":  # and a result for every mode that has one: `…/async/ok/results/<mode>`
                names = ["result", *(name for name, mode in MODES.items() if "result" in mode.kinds)]
                results = "".join(result_element(self.job_url(), name) for name in names)
            return Answer(200, xml, job_document(escape(self.mode), self.job_url(), results=results).encode())
        if self.kind == "action":
            location = self.job_url() if self.handler.command != "DELETE" else f"{self.origin}{self.base}/async"
            return Answer(303, {"Location": location})
        if self.kind == "result":  # ObsCore-shaped: the files behind its rows are on another host (never fetched)
            return Answer(200, {"Content-Type": "text/csv; header=present"}, obscore_csv(self.canary))
        if self.kind == "error":
            return Answer(200, {"Content-Type": "text/plain"}, b"The job has no error: it completed.\n")
        if self.kind == "list":
            refs = (jobref(mode, f"{self.origin}/tap/async/{mode}") for mode in MODES)
            return Answer(200, xml, list_document(refs).encode())
        return Answer(303, {"Location": f"{self.origin}{self.base}/async/ok"})  # create

    # -- sending --

    def head(self, status: int, headers: Iterable[tuple[str, str | bytes]]) -> None:
        """The status line and headers exactly as given (raw bytes allowed), and no others."""
        reason = http.client.responses.get(status, "Whatever")
        lines = [f"HTTP/1.1 {status} {reason}\r\n".encode()]
        for name, value in [*headers, ("Connection", "close")]:
            raw = value if isinstance(value, bytes) else value.encode("latin-1")
            lines.append(name.encode() + b": " + raw + b"\r\n")
        self.write(b"".join(lines) + b"\r\n")

    def write(self, data: bytes) -> bool:
        """Send bytes; False once the client has gone."""
        try:
            self.handler.wfile.write(data)
            return True
        except OSError:
            return False

    def send(self, answer: Answer, body: Iterable[bytes] | None = None, length: int | None = None) -> None:
        headers = dict(answer.headers)
        headers.setdefault("Content-Length", str(length if length is not None else len(answer.body)))
        self.head(answer.status, headers.items())
        for piece in [answer.body] if body is None else body:
            if not self.write(piece):
                return

    def hold(self, seconds: float) -> None:
        """Say nothing until the client gives up, the service stops, or `seconds` pass."""
        connection = self.handler.connection
        waited = 0.0
        while waited < seconds and self.pause(0.2):
            waited += 0.2
            readable, _, _ = select.select([connection], [], [], 0)
            try:
                if readable and not connection.recv(1, socket.MSG_PEEK):
                    return  # the client closed its end
            except OSError:
                return

    def pause(self, seconds: float) -> bool:
        """Sleep; False if the service is stopping."""
        return not self.service.stopping.wait(seconds)

    def reset(self) -> None:
        """Close with a TCP reset instead of an orderly end."""
        self.handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.handler.connection.close()


# -- the modes ------------------------------------------------------------------------


def _padded(answer: Answer, size: int = 4096) -> bytes:
    """The answer's body, padded so that half of it is a real part of an answer."""
    return answer.body + b" " * max(0, size - len(answer.body))


def reset(call: Call) -> None:
    good = call.good()
    body = _padded(good)
    call.head(200 if good.status >= 300 else good.status, [*good.headers.items(), ("Content-Length", str(len(body)))])
    call.write(body[: len(body) // 2])
    call.reset()


def silent(call: Call) -> None:
    call.hold(300)


def stall(call: Call) -> None:
    good = call.good()
    body = _padded(good)
    call.head(200, [*good.headers.items(), ("Content-Length", str(len(body)))])
    call.write(body[: len(body) // 2])
    call.hold(300)


def trickle(call: Call) -> None:
    good = call.good()
    body = _padded(good)
    call.head(200, [*good.headers.items(), ("Content-Length", str(len(body)))])
    for index in range(len(body)):
        if not call.write(body[index : index + 1]) or not call.pause(TRICKLE_EVERY):
            return


def chunked_forever(call: Call) -> None:
    good = call.good()
    body = _padded(good)
    call.head(200, [*good.headers.items(), ("Transfer-Encoding", "chunked")])
    piece = body[: len(body) // 2]
    while call.write(b"%x\r\n%s\r\n" % (len(piece), piece)) and call.pause(0.1):
        piece = b"<!-- and more -->\n"


def http_status(status: int) -> Callable[[Call], None]:
    def answer(call: Call) -> None:
        call.send(Answer(status, {"Content-Type": "text/html"}, HOSTILE_HTML))

    return answer


# How services refuse a new job or a change (TAP 1.1 §4: 400 with an error VOTable; others 422
# with JSON, plain text, or an HTML page), each naming the column it does not know.
REFUSED_WORDS = "Unknown column nosuchcol"


def refusal(status: int, content_type: str, body: str) -> Callable[[Call], None]:
    def answer(call: Call) -> None:
        call.send(Answer(status, {"Content-Type": content_type}, body.encode()))

    return answer


def empty(call: Call) -> None:
    call.send(Answer(200, {"Content-Type": call.good().headers.get("Content-Type", "text/xml")}, b""))


def html(call: Call) -> None:
    call.send(Answer(200, {"Content-Type": "text/html; charset=utf-8"}, HOSTILE_HTML))


def truncated(call: Call) -> None:
    good = call.good()
    call.send(Answer(200, good.headers, good.body[: len(good.body) * 2 // 3]))


def wrong_root(call: Call) -> None:
    # A job list where a job is expected, and a job where a list is.
    other = "list" if call.kind == "job" else "job"
    good = Call(call.handler, call.service, other, call.base, "ok").good()
    call.send(Answer(200, good.headers, good.body))


def billion_laughs(call: Call) -> None:
    xml = {"Content-Type": "text/xml"}
    if call.kind == "list":
        body = list_document(
            [jobref("lol", None, extra="<uws:runId>&lol9;</uws:runId>")], billion_laughs_doctype("uws:jobs")
        )
    elif call.kind == "error":
        body = dali_error("&lol9;", billion_laughs_doctype("VOTABLE"))
    else:
        body = job_document("&lol9;", call.job_url(), run_id="&lol9;", doctype=billion_laughs_doctype("uws:job"))
    call.send(Answer(200, xml, body.encode()))


def xxe(call: Call) -> None:
    """External entities: a local file with a secret, and the canary by http (general, parameter, DTD)."""
    secret = f"file://{call.service.secret_path}"
    doctype = (
        f'\n<!DOCTYPE {{root}} SYSTEM "{call.canary}/xxe/dtd" [\n'
        f'  <!ENTITY secret SYSTEM "{secret}">\n'
        f'  <!ENTITY remote SYSTEM "{call.canary}/xxe/entity">\n'
        f'  <!ENTITY % parameter SYSTEM "{call.canary}/xxe/parameter-entity"> %parameter;\n]>'
    )
    if call.kind == "list":
        body = list_document(
            [jobref("xxe", None, extra="<uws:runId>&secret;</uws:runId><uws:ownerId>&remote;</uws:ownerId>")],
            doctype.format(root="uws:jobs"),
        )
    elif call.kind == "error":
        body = dali_error("&secret; &remote;", doctype.format(root="VOTABLE"))
    else:
        body = job_document(
            "xxe",
            call.job_url(),
            run_id="&secret;",
            owner="&remote;",
            query="SELECT &secret; FROM t",
            doctype=doctype.format(root="uws:job"),
        )
    call.send(Answer(200, {"Content-Type": "text/xml"}, body.encode()))


def huge(call: Call) -> None:
    """The document with 50 MB of blanks before its end tag, sent as it is made."""
    good = call.good()
    cut = good.body.rfind(b"</") if good.body.lstrip().startswith(b"<") else len(good.body)
    head, tail = good.body[:cut], good.body[cut:]
    megabyte = b" " * (1024 * 1024)

    def pieces() -> Iterator[bytes]:
        yield head
        for _ in range(HUGE_BYTES // len(megabyte)):
            yield megabyte
        yield tail

    call.send(Answer(200, good.headers), pieces(), len(head) + HUGE_BYTES + len(tail))


def many_jobs(call: Call) -> None:
    call.send(Answer(200, {"Content-Type": "text/xml"}, call.service.many_jobs_list))


def redirect(to: Callable[[Call], str]) -> Callable[[Call], None]:
    def answer(call: Call) -> None:
        call.send(Answer(303 if call.kind in ("action", "create") else 302, {"Location": to(call)}))

    return answer


def redirect_away(call: Call) -> str:
    # For a creation, a Location on another host (DaCHS names its own serverURL) whose last segment is a job id.
    return f"{call.canary}/tap/async/elsewhere" if call.kind == "create" else f"{call.canary}/redirected{call.path}"


def no_location(call: Call) -> None:
    call.send(Answer(303))


def location_junk(call: Call) -> None:
    """A Location with encoded CR/LF, a bare CR, vertical tab, form feed, NEL and LINE SEPARATOR."""
    target = f"{call.canary}/junk" if call.kind == "result" else f"{call.origin}{call.base}/async/ok"
    junk = (
        target.encode()
        + b"%0D%0ASet-Cookie:%20portal_browser=stolen%0D%0A"
        + b"\x0b\x0c\x85"
        + "\u2028".encode()
        + b"\rSet-Cookie: portal_browser=stolen2"
    )
    call.head(303 if call.kind in ("action", "create") else 302, [("Location", junk), ("Content-Length", "0")])


def wrong_type(call: Call) -> None:
    good = call.good()
    call.send(Answer(good.status, {**good.headers, "Content-Type": "image/png"}, good.body))


def bad_utf8(call: Call) -> None:
    bad = b"caf\xe9 \xff\xfe \xc0\xbcscript\xc0\xbe"  # Latin-1, impossible bytes, an overlong "<"
    if call.kind == "job":
        body = job_document("bad-utf8", call.job_url(), run_id="RUNID").encode().replace(b"RUNID", bad)
    elif call.kind == "list":
        body = list_document([jobref("bad-utf8", None, extra="<uws:runId>RUNID</uws:runId>")]).encode()
        body = body.replace(b"RUNID", bad)
    else:
        body = b"Query failed near " + bad + b"\n"
    call.send(Answer(200, {"Content-Type": "text/xml" if call.kind != "error" else "text/plain"}, body))


def odd_phase(call: Call) -> None:
    if call.kind == "list":
        body = list_document([jobref("odd-phase", None, phase="RUNNING")])
    else:
        body = job_document("odd-phase", call.job_url(), phase="RUNNING")
    call.send(Answer(200, {"Content-Type": "text/xml"}, body.encode()))


ODD_TIMES = [
    "2026-11-24T10:00:00",  # no zone
    "2026-11-24T10:00:00+0100",  # offset without colon
    "2026-11-24 10:00:00 +01:00",  # spaces
    "  2026-11-24T10:00:00Z \n",
    "2026-11-24T10:00:00.123456789Z",
    "2026-11-24T10:00:00 UTC",
    "2026-11-24T10:00:00-0530",
    "garbage",
    "",
    "-1",
    "0000-01-01T00:00:00Z",  # year 0
    "99999-01-01T00:00:00Z",  # year 99999
    "0001-01-01T00:00:00+01:00",  # before the calendar starts
    "9999-12-31T23:59:59-01:00",  # after it ends
    "2026-13-45T25:61:61Z",
    "2026-11-24T10:00:00+99:99",
    "2026-W48-2",
    "1e400",
    SCRIPT.format("time"),
]


def odd_dates(call: Call) -> None:
    if call.kind == "list":
        refs = (
            jobref(f"odd-dates-{n}", None, extra=f"<uws:creationTime>{escape(text)}</uws:creationTime>")
            for n, text in enumerate(ODD_TIMES)
        )
        body = list_document(refs)
    else:
        fields = ("creationTime", "startTime", "endTime", "quote", "destruction")
        times = dict(zip(fields, [*ODD_TIMES[:3], "garbage", "0000-01-01T00:00:00Z"], strict=True))
        body = job_document("odd-dates", call.job_url(), phase="EXECUTING", times=times)
    call.send(Answer(200, {"Content-Type": "text/xml"}, body.encode()))


def calendar_ends(call: Call) -> None:
    """Created in year 1, started and kept until the last second of 9999, with the longest xs:int duration."""
    last = "9999-12-31T23:59:59Z"
    times = {
        "creationTime": "0001-01-01T00:00:00Z",
        "startTime": last,
        "endTime": "",
        "quote": last,
        "destruction": last,
    }
    body = job_document("calendar-ends", call.job_url(), phase="EXECUTING", times=times, duration=str(2**31 - 1))
    call.send(Answer(200, {"Content-Type": "text/xml"}, body.encode()))


def duration_overflow(call: Call) -> None:
    body = job_document("duration-overflow", call.job_url(), phase="EXECUTING", duration="9" * 20)
    call.send(Answer(200, {"Content-Type": "text/xml"}, body.encode()))


def script(call: Call) -> None:
    """Markup and script in every text field a service fills in."""

    def s(where: str) -> str:
        return escape(SCRIPT.format(where))

    xml = {"Content-Type": "text/xml"}
    if call.kind == "job":
        results = (
            f'<uws:result id="js" xlink:href="javascript:alert(1)" mime-type={quoteattr(SCRIPT.format("type"))}/>'
            '<uws:result id="data" xlink:href="data:text/html,&lt;script&gt;alert(2)&lt;/script&gt;"/>'
            '<uws:result id="JS2" xlink:href=" JaVaScRiPt:alert(3)"/>'
            f"<uws:result id={quoteattr(SCRIPT.format('id'))} xlink:href={quoteattr(call.job_url() + '/results/x')}/>"
            f'<uws:result id="result" xlink:href={quoteattr(call.job_url() + "/results/result")} size="12"/>'
        )
        error = (
            f'<uws:errorSummary type="fatal" hasDetail="true"><uws:message>{s("error")}'
            '&lt;img src=x onerror="alert(4)"&gt;</uws:message></uws:errorSummary>'
        )
        body = job_document(
            s("jobId"),
            call.job_url(),
            phase="ERROR",
            run_id=s("runId"),
            owner=escape('"><svg onload=alert(5)>'),
            query=s("query"),
            parameters=f"\n    <uws:parameter id={quoteattr(SCRIPT.format('name'))}>{s('value')}</uws:parameter>",
            results=results,
            error=error,
        )
        call.send(Answer(200, xml, body.encode()))
    elif call.kind == "list":
        refs = [
            jobref(
                SCRIPT.format("jobref"),
                "javascript:alert(6)",
                phase=s("phase"),
                extra=f"<uws:runId>{s('runId')}</uws:runId>",
            ),
            jobref("script", f"{call.origin}/tap/async/script", extra=f"<uws:ownerId>{s('ownerId')}</uws:ownerId>"),
        ]
        call.send(Answer(200, xml, list_document(refs).encode()))
    elif call.kind == "error":
        call.send(Answer(200, {"Content-Type": "text/html"}, HOSTILE_HTML))
    elif call.kind == "action":
        call.send(Answer(403, {"Content-Type": "text/plain"}, SCRIPT.format("refusal").encode()))
    else:  # result: a VOTable with markup in its names, units and cells
        votable = f"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">
<INFO name="QUERY_STATUS" value="OK">{s("info")}</INFO>
<TABLE><FIELD name={quoteattr(SCRIPT.format("field"))} datatype="char" arraysize="*"
  unit={quoteattr('"><img src=x onerror=alert(7)>')} ucd={quoteattr(SCRIPT.format("ucd"))}/>
<DATA><TABLEDATA><TR><TD>{s("cell")}</TD></TR><TR><TD>javascript:alert(8)</TD></TR></TABLEDATA></DATA></TABLE>
</RESOURCE></VOTABLE>"""
        call.send(Answer(200, {"Content-Type": "application/x-votable+xml"}, votable.encode()))


def not_found(call: Call) -> None:
    call.send(Answer(404, {"Content-Type": "text/plain"}, f"UWS job {call.mode} not found\n".encode()))


def forbidden_action(call: Call) -> None:
    call.send(Answer(403, {"Content-Type": "text/plain"}, b"The job is COMPLETED: this change is not allowed.\n"))


def dali_action(call: Call) -> None:
    body = dali_error("Cannot change job forbidden-by-dali in phase COMPLETED")
    call.send(Answer(200, {"Content-Type": "application/x-votable+xml"}, body.encode()))


def gzip_bomb(call: Call) -> None:
    good = call.good()
    call.send(Answer(200, {**good.headers, "Content-Encoding": "gzip"}, call.service.gzip_bomb))


def gzip_result(call: Call) -> None:
    good = call.good()
    call.send(Answer(200, {**good.headers, "Content-Encoding": "gzip"}, gzip.compress(good.body)))


def many_headers(call: Call) -> None:
    good = call.good()
    junk = [(f"X-Junk-{n}", str(n)) for n in range(1000)]
    call.head(good.status, [*good.headers.items(), *junk, ("Content-Length", str(len(good.body)))])
    call.write(good.body)


def huge_header(call: Call) -> None:
    good = call.good()
    call.head(good.status, [("X-Huge", "x" * 100_000), *good.headers.items(), ("Content-Length", str(len(good.body)))])
    call.write(good.body)


def result_elsewhere(call: Call) -> None:
    elsewhere = f"{call.canary}/presigned/result.csv?signature=abc&amp;expires=1"
    if call.kind == "job":
        results = f'<uws:result id="result" xlink:href="{elsewhere}" mime-type="text/csv"/>'
        call.send(
            Answer(
                200,
                {"Content-Type": "text/xml"},
                job_document("result-elsewhere", call.job_url(), results=results).encode(),
            )
        )
    else:
        call.send(Answer(303, {"Location": elsewhere.replace("&amp;", "&")}))


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


MODES: dict[str, Mode] = {
    "ok": Mode("a well-behaved UWS 1.1 service", lambda call: call.send(call.good()), _kinds()),
    "reset": Mode("headers and half the body, then a TCP reset", reset),
    "silent": Mode("reads the request and never answers", silent),
    "stall": Mode("headers and half the body, then silence", stall),
    "trickle": Mode(f"the answer one byte every {TRICKLE_EVERY} s", trickle),
    "chunked-forever": Mode("a chunked body that never ends (a chunk every 0.1 s)", chunked_forever),
    "http-500": Mode("HTTP 500 with an HTML page holding script", http_status(500)),
    "http-502": Mode("HTTP 502 with an HTML page holding script", http_status(502)),
    "http-503": Mode("HTTP 503 with an HTML page holding script", http_status(503)),
    "refuse-votable": Mode(
        "a refusal: 400 with an error VOTable naming a spot",
        refusal(400, "application/x-votable+xml", dali_error(f"{REFUSED_WORDS} [l.1 c.8 - l.1 c.13]")),
        _kinds("action", "create"),
    ),
    "refuse-json": Mode(
        "a refusal: 422 with JSON",
        refusal(422, "application/json", json.dumps({"detail": f"{REFUSED_WORDS} <script>alert(1)</script>"})),
        _kinds("action", "create"),
    ),
    "refuse-text": Mode(
        "a refusal: 400 with plain text", refusal(400, "text/plain", REFUSED_WORDS), _kinds("action", "create")
    ),
    "refuse-html": Mode(
        "a refusal: 400 with an HTML page holding script",
        refusal(400, "text/html", f"<html><script>alert('x')</script><body><p>{REFUSED_WORDS}</p></body></html>"),
        _kinds("action", "create"),
    ),
    "empty": Mode("HTTP 200 with an empty body", empty),
    "html": Mode("HTTP 200 with an HTML page instead of XML", html),
    "truncated": Mode("the document cut off after two thirds", truncated, DOCUMENT_KINDS),
    "wrong-root": Mode("a job list where a job is expected, and a job for a list", wrong_root, _kinds("job", "list")),
    "billion-laughs": Mode("entities that expand to gigabytes", billion_laughs, DOCUMENT_KINDS),
    "xxe": Mode("external entities: a local secret file, and http to the canary", xxe, DOCUMENT_KINDS),
    "huge": Mode("a 50 MB document", huge, DOCUMENT_KINDS),
    "many-jobs": Mode("a job list of 100,000 jobs", many_jobs, _kinds("list")),
    "redirect-loop": Mode("redirects to itself", redirect(lambda call: f"{call.origin}{call.path}"), GET_KINDS),
    "redirect-away": Mode("redirects to another host (the canary)", redirect(redirect_away), GET_KINDS | {"create"}),
    "redirect-file": Mode("redirects to file:///etc/passwd", redirect(lambda call: "file:///etc/passwd"), GET_KINDS),
    "redirect-javascript": Mode(
        "redirects to javascript:", redirect(lambda call: "javascript:alert(document.cookie)"), GET_KINDS
    ),
    "no-location": Mode("a 303 without Location", no_location, _kinds("action", "create")),
    "location-junk": Mode(
        "a Location with CR/LF-like junk", location_junk, _kinds("action", "create", "result", "list")
    ),
    "wrong-type": Mode("the right answer served as image/png", wrong_type),
    "bad-utf8": Mode("invalid UTF-8 in the document", bad_utf8, DOCUMENT_KINDS),
    "odd-phase": Mode("the phase RUNNING, which is not a UWS phase", odd_phase, _kinds("job", "list")),
    "odd-dates": Mode(
        "times in every odd format (no zone, +0100, spaces, year 0, year 99999, garbage)",
        odd_dates,
        _kinds("job", "list"),
    ),
    "calendar-ends": Mode(
        "created in year 1, started and destroyed at 9999-12-31T23:59:59Z", calendar_ends, _kinds("job")
    ),
    "duration-overflow": Mode("an executionDuration of 20 digits (beyond xs:int)", duration_overflow, _kinds("job")),
    "script": Mode(
        "script and markup in every text field, javascript: and data: result hrefs",
        script,
        frozenset(JOB_KINDS) | {"list"},
    ),
    "listed-but-404": Mode("in the job list, but 404 on its own URL", not_found, frozenset(JOB_KINDS)),
    "forbidden-action": Mode("403 for every action", forbidden_action, _kinds("action")),
    "dali-action": Mode("HTTP 200 with a DALI error VOTable for every action", dali_action, _kinds("action")),
    "gzip-bomb": Mode(f"Content-Encoding gzip: {BOMB_BYTES >> 20} MB from a few hundred KB", gzip_bomb, GET_KINDS),
    "gzip-result": Mode(
        "a result sent gzip-compressed, Content-Length the compressed size", gzip_result, _kinds("result")
    ),
    "many-headers": Mode("1,000 headers", many_headers),
    "huge-header": Mode("a header of 100 KB", huge_header),
    "result-elsewhere": Mode("a result kept on another host (the canary)", result_elsewhere, _kinds("job", "result")),
}


# -- the servers ----------------------------------------------------------------------


class FaultUWS:
    """The fault service, its canary, and a port where nothing listens."""

    def __init__(self, port: int = 0, canary_port: int = 0, host: str = "127.0.0.1") -> None:
        self.stopping = threading.Event()
        self.canary_hits: list[str] = []
        self.secret = f"SECRET-{os.urandom(8).hex()}"
        with tempfile.NamedTemporaryFile("w", prefix="faultuws-secret-", suffix=".txt", delete=False) as secret_file:
            secret_file.write(self.secret + "\n")
        self.secret_path = secret_file.name
        # Made before serving: they take a moment, longer than a test's timeouts.
        self.many_jobs_list = _many_jobs_list()
        self.gzip_bomb = _gzip_bomb()
        self.canary = _server(host, canary_port, self._canary_handler(), on_connect=self.canary_hits.append)
        self.canary_url = f"http://{host}:{self.canary.server_address[1]}"
        self.server = _server(host, port, self._handler())
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.refused_url = f"http://{host}:{_closed_port(host)}/tap"
        self.threads = [
            threading.Thread(target=server.serve_forever, daemon=True) for server in (self.server, self.canary)
        ]
        for thread in self.threads:
            thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                self.close_connection = True
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                kind, base, mode = route(self.command, urlsplit(self.path).path)
                call = Call(self, service, kind or "none", base, mode)
                chosen = MODES.get(mode)
                if kind is None or chosen is None:
                    not_found(call)
                elif kind in chosen.kinds:
                    chosen.answer(call)
                else:
                    call.send(call.good())

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args) -> None:
                pass

        return Handler

    def _canary_handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Canary(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _handle(self) -> None:
                service.canary_hits.append(f"{self.command} {self.path} from {self.headers.get('User-Agent')}")
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"the canary saw you\n")

            do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = _handle

            def log_message(self, *args) -> None:
                pass

        return Canary

    def services_toml(self) -> str:
        """A services file for the portal: `faults` (jobs by mode), one service per list/create mode, `refused`."""
        entries = [("faults", "Faults: jobs chosen by id", f"{self.url}/tap")]
        entries += [
            (name, f"Faults: {name} job list", f"{self.url}/{name}/tap")
            for name, mode in MODES.items()
            if mode.kinds & {"list", "create"}
        ]
        entries.append(("refused", "Faults: connection refused", self.refused_url))
        return "".join(
            f'[services.{slug}]\ntitle = "{title}"\nurl = "{url}"\ndescription = "tests/faultuws.py"\n\n'
            for slug, title, url in entries
        )

    def close(self) -> None:
        self.stopping.set()
        for server in (self.server, self.canary):
            server.shutdown()
            server.server_close()
        os.unlink(self.secret_path)


def route(method: str, path: str) -> tuple[str | None, str, str]:
    """(kind, base, mode) of a request path; kind None for a path the service does not have."""
    segments = [unquote(segment) for segment in path.split("/")[1:]]
    if segments[:1] == ["tap"]:
        base, list_mode, rest = "/tap", "ok", segments[1:]
    elif segments[1:2] == ["tap"]:
        base, list_mode, rest = f"/{segments[0]}/tap", segments[0], segments[2:]
    else:
        return None, "/tap", ""
    if rest == ["async"]:
        return ("list" if method == "GET" else "create"), base, list_mode
    if len(rest) < 2 or rest[0] != "async":
        return None, base, ""
    job, sub = rest[1], rest[2:]
    if not sub:
        return ("job" if method == "GET" else "action"), base, job
    if sub[0] in ("phase", "executionduration", "destruction") and len(sub) == 1 and method == "POST":
        return "action", base, job
    if sub[0] == "results" and len(sub) == 2 and method == "GET":
        # A result's own id may name the mode too, so that a result misbehaves below a job that does not.
        return "result", base, sub[1] if sub[1] in MODES else job
    if sub == ["error"] and method == "GET":
        return "error", base, job
    return None, base, job


def _many_jobs_list() -> bytes:
    refs = (
        f'<jobref id="j{n:06d}"><phase>COMPLETED</phase>'
        f"<creationTime>2026-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z</creationTime></jobref>\n"
        for n in range(100_000)
    )
    return (
        '<?xml version="1.0"?>\n<jobs xmlns="http://www.ivoa.net/xml/UWS/v1.0" version="1.1">\n'
        + "".join(refs)
        + "</jobs>\n"
    ).encode()


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b" " * (1024 * 1024)
    parts = [packer.compress(b"<?xml version='1.0'?><uws:job xmlns:uws='http://www.ivoa.net/xml/UWS/v1.0'>")]
    parts += [packer.compress(block) for _ in range(BOMB_BYTES // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    on_connect: Callable[[str], None] | None = None

    def verify_request(self, request, client_address) -> bool:
        # The canary counts connections too: a client that connects and sends nothing was still there.
        if self.on_connect:
            self.on_connect(f"connection from {client_address[0]}:{client_address[1]}")
        return True


def _server(
    host: str, port: int, handler: type[BaseHTTPRequestHandler], on_connect: Callable[[str], None] | None = None
) -> ThreadingHTTPServer:
    server = _Server((host, port), handler)
    server.on_connect = on_connect
    return server


def _closed_port(host: str) -> int:
    """A port that was free a moment ago; nothing listens on it, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--canary-port", type=int, default=0)
    options = parser.parse_args(argv)
    service = FaultUWS(options.port, options.canary_port)
    print(f"Fault service on {service.url}, canary on {service.canary_url}\n")
    print(f"{'mode':<20} {'misbehaves on':<40} what it does")
    for name, mode in MODES.items():
        kinds = ", ".join(kind for kind in KINDS if kind in mode.kinds) or "nothing"
        print(f"{name:<20} {kinds:<40} {mode.about}")
    print(f"\nA job:       GET {service.url}/tap/async/<mode>  (and /phase, /results/result, /error)")
    print(f"A job list:  GET {service.url}/<mode>/tap/async  (POST there creates a job)")
    print(f"Refused:     {service.refused_url}")
    print("\nA services file for the portal (PORTAL_SERVICES=<file> make run):\n")
    print(service.services_toml())
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
        if service.canary_hits:
            print("The canary was reached:", *service.canary_hits, sep="\n  ")


if __name__ == "__main__":
    main()
