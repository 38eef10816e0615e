"""The VOSI parser over DaCHS's recorded documents, and over our own."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.uws.parse import UWSParseError
from jobs.uws.vosi import (
    Availability,
    Capabilities,
    Limit,
    OutputFormat,
    parse_availability,
    parse_capabilities,
    plain_format_name,
)
from tests.faultuws import billion_laughs_doctype

SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLES = SHARED / "dachs-samples"
needs_samples = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"the shared DaCHS samples are not at {SAMPLES} (they live in ../shared beside the repo)",
)
NO_LIMIT = Limit(default=None, hard=None, unit=None)


def sample(name: str) -> tuple[bytes, bytes]:
    """Head and body of a `curl -i` capture: the headers end at the first blank line."""
    head, separator, body = (SAMPLES / name).read_bytes().partition(b"\r\n\r\n")
    assert separator, f"{name} has no blank line after its headers"
    return head, body


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def capabilities(tap_capability: str, *, root_attributes: str = "") -> bytes:
    return (
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" {root_attributes}>'
        f"{tap_capability}</vosi:capabilities>"
    ).encode()


# --- DaCHS 2.7, recorded ---------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize("name", ["01-vosi-availability.http", "02-vosi-capabilities.http"])
def test_the_dachs_bodies_are_not_chunk_framed_although_the_header_says_chunked(name):
    # curl -i prints the Transfer-Encoding header but decodes the chunks itself,
    # so the body after the blank line is the document as it is.
    head, body = sample(name)
    assert b"transfer-encoding: chunked" in head.lower()
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")


@needs_samples
def test_it_reads_dachs_availability():
    _, body = sample("01-vosi-availability.http")
    assert parse_availability(body) == Availability(
        available=True, up_since=utc(2026, 11, 24, 12, 11, 7), down_at=None, back_at=None, notes=()
    )


@needs_samples
def test_it_reads_every_dachs_output_format_in_order():
    _, body = sample("02-vosi-capabilities.http")
    votable = "application/x-votable+xml"
    assert parse_capabilities(body).output_formats == (
        OutputFormat("text/tab-separated-values", ("tsv",), None),
        OutputFormat("text/plain", ("txt",), None),
        OutputFormat("text/csv", ("csv_bare",), None),
        OutputFormat("text/csv;header=present", ("csv",), None),
        OutputFormat("application/json", ("json",), None),
        OutputFormat("application/geo+json", ("geojson",), None),
        OutputFormat(votable, ("votable",), None),
        OutputFormat(f"{votable};serialization=BINARY2", ("votable/b2", "votableb2"), None),
        OutputFormat(f"{votable};serialization=TABLEDATA", ("text/xml", "votable/td", "votabletd"), None),
        OutputFormat(f"{votable};serialization=TABLEDATA;version=1.1", ("text/xml", "votabletd1.1"), None),
        OutputFormat(f"{votable};version=1.1", ("text/xml", "votable1.1"), None),
        OutputFormat(f"{votable};serialization=TABLEDATA;version=1.2", ("text/xml", "votabletd1.2"), None),
        OutputFormat(f"{votable};serialization=TABLEDATA;version=1.5", ("vodml",), None),
        OutputFormat(f"{votable};version=1.5", ("vodmlb",), None),
        OutputFormat("text/html", ("html",), None),
        OutputFormat("application/fits", ("fits",), None),
    )


@needs_samples
def test_it_reads_dachs_limits_and_languages():
    _, body = sample("02-vosi-capabilities.http")
    parsed = parse_capabilities(body)
    # DaCHS states no hard execution duration and no hard retention period.
    assert parsed.execution_duration == Limit(default=3600, hard=None, unit=None)
    assert parsed.retention_period == Limit(default=172800, hard=None, unit=None)  # 48 h
    assert parsed.output_limit == Limit(default=20000, hard=20000000, unit="row")
    assert parsed.upload_limit == Limit(default=None, hard=20000000, unit="byte")
    assert parsed.languages == ("ADQL-2.0", "ADQL-2.1")


@needs_samples
def test_dachs_format_choices_avoid_the_alias_four_formats_share():
    _, body = sample("02-vosi-capabilities.http")
    choices = parse_capabilities(body).format_choices()
    values = [value for value, _ in choices]
    assert "text/xml" not in values
    assert len(values) == len(set(values)) == 16
    assert choices[6] == ("votable", "VOTable, binary — best for TOPCAT")
    assert choices[8] == ("votable/td", "VOTable, TABLEDATA (XML text)")
    assert choices[9] == ("votabletd1.1", "VOTable, TABLEDATA (XML text) (VOTable 1.1)")


@needs_samples
def test_each_dachs_document_is_refused_by_the_other_parser():
    with pytest.raises(UWSParseError, match="availability"):
        parse_availability(sample("02-vosi-capabilities.http")[1])
    with pytest.raises(UWSParseError, match="capabilities"):
        parse_capabilities(sample("01-vosi-availability.http")[1])


# --- Availability, our own documents ---------------------------------------------------

UNAVAILABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<availability xmlns="http://www.ivoa.net/xml/VOSIAvailability/v1.0">
  <available> false </available>
  <upSince>2026-11-01T08:00:00Z</upSince>
  <downAt>2026-11-24T10:00:00+01:00</downAt>
  <backAt>
    2026-11-24T18:30:00Z
  </backAt>
  <note>  Database upgrade.  </note>
  <note/>
  <note>Async jobs are kept.</note>
</availability>
"""


