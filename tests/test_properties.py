"""Properties over any input: the parsers and validators raise nothing but their declared errors.

Hypothesis feeds arbitrary bytes and text, XML trees built from the UWS, VOSI and VOTable
vocabularies (then broken: cut, stray markup, a wrong encoding), and mutations of the shared
corpus. A parser gives a value or raises UWSParseError (PreviewError for a result preview); a
form validates or reports errors. What validates keeps the promises the rest of the portal
relies on: a job id stays inside its path segment, a destruction lies in the future, a duration
is whole seconds a server can store. A test marked xfail has found a bug and fails until it is fixed.
"""

from __future__ import annotations

import ast
import base64
import http.client
import math
import re
import shlex
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape, quoteattr

import pytest
from django.http import QueryDict
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs import commands
from jobs.adql_errors import error_position, error_spot
from jobs.forms import (
    FORMATS,
    MAX_EXECUTION_DURATION,
    AddJobForm,
    DestructionForm,
    ExecutionDurationForm,
    JobListFilterForm,
    JobOperationForm,
    NewJobForm,
    TokenForm,
)
from jobs.operations import CHANGES, START_PAGE
from jobs.remembered import service_and_job_of
from jobs.services import configured_services
from jobs.tables import Preview, PreviewError, preview, previewable
from jobs.uws.examples import ExamplesDocument, parse_examples
from jobs.uws.model import ID_RE, PHASES, ErrorDocument, Job, JobList
from jobs.uws.parse import UWSParseError, dali_error_message, error_document, parse_job, parse_job_list, parse_time
from jobs.uws.vosi import Availability, Capabilities, parse_availability, parse_capabilities

# Bounded for CI (the file runs in well under a minute on two cores), and the same examples on
# every run, so that a failure seen once is seen again. No example database: nothing is written.
PROFILE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"the shared corpus is not at {SHARED} (it lives in ../shared beside the repo)"
)

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
VOTABLE_NS = "http://www.ivoa.net/xml/VOTable/v1.3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XLINK_NS = "http://www.w3.org/1999/xlink"
VOTABLE = "application/x-votable+xml"


# -- Strategies: text ------------------------------------------------------------------------

# The characters that break things: line ends, NUL and other controls, Unicode line and
# paragraph separators, a BOM, a zero-width space, non-ASCII digits, and URL and shell delimiters.
TRICKY = "\r\n\t\x00\x01\x0b\x0c\x1b\x1f\x7f\x85\xa0\u2028\u2029\ufeff\u200b\uff10\u0663/%?#.:@+~-_ =&;'\"\\$`"
tricky_text = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(codec="ascii"), max_size=40)
# Long strings without drawing every character: a short piece repeated up to 20 000 times.
long_text = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=6), st.integers(100, 20_000))
texts = st.one_of(st.text(), tricky_text, long_text)
# Text XML can carry unchanged: no control characters, no non-characters.
xml_text = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), max_size=30)

# Numerals that a careless int() or float() trips on; at most 40 digits (longer ones have their own tests).
numerals = st.one_of(
    st.integers().map(str),
    st.integers(min_value=0).map(hex),
    st.floats().map(repr),
    st.from_regex(r"[+-]?(0x)?[0-9a-fA-F]{1,40}", fullmatch=True),
    st.from_regex(r"[+-]?\d{1,20}(\.\d{0,20})?([eE][+-]?\d{1,4})?", fullmatch=True),
    st.sampled_from(["", " ", "-0", "+1", "1_000", "10.0", "1e3", "nan", "-inf", "\uff11\uff12", "\u0663", "\u00b2"]),
)

moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


@st.composite
def iso_times(draw, moments: st.SearchStrategy[datetime] = moments) -> tuple[str, datetime]:
    """A moment and one way a server writes it: Z, +00:00, no zone, or the same instant at another offset."""
    moment = draw(moments)
    style = draw(st.sampled_from(["Z", "+00:00", "", "offset", "offset without colon"]))
    if not style.startswith("offset"):
        return moment.replace(tzinfo=None).isoformat() + style, moment
    local = moment.astimezone(timezone(timedelta(minutes=draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59)))))
    text = local.isoformat()
    return (text[:-3] + text[-2:] if style == "offset without colon" else text), moment


