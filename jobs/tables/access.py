"""The files behind the rows: the columns that hold their URLs (ObsCore's access_url, or a UCD of
meta.ref.url), links for the preview, and a download script written as the result streams through.

The portal never fetches these URLs itself: it only shows them, or writes them into a script
the user runs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from .reading import PIECE, Column, Row, Table

# ObsCore 1.1 §4.7: access_format names a DataLink document with this media type (DataLink 1.1 §3.3).
_DATALINK = "application/x-votable+xml;content=datalink"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Link:
    url: str
    datalink: bool  # the URL gives a DataLink document (the links to the files), not the file


class NoFiles(ValueError):
    """The result names no files: it has no access_url column, nor one of UCD meta.ref.url."""


def _is_url_column(column: Column) -> bool:
    words = {word.strip().lower() for word in (column.ucd or "").split(";")}
    return column.name.lower() == "access_url" or "meta.ref.url" in words


def _index(columns: tuple[Column, ...], name: str) -> int | None:
    return next((index for index, column in enumerate(columns) if column.name.lower() == name), None)


_BLANK_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# An http or https URL with a host (RFC 3986 §3: the authority runs to the first "/", "?" or "#"), and its path.
_HTTP_URL = re.compile(r"(?i:https?)://[^/?#]+([^?#]*)")


def _http_url(text: str | None) -> re.Match[str] | None:
    if not text or _BLANK_OR_CONTROL.search(text):
        return None
    return _HTTP_URL.match(text)


def http_url(text: str | None) -> str | None:
    """The text if it is an http or https URL with a host and no white space or control characters, else None."""
    return text if _http_url(text) else None


def is_datalink(access_format: str | None) -> bool:
    return "".join((access_format or "").split()).lower() == _DATALINK


def row_links(columns: tuple[Column, ...], rows: tuple[Row, ...]) -> list[tuple[Link | None, ...]]:
    """For each row of a preview, the link each cell makes (None: it is shown as text)."""
    url_columns = {index for index, column in enumerate(columns) if _is_url_column(column)}
    if not url_columns:
        return [(None,) * len(columns) for _ in rows]
    formats = _index(columns, "access_format")
    links = []
    for row in rows:
        datalink = formats is not None and is_datalink(row[formats])
        links.append(
            tuple(
                Link(url, datalink and columns[index].name.lower() == "access_url")
                if index in url_columns and (url := http_url(cell))
                else None
                for index, cell in enumerate(row)
            )
        )
    return links


def has_files(columns: tuple[Column, ...]) -> bool:
    return any(map(_is_url_column, columns))


def download_script(table: Table, title: str) -> Iterator[bytes]:
    """A shell script of one curl line per file, written as the rows arrive; NoFiles if the table names none.

    The URL is ObsCore's access_url if the table has it, else the first column of UCD meta.ref.url.
    Each file gets a name of its own (the row's number, then the last part of the URL's path),
    so that no line overwrites another's file. The total of access_estsize (kB, ObsCore 1.1
    §4.7) comes last, as the rows must all have been read to know it.
    """
    url = _index(table.columns, "access_url")
    if url is None:
        url = next((index for index, column in enumerate(table.columns) if _is_url_column(column)), None)
    if url is None:
        raise NoFiles("the result has no column of file URLs (access_url, or a column of UCD meta.ref.url)")
    return _script(table, title, url, _index(table.columns, "access_format"), _index(table.columns, "access_estsize"))


def _script(table: Table, title: str, url: int, formats: int | None, sizes: int | None) -> Iterator[bytes]:
    def comment(text: str) -> str:  # a newline in a name must not start a command
        return " ".join(text.split())

    lines = [
        "#!/bin/sh",
        f"# The files behind the rows of {comment(title)}, one curl line each.",
        "# A line marked DataLink fetches the row's DataLink document (a VOTable of links to its files).",
        f"# Made by the TAP job portal from the column {comment(table.columns[url].name)}; run it with sh.",
        "",
    ]
    files = datalinks = skipped = 0
    kilobytes = 0.0
    sized = False
    pending = 0  # characters in lines
    for number, row in enumerate(table.rows, start=1):
        found = _http_url(row[url])
        if found is None:
            skipped += 1
            continue
        target = found.string
        files += 1
        datalink = formats is not None and is_datalink(row[formats])
        datalinks += datalink
        name = _UNSAFE_NAME.sub("_", found[1].rsplit("/", 1)[-1]).strip("._") or "file"
        name = f"{number:06d}-{name}{'.datalink.xml' if datalink else ''}"
        line = f"curl -fL -o {shlex.quote(name)} {shlex.quote(target)}"
        lines.append(f"{line}  # DataLink" if datalink else line)
        if sizes is not None and (size := _number(row[sizes])) is not None:
            kilobytes += size
            sized = True
        pending += len(line)
        if pending >= PIECE:
            yield _text(lines)
            lines, pending = [], 0
    lines += [
        "",
        f"# {files} file{'s' if files != 1 else ''}"
        + (f", {datalinks} of them DataLink documents" if datalinks else ""),
    ]
    if sized:
        lines.append(f"# access_estsize in all: {_size(kilobytes)}")
    if skipped:
        lines.append(f"# {skipped} row{'s' if skipped != 1 else ''} without an http or https URL left out")
    yield _text(lines)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _size(kilobytes: float) -> str:
    for unit, factor in (("TB", 1e9), ("GB", 1e6), ("MB", 1e3)):
        if kilobytes >= factor:
            return f"{kilobytes / factor:.1f} {unit} ({kilobytes:.0f} kB)"
    return f"{kilobytes:.0f} kB"


def _text(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()