def test_it_reads_an_unavailable_service_with_its_times_and_notes():
    assert parse_availability(UNAVAILABLE) == Availability(
        available=False,
        up_since=utc(2026, 11, 1, 8, 0, 0),
        down_at=utc(2026, 11, 24, 9, 0, 0),
        back_at=utc(2026, 11, 24, 18, 30, 0),
        notes=("Database upgrade.", "Async jobs are kept."),
    )


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ("<available>true</available>", True),
        ("<available>1</available>", True),
        ("<available>FALSE</available>", False),
        ("<available>0</available>", False),
        ("<available>perhaps</available>", None),
        ("<available/>", None),
        ("", None),
    ],
)
def test_it_reads_xsd_booleans_and_leaves_anything_else_unknown(element, expected):
    document = f'<a:availability xmlns:a="http://www.ivoa.net/xml/VOSIAvailability/v1.0">{element}</a:availability>'
    assert parse_availability(document.encode()).available is expected


def test_it_leaves_unreadable_times_unknown():
    document = b"<availability><available>true</available><upSince>yesterday</upSince></availability>"
    assert parse_availability(document) == Availability(True, None, None, None, ())


# --- Capabilities, our own documents ---------------------------------------------------

MINIMAL = capabilities(
    '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
    "<language><name>ADQL</name></language>"
    "<outputFormat><mime>application/x-votable+xml</mime></outputFormat>"
    "</capability>"
)


def test_it_reads_a_minimal_capability_without_limits():
    assert parse_capabilities(MINIMAL) == Capabilities(
        output_formats=(OutputFormat("application/x-votable+xml", (), None),),
        execution_duration=NO_LIMIT,
        retention_period=NO_LIMIT,
        output_limit=NO_LIMIT,
        upload_limit=NO_LIMIT,
        languages=("ADQL",),
    )
    choices = parse_capabilities(MINIMAL).format_choices()
    assert choices == [("application/x-votable+xml", "VOTable, binary — best for TOPCAT")]


DEFAULT_NAMESPACE = b"""<?xml version="1.0"?>
<capabilities xmlns="http://www.ivoa.net/xml/VOSICapabilities/v1.0">
  <capability xmlns="http://www.ivoa.net/xml/TAPRegExt/v1.0" standardID=" IVO://IVOA.NET/STD/TAP ">
    <language>
      <name> ADQL </name>
      <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0"> 2.0 </version>
    </language>
    <outputFormat>
      <mime>  text/csv  </mime>
      <alias> csv </alias>
      <description>Comma-separated values</description>
    </outputFormat>
    <executionDuration><default> 600 </default><hard>7200</hard></executionDuration>
    <retentionPeriod><hard>604800</hard></retentionPeriod>
    <outputLimit><hard unit=" row ">1000000</hard></outputLimit>
  </capability>
</capabilities>
"""


