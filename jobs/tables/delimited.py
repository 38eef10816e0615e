"""CSV and TSV results (TAP 1.1 §2.7.1), read line by line as the bytes arrive."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from itertools import islice

from .reading import Column, Extent, Head, Preview, PreviewError, Row, Table, batched


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines of text, ends kept, decoded as UTF-8 as the bytes arrive; bad bytes are replaced."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    parts: list[str] = []
    for chunk in chunks:
        *lines, rest = decoder.decode(chunk).split("\n")
        if lines:
            lines[0] = "".join(parts) + lines[0]
            parts = []
            yield from (line + "\n" for line in lines)
        parts.append(rest)
    tail = "".join(parts) + decoder.decode(b"", final=True)
    if tail:
        yield tail


def _header(records: Iterator[list[str]]) -> list[str] | None:
    # DaCHS writes the table's PARAMs as "# name = value // description" lines before the header.
    for record in records:
        if record and not record[0].startswith("#"):
            return record
    return None


def _records(head: Head, kind: str) -> Iterator[list[str]]:
    # IANA's text/tab-separated-values has no quoting: a quote is an ordinary character.
    dialect = {"delimiter": ","} if kind == "csv" else {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    return csv.reader(_lines(head), **dialect)


def _names(width: int) -> list[str]:
    return [f"col{number}" for number in range(1, width + 1)]


def read_delimited(head: Head, kind: str, header: bool, max_rows: int) -> Preview:
    records = _records(head, kind)
    try:
        names = _header(records) if header else None
        rows = list(islice(records, max_rows + 1))
    except csv.Error as exc:
        raise PreviewError(f"malformed {kind.upper()}: {exc}") from None
    if head.read == 0:
        raise PreviewError(head.nothing_to_show() if head.late or head.broken else "the result is empty")
    if (head.late or head.broken) and not rows:
        raise PreviewError(head.nothing_to_show())
    more_rows = len(rows) > max_rows
    if head.cut and not more_rows:
        rows = rows[:-1]  # the last line read may be cut in half
        more_rows = True
    if names is None:
        if header:
            raise PreviewError(f"the {kind.upper()} result has no header line")
        names = _names(max(map(len, rows), default=0))
    width = len(names)
    return Preview(
        format=kind,
        serialization=None,
        columns=tuple(Column(name, None, None, None, None, None) for name in names),
        rows=tuple(tuple(cell or None for cell in (row + [""] * width)[:width]) for row in rows[:max_rows]),
        more_rows=more_rows,
        query_status=None,
        status_message=None,
    )


def stream_delimited(head: Head, kind: str, header: bool) -> Table:
    """Every row of a CSV or TSV result, as the lines arrive; the columns are those of its header line
    (or of its first line, col1, col2..., when it has none), and every row is cut or padded to them."""
    records = _records(head, kind)
    try:
        first = _header(records) if header else next(records, None)
    except csv.Error as exc:
        raise PreviewError(f"malformed {kind.upper()}: {exc}") from None
    if head.broken:
        raise PreviewError(f"the transfer broke off after {head.read} bytes")
    if first is None:
        raise PreviewError(f"the {kind.upper()} result has no header line" if header else "the result is empty")
    names = first if header else _names(len(first))
    width = len(names)

    def row(record: list[str]) -> Row:
        return tuple(cell or None for cell in (record + [""] * width)[:width])

    def rows() -> Iterator[Row]:
        if not header:
            yield row(first)
        try:
            yield from map(row, records)
        except csv.Error as exc:
            raise PreviewError(f"malformed {kind.upper()}: {exc}") from None
        if head.broken:
            raise PreviewError(f"the transfer broke off after {head.read} bytes")

    return Table(kind, None, tuple(Column(name, None, None, None, None, None) for name in names), batched(rows()))


def count_delimited(head: Head, kind: str, header: bool) -> Extent:
    """The rows of a CSV or TSV result, counted to its end or to the bounds of `head` (a line cut there is not
    counted)."""
    table = stream_delimited(head, kind, header)
    rows = sum(1 for _ in table.rows)
    if head.cut and rows:
        rows -= 1  # the last line read may be cut in half
    return Extent(rows, not head.cut, head.read, None, None)
