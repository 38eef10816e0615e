"""Plots of the preview's rows: the numbers checked, the text alternative, the PNG, and the page's form."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from jobs.tables import Column, Preview
from jobs.tables.plots import PlotError, plan, png, sky_columns
from tests.test_result_preview import serve, votable

PNG = b"\x89PNG\r\n\x1a\n"
COLUMNS = (
    Column("id", "int", None, "meta.id", None, None),
    Column("RAJ2000", "double", "deg", None, None, None),
    Column("DEJ2000", "double", "deg", None, None, None),
    Column("mag", "float", "mag", "phot.mag", None, None),
    Column("name", "char", None, None, "*", None),
)


def table(rows: list[tuple[str | None, ...]]) -> Preview:
    return Preview("votable", "TABLEDATA", COLUMNS, tuple(rows), False, None, None)


ROWS = [(str(n), str(n * 3.6), str(n - 50), str(10 + n / 10), f"o{n}") for n in range(100)]


def test_a_histogram_says_what_it_shows_and_skips_nulls_and_nans():
    rows = [*ROWS, ("100", "1", "1", None, "x"), ("101", "1", "1", "nan", "y")]
    plot = plan(table(rows), "histogram", "mag", "")
    assert plot.plotted == 100 and plot.skipped == 2
    assert plot.description == (
        "Histogram of mag in 20 bins: 100 of 102 rows plotted; 2 with NULL or NaN skipped; mag from 10 to 19.9 mag."
    )
    assert png(plot).startswith(PNG)


def test_a_scatter_plot_names_both_columns_and_their_ranges():
    plot = plan(table(ROWS), "scatter", "id", "mag")
    assert plot.description == (
        "Scatter plot of mag against id: 100 of 100 rows plotted; id from 0 to 99; mag from 10 to 19.9 mag."
    )
    assert png(plot).startswith(PNG)


def test_the_sky_plot_finds_positions_by_their_usual_names_or_ucds():
    assert [column.name for column in sky_columns(COLUMNS)] == ["RAJ2000", "DEJ2000"]
    by_ucd = (
        Column("alpha", "double", "deg", "pos.eq.ra", None, None),
        Column("ra", "double", "deg", None, None, None),
        Column("delta", "double", "deg", "POS.EQ.DEC;meta.main", None, None),
    )
    assert [column.name for column in sky_columns(by_ucd)] == ["alpha", "delta"]
    plot = plan(table(ROWS), "sky", "", "")
    assert plot.description.startswith("Sky plot of RAJ2000 and DEJ2000 (Mollweide projection")
    assert "RAJ2000 from 0 to 356.4 deg; DEJ2000 from -50 to 49 deg." in plot.description
    assert png(plot).startswith(PNG)


@pytest.mark.parametrize(
    ("kind", "x", "rows", "message"),
    [
        ("histogram", "nope", ROWS, "the result has no column 'nope'"),
        ("histogram", "name", ROWS, "column name does not hold numbers"),
        ("histogram", "mag", [], "the result has no rows to plot"),
        ("histogram", "mag", [("1", "1", "1", None, "x")], "column mag is NULL in every row shown"),
        ("histogram", "mag", [("1", "1", "1", "nan", "x")], "no row shown has a number in mag (all NULL or NaN)"),
        ("pie", "mag", ROWS, "there is no plot of kind 'pie'"),
        ("sky", "", [("1", "1", "100", "1", "x")], "column DEJ2000 has values outside -90 to 90"),
    ],
)
def test_what_cannot_be_plotted_is_said_in_words(kind, x, rows, message):
    with pytest.raises(PlotError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan(table(rows), kind, x, "mag")


def test_a_plot_of_1000_rows_takes_well_under_150_ms():
    rows = [(str(n), str(n * 0.36), str(n % 180 - 90), str(10 + n % 97 / 10), "x") for n in range(1000)]
    times = []
    for kind in ("histogram", "scatter", "sky"):
        started = time.perf_counter()
        png(plan(table(rows), kind, "id", "mag"))
        times.append(time.perf_counter() - started)
    assert sorted(times)[1] < 0.6  # the median; generous for a busy test machine (make bench holds 150 ms)


# -- the page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_offers_a_plot_form_of_its_numeric_columns(fake):
    serve(fake, votable(150), "application/x-votable+xml")
    page = Client().get("/fake/async/j1/results/result/preview").content.decode()
    assert '<form method="get" class="plot-form">' in page
    assert "<option>id</option>" in page and "<option>ra</option>" in page and "<option>note</option>" not in page
    assert '<option value="sky"' not in page  # ra (UCD pos.eq.ra) but no dec
    assert "<img" not in page


@pytest.mark.django_db
def test_a_plot_asked_for_is_an_image_with_its_text_alternative(fake):
    serve(fake, votable(150), "application/x-votable+xml")
    query = {"rows": "100", "plot": "histogram", "x": "ra", "y": "id"}
    page = Client().get("/fake/async/j1/results/result/preview", query).content.decode()
    alt = "Histogram of ra in 20 bins: 100 of 100 rows plotted; ra from 0.5 to 50 deg."
    assert f'alt="{alt}"' in page and f"<figcaption>{alt}</figcaption>" in page
    assert 'src="/fake/async/j1/results/result/plot.png?rows=100&amp;plot=histogram&amp;x=ra&amp;y=id"' in page
    image = Client().get("/fake/async/j1/results/result/plot.png", query)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content.startswith(PNG)


@pytest.mark.django_db
def test_a_bad_column_is_a_400_in_words_and_no_image(fake):
    serve(fake, votable(10), "application/x-votable+xml")
    response = Client().get("/fake/async/j1/results/result/preview", {"plot": "histogram", "x": "note"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "No plot: column note does not hold numbers, so it cannot be plotted." in page and "<img" not in page
    image = Client().get("/fake/async/j1/results/result/plot.png", {"plot": "histogram", "x": "nope"})
    assert image.status_code == 400 and image.content.decode() == "No plot: the result has no column 'nope'."
