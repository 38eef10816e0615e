"""How a preview shows its rows: which columns hold numbers (right-aligned), and the rows sorted by a column."""

from __future__ import annotations

import math

from .reading import Column, Preview

_NUMERIC = frozenset({"unsignedByte", "short", "int", "long", "float", "double"})


def _number(cell: str | None) -> float | None:
    try:
        value = float(cell) if cell is not None else None
    except ValueError:
        return None
    return None if value is None or math.isnan(value) else value


def numeric_flags(table: Preview) -> list[bool]:
    """Per column: does it hold numbers? The VOTable datatype says so; a CSV column, when every cell reads as one."""

    def numeric(index: int, column: Column) -> bool:
        if column.datatype:
            return column.datatype in _NUMERIC and not column.arraysize
        cells = [row[index] for row in table.rows if row[index] is not None]
        return bool(cells) and all(_number(cell) is not None for cell in cells)

    return [numeric(index, column) for index, column in enumerate(table.columns)]


def sorted_rows(rows: list, links: list, index: int, descending: bool, numeric: bool) -> tuple[list, list]:
    """The rows (and their links, in step) sorted by one column; empty cells last either way."""
    order = sorted(range(len(rows)), key=lambda at: _key(rows[at][index], numeric), reverse=descending)
    present = [at for at in order if rows[at][index] is not None]
    order = present + [at for at in order if rows[at][index] is None]
    return [rows[at] for at in order], [links[at] for at in order]


def _key(cell: str | None, numeric: bool):
    if numeric:
        number = _number(cell)
        return (0, number) if number is not None else (1, 0.0)
    return (0, (cell or "").casefold())