def test_it_reads_tapregext_elements_in_a_default_namespace_and_trims_them():
    parsed = parse_capabilities(DEFAULT_NAMESPACE)
    assert parsed == Capabilities(
        output_formats=(OutputFormat("text/csv", ("csv",), "Comma-separated values"),),
        execution_duration=Limit(default=600, hard=7200, unit=None),
        retention_period=Limit(default=None, hard=604800, unit=None),
        output_limit=Limit(default=None, hard=1000000, unit="row"),
        upload_limit=NO_LIMIT,
        languages=("ADQL-2.0",),
    )
    assert parsed.format_choices() == [("csv", "CSV")]


def test_it_reads_prefixed_tapregext_elements():
    document = capabilities(
        '<capability xsi:type="tr:TableAccess">'
        "<tr:outputFormat><tr:mime>text/plain</tr:mime><tr:alias>txt</tr:alias></tr:outputFormat>"
        "<tr:executionDuration><tr:default>60</tr:default></tr:executionDuration>"
        "</capability>"
    )
    parsed = parse_capabilities(document)
    assert parsed.output_formats == (OutputFormat("text/plain", ("txt",), None),)
    assert parsed.execution_duration == Limit(default=60, hard=None, unit=None)


def test_it_picks_the_tap_capability_by_standard_id_among_several():
    document = capabilities(
        '<capability standardID="ivo://ivoa.net/std/VOSI#availability"/>'
        '<capability standardID="ivo://ivoa.net/std/TAP#aux">'
        "<outputFormat><mime>text/html</mime></outputFormat></capability>"
        '<capability standardID="ivo://ivoa.net/std/tap">'
        "<outputFormat><mime>text/csv</mime></outputFormat></capability>"
    )
    assert [output.mime for output in parse_capabilities(document).output_formats] == ["text/csv"]


def test_it_picks_the_tap_capability_by_xsi_type_alone():
    document = capabilities(
        '<capability standardID="ivo://ivoa.net/std/VOSI#tables">'
        "<outputFormat><mime>text/html</mime></outputFormat></capability>"
        '<capability xsi:type="tapx:TableAccess" xmlns:tapx="http://www.ivoa.net/xml/TAPRegExt/v1.0">'
        "<outputFormat><mime>text/csv</mime></outputFormat></capability>"
    )
    assert [output.mime for output in parse_capabilities(document).output_formats] == ["text/csv"]


def test_it_reads_where_the_examples_are_from_the_dali_examples_capability():
    examples = (
        '<capability standardID="ivo://ivoa.net/std/DALI#examples"><interface xsi:type="vr:WebBrowser">'
        '<accessURL use="full"> http://example.org/tap/examples </accessURL></interface></capability>'
    )
    tap = '<capability standardID="ivo://ivoa.net/std/TAP"><language><name>ADQL</name></language></capability>'
    assert parse_capabilities(capabilities(tap + examples)).examples_url == "http://example.org/tap/examples"
    assert parse_capabilities(capabilities(examples)).examples_url == "http://example.org/tap/examples"
    assert parse_capabilities(capabilities(tap)).examples_url is None


def test_a_capabilities_document_without_tap_promises_nothing():
    document = capabilities('<capability standardID="ivo://ivoa.net/std/VOSI#capabilities"/>')
    assert parse_capabilities(document) == Capabilities((), NO_LIMIT, NO_LIMIT, NO_LIMIT, NO_LIMIT, ())


def test_it_leaves_negative_and_unreadable_limits_unknown():
    document = capabilities(
        '<capability standardID="ivo://ivoa.net/std/TAP">'
        "<executionDuration><default>-1</default><hard>lots</hard></executionDuration>"
        '<outputLimit><default unit="row">  </default><hard unit="row">500</hard></outputLimit>'
        "</capability>"
    )
    parsed = parse_capabilities(document)
    assert parsed.execution_duration == NO_LIMIT
    assert parsed.output_limit == Limit(default=None, hard=500, unit="row")


