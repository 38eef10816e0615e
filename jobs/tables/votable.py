"""VOTable results (TABLEDATA, BINARY, BINARY2; VOTable 1.4), read as a stream with lxml's pull parser."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

from lxml import etree

from ..uws.parse import XML_HARDENING
from .cells import DATATYPES, BinaryStream, Field, null_value, parse_arraysize, tabledata_cell
from .reading import Column, Extent, Head, Preview, PreviewError, Row, Table
from .tabledata import as_written, plain_csv, plain_rows


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attribute(attrib: dict[str, str], name: str) -> str | None:
    return (attrib.get(name) or "").strip() or None


class _VOTableReader:
    """An lxml parser target that keeps the first TABLE's FIELDs and first rows, and the last
    QUERY_STATUS INFO, wherever it is; it never builds a tree."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.path: list[str] = []  # local names of the open elements
        self.table: str | None = None  # the first TABLE: None (not yet), "meta", "data", "ended"
        self.columns: list[Column] = []
        self.fields: list[Field] = []
        self.field: dict[str, str] = {}  # the open FIELD's attributes; its DESCRIPTION and VALUES null by element name
        self.serialization: str | None = None
        self.stream: BinaryStream | None = None
        self.row: list[str] | None = None  # the open TR's TD texts
        self.rows: list[Row] = []  # and, for `stream_votable(csv=True)`, rows already written as CSV (bytes)
        self.more_rows = False
        self.done = False  # enough read: the caller stops feeding
        self.collecting: str | None = None  # the element whose text is being kept
        self.text: list[str] = []
        self.query_status: str | None = None
        self.status_message: str | None = None

    def doctype(self, name: str, public_id: str | None, system_id: str | None) -> None:
        # No VOTable result needs a DTD; a DOCTYPE is how entity expansion attacks (billion
        # laughs) get in, and lxml expands internal entities for a parser target regardless.
        raise PreviewError("the result declares a DTD (<!DOCTYPE>), which a VOTable result never needs: refused")

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.done:
            return
        name = _local(tag)
        parent = self.path[-1] if self.path else None
        self.path.append(name)
        if parent is None and name != "VOTABLE":
            raise PreviewError(f"not a VOTable: the document is <{name}>")
        if name == "INFO" and _attribute(attrib, "name") == "QUERY_STATUS":
            self.query_status = (_attribute(attrib, "value") or "").upper() or None
            self._collect(name)
        elif name == "TABLE" and self.table is None:
            self.table = "meta"
        elif self.table == "meta":
            self._start_meta(name, parent, attrib)
        elif self.table == "data":
            self._start_data(name, parent, attrib)

    def _start_meta(self, name: str, parent: str | None, attrib: dict[str, str]) -> None:
        if name == "FIELD" and parent == "TABLE":
            self.field = dict(attrib)
        elif name == "DESCRIPTION" and parent == "FIELD":
            self._collect(name)
        elif name == "VALUES" and parent == "FIELD":
            self.field["VALUES"] = attrib.get("null") or ""
        elif name == "DATA" and parent == "TABLE":
            if not self.fields:
                raise PreviewError("the VOTable's table has data but no FIELD to read it with")
            self.table = "data"

    def _start_data(self, name: str, parent: str | None, attrib: dict[str, str]) -> None:
        if parent == "DATA":
            if name == "FITS":
                raise PreviewError("the table is serialised as FITS inside the VOTable, which has no preview")
            self.serialization = name
        elif name == "STREAM" and parent in ("BINARY", "BINARY2"):
            self.stream = self._open_stream(parent, attrib)
        elif name == "TR" and parent == "TABLEDATA":
            if len(self.rows) == self.max_rows:
                self.more_rows = self.done = True
            else:
                self.row = []
        elif name == "TD" and self.row is not None:
            self._collect(name)

    def _open_stream(self, serialization: str, attrib: dict[str, str]) -> BinaryStream:
        if _attribute(attrib, "href"):
            raise PreviewError("the table's data is in another file (STREAM href), which the preview does not fetch")
        if (_attribute(attrib, "encoding") or "").lower() != "base64":
            raise PreviewError(f"the {serialization} stream is not base64-encoded, which the preview cannot read")
        for field in self.fields:
            if field.datatype not in DATATYPES:
                datatype = field.datatype or "(none)"
                raise PreviewError(f"a column of datatype {datatype} cannot be read in {serialization}")
        return BinaryStream(self.fields, serialization)

    def _collect(self, name: str) -> None:
        self.collecting = name
        self.text = []

    def data(self, text: str) -> None:
        if self.done:
            return
        if self.collecting:
            self.text.append(text)
        elif self.stream:
            self.stream.feed(text)
            self._take_rows(self.stream)

    def end(self, tag: str) -> None:
        if self.done:
            return
        name = self.path.pop()
        parent = self.path[-1] if self.path else None
        if name == self.collecting:
            self._end_text(name, "".join(self.text))
        elif name == "FIELD" and parent == "TABLE" and self.table == "meta":
            self._add_field()
        elif name == "TR" and self.row is not None:
            cells = [tabledata_cell(field, text) for field, text in zip(self.fields, self.row, strict=False)]
            self.rows.append(tuple(cells + [None] * (len(self.fields) - len(cells))))
            self.row = None
        elif name == "STREAM" and self.stream:
            self._end_stream(self.stream)
        elif name == "TABLE" and self.table in ("meta", "data"):
            self.table = "ended"

    def _end_text(self, name: str, text: str) -> None:
        self.collecting = None
        if name == "INFO":
            self.status_message = text.strip() or None
        elif name == "DESCRIPTION":
            self.field["DESCRIPTION"] = text
        elif self.row is not None:
            self.row.append(text)

    def _add_field(self) -> None:
        attributes = {key: _attribute(self.field, key) for key in ("name", "datatype", "unit", "ucd", "arraysize")}
        column = Column(
            name=attributes["name"] or _attribute(self.field, "ID") or "",
            datatype=attributes["datatype"],
            unit=attributes["unit"],
            ucd=attributes["ucd"],
            arraysize=attributes["arraysize"],
            description=_attribute(self.field, "DESCRIPTION"),
        )
        try:
            dimensions, variable = parse_arraysize(column.arraysize)
        except ValueError:
            raise PreviewError(f"column {column.name}: arraysize {column.arraysize!r} is not valid") from None
        datatype = column.datatype or ""
        self.columns.append(column)
        self.fields.append(Field(datatype, dimensions, variable, null_value(datatype, self.field.get("VALUES"))))

    def _take_rows(self, stream: BinaryStream) -> None:
        self.rows += stream.take(self.max_rows - len(self.rows))
        if len(self.rows) == self.max_rows and stream.pending():
            self.more_rows = self.done = True

    def _end_stream(self, stream: BinaryStream) -> None:
        stream.finish()
        self._take_rows(stream)
        if not self.done and stream.bytes:
            raise PreviewError(f"malformed {stream.serialization} stream: it ends in the middle of a row")
        self.stream = None

    def close(self) -> None:
        """The end of a complete document (lxml requires the method of a parser target)."""

    def take(self) -> list[Row]:
        """The rows read since the last call, given up (a stream keeps no more than one piece's rows)."""
        rows, self.rows = self.rows, []
        return rows

    def preview(self, *, more_rows: bool = False) -> Preview:
        return Preview(
            format="votable",
            serialization=self.serialization,
            columns=tuple(self.columns),
            rows=tuple(self.rows),
            more_rows=self.more_rows or more_rows,
            query_status=self.query_status,
            status_message=self.status_message,
        )


