"""Parse UWS job, job-list and DALI error documents: bytes in, plain data out.

Real servers bend the standard in many ways (UWS-NOTES §4); this parser matches
elements by local name, trims every value, reads times in any common ISO 8601
variant and treats anything missing as unknown rather than failing.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import NamedTuple

import lxml.html
from lxml import etree

from .model import ErrorDocument, ErrorSummary, Job, JobList, JobRef, Parameter, Result
from .times import parse_time


class UWSParseError(ValueError):
    """The bytes are not a UWS document this parser can read."""


# Entities and network access off, no DTD: no UWS, VOSI or VOTable document needs them, and
# they are how hostile documents attack a parser (billion laughs, XXE). The result preview
# parses with the same settings.
XML_HARDENING = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
)
_STRICT = dict(XML_HARDENING, remove_comments=True, remove_pis=True)


def _parse_xml(data: bytes) -> etree._Element:
    if not data or not data.strip():
        raise UWSParseError("the document is empty")
    # A parser per call: lxml parsers must not be shared between threads, and a
    # parser's error_log then holds this document's errors only.
    parser = etree.XMLParser(**_STRICT)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        errors = list(parser.error_log)
        if errors and all(error.type_name == "ERR_INVALID_ENCODING" for error in errors):
            # Bytes that are not UTF-8 in a UTF-8 document (a server writing a Latin-1
            # owner name): one bad byte must not hide the whole job. They become U+FFFD.
            repaired = _as_utf8(data)
            if repaired is not None and repaired != data:
                return _parse_xml(repaired)
        # Some published documents use a prefix they never declare (the DALI 1.1
        # example's `xsi:nil`, a CADC-style `xlink:href`). Only for that error do
        # we parse again in recovery mode.
        if not errors or any(error.domain_name != "NAMESPACE" for error in errors):
            raise UWSParseError(f"the document is not well-formed XML ({_first_line(exc)})") from None
    root = etree.fromstring(data, etree.XMLParser(recover=True, **_STRICT))
    if root is None:
        raise UWSParseError("the document is not well-formed XML")
    return root


_DECLARED_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


def _as_utf8(data: bytes) -> bytes | None:
    """The document with its bytes that are not UTF-8 replaced, or None if it declares another encoding."""
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared[1].lower().replace(b"-", b"").replace(b"_", b"") != b"utf8":
        return None
    return data.decode("utf-8", errors="replace").encode("utf-8")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


@functools.lru_cache(maxsize=1024)  # a document repeats a few names: a job list of 10,000 asks 80,000 times
def _local(name: object) -> str:
    """The local part of an element or attribute name, whatever its namespace or prefix."""
    if not isinstance(name, str):
        return ""  # comments and processing instructions
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _attribute(element: etree._Element, name: str) -> str | None:
    for key, value in element.items():
        if _local(key) == name:
            return value.strip()
    return None


def _is_nil(element: etree._Element) -> bool:
    return (_attribute(element, "nil") or "").lower() == "true"


def _text(element: etree._Element | None) -> str | None:
    """Trimmed text (CDATA included), or None for a missing, nil or empty element."""
    if element is None or _is_nil(element):
        return None
    # A leaf's text is all its text: itertext() costs twenty times more, on every field of every job listed.
    text = (element.text or "" if len(element) == 0 else "".join(element.itertext())).strip()
    return text or None


def _owner(text: str | None) -> str | None:
    # Anonymous jobs: nil, empty, or the literal string NULL (DaCHS, CADC).
    return None if text is None or text.upper() == "NULL" else text


def _time(element: etree._Element, name: str) -> datetime | None:
    return _uws_time(_text(_child(element, name)))


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


# executionDuration is an xs:int of seconds, 0 meaning unlimited (UWS 1.1 schema): a value
# beyond it, or below 0, is no value, and a huge one would overflow the arithmetic of
# times (timedelta) that the portal does with it.
_XS_INT_MAX = 2**31 - 1


def _duration(text: str | None) -> int | None:
    seconds = _int(text)
    return seconds if seconds is not None and 0 <= seconds <= _XS_INT_MAX else None


def _version(root: etree._Element) -> str:
    # UWS 1.1 §2.2.1.1: no version attribute means 1.0.
    return _attribute(root, "version") or "1.0"


def _error_summary(element: etree._Element | None) -> ErrorSummary | None:
    """Read errorSummary; servers leave out its attributes, its message, or both."""
    if element is None or _is_nil(element):
        return None
    message = _text(_child(element, "message"))
    if message is None and _child(element, "message") is None:
        message = _text(element)  # bare text without <message>
    error_type = (_attribute(element, "type") or "").lower() or None
    has_detail = (_attribute(element, "hasDetail") or "").lower() == "true"
    if message is None and error_type is None and not has_detail:
        return None
    return ErrorSummary(message=message or "", type=error_type, has_detail=has_detail)


def _job(element: etree._Element, version: str) -> Job:
    job_id = _text(_child(element, "jobId"))
    if job_id is None:
        raise UWSParseError("the job document has no jobId")
    parameters_element = _child(element, "parameters")
    parameters = tuple(
        Parameter(
            id=_attribute(parameter, "id") or "",
            value=_text(parameter) or "",
            by_reference=(_attribute(parameter, "byReference") or "").lower() == "true",
        )
        for parameter in (_children(parameters_element, "parameter") if parameters_element is not None else [])
    )
    results_element = _child(element, "results")
    results = tuple(
        _result(result) for result in (_children(results_element, "result") if results_element is not None else [])
    )
    return Job(
        job_id=job_id,
        run_id=_text(_child(element, "runId")),
        owner_id=_owner(_text(_child(element, "ownerId"))),
        phase=(_text(_child(element, "phase")) or "UNKNOWN").upper(),
        quote=_time(element, "quote"),
        creation_time=_time(element, "creationTime"),
        start_time=_time(element, "startTime"),
        end_time=_time(element, "endTime"),
        execution_duration=_duration(_text(_child(element, "executionDuration"))),
        destruction=_time(element, "destruction"),
        parameters=parameters,
        results=results,
        error_summary=_error_summary(_child(element, "errorSummary")),
        version=version,
    )


def _result(element: etree._Element) -> Result:
    size = _int(_attribute(element, "size"))
    return Result(
        id=_attribute(element, "id") or "",
        href=_attribute(element, "href") or "",
        size=size if size is not None and size >= 0 else None,
        mime_type=_attribute(element, "mime-type") or None,
    )


def parse_job(data: bytes) -> Job:
    """Parse a `uws:job` document (UWS 1.0 or 1.1)."""
    root = _parse_xml(data)
    if _local(root.tag) != "job":
        raise UWSParseError(f"expected a UWS job document, got <{_local(root.tag) or '?'}>")
    return _job(root, _version(root))


class JobRow(NamedTuple):
    """What a job list's page needs of every entry, to merge, filter and sort them: a list
    may hold 100,000 jobs for a page of 50, and `ref()` makes the full JobRef of one."""

    id: str
    phase: str
    creation_time: datetime | None
    source: object  # the jobref element, which ref() reads further; or the JobRef of a whole job

    def ref(self) -> JobRef:
        return self.source if isinstance(self.source, JobRef) else _jobref(self)


def parse_job_rows(data: bytes) -> tuple[str, list[JobRow]]:
    """A `uws:jobs` list as its version and a row of each entry with an id (see JobRow)."""
    root = _parse_xml(data)
    if _local(root.tag) != "jobs":
        raise UWSParseError(f"expected a UWS job list, got <{_local(root.tag) or '?'}>")
    version = _version(root)
    rows: list[JobRow] = []
    for element in root:
        name = _local(element.tag)
        if name == "jobref":
            row = _jobref_row(element)
            if row is not None:
                rows.append(row)
        elif name == "job":  # ESAC's search answers hold whole jobs instead of jobrefs
            try:
                job = _job(element, version)
            except UWSParseError:
                continue
            ref = JobRef(
                id=job.job_id,
                phase=job.phase,
                run_id=job.run_id,
                owner_id=job.owner_id,
                creation_time=job.creation_time,
            )
            rows.append(JobRow(ref.id, ref.phase, ref.creation_time, ref))
    return version, rows


def parse_job_list(data: bytes) -> JobList:
    """Parse a `uws:jobs` list, every entry a JobRef."""
    version, rows = parse_job_rows(data)
    return JobList(jobs=tuple(row.ref() for row in rows), version=version)


def _first_attribute(element: etree._Element, wanted: str) -> str | None:
    """The first attribute of the wanted local name, trimmed, as _attribute reads it."""
    for key, value in element.items():
        if _local(key) == wanted:
            return value.strip()
    return None


def _leaf_text(child: etree._Element) -> str | None:
    if len(child) or child.items():
        return _text(child)  # text in parts, or perhaps nil
    return (child.text or "").strip() or None  # the common leaf without attributes: _text's rule without its calls


_UNREAD = object()


def _jobref_row(element: etree._Element) -> JobRow | None:
    """A jobref's id, phase and creation time (the first of each), or None without an id. Lists
    run to 100,000 jobs: only what every entry needs is read here, in a loop as lean as the rules
    allow (_leaf_text written out); ref() reads the rest for the jobs shown."""
    for key, value in element.items():  # the first id, as _attribute reads it
        if _local(key) == "id":
            job_id = value.strip()
            break
    else:
        return None
    if not job_id:
        return None
    phase = created = _UNREAD
    for child in element:
        name = _local(child.tag)
        if name == "phase":
            if phase is _UNREAD:
                phase = _text(child) if len(child) or child.items() else (child.text or "").strip()
        elif name == "creationTime" and created is _UNREAD:
            created = _text(child) if len(child) or child.items() else (child.text or "").strip() or None
    return JobRow(
        job_id,
        phase.upper() if phase is not _UNREAD and phase else "UNKNOWN",
        None if created is _UNREAD else _uws_time(created),
        element,
    )


def _jobref(row: JobRow) -> JobRef:
    """The full JobRef of a row read by _jobref_row: its href, run id and owner as well."""
    element = row.source
    texts: dict[str, str | None] = {}
    for child in element:
        name = _local(child.tag)
        if name in ("runId", "ownerId") and name not in texts:
            texts[name] = _leaf_text(child)
    return JobRef(
        id=row.id,
        phase=row.phase,
        href=_first_attribute(element, "href") or None,
        run_id=texts.get("runId"),
        owner_id=_owner(texts.get("ownerId")),
        creation_time=row.creation_time,
    )


# The form UWS 1.1 §2.2.1 asks for, which nearly every service sends: read by the C library
# (datetime.fromisoformat) in a tenth of what parse_time takes, for every job of a list.
_UWS_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


def _uws_time(text: str | None) -> datetime | None:
    """parse_time, sooner for the form UWS asks for."""
    if text is None or _UWS_TIME.fullmatch(text) is None:
        return parse_time(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a day or hour that does not exist
        return None


def dali_error_message(data: bytes) -> str | None:
    """The message of a DALI error VOTable (DALI 1.1 §4.4), or None if it is not one.

    The last `INFO name="QUERY_STATUS"` counts, wherever it sits; VizieR sends
    `INFO name="Error"` instead.
    """
    try:
        root = _parse_xml(data)
    except UWSParseError:
        return None
    if _local(root.tag) != "VOTABLE":
        return None
    status_infos = []
    error_infos = []
    for info in root.iter():
        if _local(info.tag) != "INFO":
            continue
        name = (_attribute(info, "name") or "").upper()
        if name == "QUERY_STATUS":
            status_infos.append(info)
        elif name == "ERROR":
            error_infos.append(info)
    if status_infos:
        last = status_infos[-1]
        if (_attribute(last, "value") or "").upper() != "ERROR":
            return None
        return _text(last) or "The service reported an error without a message."
    if error_infos:
        messages = [_text(info) or _attribute(info, "value") or "" for info in error_infos]
        return "\n".join(message for message in messages if message) or "The service reported an error."
    return None


def error_document(data: bytes, content_type: str) -> ErrorDocument:
    """A job's `/error` resource in any of the formats servers use."""
    text = data.decode("utf-8", errors="replace")
    message = dali_error_message(data) if b"VOTABLE" in data[:4096].upper() else None
    return ErrorDocument(content_type=content_type or "application/octet-stream", text=text, message=message)


