"""Parse the VOSI availability and TAP capabilities documents: bytes in, plain data out.

VOSI 1.1 §3.3 (availability) and §3.2 with TAPRegExt 1.0 (capabilities). As in
`parse.py`, elements are matched by local name: TAPRegExt children are
unqualified (DaCHS), some servers put them in a default namespace, and the
prefixes differ from server to server. Anything missing is unknown, not an error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from .parse import UWSParseError, _attribute, _child, _children, _int, _local, _parse_xml, _text, parse_time


@dataclass(frozen=True)
class Availability:
    """Whether the service says it is up; every field may be unknown (None)."""

    available: bool | None
    up_since: datetime | None
    down_at: datetime | None
    back_at: datetime | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class OutputFormat:
    """A result format: its MIME type and the short FORMAT values that also select it."""

    mime: str
    aliases: tuple[str, ...]
    description: str | None


@dataclass(frozen=True)
class Limit:
    """A TAPRegExt limit; `unit` is "row" or "byte" for data limits, None for seconds."""

    default: int | None
    hard: int | None
    unit: str | None


@dataclass(frozen=True)
class Capabilities:
    """What the TAP capability promises: formats, limits and query languages; and where the examples are."""

    output_formats: tuple[OutputFormat, ...]
    execution_duration: Limit
    retention_period: Limit
    output_limit: Limit
    upload_limit: Limit
    languages: tuple[str, ...]
    examples_url: str | None = None  # the accessURL of a DALI examples capability (DALI 1.1 §2.3)

    def format_choices(self) -> list[tuple[str, str]]:
        """(FORMAT value, label) pairs for a <select>, one per distinct value.

        The value is the first alias no other format also claims, else the MIME
        type: DaCHS lists `text/xml` as an alias of four VOTable variants, so
        sending it would not get the variant the user picked.
        """
        claims = Counter(alias for output in self.output_formats for alias in set(output.aliases))
        choices: list[tuple[str, str]] = []
        seen: set[str] = set()
        for output in self.output_formats:
            value = next((alias for alias in output.aliases if claims[alias] == 1), output.mime)
            if value in seen:
                continue
            seen.add(value)
            choices.append((value, plain_format_name(output.mime)))
        return choices


# The result formats under the same plain names on every service, whatever each calls them.
_PLAIN_NAMES = {
    "application/x-votable+xml": "VOTable, binary — best for TOPCAT",
    "text/xml": "VOTable, binary — best for TOPCAT",
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV (tab-separated)",
    "application/fits": "FITS",
    "application/json": "JSON",
    "application/geo+json": "GeoJSON",
    "text/html": "HTML (a web page)",
    "text/plain": "Plain text",
}
_SERIALIZATIONS = {"tabledata": "VOTable, TABLEDATA (XML text)", "binary2": "VOTable, BINARY2", "binary": None}


def plain_format_name(mime: str) -> str:
    """A result format in plain words: "VOTable, binary — best for TOPCAT", "CSV with a header row", ….

    The parameters of the media type say the rest: a VOTable's serialization and version,
    whether a CSV has a header row; an unknown type is named as it is.
    """
    media_type, *parameters = [part.strip() for part in mime.split(";")]
    options = {
        key.strip().lower(): value.strip().strip('"') for key, _, value in (p.partition("=") for p in parameters)
    }
    name = _PLAIN_NAMES.get(media_type.lower())
    if name is None:
        return mime
    if media_type.lower() in ("application/x-votable+xml", "text/xml"):
        name = _SERIALIZATIONS.get(options.get("serialization", "binary").lower()) or name
        if options.get("version"):
            name += f" (VOTable {options['version']})"
    elif media_type.lower() == "text/csv" and options.get("header", "").lower() == "present":
        name = "CSV with a header row"
    return name


@dataclass(frozen=True)
class ColumnInfo:
    """A column as the service describes it (VODataService 1.1 TableParam)."""

    name: str
    description: str | None
    unit: str | None
    ucd: str | None
    datatype: str | None


@dataclass(frozen=True)
class TableInfo:
    """A table the service offers, with its columns (VOSI tables)."""

    name: str
    description: str | None
    columns: tuple[ColumnInfo, ...]


_NO_LIMIT = Limit(default=None, hard=None, unit=None)
_TAP_STANDARD_ID = "ivo://ivoa.net/std/tap"
_EXAMPLES_STANDARD_ID = "ivo://ivoa.net/std/dali#examples"


def parse_availability(data: bytes) -> Availability:
    """Parse a VOSI `availability` document (VOSI 1.0 or 1.1)."""
    root = _parse_xml(data)
    if _local(root.tag) != "availability":
        raise UWSParseError(f"expected a VOSI availability document, got <{_local(root.tag) or '?'}>")
    available = (_text(_child(root, "available")) or "").lower()
    return Availability(
        # xs:boolean allows 1 and 0 as well as true and false.
        available={"true": True, "1": True, "false": False, "0": False}.get(available),
        up_since=parse_time(_text(_child(root, "upSince"))),
        down_at=parse_time(_text(_child(root, "downAt"))),
        back_at=parse_time(_text(_child(root, "backAt"))),
        notes=tuple(note for note in map(_text, _children(root, "note")) if note),
    )


def parse_capabilities(data: bytes) -> Capabilities:
    """Parse a VOSI `capabilities` document and read its TAP capability.

    A document without a TAP capability gives empty capabilities: the service
    answered, it just promises nothing we can show.
    """
    root = _parse_xml(data)
    if _local(root.tag) != "capabilities":
        raise UWSParseError(f"expected a VOSI capabilities document, got <{_local(root.tag) or '?'}>")
    tap = next((capability for capability in _children(root, "capability") if _is_tap(capability)), None)
    examples_url = next(
        (
            url
            for capability in _children(root, "capability")
            if (_attribute(capability, "standardID") or "").lower() == _EXAMPLES_STANDARD_ID
            for interface in _children(capability, "interface")
            for url in map(_text, _children(interface, "accessURL"))
            if url
        ),
        None,
    )
    if tap is None:
        return Capabilities((), _NO_LIMIT, _NO_LIMIT, _NO_LIMIT, _NO_LIMIT, (), examples_url)
    return Capabilities(
        output_formats=tuple(
            output for output in map(_output_format, _children(tap, "outputFormat")) if output is not None
        ),
        execution_duration=_limit(_child(tap, "executionDuration"), has_unit=False),
        retention_period=_limit(_child(tap, "retentionPeriod"), has_unit=False),
        output_limit=_limit(_child(tap, "outputLimit"), has_unit=True),
        upload_limit=_limit(_child(tap, "uploadLimit"), has_unit=True),
        languages=tuple(name for language in _children(tap, "language") for name in _language_names(language)),
        examples_url=examples_url,
    )


def parse_tables(data: bytes) -> tuple[TableInfo, ...]:
    """Parse a VOSI `tables` document (VOSI 1.1 §3.5): every table of every schema, with its columns.

    A service may answer with a single `table` (the document of one table) as well.
    """
    root = _parse_xml(data)
    kind = _local(root.tag)
    if kind == "table":
        tables = [root]
    elif kind == "tableset":
        tables = [table for schema in _children(root, "schema") for table in _children(schema, "table")]
    else:
        raise UWSParseError(f"expected a VOSI tables document, got <{kind or '?'}>")
    return tuple(
        TableInfo(
            name=_text(_child(table, "name")) or "",
            description=_text(_child(table, "description")),
            columns=tuple(
                ColumnInfo(
                    name=_text(_child(column, "name")) or "",
                    description=_text(_child(column, "description")),
                    unit=_text(_child(column, "unit")),
                    ucd=_text(_child(column, "ucd")),
                    datatype=_text(_child(column, "dataType")),
                )
                for column in _children(table, "column")
            ),
        )
        for table in tables
        if _text(_child(table, "name"))
    )


def _is_tap(capability: etree._Element) -> bool:
    # A capabilities document also lists the VOSI endpoints (DaCHS) and may list
    # auxiliary TAP capabilities (`#aux`): only the TAP one itself counts.
    standard_id = (_attribute(capability, "standardID") or "").lower()
    xsi_type = _attribute(capability, "type") or ""
    return standard_id == _TAP_STANDARD_ID or xsi_type.rsplit(":", 1)[-1].endswith("TableAccess")


def _output_format(element: etree._Element) -> OutputFormat | None:
    mime = _text(_child(element, "mime"))
    if mime is None:
        return None  # nothing to send as FORMAT
    return OutputFormat(
        mime=mime,
        aliases=tuple(alias for alias in map(_text, _children(element, "alias")) if alias),
        description=_text(_child(element, "description")),
    )


def _limit(element: etree._Element | None, *, has_unit: bool) -> Limit:
    if element is None:
        return _NO_LIMIT
    default, default_unit = _bound(_child(element, "default"))
    hard, hard_unit = _bound(_child(element, "hard"))
    if not has_unit:
        return Limit(default=default, hard=hard, unit=None)
    # In TAPRegExt default and hard are each a DataLimit with its own unit; a hard
    # limit in bytes says nothing about a default in rows, so it is left unknown.
    if default_unit and hard_unit and hard_unit != default_unit:
        hard = None
    return Limit(default=default, hard=hard, unit=default_unit or hard_unit)


def _bound(element: etree._Element | None) -> tuple[int | None, str | None]:
    """A limit's value and unit; a negative or unreadable value is unknown, and so is its unit."""
    value = _int(_text(element))
    if element is None or value is None or value < 0:
        return None, None
    return value, _attribute(element, "unit") or None


def _language_names(language: etree._Element) -> list[str]:
    """Name-version strings such as ADQL-2.0, or the bare name if no version is given."""
    name = _text(_child(language, "name"))
    if name is None:
        return []
    versions = [version for version in map(_text, _children(language, "version")) if version]
    return [f"{name}-{version}" for version in versions] or [name]