# ISO 8601 look-alikes: the right shape with numbers out of range, odd separators and zones.
time_like = st.builds(
    "{}-{:02d}-{:02d}{}{:02d}:{:02d}{}{}{}".format,
    st.sampled_from(["2030", "2026", "1999", "0001", "0999", "9999", "0000", "\uff12\uff10\uff13\uff10"]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", " ", "t", "TT", ""]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.sampled_from(["", ":00", ":59", ":60", ":00.5", ":00,123456789", ":0"]),
    st.sampled_from(["", " ", "\n"]),
    st.sampled_from(["", "Z", "z", "UTC", "GMT", "+00:00", "+0100", "-02:30", "+23:59", "-24:00", "+1", "EST"]),
)
times = st.one_of(iso_times().map(lambda written: written[0]), time_like, texts)
# Moments a destruction may be set to: from next year on.
future_times = iso_times(st.datetimes(datetime(datetime.now().year + 1, 1, 1), datetime(9999, 12, 30))).map(
    lambda written: written[0]
)

job_ids = st.one_of(
    st.from_regex(ID_RE, fullmatch=True),
    # A valid id with one bad character somewhere (or one too many characters).
    st.builds(
        lambda id_, bad, at: id_[:at] + bad + id_[at:],
        st.from_regex(ID_RE, fullmatch=True),
        st.sampled_from(TRICKY) | st.characters(),
        st.integers(0, 130),
    ),
    texts,
)


def _is_utc(moment: datetime | None) -> bool:
    return moment is None or moment.tzinfo is UTC


def _stays_in_its_segment(value: str) -> bool:
    """What a job id must be to sit in a URL path segment, and in a shell word, unchanged."""
    return bool(ID_RE.fullmatch(value)) and not any(
        character in "/%?#" or character.isspace() or unicodedata.category(character).startswith("C")
        for character in value
    )


# -- Strategies: XML -------------------------------------------------------------------------

# The names the parsers look for (UWS 1.1, VOTable 1.4, VOSI 1.1 with TAPRegExt), by root.
UWS_NAMES = ["jobId", "runId", "ownerId", "phase", "quote", "creationTime", "startTime", "endTime", "destruction"]
UWS_NAMES += ["executionDuration", "parameters", "parameter", "results", "result", "errorSummary", "message"]
UWS_NAMES += ["jobInfo", "jobref", "job"]
VOTABLE_NAMES = ["RESOURCE", "INFO", "TABLE", "FIELD", "PARAM", "DESCRIPTION", "VALUES", "DATA", "TABLEDATA", "TR"]
VOTABLE_NAMES += ["TD", "BINARY", "BINARY2", "STREAM", "VOTABLE"]
VOSI_NAMES = ["available", "upSince", "downAt", "backAt", "note", "capability", "interface", "accessURL"]
VOSI_NAMES += ["outputFormat", "mime", "alias", "description", "executionDuration", "retentionPeriod", "outputLimit"]
VOSI_NAMES += ["uploadLimit", "default", "hard", "language", "name", "version"]
ODD_NAMES = ["x", "jobID", "JOBID", "Job", "a.b", "_"]
VOCABULARY = {
    "job": UWS_NAMES,
    "jobs": UWS_NAMES,
    "VOTABLE": VOTABLE_NAMES,
    "availability": VOSI_NAMES,
    "capabilities": VOSI_NAMES,
}
# The child without which a root says nothing, given half the time.
FIRST_CHILD = {
    "job": ("jobId", [""]),
    "jobs": ("jobref", ["", ' id="j1"', ' id=" "']),
    "VOTABLE": ("INFO", ["", ' name="QUERY_STATUS" value="ERROR"', ' name="QUERY_STATUS" value="OK"', ' name="Error"']),
    "availability": ("available", [""]),
    "capabilities": ("capability", ["", ' standardID="ivo://ivoa.net/std/TAP"', ' xsi:type="tr:TableAccess"']),
}

ATTRIBUTE_NAMES = ["id", "href", "xlink:href", "xsi:nil", "xsi:type", "version", "name", "value", "type", "hasDetail"]
ATTRIBUTE_NAMES += ["byReference", "size", "mime-type", "standardID", "unit", "encoding", "datatype", "arraysize"]
ATTRIBUTE_NAMES += ["null", "ID"]
ATTRIBUTE_VALUES = st.one_of(st.sampled_from(["true", "1", "nil", "row", "byte", "2x3"]), numerals, xml_text)
# The values that make a parser look further, by attribute name.
MEANINGFUL_VALUES = {
    "name": ["QUERY_STATUS", "Error", "query_status"],
    "value": ["ERROR", "OK", "OVERFLOW", "error"],
    "standardID": ["ivo://ivoa.net/std/TAP", "IVO://IVOA.NET/STD/TAP", "ivo://ivoa.net/std/TAP#aux"],
    "xsi:type": ["tr:TableAccess", "vs:ParamHTTP"],
    "xsi:nil": ["true", "TRUE", "false"],
    "hasDetail": ["true", "false"],
    "type": ["fatal", "transient"],
    "version": ["1.0", "1.1"],
}
# Prefixes, declared or not (an undeclared one sends the parser into recovery).
PREFIXES = [None, None, None, "uws", "u", "vot", "vosi", "xsi", "xlink"]
NAMESPACES = [UWS_NS, VOTABLE_NS, XSI_NS, XLINK_NS, "", "urn:x"]
TEXT_VALUES = st.one_of(
    st.sampled_from(PHASES),
    st.sampled_from(["NULL", "true", "0", "-1", "ADQL", "2.0", "text/xml", "votable"]),
    iso_times().map(lambda written: written[0]),
    time_like,
    numerals,
    xml_text,
)
text_nodes = st.one_of(
    TEXT_VALUES.map(escape),
    xml_text.map(lambda text: f"<![CDATA[{text.replace(']]>', '')}]]>"),
    st.sampled_from(["&amp;", "&lt;", "&#x41;", "&#10;", " ", "\n  "]),
    xml_text.map(lambda text: f"<!--{text.replace('-', '')}-->"),
    xml_text.map(lambda text: f"<?pi {text.replace('?>', '')}?>"),
)
# What breaks a document: undefined entities, characters XML forbids, stray or unclosed markup.
BREAKAGES = ["&nbsp;", "&e;", "&#0;", "&#1114112;", "]]>", "<", "&", "\x00", "\x01", "\ufffe", "<!-- -- -->", "</x>"]
BREAKAGES += ["<a>", '"', "<![CDATA[", "<?xml ?>", "\udc80"]
breakage_bytes = st.sampled_from(BREAKAGES).map(lambda text: text.encode("utf-8", "surrogatepass"))


def cut_points(length: int) -> st.SearchStrategy[int]:
    """Where to cut `length` bytes: anywhere, in thousandths (Hypothesis favours the ends of a range)."""
    return st.integers(0, 1000).map(lambda thousandths: length * thousandths // 1000)


@st.composite
def attributes(draw) -> str:
    """Up to four attributes or namespace declarations, each name once (a repeated one is a plain syntax error)."""
    pairs: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["attribute", "attribute", "attribute", "xmlns", "xmlns:prefix"]))
        if kind == "attribute":
            name = draw(st.sampled_from(ATTRIBUTE_NAMES))
            pairs[name] = draw(st.sampled_from(MEANINGFUL_VALUES.get(name, ["id"])) | ATTRIBUTE_VALUES)
        else:
            name = "xmlns" if kind == "xmlns" else f"xmlns:{draw(st.sampled_from(PREFIXES[3:]))}"
            pairs[name] = draw(st.sampled_from(NAMESPACES))
    return "".join(f" {name}={quoteattr(value)}" for name, value in pairs.items())


