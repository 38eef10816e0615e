"""Results of a real GAVO DaCHS (`make test` starts it) as CSV, and the files behind ObsCore-shaped rows.

The data are portaltest.objects (500 rows) and portaltest.files (20 ObsCore-shaped rows),
scripts/dachs/portaltest.rd.
"""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import pytest
import requests
from astropy.io import votable

from tests.helpers import wait_for
from tests.test_dachs import TAP, create

pytestmark = [pytest.mark.dachs, pytest.mark.django_db]


@pytest.fixture
def uws():
    from jobs.services import configured_services

    return configured_services()["dachs"].client(page=False)


@pytest.mark.parametrize("result_format", ["votable", "votable/td", "votable/b2"])
def test_a_real_result_as_csv_has_astropys_columns_and_rows(client, uws, result_format):
    query = "SELECT id, name, ra, dec, mag, note FROM portaltest.objects ORDER BY id"
    job_id = create(client, query, run=True, format=result_format)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    response = client.get(f"/dachs/async/{job_id}/results/result/csv")
    assert response.status_code == 200
    records = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    body = requests.get(f"{TAP}/async/{job_id}/results/result", timeout=10).content
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = votable.parse_single_table(io.BytesIO(body)).to_table()
    assert records[0] == oracle.colnames
    assert len(records) - 1 == len(oracle) == 500
    for record, row in zip(records[1:], oracle, strict=True):
        assert int(record[0]) == row["id"] and record[1] == row["name"]
        assert float(record[2]) == row["ra"] and float(record[3]) == row["dec"]
        assert float(record[4]) == pytest.approx(float(row["mag"]), rel=1e-6)
        assert record[5] == ("" if row["note"] is np.ma.masked else row["note"])  # NULL is an empty cell


def test_obscore_rows_are_links_and_the_script_fetches_their_files(client, uws):
    query = "SELECT obs_id, access_url, access_format, access_estsize FROM portaltest.files ORDER BY obs_id"
    job_id = create(client, query, run=True)
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    page = client.get(f"/dachs/async/{job_id}/results/result/preview").content.decode()
    assert '<a href="http://files.example.org/data/file-01.fits" rel="noreferrer">' in page
    assert (
        '<a href="http://files.example.org/dl?ID=ivo://portaltest/file-05" rel="noreferrer">'
        '<span class="datalink">DataLink:</span>'
    ) in page
    assert 'href="ftp:' not in page

    response = client.get(f"/dachs/async/{job_id}/results/result/script")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    curls = [line for line in lines if line.startswith("curl ")]
    assert len(curls) == 18  # row 7's URL is ftp, row 13 has none
    assert curls[0] == "curl -fL -o 000001-file-01.fits http://files.example.org/data/file-01.fits"
    assert sum(line.endswith("# DataLink") for line in curls) == 4
    assert "# 18 files, 4 of them DataLink documents" in lines
    assert "# access_estsize in all: 19.0 MB (19000 kB)" in lines
    assert "# 2 rows without an http or https URL left out" in lines


@pytest.mark.parametrize("result_format", ["votable", "votable/b2", "csv"])
def test_maxrec_3_is_cut_at_the_limit_and_the_higher_one_is_offered(client, uws, result_format):
    query = "SELECT id, name FROM portaltest.objects ORDER BY id"
    job_id = create(client, query, run=True, format=result_format, maxrec="3")
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    box = client.get(f"/dachs/async/{job_id}/results/result/limit", HTTP_HX_REQUEST="true").content.decode()
    assert "Cut short by the row limit:" in box and "(MAXREC = 3)" in box
    if result_format != "csv":  # DaCHS's OVERFLOW INFO comes after the table
        assert "QUERY_STATUS=OVERFLOW" in box
    assert 'name="maxrec" type="number" min="4"' in box and 'value="1000"' in box

    form = client.get("/dachs/", {"resubmit": job_id, "maxrec": "1000"}).content.decode()
    assert 'name="maxrec" value="1000"' in form


def test_a_result_within_the_limit_is_whole(client, uws):
    job_id = create(client, "SELECT id FROM portaltest.objects", run=True, maxrec="1000")
    assert wait_for(uws, job_id, {"COMPLETED", "ERROR"}) == "COMPLETED"
    box = client.get(f"/dachs/async/{job_id}/results/result/limit", HTTP_HX_REQUEST="true").content.decode()
    assert "All of the result: 500 rows, within the row limit of 1000." in box
