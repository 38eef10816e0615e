"""What every reader of a result shares: the table it gives, its failure, and the head of the body it reads.

A result may be gigabytes. A reader consumes the body's chunks one at a time through a
`Head`, which stops at a byte limit or a deadline and notes a body that broke off.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice

Row = tuple[str | None, ...]  # cells as display text; None is NULL


@dataclass(frozen=True)
class Column:
    name: str
    datatype: str | None
    unit: str | None
    ucd: str | None
    arraysize: str | None
    description: str | None


@dataclass(frozen=True)
class Preview:
    format: str  # "votable", "csv" or "tsv"
    serialization: str | None  # "TABLEDATA", "BINARY" or "BINARY2" for a VOTable with data
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    more_rows: bool  # the result has, or may have, rows beyond these (or beyond the bytes read)
    query_status: str | None  # the last INFO name="QUERY_STATUS" read (DALI 1.1 §4.4)
    status_message: str | None  # that INFO's text

    @property
    def overflow(self) -> bool:
        """The service cut the result at its row limit (DALI 1.1 §4.4.1)."""
        return self.query_status == "OVERFLOW"


@dataclass(frozen=True)
class Table:
    """A whole result as a stream: its columns, read before anything else, then its rows as they arrive.

    Iterating `batches` (the rows of each piece read, as a list) or `rows` reads the rest of the
    body, a piece at a time, and keeps none of it: a CSV conversion or a download script costs the
    same memory for any size of result. A body that turns out broken, or breaks off, raises
    PreviewError from the iteration.
    """

    format: str
    serialization: str | None
    columns: tuple[Column, ...]
    batches: Iterator[list[Row]]

    @property
    def rows(self) -> Iterator[Row]:
        return chain.from_iterable(self.batches)


@dataclass(frozen=True)
class Extent:
    """How many rows a result holds and what its last QUERY_STATUS says, read to its end or to a bound."""

    rows: int  # rows counted (all of them when `complete`)
    complete: bool  # read to the end; else the byte or time bound came first
    bytes_read: int
    query_status: str | None  # the last INFO name="QUERY_STATUS" (DALI 1.1 §4.4); None for CSV and TSV
    status_message: str | None

    @property
    def overflow(self) -> bool:
        """The service says it cut the result at its row limit (DALI 1.1 §4.4.1)."""
        return self.query_status == "OVERFLOW"


def batched(rows: Iterator[Row], size: int = 1000) -> Iterator[list[Row]]:
    """The rows in lists of `size` (the last may be shorter)."""
    while batch := list(islice(rows, size)):
        yield batch


class PreviewError(ValueError):
    """The result cannot be previewed (or read to its end); the message says why in words a user understands."""


PIECE = 64 * 1024  # bytes handed to a parser at a time, so reading stops soon after the last row shown
# A preview is a page someone waits for: a result that comes slower than this is shown as far as it came.
MAX_SECONDS = 30.0


class Head:
    """The body's chunks up to `max_bytes` and `max_seconds`, cut into pieces small enough to stop early."""

    def __init__(self, chunks: Iterable[bytes], max_bytes: int, max_seconds: float) -> None:
        self._chunks = chunks
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.read = 0
        self.cut = False  # stopped at max_bytes or max_seconds, or broken off, with more of the body left
        self.late = False  # stopped at max_seconds
        self.broken = False  # the chunks raised ConnectionError

    def nothing_to_show(self) -> str:
        """Why what was read holds no table data."""
        if self.broken:
            return "the transfer broke off before the first row"
        if self.late:
            return f"the service sent too little of the result in {self.max_seconds:.0f} s to show any rows"
        return f"the first {self.max_bytes} bytes of the result hold no table data"

    def __iter__(self) -> Iterator[bytes]:
        deadline = time.monotonic() + self.max_seconds
        try:
            for chunk in self._chunks:
                if time.monotonic() > deadline:
                    self.cut = self.late = True
                    return
                for start in range(0, len(chunk), PIECE):
                    piece = chunk[start : start + PIECE]
                    room = self.max_bytes - self.read
                    if len(piece) > room:
                        self.cut = True
                        self.read += room
                        if room:
                            yield piece[:room]
                        return
                    self.read += len(piece)
                    yield piece
        except ConnectionError:
            self.cut = self.broken = True