@st.composite
def elements(
    draw, names: list[str], depth: int = 0, name: str | None = None, given: str = "", first: tuple | None = None
) -> str:
    """An element named from `names` (or `name`), with attributes (`given` ones first) and up to four children
    of any kind; the `first` child (name, attribute choices), which a root needs to say anything, half the time."""
    name = name or draw(st.sampled_from(names + ODD_NAMES))
    prefix = draw(st.sampled_from(PREFIXES))
    tag = f"{prefix}:{name}" if prefix else name
    content = ""
    if first and draw(st.booleans()):
        content = draw(elements(names, depth + 1, name=first[0], given=draw(st.sampled_from(first[1]))))
    children = st.one_of(elements(names, depth + 1), text_nodes) if depth < 3 else text_nodes
    content += "".join(draw(st.lists(children, max_size=4)))
    if not content and draw(st.booleans()):
        return f"<{tag}{given}{draw(attributes())}/>"
    return f"<{tag}{given}{draw(attributes())}>{content}</{tag}>"


@st.composite
def xml_documents(draw) -> bytes:
    """A document under a UWS, VOSI or VOTable root; some of them cut, broken or wrongly encoded."""
    root = draw(st.sampled_from(list(VOCABULARY)))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1", "ascii"]))
    prolog = draw(
        st.sampled_from(
            [
                "",
                f'<?xml version="1.0" encoding="{encoding}"?>\n',
                '<?xml version="1.1"?>',
                "\ufeff",
                "<!-- before -->\n",
                f'<!DOCTYPE {root} [<!ENTITY e "x">]>',
                '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
                f'<!DOCTYPE {root} SYSTEM "http://127.0.0.1:9/x.dtd">',
                f'<!DOCTYPE {root} [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
            ]
        )
    )
    text = prolog + draw(elements(VOCABULARY[root], name=root, first=FIRST_CHILD[root]))
    damage = draw(st.sampled_from(["none", "none", "none", "none", "cut", "break", "encoding"]))
    if damage == "break":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(BREAKAGES)) + text[at:]
    elif damage == "encoding":
        encoding = draw(st.sampled_from(["utf-16-le", "latin-1", "utf-8"]))
    data = text.encode(encoding, errors="xmlcharrefreplace" if encoding != "utf-8" else "surrogatepass")
    return data[: draw(cut_points(len(data)))] if damage == "cut" else data


# -- Parsers: what their values promise ------------------------------------------------------


def _check_job(job: Job) -> None:
    assert job.job_id and job.job_id == job.job_id.strip()
    assert job.phase and job.phase == job.phase.upper()
    assert all(_is_utc(moment) for moment in (job.quote, job.creation_time, job.start_time, job.end_time))
    assert _is_utc(job.destruction)
    # An xs:int of seconds (UWS 1.1 schema), or unknown: the portal adds it to datetimes.
    assert job.execution_duration is None or 0 <= job.execution_duration <= 2**31 - 1
    assert all(result.size is None or result.size >= 0 for result in job.results)


def _check_job_list(listing: JobList) -> None:
    for ref in listing.jobs:
        assert ref.id and ref.id == ref.id.strip()
        assert ref.phase and ref.phase == ref.phase.upper()
        assert _is_utc(ref.creation_time)


def _check_availability(availability: Availability) -> None:
    assert availability.available in (True, False, None)
    assert all(_is_utc(moment) for moment in (availability.up_since, availability.down_at, availability.back_at))
    assert all(note and note == note.strip() for note in availability.notes)


def _check_capabilities(capabilities: Capabilities) -> None:
    limits = [capabilities.execution_duration, capabilities.retention_period]
    limits += [capabilities.output_limit, capabilities.upload_limit]
    assert all(bound is None or bound >= 0 for limit in limits for bound in (limit.default, limit.hard))
    assert all(output.mime for output in capabilities.output_formats)
    values = [value for value, _ in capabilities.format_choices()]
    assert len(values) == len(set(values))


def _check_examples(document: ExamplesDocument) -> None:
    assert all(example.key and example.name and example.query for example in document.examples)
    assert all(example.query == example.query.strip() for example in document.examples)
    assert all(href and href == href.strip() for href in document.continuations)


PARSERS = [
    (parse_job, Job, _check_job),
    (parse_job_list, JobList, _check_job_list),
    (parse_availability, Availability, _check_availability),
    (parse_capabilities, Capabilities, _check_capabilities),
    (parse_examples, ExamplesDocument, _check_examples),
]


def _parse_everything(data: bytes) -> None:
    """Every parser on the same bytes: a value that keeps its promises, or UWSParseError."""
    for parse, kind, check in PARSERS:
        try:
            value = parse(data)
        except UWSParseError:
            continue
        assert isinstance(value, kind)
        check(value)
    message = dali_error_message(data)
    assert message is None or (isinstance(message, str) and message)
    document = error_document(data, "")
    assert isinstance(document, ErrorDocument)
    assert document.content_type == "application/octet-stream"
    assert document.text == data.decode("utf-8", errors="replace")


# -- Parsers: arbitrary, generated and mutated documents ---------------------------------------


@PROFILE
@given(st.one_of(st.binary(max_size=2000), st.text(alphabet="<>/=\"' ?!-[]&;:#xmlnsuwjobIdVOTABLE").map(str.encode)))
def test_the_parsers_raise_only_uws_parse_error_on_arbitrary_bytes(data):
    _parse_everything(data)


@PROFILE
@given(xml_documents())
def test_the_parsers_raise_only_uws_parse_error_on_generated_xml(data):
    _parse_everything(data)


