"""Jobs that follow you: export and import (merged, never duplicated), a private link, and search."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import BrowserLink, RememberedJob
from tests.fakeuws import job_xml
from tests.helpers import messages_of, text

pytestmark = pytest.mark.django_db


def browser_of(client: Client) -> str:
    client.get("/mine")
    return client.cookies["portal_browser"].value


def remembered(browser: str, job_id: str, **values) -> RememberedJob:
    return RememberedJob.objects.create(browser=browser, service="fake", job_id=job_id, **values)


def test_the_export_holds_everything_the_portal_keeps_in_json_and_csv(client, fake):
    browser = browser_of(client)
    remembered(
        browser,
        "j1",
        phase="COMPLETED",
        run_id="night-1",
        note="M31 run",
        query_start="SELECT 1",
        creation_time=datetime(2026, 11, 30, 12, tzinfo=UTC),
        destruction=datetime(2026, 12, 7, 12, tzinfo=UTC),
        results="result extra",
        notify=True,
    )
    exported = json.loads(client.get("/mine/export.json").content)
    (row,) = exported["jobs"]
    assert row["job_id"] == "j1" and row["run_id"] == "night-1" and row["note"] == "M31 run"
    assert row["creation_time"] == "2026-11-30T12:00:00Z" and row["notify"] is True
    assert row["destruction"] == "2026-12-07T12:00:00Z" and row["results"] == "result extra"
    response = client.get("/mine/export.csv")
    assert response["Content-Disposition"] == 'attachment; filename="my-jobs.csv"'
    (csv_row,) = csv.DictReader(io.StringIO(response.content.decode()))
    assert csv_row["query_start"] == "SELECT 1" and csv_row["service"] == "fake"


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_an_import_in_another_browser_merges_without_duplicates(client, fake, kind):
    home = browser_of(client)
    remembered(home, "j1", note="from home", destruction=datetime(2026, 12, 7, 12, tzinfo=UTC), results="result bad/id")
    remembered(home, "j2")
    exported = client.get(f"/mine/export.{kind}").content
    office = Client()
    office_browser = browser_of(office)
    remembered(office_browser, "j2", note="office's own note")
    upload = SimpleUploadedFile(f"my-jobs.{kind}", exported)
    response = office.post("/mine/import", {"file": upload}, follow=True)
    assert "1 job added; 1 already in your list." in messages_of(response)
    mine = {entry.job_id: entry.note for entry in RememberedJob.objects.filter(browser=office_browser)}
    assert mine == {"j1": "from home", "j2": "office's own note"}
    imported = RememberedJob.objects.get(browser=office_browser, job_id="j1")
    assert imported.destruction == datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert imported.result_ids == ["result"]  # an id that is not one is left out
    office.post("/mine/import", {"file": SimpleUploadedFile(f"my-jobs.{kind}", exported)})
    assert RememberedJob.objects.filter(browser=office_browser).count() == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"jobs": [{"service": "fake", "job_id": "../etc"}]}', "no valid job id"),
        (b"\xff\xfe\x00garbage", "cannot be imported"),
    ],
)
def test_a_bad_import_is_refused_with_the_page_again_and_nothing_added(client, fake, content, problem):
    response = client.post("/mine/import", {"file": SimpleUploadedFile("x.json", content)})
    assert response.status_code == 400 and problem in text(response)
    assert not RememberedJob.objects.exists()


def test_a_private_link_attaches_another_browser_to_the_same_list(client, fake, caplog):
    home = browser_of(client)
    remembered(home, "j1")
    with caplog.at_level(logging.DEBUG):
        page = text(client.post("/mine/link"))
        link = page.split('<code id="private-link">', 1)[1].split("</code>", 1)[0]
        secret = link.split("#", 1)[1]
        assert "/mine/attach#" in link and BrowserLink.objects.get().digest != secret
        laptop = Client()
        remembered(browser_of(laptop), "j9")
        response = laptop.post("/mine/attach", {"secret": secret}, follow=True)
    assert "now shares the list" in " ".join(messages_of(response))
    assert laptop.cookies["portal_browser"].value == home
    assert set(RememberedJob.objects.filter(browser=home).values_list("job_id", flat=True)) == {"j1", "j9"}
    assert secret not in caplog.text  # never in the logs
    assert "shown this once" not in text(client.get("/mine"))  # shown once


def test_a_revoked_or_made_up_link_attaches_nothing(client, fake):
    page = text(client.post("/mine/link"))
    secret = page.split("/mine/attach#", 1)[1].split("<", 1)[0]
    client.post("/mine/link/revoke")
    stranger = Client()
    own = browser_of(stranger)
    for attempt in (secret, "x" * 40):
        response = stranger.post("/mine/attach", {"secret": attempt})
        assert response.status_code == 400 and "not (or no longer) valid" in text(response)
    assert stranger.cookies["portal_browser"].value == own


def test_my_jobs_are_searched_by_query_run_id_note_service_phase_and_dates(client, fake):
    browser = browser_of(client)
    remembered(
        browser,
        "j1",
        query_start="SELECT * FROM gaia",
        run_id="night-1",
        phase="COMPLETED",
        creation_time=datetime(2026, 11, 1, tzinfo=UTC),
    )
    remembered(
        browser,
        "j2",
        query_start="SELECT * FROM 2mass",
        note="for the M31 paper",
        phase="ERROR",
        creation_time=datetime(2026, 11, 20, tzinfo=UTC),
    )

    def found(**query) -> set[str]:
        page = text(client.get("/mine", query))
        return {job for job in ("j1", "j2") if f"/fake/async/{job}" in page}

    assert found(q="gaia") == {"j1"}
    assert found(q="night-1") == {"j1"}
    assert found(q="m31 paper") == {"j2"}
    assert found(phase="error") == {"j2"}
    assert found(after="2026-11-10") == {"j2"}
    assert found(before="2026-11-10") == {"j1"}
    assert found(service="fake", q="SELECT") == {"j1", "j2"}
    assert "No job matches this search." in text(client.get("/mine", {"q": "nothing-like-it"}))


def test_the_run_id_is_remembered_from_the_job(client, fake):
    document = job_xml(job_id="abc").replace("<uws:jobId>", "<uws:runId>night-9</uws:runId><uws:jobId>")
    fake.reply("GET", "/tap/async/abc", body=document)
    client.get("/fake/async/abc")
    assert RememberedJob.objects.get().run_id == "night-9"
