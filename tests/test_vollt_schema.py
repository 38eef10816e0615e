"""The query helpers against VOLLT (ESO's software): its tables and columns, searched; it has no examples."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.helpers import VOLLT_MARKS, text

pytestmark = [
    *VOLLT_MARKS,
    pytest.mark.django_db,
]


def test_the_table_browser_lists_vollts_tables_and_columns(client):
    cache.delete("tables:vollt")
    page = text(client.get("/vollt/tables", {"q": "demo.stars"}, HTTP_HX_REQUEST="true"))
    assert 'data-insert="demo.stars"' in page and 'data-insert="mag"' in page


def test_vollt_has_no_examples_and_the_portal_says_so(client):
    # VOLLT declares no DALI examples capability and answers /examples with 501 "Unknown TAP resource".
    cache.delete("examples:vollt")
    response = client.get("/vollt/examples", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Local VOLLT offers no example queries." in text(response)