def _shared_documents() -> list[bytes]:
    """The corpus documents, and the bodies of the DaCHS samples (what follows the blank line of `curl -i`)."""
    if not SHARED.is_dir():
        return []
    documents = [path.read_bytes() for path in sorted((SHARED / "uws-corpus").glob("*/*")) if path.is_file()]
    for path in sorted((SHARED / "dachs-samples").glob("*.http")):
        documents.append(path.read_bytes().replace(b"\r\n", b"\n").partition(b"\n\n")[2])
    return [document for document in documents if document]


SHARED_DOCUMENTS = _shared_documents()


@st.composite
def mutated_documents(draw) -> bytes:
    """A real document cut, with bytes dropped, inserted, replaced or repeated, one to three times."""
    data = draw(st.sampled_from(SHARED_DOCUMENTS))
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 64)))
        kind = draw(st.sampled_from(["cut", "drop", "insert", "replace", "repeat", "flip"]))
        if kind == "cut":
            data = data[:start]
        elif kind == "drop":
            data = data[:start] + data[end:]
        elif kind == "insert":
            data = data[:start] + draw(st.binary(max_size=16) | breakage_bytes) + data[start:]
        elif kind == "replace":
            data = data[:start] + draw(st.binary(max_size=16)) + data[end:]
        elif kind == "repeat":
            data = data[:end] + data[start:end] + data[end:]
        elif start < len(data):
            data = data[:start] + bytes([data[start] ^ (1 << draw(st.integers(0, 7)))]) + data[start + 1 :]
    return data


@needs_shared
@PROFILE
@given(mutated_documents(), st.sampled_from([1, 7, 4096]), st.integers(1, 5), st.sampled_from([100, 16 << 20]))
def test_mutated_corpus_documents_give_a_value_or_the_declared_error(data, chunk, max_rows, max_bytes):
    _parse_everything(data)
    for content_type in (VOTABLE, "text/csv;header=present", "text/tab-separated-values"):
        _preview(data, content_type, chunk, max_rows, max_bytes)


@PROFILE
@given(times)
def test_parse_time_gives_none_or_an_aware_utc_datetime(text):
    moment = parse_time(text)
    assert moment is None or (moment.tzinfo is UTC and moment.utcoffset() == timedelta(0))


@PROFILE
@given(iso_times())
def test_parse_time_reads_a_moment_back_in_every_notation(written):
    text, moment = written
    assert parse_time(text) == moment
    assert parse_time(text).tzinfo is UTC


@st.composite
def job_documents(draw) -> tuple[bytes, dict]:
    """A job document from random valid values, and the values the parser must read from it."""
    style = draw(st.sampled_from(["uws", "default", "none", "undeclared"]))
    prefix = "uws:" if style in ("uws", "undeclared") else ""
    namespaces = {"uws": f' xmlns:uws="{UWS_NS}" xmlns:xsi="{XSI_NS}"', "default": f' xmlns="{UWS_NS}"'}
    values = {
        "jobId": draw(st.from_regex(ID_RE, fullmatch=True) | xml_text.filter(str.strip)),
        "phase": draw(st.sampled_from(PHASES)),
        "runId": draw(st.none() | xml_text),
        "executionDuration": draw(st.integers(0, MAX_EXECUTION_DURATION)),
        **{name: draw(st.none() | iso_times()) for name in ("creationTime", "startTime", "endTime", "destruction")},
        "parameters": draw(st.lists(st.tuples(st.from_regex(r"[A-Za-z]\w{0,10}", fullmatch=True), xml_text))),
    }

    def element(name: str, text: str) -> str:
        return f"<{prefix}{name}>{escape(text)}</{prefix}{name}>"

    body = element("jobId", f" {values['jobId']}\n")
    body += element("phase", draw(st.sampled_from([str.lower, str.title, str.upper]))(values["phase"]))
    body += element("runId", values["runId"]) if values["runId"] is not None else ""
    body += element("executionDuration", str(values["executionDuration"]))
    for name in ("creationTime", "startTime", "endTime", "destruction"):
        body += element(name, values[name][0]) if values[name] else f'<{prefix}{name} xsi:nil="true"/>'
    parameters = "".join(
        f"<{prefix}parameter id={quoteattr(id_)}>{escape(value)}</{prefix}parameter>"
        for id_, value in values["parameters"]
    )
    body += f"<{prefix}parameters>{parameters}</{prefix}parameters>"
    job = f'<{prefix}job{namespaces.get(style, "")} version="1.1">{body}</{prefix}job>'
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{job}'.encode(), values


@PROFILE
@given(job_documents())
def test_a_job_document_of_valid_values_parses_back_to_those_values(document):
    data, values = document
    job = parse_job(data)
    _check_job(job)
    assert job.job_id == values["jobId"].strip()
    assert job.phase == values["phase"]
    assert job.run_id == ((values["runId"] or "").strip() or None)
    assert job.execution_duration == values["executionDuration"]
    read = (job.creation_time, job.start_time, job.end_time, job.destruction)
    written = [values[name] for name in ("creationTime", "startTime", "endTime", "destruction")]
    assert list(read) == [moment[1] if moment else None for moment in written]
    assert [(parameter.id, parameter.value) for parameter in job.parameters] == [
        (id_, value.strip()) for id_, value in values["parameters"]
    ]


@PROFILE
@given(job_documents(), st.data())
def test_a_job_document_cut_at_any_byte_gives_a_job_or_uws_parse_error(document, data):
    whole, _ = document
    _parse_everything(whole[: data.draw(cut_points(len(whole)))])


# -- Result previews ---------------------------------------------------------------------------


def _check_preview(result: Preview, content_type: str, max_rows: int) -> None:
    assert isinstance(result, Preview)
    assert result.format == previewable(content_type)
    assert len(result.rows) <= max_rows
    for row in result.rows:
        assert len(row) == len(result.columns)
        assert all(cell is None or isinstance(cell, str) for cell in row)


