"""A preview of a job's result: its column metadata and first rows, read from the head of the body.

A result may be gigabytes. `preview` consumes the body's chunks one at a time and stops as
soon as it has the rows it shows (or has read `max_bytes`), so a preview costs the same for
any size of result. Bytes in, a frozen `Preview` out: nothing here knows Django or the network.

What a preview does with a body it cannot read to the end:
- at `max_bytes`, or after `max_seconds` (a service that trickles its result), it gives the
  rows read by then, with `more_rows=True` (no rows if the first is larger than that); if
  what was read by then holds no table data, that is a `PreviewError`;
- a body that ends early (a dropped connection: its chunks end, or raise ConnectionError)
  gives the rows read so far, with `more_rows=True`; if it ends before the first row, that
  is a `PreviewError`;
- a body that is broken (not XML, bad base64, a BINARY row cut off inside a complete
  STREAM) is a `PreviewError`, whatever was read before it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable

from .delimited import count_delimited, read_delimited, stream_delimited
from .reading import MAX_SECONDS, Column, Extent, Head, Preview, PreviewError, Row, Table
from .votable import count_votable, read_votable, stream_votable

__all__ = ["Column", "Extent", "Preview", "PreviewError", "Row", "Table", "extent", "preview", "previewable", "stream"]

_VOTABLE_TYPES = frozenset({"application/x-votable+xml", "application/votable+xml", "text/xml", "application/xml"})
_DELIMITED_TYPES = {"text/csv": "csv", "text/tab-separated-values": "tsv"}


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """The lower-cased media type and parameters of a Content-Type header."""
    media_type, *parameters = content_type.split(";")
    pairs = (parameter.partition("=") for parameter in parameters)
    return media_type.strip().lower(), {
        key.strip().lower(): value.strip().strip('"').lower() for key, _, value in pairs
    }


def previewable(content_type: str) -> str | None:
    """The preview a result of this content type gets ("votable", "csv", "tsv"), or None: download only.

    These are the types TAP 1.1 names for VOTable, CSV and TSV and those of DaCHS's FORMAT aliases (votable,
    votable/b2, votable/td, votable1.1, csv, csv_bare, tsv...); text/xml and application/xml
    are previewed when the body turns out to be a VOTable.
    """
    media_type, _ = _media_type(content_type)
    if media_type in _VOTABLE_TYPES:
        return "votable"
    return _DELIMITED_TYPES.get(media_type)


def preview(
    chunks: Iterable[bytes],
    content_type: str,
    *,
    max_rows: int = 100,
    max_bytes: int = 16 * 1024 * 1024,
    max_seconds: float | None = None,
) -> Preview:
    """The metadata and first `max_rows` rows of a result, read within `max_bytes` and `max_seconds`.

    The chunks are consumed lazily and left unfinished once the preview is complete: closing
    the response is the caller's job.
    """
    kind = _readable(content_type)
    head = Head(chunks, max_bytes, MAX_SECONDS if max_seconds is None else max_seconds)
    if kind == "votable":
        return read_votable(head, max_rows)
    return read_delimited(head, kind, _has_header(content_type, kind), max_rows)


def stream(chunks: Iterable[bytes], content_type: str, *, csv: bool = False) -> Table:
    """The whole result, row after row, in constant memory: the preview's readers without their limits.

    A download takes as long as it takes, so there is no byte limit and no deadline; reading
    the metadata happens here, reading the rows when `Table.rows` is iterated. With `csv` (for
    the CSV writer only), a batch may hold runs of TABLEDATA rows already written as CSV, as bytes.
    """
    kind = _readable(content_type)
    head = Head(chunks, sys.maxsize, math.inf)
    if kind == "votable":
        return stream_votable(head, csv)
    return stream_delimited(head, kind, _has_header(content_type, kind))


def extent(chunks: Iterable[bytes], content_type: str, *, max_bytes: int, max_seconds: float) -> Extent:
    """How many rows the result holds and its last QUERY_STATUS, read to its end within `max_bytes` and
    `max_seconds`, in constant memory: every row is dropped once counted."""
    kind = _readable(content_type)
    head = Head(chunks, max_bytes, max_seconds)
    if kind == "votable":
        return count_votable(head)
    return count_delimited(head, kind, _has_header(content_type, kind))


def _readable(content_type: str) -> str:
    kind = previewable(content_type)
    if kind is None:
        raise PreviewError(f"a result of type {content_type.strip() or 'unknown'} has no preview: download it instead")
    return kind


def _has_header(content_type: str, kind: str) -> bool:
    # TAP 1.1 (Successful Queries): CSV has a header line only when its type says header=present (DaCHS's
    # csv_bare has none); IANA's text/tab-separated-values always has one (DaCHS's tsv has not).
    _, parameters = _media_type(content_type)
    return parameters.get("header", "present" if kind == "tsv" else "absent") == "present"
