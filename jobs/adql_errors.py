"""Find where in the ADQL a service's error message points, to mark that spot.

Services word it differently: DaCHS "(line:1, col:8)" and "(at char 7)", others
"line 2, column 5" or "at line 2 column 5". Lines and columns count from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# At most 9 digits: a query has fewer lines and characters, and int() refuses huge numbers.
_LINE_COLUMN = re.compile(r"line\s*[:=]?\s*(\d{1,9})\s*,?\s*(?:col(?:umn)?)\s*[:=]?\s*(\d{1,9})\b", re.IGNORECASE)
_CHAR = re.compile(r"at\s+char(?:acter)?\s*[:=]?\s*(\d{1,9})\b", re.IGNORECASE)


@dataclass(frozen=True)
class QueryLine:
    number: int
    before: str  # the text before the marked character
    marked: str  # the marked character ("" on lines without a mark)
    after: str


def error_position(message: str, query: str) -> tuple[int, int] | None:
    """(line, column) the message names, if it names one inside the query."""
    lines = query.split("\n")
    match = _LINE_COLUMN.search(message)
    if match:
        line, column = int(match[1]), int(match[2])
    else:
        match = _CHAR.search(message)
        if not match:
            return None
        offset = int(match[1])  # 0-based offset into the query (DaCHS/pyparsing)
        if offset > len(query):
            return None
        before = query[:offset]
        line, column = before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
    if not 1 <= line <= len(lines) or not 1 <= column <= len(lines[line - 1]) + 1:
        return None
    return line, column


def marked_query(query: str, position: tuple[int, int]) -> list[QueryLine]:
    """The query line by line, with the character at `position` set apart."""
    line_number, column = position
    result = []
    for number, text in enumerate(query.split("\n"), start=1):
        if number == line_number:
            result.append(QueryLine(number, text[: column - 1], text[column - 1 : column] or " ", text[column:]))
        else:
            result.append(QueryLine(number, text, "", ""))
    return result


def error_spot(message: str | None, query: str | None) -> tuple[tuple[int, int], list[QueryLine]] | None:
    """((line, column), marked lines) when the error message points into the query."""
    if not message or not query:
        return None
    position = error_position(message, query)
    return (position, marked_query(query, position)) if position else None