def _preview(data: bytes, content_type: str, chunk: int, max_rows: int, max_bytes: int) -> Preview | None:
    """The preview of the bytes in chunks of `chunk`: one that keeps its promises, or None for PreviewError."""
    chunks = (data[start : start + chunk] for start in range(0, len(data), chunk))
    try:
        result = preview(chunks, content_type, max_rows=max_rows, max_bytes=max_bytes)
    except PreviewError:
        return None
    _check_preview(result, content_type, max_rows)
    return result


CONTENT_TYPES = [VOTABLE, "application/votable+xml; charset=utf-8", "text/xml", "application/xml", "text/csv"]
CONTENT_TYPES += ["text/csv;header=present", 'text/csv; header="absent"', "text/tab-separated-values"]
CONTENT_TYPES += ["TEXT/TAB-SEPARATED-VALUES; header=absent", "application/fits", ""]
content_types = st.sampled_from(CONTENT_TYPES) | texts
chunk_sizes = st.sampled_from([1, 3, 7, 64, 4096, 1 << 20])
row_limits = st.integers(1, 5)
byte_limits = st.one_of(st.just(16 << 20), st.integers(0, 400))

# Bytes per item in BINARY (VOTable 1.4, Definitions of Primitive Datatypes), to write whole rows.
ITEM_BYTES = {"boolean": 1, "unsignedByte": 1, "short": 2, "int": 4, "long": 8, "char": 1, "unicodeChar": 2}
ITEM_BYTES |= {"float": 4, "double": 8, "floatComplex": 8, "doubleComplex": 16, "bit": 1 / 8}
# arraysize: (items in a fixed cell or in each step of a variable one, variable)
ARRAYSIZES = {None: (1, False), "1": (1, False), "3": (3, False), "2x3": (6, False), "1x1x1": (1, False)}
ARRAYSIZES |= {"*": (1, True), "2x*": (2, True), "3x2x*": (6, True), "10*": (1, True)}
# One flaw at a time, so that each is reached: a document with all of them fails on the first.
FLAWS = [None, None, None, None, "cut", "doctype", "root", "no fields", "arraysize", "datatype", "href"]
FLAWS += ["encoding", "noise", "ragged", "FITS"]
cell_texts = st.one_of(
    numerals,
    st.sampled_from(["T", "F", "?", "true", "0 1 1", "1 2", "1 2 3", "nan", "+inf", "0x1F", "0X", "", " "]),
    xml_text,
)


def _field(name: str, datatype: str, arraysize: str | None, description: str | None, null: str | None) -> str:
    attributes = f" name={quoteattr(name)} datatype={quoteattr(datatype)}"
    attributes += f" arraysize={quoteattr(arraysize)}" if arraysize else ""
    inner = f"<DESCRIPTION>{escape(description)}</DESCRIPTION>" if description is not None else ""
    inner += f"<VALUES null={quoteattr(null)}/>" if null is not None else ""
    return f"<FIELD{attributes}>{inner}</FIELD>"


