"""Plots of a result's preview rows: a histogram, a scatter plot, a sky plot, drawn to PNG in memory.

matplotlib's object-oriented API only (`Figure`, never pyplot, whose global state is not safe
across a server's threads). The numbers are checked first (`histogram`, `scatter`, `sky`), and
the text alternative is written from the same numbers that are drawn, so the two agree.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from matplotlib.figure import Figure

from .reading import Column, Preview

BINS = 20
_RA_NAMES = ("ra", "s_ra", "raj2000", "ra_icrs")
_DEC_NAMES = ("dec", "s_dec", "dej2000", "dec_icrs")


class PlotError(ValueError):
    """The plot asked for cannot be drawn; the message says why in words."""


@dataclass(frozen=True)
class Axis:
    column: Column
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        return f"{self.column.name} [{self.column.unit}]" if self.column.unit else self.column.name


@dataclass(frozen=True)
class Plot:
    kind: str  # "histogram", "scatter" or "sky"
    axes: tuple[Axis, ...]  # x (RA for a sky plot), then y (Dec)
    rows: int  # the preview rows the plot was drawn from
    skipped: int  # of those, rows with a NULL, NaN or infinite value in a plotted column

    @property
    def plotted(self) -> int:
        return len(self.axes[0].values)

    @property
    def description(self) -> str:
        """The text alternative: what is shown, from how many rows, over which ranges."""
        ranges = "; ".join(
            f"{axis.column.name} from {_number(min(axis.values))} to {_number(max(axis.values))}"
            + (f" {axis.column.unit}" if axis.column.unit else "")
            for axis in self.axes
        )
        names = [axis.column.name for axis in self.axes]
        if self.kind == "histogram":
            what = f"Histogram of {names[0]} in {BINS} bins"
        elif self.kind == "scatter":
            what = f"Scatter plot of {names[1]} against {names[0]}"
        else:
            what = (
                f"Sky plot of {names[0]} and {names[1]} (Mollweide projection, right ascension increasing to the left)"
            )
        skipped = f"; {self.skipped} with NULL or NaN skipped" if self.skipped else ""
        return f"{what}: {self.plotted} of {self.rows} rows plotted{skipped}; {ranges}."


def _number(value: float) -> str:
    return f"{value:.6g}"


def numeric_columns(table: Preview) -> list[Column]:
    """The columns whose cells in these rows are all numbers (or NULL), with at least one number."""
    return [column for index, column in enumerate(table.columns) if _numeric(table, index)]


def _numeric(table: Preview, index: int) -> bool:
    cells = [row[index] for row in table.rows if row[index] is not None]
    try:
        for cell in cells:
            float(cell)
    except ValueError:
        return False
    return bool(cells)


def sky_columns(columns: tuple[Column, ...]) -> tuple[Column, Column] | None:
    """The RA and Dec columns: by UCD (pos.eq.ra, pos.eq.dec; main ones first), else by their usual names."""

    def find(ucd: str, names: tuple[str, ...]) -> Column | None:
        by_ucd = [column for column in columns if ucd in (column.ucd or "").lower().split(";")]
        by_ucd.sort(key=lambda column: "meta.main" not in (column.ucd or "").lower())
        return next(iter(by_ucd), None) or next((column for column in columns if column.name.lower() in names), None)

    ra, dec = find("pos.eq.ra", _RA_NAMES), find("pos.eq.dec", _DEC_NAMES)
    return (ra, dec) if ra and dec else None


def _column(table: Preview, name: str) -> int:
    for index, column in enumerate(table.columns):
        if column.name == name:
            return index
    raise PlotError(f"the result has no column {name!r}")


def _axes(table: Preview, names: list[str]) -> tuple[tuple[Axis, ...], int]:
    """The named columns' values in the rows where all of them are finite numbers, and how many rows were left out."""
    indexes = [_column(table, name) for name in names]
    for name, index in zip(names, indexes, strict=True):
        if all(row[index] is None for row in table.rows):
            raise PlotError(f"column {name} is NULL in every row shown: there is nothing to plot")
        if not _numeric(table, index):
            raise PlotError(f"column {name} does not hold numbers, so it cannot be plotted")
    kept = []
    for row in table.rows:
        values = [float(row[index]) for index in indexes if row[index] is not None]
        if len(values) == len(indexes) and all(map(math.isfinite, values)):
            kept.append(values)
    if not kept:
        raise PlotError(f"no row shown has a number in {' and '.join(names)} (all NULL or NaN)")
    columns = zip(*kept, strict=True)
    axes = tuple(Axis(table.columns[index], tuple(values)) for index, values in zip(indexes, columns, strict=True))
    return axes, len(table.rows) - len(kept)


def plan(table: Preview, kind: str, x: str, y: str) -> Plot:
    """The plot of `kind` over columns x (and y), checked; PlotError says what is wrong."""
    if not table.rows:
        raise PlotError("the result has no rows to plot")
    if kind == "histogram":
        names = [x]
    elif kind == "scatter":
        names = [x, y]
    elif kind == "sky":
        found = sky_columns(table.columns)
        if found is None:
            raise PlotError("no columns say they are positions (UCD pos.eq.ra and pos.eq.dec, or named ra and dec)")
        names = [found[0].name, found[1].name]
    else:
        raise PlotError(f"there is no plot of kind {kind!r}: choose a histogram, a scatter plot or a sky plot")
    if not all(names):
        raise PlotError("choose the column" + ("s" if len(names) > 1 else "") + " to plot")
    axes, skipped = _axes(table, names)
    if kind == "sky" and not all(-90 <= value <= 90 for value in axes[1].values):
        raise PlotError(f"column {names[1]} has values outside -90 to 90: they are not declinations in degrees")
    return Plot(kind, axes, len(table.rows), skipped)


def png(plot: Plot) -> bytes:
    """The plot drawn with matplotlib's Agg backend, as PNG bytes."""
    # Fixed margins rather than layout="constrained", which would double the time of a plot.
    figure = Figure(figsize=(6.4, 4.2), dpi=100)
    if plot.kind == "sky":
        _draw_sky(figure, plot)
    else:
        axes = figure.add_subplot()
        x = plot.axes[0]
        if plot.kind == "histogram":
            axes.hist(x.values, bins=BINS, color="#2b6cb0", edgecolor="white")
            axes.set_ylabel("rows")
        else:
            axes.scatter(x.values, plot.axes[1].values, s=6, color="#2b6cb0")
            axes.set_ylabel(plot.axes[1].label)
        axes.set_xlabel(x.label)
        axes.grid(alpha=0.3)
        figure.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.96)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=150)
    return out.getvalue()


def _draw_sky(figure: Figure, plot: Plot) -> None:
    axes = figure.add_subplot(projection="mollweide")
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.95)
    # Mollweide takes longitudes from -pi to pi increasing to the right; the sky is seen from inside,
    # so right ascension increases to the left: x = -(RA wrapped to -180..180).
    ra = [-math.radians((value + 180) % 360 - 180) for value in plot.axes[0].values]
    dec = [math.radians(value) for value in plot.axes[1].values]
    axes.scatter(ra, dec, s=6, color="#2b6cb0")
    ticks = [math.radians(degrees) for degrees in range(-150, 151, 30)]
    axes.set_xticks(ticks, [f"{-round(math.degrees(tick)) % 360}°" for tick in ticks])
    axes.set_xlabel(f"{plot.axes[0].column.name} (deg)")
    axes.set_ylabel(f"{plot.axes[1].column.name} (deg)")
    axes.grid(alpha=0.4)
