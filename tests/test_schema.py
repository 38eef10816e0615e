"""The tables and columns beside the editor: read from the service's VOSI tables when asked, searched, cached."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from jobs.uws.vosi import parse_tables
from tests.helpers import text

pytestmark = pytest.mark.django_db

TABLES = b"""<vtm:tableset xmlns:vtm="http://www.ivoa.net/xml/VOSITables/v1.0"
  xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<schema><name>gaia</name><table><name>gaia.source</name><description>Sources &amp; their photometry</description>
<column><name>ra</name><description>Right ascension</description><unit>deg</unit><ucd>pos.eq.ra;meta.main</ucd>
<dataType xsi:type="vs:VOTableType">double</dataType></column>
<column><name>phot_g_mean_mag</name><description>G magnitude</description><unit>mag</unit><ucd>phot.mag</ucd></column>
</table><table><name>gaia.epochs</name><column><name>epoch</name></column></table></schema></vtm:tableset>"""


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_tables_document_reads_as_tables_with_their_columns():
    tables = parse_tables(TABLES)
    assert [table.name for table in tables] == ["gaia.source", "gaia.epochs"]
    ra = tables[0].columns[0]
    assert (ra.name, ra.unit, ra.ucd, ra.datatype, ra.description) == (
        "ra",
        "deg",
        "pos.eq.ra;meta.main",
        "double",
        "Right ascension",
    )


def test_the_start_page_asks_for_no_tables_until_they_are_opened(client, fake):
    page = text(client.get("/fake/"))
    assert 'id="table-browser"' in page and "/fake/tables" in page
    assert not any(request.path.endswith("/tables") for request in fake.requests)


def test_the_tables_are_searched_by_name_unit_and_ucd_and_asked_for_once(client, fake):
    fake.reply("GET", "/tap/tables", body=TABLES)
    everything = text(client.get("/fake/tables", HTTP_HX_REQUEST="true"))
    assert "gaia.source" in everything and "gaia.epochs" in everything and "<html" not in everything
    found = text(client.get("/fake/tables", {"q": "phot.mag"}, HTTP_HX_REQUEST="true"))
    assert 'data-insert="phot_g_mean_mag"' in found and 'data-insert="ra"' not in found
    assert "gaia.epochs" not in found
    assert "No table or column matches" in text(client.get("/fake/tables", {"q": "nothing-like-it"}))
    assert len([request for request in fake.requests if request.path == "/tap/tables"]) == 1  # cached


def test_a_service_without_tables_says_so_in_words(client, fake):
    fake.reply("GET", "/tap/tables", 404, "no", headers={"Content-Type": "text/plain"})
    page = text(client.get("/fake/tables"))
    assert "The service did not say what tables it has" in page
