"""The command that creates the same job again, run as the job page shows it (curl, wget) against DaCHS and VOLLT,
and its pyvo form read back: each makes a job with the same query."""

from __future__ import annotations

import ast
import html
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import requests

from jobs.services import configured_services
from tests.helpers import text

SHARED = Path(__file__).resolve().parents[2] / "shared"
pytestmark = pytest.mark.django_db

SERVICES = {
    "dachs": ("SELECT TOP 3 id, name FROM portaltest.objects ORDER BY id", pytest.mark.dachs),
    "vollt": ("SELECT TOP 3 id, name FROM demo.stars ORDER BY id", pytest.mark.vollt),
}


def commands_of(page: str, title: str) -> dict[str, str]:
    """The curl, wget and pyvo lines of the command block with this title, as the page shows them."""
    block = page.split(f"<h3>{title}</h3>", 1)[1].split('<div class="command">', 1)[0]
    codes = [html.unescape(code) for code in re.findall(r"<pre id=\"[^\"]+\"><code>(.*?)</code></pre>", block, re.S)]
    return dict(zip(("curl", "wget", "pyvo"), codes, strict=True))


@pytest.mark.parametrize(
    "slug",
    [pytest.param(slug, marks=mark) for slug, (_, mark) in SERVICES.items()],
)
@pytest.mark.parametrize("tool", ["curl", "wget"])
def test_the_creation_command_makes_the_same_job_on_the_real_service(client, slug, tool):
    if slug == "vollt" and not (SHARED / "tools" / "vollt-up.sh").exists():
        pytest.skip(f"no VOLLT: {SHARED} is absent")
    query = SERVICES[slug][0]
    response = client.post(f"/{slug}/async", {"query": query, "format": "votable", "maxrec": "3"})
    job_id = response["Location"].rsplit("/", 1)[-1]
    made = commands_of(text(client.get(f"/{slug}/async/{job_id}")), "Create the same job again")
    ran = subprocess.run(shlex.split(made[tool]), capture_output=True, text=True, timeout=60)
    answer = ran.stdout + ran.stderr  # curl -i prints the headers; wget -S to stderr
    location = re.search(r"Location: (\S+)", answer, re.IGNORECASE)
    assert ran.returncode == 0 and location, answer[-2000:]
    uws = configured_services()[slug].client(page=False)
    again = location[1].rstrip("/").rsplit("/", 1)[-1]
    assert uws.get_job(again).query == query
    assert uws.get_job(again).parameter("maxrec") == "3"
    call = next(
        node
        for node in ast.walk(ast.parse(made["pyvo"]))
        if getattr(getattr(node, "func", None), "attr", "") == "submit_job"
    )
    assert call.args[0].value == query
    requests.delete(location[1], timeout=10, allow_redirects=False)
