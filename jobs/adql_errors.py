"""Find where in the ADQL a service's error message points, to mark that spot.

Services word it differently. Lines and columns count from 1:
- DaCHS "(line:1, col:8)" and "(at char 7)" (a 0-based offset);
- others "line 2, column 5", "at line 2 column 5";
- VOLLT (ESO's services) "[l.1 c.8 - l.1 c.17]", a range whose end is the column after it,
  and "at l.1, c.23";
- a list of "(line, column, token)" triples, each token marked;
- VOLLT's syntax errors name only the token (`Encountered "SELEC"`): its first occurrence
  in the query is marked, and the page says it was found by the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# At most 9 digits: a query has fewer lines and characters, and int() refuses huge numbers.
_N = r"(\d{1,9})"
_RANGE = re.compile(rf"\[\s*l\.\s*{_N}\s*,?\s*c\.\s*{_N}\s*-\s*l\.\s*{_N}\s*,?\s*c\.\s*{_N}\s*\]", re.IGNORECASE)
_L_C = re.compile(rf"\bl\.\s*{_N}\s*,?\s*c\.\s*{_N}", re.IGNORECASE)
_TRIPLE = re.compile(rf"\(\s*{_N}\s*,\s*{_N}\s*,\s*(['\"])(.+?)\3\s*\)")
_LINE_COLUMN = re.compile(rf"line\s*[:=]?\s*{_N}\s*,?\s*(?:col(?:umn)?)\s*[:=]?\s*{_N}\b", re.IGNORECASE)
_CHAR = re.compile(rf"at\s+char(?:acter)?\s*[:=]?\s*{_N}\b", re.IGNORECASE)
_ENCOUNTERED = re.compile(r"Encountered\s+\"(.+?)\"(?=[\s.,;:]|$)")
_EOF = "<EOF>"

Position = tuple[int, int]  # (line, column), both from 1


@dataclass(frozen=True)
class QueryLine:
    number: int
    segments: tuple[tuple[str, bool], ...]  # (text, marked), in order

    @property
    def marked(self) -> bool:
        return any(marked for _, marked in self.segments)


@dataclass(frozen=True)
class ErrorSpot:
    """The spans of the query a message points at, and the query marked there."""

    spans: tuple[tuple[Position, Position], ...]  # [start, end) each
    lines: tuple[QueryLine, ...]
    token: str | None = None  # set when the spot was found by the token the message names

    @property
    def start(self) -> Position:
        return self.spans[0][0]

    def describe(self) -> str:
        """Where the spot is, in words."""
        if self.token is not None:
            if self.token == _EOF:
                return "The service names the end of the query but no position; the end is marked here:"
            return (
                f"The service names \u201c{self.token}\u201d but no position; "
                "its first occurrence in the query is marked here:"
            )
        if len(self.spans) > 1:
            return f"The service points at {len(self.spans)} places in the query, marked here:"
        (line, column), (end_line, end_column) = self.spans[0]
        if (end_line, end_column) == (line, column + 1):
            return f"The service points at line {line}, column {column} of the query, marked here:"
        if end_line == line:
            return (
                f"The service points at line {line}, columns {column}\u2013{end_column - 1} of the query, marked here:"
            )
        return (
            f"The service points at line {line}, column {column} to line {end_line}, column {end_column - 1} "
            "of the query, marked here:"
        )


def error_spot(message: str | None, query: str | None) -> ErrorSpot | None:
    """The spot the error message points at inside the query, if it names one there."""
    if not message or not query:
        return None
    lines = query.split("\n")
    spans, token = _spans(message, query, lines)
    spans = [span for span in spans if _inside(span, lines)]
    if not spans:
        return None
    return ErrorSpot(tuple(spans), tuple(_marked(lines, spans)), token)


def error_position(message: str, query: str) -> Position | None:
    """(line, column) where the spot the message names starts, if it is inside the query."""
    spot = error_spot(message, query)
    return spot.start if spot else None


def _spans(message: str, query: str, lines: list[str]) -> tuple[list[tuple[Position, Position]], str | None]:
    match = _RANGE.search(message)
    if match:
        line, column, end_line, end_column = map(int, match.groups())
        if (end_line, end_column) <= (line, column):
            end_line, end_column = line, column + 1
        return [((line, column), (end_line, end_column))], None
    triples = _TRIPLE.findall(message)
    if triples:
        return [
            ((int(line), int(column)), (int(line), int(column) + len(token))) for line, column, _, token in triples
        ], None
    match = _LINE_COLUMN.search(message) or _L_C.search(message)
    if match:
        line, column = int(match[1]), int(match[2])
        return [((line, column), (line, column + 1))], None
    match = _CHAR.search(message)
    if match:
        offset = int(match[1])  # 0-based offset into the query (DaCHS/pyparsing)
        if offset > len(query):
            return [], None
        before = query[:offset]
        line, column = before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
        return [((line, column), (line, column + 1))], None
    match = _ENCOUNTERED.search(message)
    if match:
        return _by_token(match[1], lines), match[1]
    return [], None


def _by_token(token: str, lines: list[str]) -> list[tuple[Position, Position]]:
    """The first occurrence of the token (exactly, else in any case); the end of the query for <EOF>."""
    if token == _EOF:
        return [((len(lines), len(lines[-1]) + 1), (len(lines), len(lines[-1]) + 2))]
    for fold in (lambda text: text, str.lower):
        for number, text in enumerate(lines, start=1):
            found = fold(text).find(fold(token))
            if found >= 0:
                return [((number, found + 1), (number, found + 1 + len(token)))]
    return []


def _inside(span: tuple[Position, Position], lines: list[str]) -> bool:
    """The span starts inside the query (a column just past a line's end counts: the end of input)."""
    (line, column), (end_line, _) = span
    return 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1 and line <= end_line <= len(lines)


def _marked(lines: list[str], spans: list[tuple[Position, Position]]) -> list[QueryLine]:
    """The query line by line, the characters of each span set apart (a span past a line's end marks a space)."""
    result = []
    for number, text in enumerate(lines, start=1):
        marks = [False] * (len(text) + 1)  # one more: a spot just past the end of the line
        for (line, column), (end_line, end_column) in spans:
            if not line <= number <= end_line:
                continue
            first = column - 1 if number == line else 0
            last = end_column - 1 if number == end_line else len(text)
            if number == line and last <= first:
                last = first + 1  # a spot, not a span: its one character
            for index in range(first, min(last, len(text) + 1)):
                marks[index] = True
        shown = text + " " if marks[-1] else text
        segments: list[tuple[str, bool]] = []
        for character, marked in zip(shown, marks, strict=False):
            if segments and segments[-1][1] == marked:
                segments[-1] = (segments[-1][0] + character, marked)
            else:
                segments.append((character, marked))
        result.append(QueryLine(number, tuple(segments)))
    return result
