"""Parse a DALI examples document (DALI 1.1 §2.3, TAP 1.1 §2.4): bytes in, plain data out.

The document is XHTML with RDFa: each example is an element with `typeof="example"`
(and an `id`, its `resource` pointing at it), its title an element with `property="name"`,
its ADQL an element with `property="query"` (TAP), and `property="continuation"` links to
more documents of examples. Terms are matched by their last part whatever the vocabulary:
DaCHS declares `vocab="ivo://ivoa.net/std/DALI-examples#"`, DALI 1.1 says
`http://www.ivoa.net/rdf/examples#`, and a document may write `ex:example` with a prefix of
its own. Served as HTML, a document need not be well-formed XML: it is then read as HTML.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from lxml import etree, html

from .parse import XML_HARDENING, UWSParseError, _local


@dataclass(frozen=True)
class Example:
    """One example query: `key` names it in the document (its id, else its place from 1)."""

    key: str
    name: str
    query: str
    description: str | None


@dataclass(frozen=True)
class ExamplesDocument:
    """The examples of one document, and the links to its continuations (as written, unresolved)."""

    examples: tuple[Example, ...]
    continuations: tuple[str, ...]


def parse_examples(data: bytes) -> ExamplesDocument:
    """Every example with a query, in document order; examples without one (DataLink's) are left out."""
    root = _parse_document(data)
    if _local(root.tag).lower() != "html":
        raise UWSParseError(f"expected an XHTML examples document, got <{_local(root.tag) or '?'}>")
    examples: list[Example] = []
    for element in root.iter():
        if "example" not in _terms(element, "typeof"):
            continue
        example = _example(element, position=len(examples) + 1)
        if example is not None:
            examples.append(example)
    continuations = tuple(
        href
        for element in root.iter()
        if "continuation" in _terms(element, "property")
        for href in [(element.get("href") or element.get("resource") or "").strip()]
        if href
    )
    return ExamplesDocument(tuple(examples), continuations)


def _parse_document(data: bytes) -> etree._Element:
    if not data or not data.strip():
        raise UWSParseError("the document is empty")
    try:
        return etree.fromstring(data, etree.XMLParser(remove_comments=True, remove_pis=True, **XML_HARDENING))
    except etree.XMLSyntaxError:
        # Served as text/html: an entity XML does not know (&nbsp;), an unclosed <p>, <br>.
        pass
    try:
        return html.document_fromstring(
            data, parser=html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
        )
    except etree.ParserError as exc:
        raise UWSParseError(f"the document is neither XHTML nor HTML ({exc})") from None


def _terms(element: etree._Element, attribute: str) -> set[str]:
    """The RDFa terms of an attribute, each by its last part: `ex:example` and a full IRI are `example`."""
    if not isinstance(element.tag, str):
        return set()
    value = element.get(attribute) or ""
    return {term.rsplit("#", 1)[-1].rsplit("/", 1)[-1].rsplit(":", 1)[-1] for term in value.split()}


def _own(example: etree._Element) -> list[etree._Element]:
    """The example's elements, in order, leaving out those of another typed resource inside it (a keyval)."""
    found = []
    for child in example:
        if not isinstance(child.tag, str):
            continue
        found.append(child)
        if child.get("typeof") is None:
            found.extend(_own(child))
    return found


def _example(element: etree._Element, position: int) -> Example | None:
    own = _own(element)
    name_element = next((child for child in own if "name" in _terms(child, "property")), None)
    query_element = next((child for child in own if "query" in _terms(child, "property")), None)
    query = _value(query_element, keep_lines=True) if query_element is not None else ""
    if not query:
        return None
    key = (element.get("id") or (element.get("resource") or "").lstrip("#") or "").strip() or str(position)
    name = _value(name_element, keep_lines=False) if name_element is not None else ""
    skipped = {name_element, query_element}
    skipped.update(child for child in own if _is_aside(child))
    description = " ".join(_prose(element, skipped).split())
    return Example(key=key, name=name or f"Example {position}", query=query, description=description or None)


def _value(element: etree._Element, *, keep_lines: bool) -> str:
    """A property's value: its `content` (RDFa), else its text; a query keeps its lines, dedented."""
    text = element.get("content")
    if text is None:
        text = "".join(element.itertext())
    if keep_lines:
        return textwrap.dedent(text.strip("\r\n")).strip()
    return " ".join(text.split())


def _is_aside(element: etree._Element) -> bool:
    # DaCHS puts a "↗" link to the table's page before each table name; continuation links,
    # scripts and styles are not the example's words either.
    classes = (element.get("class") or "").split()
    return (
        "taptable-link" in classes
        or "continuation" in _terms(element, "property")
        or _local(element.tag).lower() in ("script", "style")
    )


def _prose(element: etree._Element, skipped: set) -> str:
    """The text of an element without that of the skipped elements (their tails kept)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child not in skipped:
            parts.append(_prose(child, skipped))
        parts.append(" " if _local(child.tag).lower() in _BLOCKS else "")
        parts.append(child.tail or "")
    return "".join(parts)


# Elements whose end separates words even where the markup has no space.
_BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "td", "th", "dt", "dd"})