def service_message(body: bytes, content_type: str) -> str | None:
    """The service's own words from an error answer, whatever its format: an error VOTable,
    plain text, JSON (its message field) or HTML (its text), at most 2,000 characters."""
    if not body.strip():
        return None
    message = dali_error_message(body)
    if message:
        return message
    text = body[:200_000].decode("utf-8", errors="replace")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json") or text.lstrip()[:1] in ("{", "["):
        found = _json_message(text)
        if found:
            return found[:2000]
    if "html" in media_type or text.lstrip()[:1] == "<" and "<html" in text[:1000].lower():
        return _html_text(text)
    if media_type.startswith("text/") or not media_type or _readable(body[:2000]):
        return text[:2000].strip() or None
    return None


def _readable(data: bytes) -> bool:
    """Text in whatever the type says (a refusal sent as application/octet-stream): UTF-8, no control bytes."""
    decoded = data.decode("utf-8", errors="replace")[:-1]  # the last character may be cut in two
    return all(character.isprintable() or character in "\n\r\t" for character in decoded) and "\ufffd" not in decoded


_JSON_KEYS = ("message", "detail", "msg", "error_description", "error", "title", "description")


def _json_message(text: str) -> str | None:
    """The message of a JSON error (`{"message": …}`, `{"detail": …}`, `{"error": {"message": …}}`, FastAPI's lists)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    for _ in range(4):  # a few levels down, no more
        if isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, dict):
            break
        inner = next((value[key] for key in _JSON_KEYS if value.get(key)), None)
        if inner is None:
            break
        if isinstance(inner, str):
            return inner.strip() or None
        value = inner
    return None


def _html_text(text: str) -> str | None:
    """The readable text of an HTML error page (scripts and styles left out), its spaces folded."""
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None
    for element in root.xpath("//script|//style|//head"):
        element.drop_tree()
    words = " ".join(" ".join(root.itertext()).split())
    return words[:2000] or None