@st.composite
def binary_rows(draw, columns: list[tuple[str, str | None]], serialization: str) -> bytes:
    """Whole BINARY or BINARY2 rows of random bytes for these (datatype, arraysize) columns."""
    data = b""
    for _ in range(draw(st.integers(0, 6))):
        if serialization == "BINARY2":  # the NULL flags
            data += draw(st.binary(min_size=(len(columns) + 7) // 8, max_size=(len(columns) + 7) // 8))
        for datatype, arraysize in columns:
            items, variable = ARRAYSIZES[arraysize]
            steps = draw(st.integers(0, 3)) if variable else 1
            size = math.ceil(items * steps * ITEM_BYTES[datatype])
            data += steps.to_bytes(4, "big") if variable else b""
            data += draw(st.binary(min_size=size, max_size=size))
    return data


@st.composite
def votables(draw) -> bytes:
    """A VOTable result with TABLEDATA, BINARY or BINARY2 data, whole or with one flaw."""
    flaw = draw(st.sampled_from(FLAWS))
    columns = draw(
        st.lists(
            st.tuples(st.sampled_from(list(ITEM_BYTES)), st.sampled_from(list(ARRAYSIZES))), min_size=1, max_size=4
        )
    )
    fields = [
        _field(draw(xml_text), datatype, arraysize, draw(st.none() | xml_text), draw(st.none() | numerals))
        for datatype, arraysize in columns
    ]
    if flaw in ("arraysize", "datatype"):
        bad = ("int", draw(st.sampled_from(["0", "x", "-1", "2x0", "*x2", "4000000000"])))
        fields.append(_field("bad", *(bad if flaw == "arraysize" else ("Int", None)), None, None))
    serialization = flaw if flaw == "FITS" else draw(st.sampled_from(["TABLEDATA", "BINARY", "BINARY2"]))
    if serialization == "TABLEDATA":
        rows = draw(
            st.lists(st.lists(cell_texts, min_size=len(columns), max_size=len(columns)), min_size=1, max_size=6)
        )
        if flaw == "ragged":
            rows.append(draw(st.lists(cell_texts, max_size=6)))
        cells = ("".join(f"<TD>{escape(cell)}</TD>" for cell in row) for row in rows)
        data = "<TABLEDATA>" + "".join(f"<TR>{row}</TR>" for row in cells) + "</TABLEDATA>"
    else:
        raw = draw(binary_rows(columns, serialization))
        if flaw == "ragged":
            raw += draw(st.binary(min_size=1, max_size=7))
        stream = draw(st.sampled_from([base64.b64encode, base64.encodebytes]))(raw).decode()
        if flaw == "noise":  # ASCII noise: non-ASCII text has its own test below
            at = draw(st.integers(0, len(stream)))
            stream = stream[:at] + draw(st.text(alphabet="!*=-_.~", min_size=1, max_size=3)) + stream[at:]
        encoding = draw(st.sampled_from(["gzip", "", "dynamic"])) if flaw == "encoding" else "base64"
        href = ' href="http://127.0.0.1:9/x"' if flaw == "href" else ""
        data = f'<{serialization}><STREAM encoding="{encoding}"{href}>{stream}</STREAM></{serialization}>'
    table = "<TABLE>" + ("" if flaw == "no fields" else "".join(fields)) + f"<DATA>{data}</DATA></TABLE>"
    status = draw(st.sampled_from(["", '<INFO name="QUERY_STATUS" value="OVERFLOW">cut at MAXREC</INFO>']))
    root = "RESOURCE" if flaw == "root" else draw(st.sampled_from(["VOTABLE", "vot:VOTABLE"]))
    doctype = '<!DOCTYPE VOTABLE [<!ENTITY e "x">]>' if flaw == "doctype" else ""
    text = f'<?xml version="1.0"?>{doctype}<{root} xmlns="{VOTABLE_NS}" xmlns:vot="{VOTABLE_NS}" version="1.4">'
    text += f'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/>{table}{status}</RESOURCE></{root}>'
    document = text.encode()
    return document[: draw(cut_points(len(document)))] if flaw == "cut" else document


@PROFILE
@given(st.binary(max_size=3000), content_types, chunk_sizes, row_limits, byte_limits)
def test_a_preview_of_arbitrary_bytes_is_a_preview_or_preview_error(data, content_type, chunk, max_rows, max_bytes):
    _preview(data, content_type, chunk, max_rows, max_bytes)


@PROFILE
@given(votables(), chunk_sizes, row_limits, byte_limits)
def test_a_preview_of_a_generated_votable_is_a_preview_or_preview_error(data, chunk, max_rows, max_bytes):
    whole = _preview(data, VOTABLE, 1 << 20, max_rows, 16 << 20)
    piecewise = _preview(data, VOTABLE, chunk, max_rows, 16 << 20)
    # The chunks a body arrives in change nothing, unless the break lies beyond the rows shown: read
    # at once it is seen, read piecewise the preview ends before it.
    assert whole is None or piecewise is None or piecewise == whole
    _preview(data, VOTABLE, chunk, max_rows, max_bytes)


delimited_rows = st.lists(st.lists(st.text(st.sampled_from(',\t"\r\n #') | st.characters(), max_size=8), max_size=5))


@PROFILE
@given(delimited_rows, st.sampled_from([",", "\t"]), st.sampled_from(["\n", "\r\n", "\r"]), content_types, chunk_sizes)
def test_a_preview_of_generated_csv_or_tsv_is_a_preview_or_preview_error(rows, delimiter, newline, content_type, chunk):
    data = newline.join(delimiter.join(row) for row in rows).encode("utf-8", errors="surrogatepass")
    for kind in (content_type, "text/csv;header=present", "text/csv", "text/tab-separated-values"):
        _preview(data, kind, chunk, 3, 16 << 20)


@PROFILE
@given(content_types)
def test_previewable_names_a_kind_or_none_and_preview_refuses_the_rest(content_type):
    kind = previewable(content_type)
    assert kind in (None, "votable", "csv", "tsv")
    if kind is None:
        with pytest.raises(PreviewError):
            preview([b"a,b\n1,2\n"], content_type)


@PROFILE
@given(st.sampled_from(["short", "int", "long", "unsignedByte"]), st.integers(3600, 5000))
def test_a_preview_of_an_integer_cell_too_long_to_show_is_a_preview_or_preview_error(datatype, digits):
    document = (
        f'<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="{datatype}"/><DATA><TABLEDATA>'
        f"<TR><TD>0x{'f' * digits}</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    )
    _preview(document.encode(), VOTABLE, 1 << 20, 5, 16 << 20)


@PROFILE
@given(st.sampled_from(["BINARY", "BINARY2"]), xml_text.filter(lambda text: not text.isascii()))
def test_a_preview_of_a_stream_with_non_ascii_text_is_a_preview_or_preview_error(serialization, noise):
    document = (
        f'<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="int"/><DATA><{serialization}>'
        f'<STREAM encoding="base64">AAAA{escape(noise)}</STREAM></{serialization}></DATA></TABLE></RESOURCE></VOTABLE>'
    )
    _preview(document.encode(), VOTABLE, 1 << 20, 5, 16 << 20)


# -- Validators --------------------------------------------------------------------------------


@PROFILE
@given(st.one_of(numerals, texts, st.integers(-5, 2**32).map(str)))
def test_a_validated_duration_is_whole_seconds_a_server_can_store(text):
    form = ExecutionDurationForm({"executionduration": text})
    if not form.is_valid():
        assert "executionduration" in form.errors
        return
    duration = form.cleaned_data["executionduration"]
    assert type(duration) is int
    assert 0 <= duration <= MAX_EXECUTION_DURATION


@PROFILE
@given(times)
def test_a_validated_destruction_is_a_future_utc_moment(text):
    before = datetime.now(UTC)
    form = DestructionForm({"destruction": text})
    if not form.is_valid():
        assert "destruction" in form.errors
        return
    moment = form.cleaned_data["destruction"]
    assert moment.tzinfo is UTC
    assert moment > before


@PROFILE
@given(
    st.sampled_from(["dachs", "dead", "fake", "", "DACHS"]),
    st.sampled_from([operation.id for operation in START_PAGE] + ["", "RUN"]),
    job_ids,
    st.one_of(st.just(""), st.integers(-5, 2**32).map(str), numerals, texts),
    st.one_of(st.just(""), future_times, times),
)
def test_what_validates_in_a_job_operation_is_a_service_a_safe_job_id_and_a_usable_value(
    service, op, job_id, duration, destruction
):
    """Each field that validates keeps its promise, whether or not the others do."""
    before = datetime.now(UTC)
    data = {"service": service, "op": op, "job_id": job_id, "executionduration": duration, "destruction": destruction}
    form = JobOperationForm(data, services=configured_services().values())
    valid = form.is_valid()
    assert valid or form.errors
    cleaned = form.cleaned_data
    assert cleaned.get("service", "dachs") in configured_services()
    assert cleaned.get("op", "run") in {operation.id for operation in START_PAGE}
    assert "job_id" not in cleaned or _stays_in_its_segment(cleaned["job_id"])
    if cleaned.get("executionduration") is not None or (valid and op == "executionduration"):
        assert type(cleaned["executionduration"]) is int
        assert 0 <= cleaned["executionduration"] <= MAX_EXECUTION_DURATION
    if cleaned.get("destruction") is not None or (valid and op == "destruction"):
        assert cleaned["destruction"].tzinfo is UTC
        assert cleaned["destruction"] > before


def _calls(code: str, name: str) -> list[ast.Call]:
    """The calls of a function or method `name` in Python source, which must parse."""
    return [
        node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and name in (getattr(node.func, "attr", None), getattr(node.func, "id", None))
    ]


@PROFILE
@given(texts, st.sampled_from([value for value, _ in FORMATS] + ["", "fits ", "x"]), numerals, texts, texts)
def test_a_validated_new_job_gives_commands_that_run_as_shown(query, format_, maxrec, runid, run):
    form = NewJobForm({"query": query, "format": format_, "maxrec": maxrec, "runid": runid, "run": run})
    if not form.is_valid():
        assert form.errors
        return
    parameters = form.uws_parameters()
    assert parameters["QUERY"] and parameters["QUERY"] == parameters["QUERY"].strip()
    base = "http://127.0.0.1:8080/tap"
    made = commands.for_new_job(base, parameters)
    data = [word for key, value in parameters.items() for word in ("--data-urlencode", f"{key}={value}")]
    assert shlex.split(made.curl) == ["curl", "-i", *data, f"{base}/async"]
    assert shlex.split(made.wget) == ["wget", "-S", "-O", "-", f"--post-data={urlencode(parameters)}", f"{base}/async"]
    (submit,) = _calls(made.pyvo, "submit_job")
    assert ast.literal_eval(submit.args[0]) == parameters["QUERY"]
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in submit.keywords}
    assert keywords.get("maxrec") == form.cleaned_data["maxrec"]
    assert keywords.get("FORMAT") == parameters["FORMAT"]
    assert keywords.get("RUNID") == parameters.get("RUNID")


filter_keys = st.sampled_from(["PHASE", "phase", "Phase", "AFTER", "after", "LAST", "last", "page", "phaſe", "x"])
filter_values = st.one_of(st.sampled_from(PHASES), st.sampled_from(PHASES).map(str.lower), times, numerals, texts)


@PROFILE
@given(st.lists(st.tuples(filter_keys | st.text(max_size=6), filter_values), max_size=6))
def test_the_job_list_filters_validate_or_report_errors(pairs):
    """Each filter that validates keeps its promise, whether or not the others do."""
    form = JobListFilterForm(QueryDict(urlencode(pairs)))
    assert form.is_valid() or form.errors
    cleaned = form.cleaned_data
    assert set(cleaned.get("PHASE", [])) <= set(PHASES)
    assert cleaned.get("LAST") is None or 1 <= cleaned["LAST"] <= 100_000
    assert cleaned.get("page") is None or cleaned["page"] >= 1
    assert cleaned.get("AFTER") is None or cleaned["AFTER"].endswith("Z")


@PROFILE
@given(times)
def test_a_validated_after_filter_is_the_same_moment_in_iso_8601(text):
    form = JobListFilterForm(QueryDict(urlencode({"AFTER": text})))
    if form.is_valid() and form.cleaned_data["AFTER"] is not None:
        after = form.cleaned_data["AFTER"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", after, flags=re.ASCII)
        assert parse_time(after) == parse_time(text).replace(microsecond=0)


@PROFILE
@given(st.one_of(texts, st.from_regex(r"[!-~]{1,40}", fullmatch=True)))
def test_a_validated_token_is_one_line_of_printable_characters(token):
    form = TokenForm({"token": token})
    if not form.is_valid():
        assert "token" in form.errors
        return
    cleaned = form.cleaned_data["token"]
    assert 1 <= len(cleaned) <= 8192
    assert all(ord(character) > 0x20 and ord(character) != 0x7F for character in cleaned)


@PROFILE
@given(st.text(min_size=1, max_size=40))
def test_a_validated_token_can_be_sent_as_a_header(token):
    form = TokenForm({"token": token})
    if form.is_valid():
        connection = http.client.HTTPConnection("127.0.0.1", 9)  # never connects: headers are only buffered
        connection.putrequest("GET", "/tap/async")
        connection.putheader("Authorization", f"Bearer {form.cleaned_data['token']}")


job_urls = st.builds(
    "{}{}{}/{}{}".format,
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", " http://"]),
    st.sampled_from(["127.0.0.1:8080", "127.0.0.1:9", "LOCALHOST:8080", "127.0.0.1", "example.org"]),
    st.sampled_from(["/tap/async", "/__system__/tap/run/async", "/tap/async/x/..", "/tap", "", "/other/async"]),
    job_ids | job_ids.map(lambda text: quote(text, safe="")),
    st.sampled_from(["", "/", "/phase", "?x=1", "#f", "//"]),
)


@PROFILE
@given(st.one_of(job_urls, texts))
def test_a_valid_job_url_names_a_configured_service_and_a_job_id_that_stays_in_its_segment(url):
    form = AddJobForm({"url": url})
    if not form.is_valid():
        assert "url" in form.errors
        return
    found = service_and_job_of(form.data["url"])  # as the view calls it
    if found is not None:
        service, job_id = found
        assert configured_services()[service.slug] == service
        assert _stays_in_its_segment(job_id)


@PROFILE
@given(st.one_of(job_urls, st.builds("http://{}".format, st.text(alphabet="[]:0123456789abcdef./\uff0f@"))))
def test_service_and_job_of_any_text_is_a_service_and_job_or_none(url):
    found = service_and_job_of(url)
    assert found is None or _stays_in_its_segment(found[1])


# -- Error positions and commands --------------------------------------------------------------

small_numbers = st.one_of(
    st.integers(0, 12).map(str), st.integers(-3, 10**6).map(str), st.from_regex(r"\d{1,40}", fullmatch=True)
)
error_messages = st.one_of(
    texts,
    st.builds("line {}, col {}".format, small_numbers, small_numbers),
    st.builds("Syntax error (line:{}, col:{})".format, small_numbers, small_numbers),
    st.builds("at line {} column {}".format, small_numbers, small_numbers),
    st.builds("Expected end of text, found 'x' (at char {}), (line:1, col:{})".format, small_numbers, small_numbers),
    st.builds("at char {}".format, small_numbers),
    st.builds(
        "unresolved: x [l.{} c.{} - l.{} c.{}]!".format, small_numbers, small_numbers, small_numbers, small_numbers
    ),
    st.builds("Encountered {} at l.{}, c.{}".format, texts, small_numbers, small_numbers),
    st.builds('Encountered "{}". Was expecting: "SELECT"'.format, st.text(alphabet="SELCT*\nFROMx<>", max_size=8)),
    st.builds("problems: ({}, {}, '{}')".format, small_numbers, small_numbers, st.text(alphabet="SELCT", max_size=5)),
)


@PROFILE
@given(error_messages, st.one_of(st.text(alphabet="SELECT *\nFROMx\r\t é", max_size=60), texts))
def test_an_error_spot_lies_inside_the_query_and_keeps_its_text(message, query):
    spot = error_spot(message, query)
    if spot is None:
        return
    line, column = spot.start
    lines = query.split("\n")
    assert 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1
    assert error_position(message, query) == spot.start
    assert [entry.number for entry in spot.lines] == list(range(1, len(lines) + 1))
    marked = [entry.number for entry in spot.lines if entry.marked]
    assert marked and all(any(start[0] <= number <= end[0] for start, end in spot.spans) for number in marked)
    for entry, text in zip(spot.lines, lines, strict=True):
        shown = "".join(part for part, _ in entry.segments)
        assert shown in (text, text + " ")
    assert spot.describe().endswith("marked here:")


@PROFILE
@given(st.sampled_from(["line 1, col {}", "line {}, col 1", "at char {}"]), st.integers(4301, 6000))
def test_an_error_position_with_a_number_too_long_to_read_is_none(template, digits):
    assert error_position(template.format("9" * digits), "SELECT 1") is None


@PROFILE
@given(
    st.one_of(st.just("http://127.0.0.1:8080/tap/async"), texts),
    job_ids,
    st.sampled_from(["status", "results", "error", *(operation.id for operation in CHANGES)]),
    st.one_of(st.none(), texts, times),
    st.integers(),
)
def test_the_commands_for_a_job_run_as_shown_whatever_the_id_and_value(async_url, job_id, operation, text, seconds):
    # The view passes a duration as the text of an int, anything else as it is.
    made = commands.for_job(async_url, job_id, operation, str(seconds) if operation == "executionduration" else text)
    job = f"{async_url}/{job_id}"
    curl, wget = shlex.split(made.curl), shlex.split(made.wget)
    if operation == "results":
        assert curl == ["curl", "-L", "-o", f"{job_id}-result", f"{job}/results/result"]
        assert wget == ["wget", "-O", f"{job_id}-result", f"{job}/results/result"]
    else:
        suffix = {"status": "", "delete": "", "error": "/error", "run": "/phase", "abort": "/phase"}
        url = job + suffix.get(operation, f"/{operation}")
        assert curl[0] == "curl" and curl[-1] == url
        assert wget[0] == "wget" and wget[-1] == url
    if operation == "executionduration":
        assert curl[1:3] == ["--data-urlencode", f"EXECUTIONDURATION={seconds}"]
        assert f"job.execution_duration = {seconds}" in made.pyvo
    if operation == "destruction":
        when = text or "2030-01-01T00:00:00Z"
        assert curl[1:3] == ["--data-urlencode", f"DESTRUCTION={when}"]
        assert wget[4] == f"--post-data={urlencode({'DESTRUCTION': when})}"
        (fromisoformat,) = _calls(made.pyvo, "fromisoformat")
        assert ast.literal_eval(fromisoformat.args[0]) == when
    (opened,) = _calls(made.pyvo, "AsyncTAPJob")
    assert ast.literal_eval(opened.args[0]) == job


# -- URLs ------------------------------------------------------------------------------------


@PROFILE
@given(
    st.sampled_from(["dachs", "dead", "a_b-1"]),
    job_ids,
    st.sampled_from(["", "/error", "/results/{}", "/results/{}/preview", "/", "/results/", "/phase"]),
    job_ids,
    st.booleans(),
)
def test_a_job_url_resolves_only_to_ids_that_stay_in_their_segment(slug, job_id, tail, result_id, encoded):
    """Django resolves the decoded path; a still-encoded one must not slip a '%' into an id either."""
    segment, result = (quote(job_id, safe=""), quote(result_id, safe="")) if encoded else (job_id, result_id)
    try:
        match = resolve(f"/{slug}/async/{segment}{tail.format(result)}")
    except Resolver404:
        return
    assert match.kwargs["slug"] == slug
    assert _stays_in_its_segment(match.kwargs["job_id"])
    if "result_id" in match.kwargs:
        assert _stays_in_its_segment(match.kwargs["result_id"])