def test_it_drops_a_hard_limit_in_another_unit_than_the_default():
    document = capabilities(
        '<capability standardID="ivo://ivoa.net/std/TAP">'
        '<outputLimit><default unit="row">1000</default><hard unit="byte">1000000</hard></outputLimit>'
        "</capability>"
    )
    assert parse_capabilities(document).output_limit == Limit(default=1000, hard=None, unit="row")


def test_it_skips_output_formats_without_a_mime_type():
    document = capabilities(
        '<capability standardID="ivo://ivoa.net/std/TAP">'
        "<outputFormat><alias>mystery</alias></outputFormat>"
        "<outputFormat><mime/><alias>empty</alias></outputFormat>"
        "<outputFormat><mime>application/fits</mime><alias>fits</alias></outputFormat>"
        "</capability>"
    )
    assert parse_capabilities(document).output_formats == (OutputFormat("application/fits", ("fits",), None),)


def test_format_choices_use_the_first_unshared_alias_and_list_each_value_once():
    parsed = Capabilities(
        output_formats=(
            OutputFormat("application/x-votable+xml", ("votable", "vot"), "VOTable (binary)"),
            OutputFormat("application/x-votable+xml;serialization=TABLEDATA", ("text/xml", "votable/td"), None),
            OutputFormat("application/x-votable+xml;version=1.1", ("text/xml",), None),
            OutputFormat("text/csv", (), None),
            OutputFormat("text/csv", (), "The same again"),
        ),
        execution_duration=NO_LIMIT,
        retention_period=NO_LIMIT,
        output_limit=NO_LIMIT,
        upload_limit=NO_LIMIT,
        languages=(),
    )
    assert parsed.format_choices() == [
        ("votable", "VOTable, binary — best for TOPCAT"),
        ("votable/td", "VOTable, TABLEDATA (XML text)"),
        ("application/x-votable+xml;version=1.1", "VOTable, binary — best for TOPCAT (VOTable 1.1)"),
        ("text/csv", "CSV"),
    ]


@pytest.mark.parametrize(
    ("mime", "name"),
    [
        ("application/x-votable+xml;serialization=BINARY2", "VOTable, BINARY2"),
        ("text/csv;header=present", "CSV with a header row"),
        ("text/tab-separated-values", "TSV (tab-separated)"),
        ("application/fits", "FITS"),
        ("application/x-unknown", "application/x-unknown"),
    ],
)
def test_formats_are_offered_under_the_same_plain_names_on_every_service(mime, name):
    assert plain_format_name(mime) == name


# --- Documents that are neither ----------------------------------------------------------

BILLION_LAUGHS = ('<?xml version="1.0"?>' + billion_laughs_doctype("lolz") + "\n").encode()


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS + b"<availability><available>true</available><note>&lol9;</note></availability>",
        BILLION_LAUGHS + b'<capabilities><capability standardID="ivo://ivoa.net/std/TAP">'
        b"<outputFormat><mime>&lol9;</mime></outputFormat></capability></capabilities>",
    ],
    ids=["availability", "capabilities"],
)
def test_it_does_not_expand_a_billion_laughs(document):
    started = time.monotonic()
    try:
        parsed = parse_availability(document) if b"<availability>" in document else parse_capabilities(document)
    except UWSParseError:
        parsed = None  # libxml2 refuses the amplification outright
    assert time.monotonic() - started < 2
    assert "lollol" not in repr(parsed)


@pytest.mark.parametrize("parse", [parse_availability, parse_capabilities])
@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"   \n",
        b"\x00\xff garbage \x89PNG",
        b"available=true",
        b"<availability><available>true</available>",  # cut off
        b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><p>Back soon<br></body></html>",
        b"<html><body><h1>Not Found</h1></body></html>",
        b'<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0"><uws:jobId>x</uws:jobId></uws:job>',
    ],
    ids=["empty", "blank", "binary", "plain-text", "truncated", "html", "xhtml-ish", "uws-job"],
)
def test_it_refuses_documents_that_are_not_vosi(parse, document):
    with pytest.raises(UWSParseError):
        parse(document)
