"""The DALI examples parser over DaCHS's document as served, and over our own edge cases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobs.uws.examples import Example, parse_examples
from jobs.uws.parse import UWSParseError
from tests.faultuws import billion_laughs_doctype

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def page(body: str, *, vocab: str = "http://www.ivoa.net/rdf/examples#", head: str = "") -> bytes:
    """An XHTML examples document (DALI 1.1 §2.3) around `body`."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"{head}><head><title>Examples</title></head>'
        f'<body vocab="{vocab}">{body}</body></html>'
    ).encode()


def test_it_reads_every_example_dachs_serves_with_its_name_query_and_description():
    document = parse_examples((FIXTURES / "dachs_examples.html").read_bytes())
    assert [example.key for example in document.examples] == [
        "Thebrightestobjects",
        "Objectswithin10degreesofaposition",
        "Howmanyobjectspermagnitude",
        "FITSfilesandtheirsizes",
    ]
    brightest = document.examples[0]
    assert brightest.name == "The brightest objects"
    # The query keeps its lines; "&lt;" is a "<" again.
    assert brightest.query == (
        "SELECT TOP 10 id, name, ra, dec, mag\nFROM portaltest.objects\nWHERE mag < 10.5\nORDER BY mag, id"
    )
    # DaCHS's "↗" link before the table's name is not part of the words.
    assert brightest.description == (
        "The ten brightest objects of portaltest.objects with a magnitude below 10.5, "
        "brightest first (a smaller magnitude is brighter)."
    )
    assert document.continuations == ()


def test_it_follows_the_dali_1_1_markup_with_continuations():
    document = parse_examples(
        page(
            '<div typeof="example" id="cone" resource="#cone"><h2 property="name">A cone</h2>'
            "<p>Around  a\n position.</p>"
            '<pre property="query">SELECT * FROM t\nWHERE 1=CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))</pre></div>'
            '<p>More: <a property="continuation" href="more.html">the next page</a>, '
            '<a property="continuation" href="/tap/examples/3">and the last</a></p>'
        )
    )
    assert document.examples == (
        Example(
            key="cone",
            name="A cone",
            query="SELECT * FROM t\nWHERE 1=CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 1))",
            description="Around a position.",
        ),
    )
    assert document.continuations == ("more.html", "/tap/examples/3")


@pytest.mark.parametrize(
    "typeof, property_prefix, head",
    [
        ("example", "", ""),
        ("ex:example", "ex:", ' prefix="ex: http://www.ivoa.net/rdf/examples#"'),
        ("http://www.ivoa.net/rdf/examples#example", "http://www.ivoa.net/rdf/examples#", ""),
        ("ivo://ivoa.net/std/DALI-examples#example", "", ""),
        ("schema:CreativeWork example", "", ""),
    ],
    ids=["bare", "prefixed", "full-iri", "dachs-vocabulary-iri", "two-types"],
)
def test_it_knows_an_example_and_its_properties_whatever_the_vocabulary_is_called(typeof, property_prefix, head):
    document = parse_examples(
        page(
            f'<div typeof="{typeof}" resource="#q1"><h3 property="{property_prefix}name">First</h3>'
            f'<pre property="{property_prefix}query">SELECT 1</pre></div>',
            head=head,
        )
    )
    (example,) = document.examples
    assert (example.key, example.name, example.query) == ("q1", "First", "SELECT 1")


def test_it_reads_html_that_is_not_well_formed_xml():
    document = parse_examples(
        b"<!DOCTYPE html><html><head><meta charset=utf-8><title>Examples</title></head>"
        b'<body vocab="http://www.ivoa.net/rdf/examples#">'
        b"<div typeof=example id=first><h2 property=name>Caf\xc3\xa9&nbsp;stars</h2>"
        b"<p>Unclosed paragraph<br>over two lines"
        b"<pre property=query>\n    SELECT TOP 5 *\n    FROM stars\n    WHERE mag &lt; 5 AND flag &amp; 1 = 1\n</pre>"
        b"</div></body></html>"
    )
    (example,) = document.examples
    assert example.key == "first" and example.name == "Café stars"
    # The query is dedented and trimmed, its lines kept.
    assert example.query == "SELECT TOP 5 *\nFROM stars\nWHERE mag < 5 AND flag & 1 = 1"
    assert example.description == "Unclosed paragraph over two lines"


def test_a_query_in_cdata_and_a_name_in_content_are_read():
    document = parse_examples(
        page(
            '<div typeof="example" id="x"><span property="name" content="The real name">shown</span>'
            '<pre property="query"><![CDATA[SELECT * FROM t WHERE a < 3]]></pre></div>'
        )
    )
    assert (document.examples[0].name, document.examples[0].query) == ("The real name", "SELECT * FROM t WHERE a < 3")


def test_an_example_without_an_id_is_keyed_by_its_place_and_without_a_name_is_numbered():
    document = parse_examples(
        page(
            '<div typeof="example"><h2 property="name">One</h2><pre property="query">SELECT 1</pre></div>'
            '<div typeof="example"><pre property="query">SELECT 2</pre></div>'
        )
    )
    assert [(example.key, example.name) for example in document.examples] == [("1", "One"), ("2", "Example 2")]


def test_an_example_without_a_query_is_left_out():
    # DataLink examples (DaCHS's feros/q) have generic parameters and no ADQL: nothing to put in the editor.
    document = parse_examples(
        page(
            '<div typeof="example" id="dl"><h2 property="name">A datalink call</h2>'
            '<span property="generic-parameter" typeof="keyval"><code property="key">ID</code>'
            '<code property="value">ivo://x</code></span></div>'
            '<div typeof="example" id="q"><h2 property="name">A query</h2><pre property="query">SELECT 1</pre></div>'
        )
    )
    assert [example.key for example in document.examples] == ["q"]


def test_the_properties_of_a_resource_inside_an_example_are_not_the_examples():
    document = parse_examples(
        page(
            '<div typeof="example" id="outer">'
            '<div typeof="keyval"><span property="name">not the title</span>'
            '<pre property="query">not the query</pre></div>'
            '<h2 property="name">The title</h2><pre property="query">SELECT 3</pre></div>'
        )
    )
    assert [(example.name, example.query) for example in document.examples] == [("The title", "SELECT 3")]


def test_a_document_without_examples_gives_none():
    assert parse_examples(page("<p>This service does not define examples.</p>")).examples == ()


def test_it_does_not_expand_a_billion_laughs():
    document = (
        '<?xml version="1.0"?>'
        + billion_laughs_doctype("html")
        + '<html><body><div typeof="example" id="x"><h2 property="name">&lol9;</h2>'
        '<pre property="query">SELECT 1</pre></div></body></html>'
    ).encode()
    started = time.monotonic()
    try:
        parsed = parse_examples(document)
    except UWSParseError:
        parsed = None
    assert time.monotonic() - started < 2
    assert "lollol" not in repr(parsed)


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"  \n ",
        b'<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">'
        b'<INFO name="QUERY_STATUS" value="ERROR">no examples</INFO></RESOURCE></VOTABLE>',
        b'<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"/>',
    ],
    ids=["empty", "blank", "dali-error", "capabilities"],
)
def test_it_refuses_documents_that_are_not_examples(document):
    with pytest.raises(UWSParseError):
        parse_examples(document)
