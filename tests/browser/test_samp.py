"""Send with SAMP, in Chromium: sampjs through the Web Profile of astropy's SAMP hub (accepting the portal as
a user would), to an astropy SAMP client that reads the table from the portal's URL; and without a hub."""

from __future__ import annotations

import io
import queue
import threading
import warnings
from collections.abc import Iterator

import pytest
import requests
from astropy.io import votable
from astropy.samp import SAMPHubServer, SAMPIntegratedClient
from playwright.sync_api import Page

from jobs.uws import changes
from tests.browser.conftest import screenshot, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.dachs, pytest.mark.django_db(transaction=True)]

QUERY = "SELECT TOP 7 id, name, ra, dec FROM portaltest.objects ORDER BY id"


class Accepting:
    """The hub's consent dialog (astropy's web_profile_dialog), answering yes and noting who asked."""

    def __init__(self) -> None:
        self.asked: list[tuple] = []

    def start(self) -> None:
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self) -> None:
        while True:
            self.asked.append(self.queue_request.get())
            self.queue_result.put(True)


@pytest.fixture
def hub() -> Iterator[tuple[SAMPHubServer, Accepting]]:
    dialog = Accepting()
    # The Web Profile's own port, as sampjs knows it; "multiple": no lock file of the user's session.
    server = SAMPHubServer(web_profile=True, web_profile_dialog=dialog, web_port=21012, mode="multiple")
    server.start()
    dialog.start()
    yield server, dialog
    server.stop()


@pytest.fixture
def receiver(hub) -> Iterator[queue.Queue]:
    """An astropy SAMP client that takes table.load.votable and reads the table from its URL."""
    tables: queue.Queue = queue.Queue()
    client = SAMPIntegratedClient(name="receiver")
    client.connect(hub=hub[0])

    def received(private_key, sender_id, msg_id, mtype, params, extra) -> None:
        body = requests.get(params["url"], timeout=10).content
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables.put((params, votable.parse_single_table(io.BytesIO(body)).to_table()))

    client.bind_receive_notification("table.load.votable", received)
    yield tables
    client.disconnect()


@pytest.fixture(scope="module")
def job(module_uws) -> str:
    job_id = module_uws.create_job({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": QUERY, "FORMAT": "votable"})
    module_uws.change(job_id, changes.RUN)
    assert wait_for_phase(module_uws, job_id, {"COMPLETED"}) == "COMPLETED"
    return job_id


@pytest.mark.parametrize("where", ["job", "preview"])
def test_a_result_goes_through_the_hub_to_a_client_that_reads_it(page: Page, job, hub, receiver, where, console_errors):
    page.goto(f"/dachs/async/{job}" + ("/results/result/preview" if where == "preview" else ""))
    button = page.locator("#result-1-samp" if where == "job" else "#result-samp")
    button.click()
    status = page.locator(f"#{button.get_attribute('id')}-status")
    status.get_by_text("to 1 application of the SAMP hub").wait_for()
    params, table = receiver.get(timeout=10)
    assert params["name"] == f"{job}-result"
    assert params["url"].endswith(f"/dachs/async/{job}/results/result") and params["url"].startswith("http://")
    assert table.colnames == ["id", "name", "ra", "dec"] and len(table) == 7
    assert hub[1].asked and hub[1].asked[0][0]["samp.name"] == "TAP job portal"
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"samp-sent-{where}-{width}")
    assert console_errors == []


def test_without_a_hub_it_says_so_in_words(page: Page, job):
    page.goto(f"/dachs/async/{job}/results/result/preview")
    page.locator("#result-samp").click()
    page.locator("#result-samp-status").get_by_text("No SAMP hub is running on this computer").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "samp-no-hub-390")
