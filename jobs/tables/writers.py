"""Writers of a streamed `Table`: each takes its rows as they come and gives bytes in pieces.

A writer keeps at most one piece of output: what it has written is handed on before the
next rows are read, so the memory it needs does not grow with the result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import groupby

from .reading import PIECE, Table


def csv_chunks(table: Table) -> Iterator[bytes]:
    """The table as CSV (RFC 4180: CRLF line ends, quotes where needed) with a header row of the column names.

    Cells are the preview's text (arrays as their items joined by spaces); NULL is an empty cell. A table
    streamed with `csv=True` may give runs of rows already written (bytes: plain TABLEDATA rows whose
    numbers keep the service's text), which pass through as they are.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(column.name for column in table.columns)
    for batch in table.batches:
        for written, items in groupby(batch, key=_written):
            if written:
                if buffer.tell():
                    yield _drain(buffer)
                yield from items
            else:
                writer.writerows(items)
        if buffer.tell() >= PIECE:
            yield _drain(buffer)
    yield _drain(buffer)


def _written(item: object) -> bool:
    return isinstance(item, bytes)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()