def _reason(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message, without lxml's "(<string>, line 1)"."""
    return (exc.msg or exc.__class__.__name__).splitlines()[0]


def _not_xml(exc: etree.XMLSyntaxError) -> PreviewError:
    return PreviewError(f"not a VOTable: the result is not well-formed XML ({_reason(exc)})")


def _fed(head: Head, parser: etree.XMLParser) -> Iterator[None]:
    """Feed the parser the body a piece at a time, pausing after each so that its rows can be taken."""
    for piece in head:
        try:
            parser.feed(piece)
        except etree.XMLSyntaxError as exc:
            raise _not_xml(exc) from None
        yield


_TABLEDATA, _TABLEDATA_END, _TR_END = b"<TABLEDATA>", b"</TABLEDATA>", b"</TR>"
_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_BATCH = 16 * 1024  # bytes of rows read in bulk at a time: the copies made of them stay small
_LONGEST_ROW = 16 * 1024 * 1024  # a "row" longer than this is no plain row: lxml reads on


def _utf8(start: bytes) -> bool:
    """Whether a document beginning so is UTF-8 (or ASCII), as the bulk reading of rows needs."""
    if start.startswith((b"\xfe\xff", b"\xff\xfe")):
        return False
    declared = _ENCODING.match(start.removeprefix(b"\xef\xbb\xbf"))
    return declared is None or declared[1].lower() in (b"utf-8", b"utf8", b"us-ascii", b"ascii")


def _fed_rows(head: Head, parser: etree.XMLParser, reader: _VOTableReader, csv: bool = False) -> Iterator[None]:
    """`_fed` for a result read to its end: the rows of a TABLEDATA in their plain form are read in bulk
    (tabledata.py), whole rows at a time, rather than element by element through lxml. With `csv`, rows
    whose text is already CSV are written as CSV there (`tabledata.plain_csv`) and given as bytes.

    lxml reads the document up to the TABLEDATA's start tag, and from its end tag on; whatever in between
    is not plain goes to lxml as well, from the start of a row, so that it reads on from where it stood.
    Once such bytes hold a comment, CDATA or anything after which lxml may not stand at a row's end, lxml
    reads the rest of the document.
    """
    state = "head"  # "head": up to <TABLEDATA>; "rows": rows read in bulk; "lxml": lxml reads on
    written = False  # rows are written as CSV where they can be
    kept = b""  # bytes not yet given to anyone: a start tag cut by a piece's end, or the rows' unfinished end

    def feed(data: bytes) -> None:
        try:
            parser.feed(data)
        except etree.XMLSyntaxError as exc:
            raise _not_xml(exc) from None

    def rows(batch: bytes) -> bool:
        """Read whole rows in bulk, a few at a time, or give them to lxml; False once lxml must read on."""
        if written and (text := plain_csv(batch, reader.fields)) is not None:
            reader.rows.append(text)
            return True
        start = 0
        while start < len(batch):
            end = batch.rfind(_TR_END, start, start + _BATCH)
            if end < 0:  # a row longer than a batch
                end = batch.find(_TR_END, start)
            end = len(batch) if end < 0 else end + len(_TR_END)
            if not _rows(batch[start:end]):
                feed(batch[end:])
                return False
            start = end
        return True

    def _rows(batch: bytes) -> bool:
        taken = plain_rows(batch, reader.fields)
        if taken is not None:
            reader.rows.extend(taken)
            return True
        before = len(reader.rows)
        feed(batch)
        in_step = b"<!" not in batch and b"<?" not in batch and len(reader.rows) - before == batch.count(_TR_END)
        return in_step and reader.row is None and reader.path[-1:] == ["TABLEDATA"]

    start = b""  # the document's first bytes, for its encoding
    for piece in head:
        if state == "head":
            start += piece[: 1024 - len(start)]
            data, kept = kept + piece, b""
            at = data.find(_TABLEDATA)
            if at < 0:
                keep = len(_TABLEDATA) - 1
                feed(data[:-keep])
                kept = data[-keep:]
                yield
                continue
            feed(data[: at + len(_TABLEDATA)])
            at_rows = reader.serialization == "TABLEDATA" and reader.path[-1:] == ["TABLEDATA"] and reader.fields
            state = "rows" if at_rows and _utf8(start) else "lxml"
            written = csv and state == "rows" and as_written(reader.fields)
            piece = data[at + len(_TABLEDATA) :]
        if state == "rows":
            data = kept + piece
            end = data.find(_TABLEDATA_END)
            cut = end if end >= 0 else data.rfind(_TR_END) + len(_TR_END)
            if end >= 0 or cut >= len(_TR_END):
                kept = data[cut:]
                if not rows(data[:cut]) or end >= 0:
                    state, piece, kept = "lxml", kept, b""
            else:
                kept = data
                if len(kept) > _LONGEST_ROW:
                    state, piece, kept = "lxml", kept, b""
        if state == "lxml":
            feed(piece)
        yield
    if kept:
        feed(kept)
        yield


def read_votable(head: Head, max_rows: int) -> Preview:
    reader = _VOTableReader(max_rows)
    parser = etree.XMLParser(target=reader, **XML_HARDENING)
    for _ in _fed(head, parser):
        if reader.done:
            return reader.preview()
    if head.read == 0:
        raise PreviewError(head.nothing_to_show() if head.late or head.broken else "the result is empty")
    if head.cut:
        if reader.table in (None, "meta"):
            raise PreviewError(head.nothing_to_show())
        return reader.preview(more_rows=reader.table == "data")
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        # The body ended before the document did: a dropped connection, or a service that died.
        if not reader.path:
            raise _not_xml(exc) from None
        if not reader.rows and reader.table != "ended":
            raise PreviewError("the VOTable is cut short before its first row") from None
        return reader.preview(more_rows=reader.table != "ended")
    return reader.preview()


def stream_votable(head: Head, csv: bool = False) -> Table:
    """The first table of a VOTable, every row of it: the preview's reader, its rows taken after each piece.

    The columns are read here, before the first row; errors the service put in place of a table
    (QUERY_STATUS=ERROR, DALI 1.1 §4.4) are a PreviewError now, while a response can still say so.
    With `csv`, runs of rows may come already written as CSV, as bytes among the rows of a batch.
    """
    reader = _VOTableReader(sys.maxsize)  # never reached: the rows are taken away after every piece
    parser = etree.XMLParser(target=reader, **XML_HARDENING)
    steps = _fed_rows(head, parser, reader, csv)
    ended = False
    for _ in steps:
        if reader.table not in (None, "meta"):
            break
    else:
        _end(head, parser, reader)
        ended = True
    if not reader.columns:
        if reader.query_status == "ERROR":
            raise PreviewError(f"the service reports an error instead of rows: {reader.status_message or 'no message'}")
        raise PreviewError("the VOTable holds no table")

    def batches() -> Iterator[list[Row]]:
        yield reader.take()
        for _ in steps:
            yield reader.take()
        if not ended:
            _end(head, parser, reader)
        yield reader.take()

    return Table("votable", reader.serialization, tuple(reader.columns), batches())


def count_votable(head: Head) -> Extent:
    """The rows of the first table counted (and dropped, piece by piece) and the last QUERY_STATUS.

    The INFO that says OVERFLOW may come after the table (VOLLT and DaCHS put it there), so the
    body is read to its end, or to the bounds of `head`.
    """
    reader = _VOTableReader(sys.maxsize)
    parser = etree.XMLParser(target=reader, **XML_HARDENING)
    rows = 0
    for _ in _fed_rows(head, parser, reader):
        rows += len(reader.take())
    complete = not head.cut
    if head.broken or complete:
        _end(head, parser, reader)
        rows += len(reader.take())
    if reader.table is None and complete and reader.query_status != "ERROR":
        raise PreviewError("the VOTable holds no table")
    return Extent(rows, complete, head.read, reader.query_status, reader.status_message)


def _end(head: Head, parser: etree.XMLParser, reader: _VOTableReader) -> None:
    """The end of the body: it must be the end of the document too, or the stream was cut short."""
    if head.broken:
        raise PreviewError(f"the transfer broke off after {head.read} bytes")
    if head.read == 0:
        raise PreviewError("the result is empty")
    try:
        parser.close()
    except etree.XMLSyntaxError as exc:
        if not reader.path:
            raise _not_xml(exc) from None
        raise PreviewError(f"the VOTable ends after {head.read} bytes, before the end of its document") from None
