"""The equivalent commands: they run as shown, whatever the values hold."""

from __future__ import annotations

import ast
import shlex

import pytest

from jobs import commands

ASYNC = "http://127.0.0.1:8080/tap/async"


@pytest.mark.parametrize(
    ("operation", "value", "curl"),
    [
        ("status", None, ["curl", f"{ASYNC}/j1"]),
        ("run", None, ["curl", "-d", "PHASE=RUN", f"{ASYNC}/j1/phase"]),
        ("abort", None, ["curl", "-d", "PHASE=ABORT", f"{ASYNC}/j1/phase"]),
        (
            "executionduration",
            "120",
            ["curl", "--data-urlencode", "EXECUTIONDURATION=120", f"{ASYNC}/j1/executionduration"],
        ),
        (
            "destruction",
            "2030-01-01T00:00:00Z",
            ["curl", "--data-urlencode", "DESTRUCTION=2030-01-01T00:00:00Z", f"{ASYNC}/j1/destruction"],
        ),
        ("delete", None, ["curl", "-X", "DELETE", f"{ASYNC}/j1"]),
        ("results", None, ["curl", "-L", "-o", "j1-result", f"{ASYNC}/j1/results/result"]),
        ("error", None, ["curl", f"{ASYNC}/j1/error"]),
    ],
)
def test_each_operation_has_curl_wget_and_valid_python(operation, value, curl):
    made = commands.for_job(ASYNC, "j1", operation, value)
    assert shlex.split(made.curl) == curl
    assert shlex.split(made.wget)[0] == "wget"
    ast.parse(made.pyvo)
    assert "pyvo.dal.AsyncTAPJob('http://127.0.0.1:8080/tap/async/j1')" in made.pyvo


def test_a_new_job_command_quotes_the_query():
    query = "SELECT * FROM t WHERE name = 'it''s' AND x < 3 -- $(rm -rf /)"
    made = commands.for_new_job("http://h/tap", {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "MAXREC": "5"})
    words = shlex.split(made.curl)
    assert f"QUERY={query}" in words and words[-1] == "http://h/tap/async"
    tree = ast.parse(made.pyvo)
    call = next(
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "submit_job"
    )
    assert call.args[0].value == query
    assert {keyword.arg: keyword.value.value for keyword in call.keywords} == {"maxrec": 5}
    assert "%24%28rm+-rf" in made.wget  # form-encoded, inside one shell word


@pytest.mark.django_db
def test_the_job_page_shows_commands_and_after_an_action_the_one_just_done(fake):
    from django.test import Client

    from tests.fakeuws import job_xml

    client = Client()
    fake.reply("GET", "/tap/async/j1", body=job_xml(job_id="j1", phase="PENDING"))
    page = client.get("/fake/async/j1").content.decode()
    assert f"curl {fake.url}/tap/async/j1</code>" in page
    assert f"curl -d PHASE=RUN {fake.url}/tap/async/j1/phase" in page
    assert "What the portal just did" not in page

    fake.reply("POST", "/tap/async/j1/executionduration", 303, headers={"Location": "/x"})
    page = client.post("/fake/async/j1", {"EXECUTIONDURATION": "77"}, follow=True).content.decode()
    assert "What the portal just did" in page
    assert f"curl --data-urlencode EXECUTIONDURATION=77 {fake.url}/tap/async/j1/executionduration" in page
    again = client.get("/fake/async/j1").content.decode()
    assert "What the portal just did" not in again  # shown once


@pytest.mark.django_db
def test_every_copy_button_names_its_own_command(fake):
    import re

    from django.test import Client

    from tests.fakeuws import job_xml

    fake.reply("GET", "/tap/async/j1", body=job_xml(job_id="j1", phase="PENDING"))
    page = Client().get("/fake/async/j1").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids"
    targets = re.findall(r'data-copy="([^"]+)"', page)
    assert len(targets) > 3 and len(set(targets)) == len(targets)
    assert all(target in ids for target in targets)


@pytest.mark.django_db
def test_the_job_page_shows_how_to_create_the_same_job_again(client, fake):
    import html
    import re

    from tests.fakeuws import job_xml

    query = "SELECT TOP 3 * FROM t WHERE name = 'x''y'"
    extra = '<uws:parameter id="format">csv</uws:parameter><uws:parameter id="maxrec">7</uws:parameter>'
    document = job_xml(job_id="j1", phase="COMPLETED", query=query).replace(
        "</uws:parameters>", extra + "</uws:parameters>"
    )
    fake.reply("GET", "/tap/async/j1", body=document)
    page = client.get("/fake/async/j1").content.decode()
    assert "Create the same job again" in page
    curl = next(
        html.unescape(line) for line in re.findall(r"<code>(curl -i [^<]*)</code>", page) if "/tap/async" in line
    )
    words = shlex.split(curl)
    sent = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "--data-urlencode")
    assert sent == {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "FORMAT": "csv", "MAXREC": "7"}
    assert words[-1] == f"{fake.url}/tap/async"


@pytest.mark.parametrize(
    ("kind", "name", "reads"),
    [
        ("text/csv", "j1-result.csv", "Table.read(job.result_uri, format='ascii.csv')"),
        ("csv", "j1-result.csv", "Table.read(job.result_uri, format='ascii.csv')"),
        ("tsv", "j1-result.tsv", "Table.read(job.result_uri, format='ascii.tab')"),
        ("application/fits", "j1-result.fits", "Table.read(job.result_uri, format='fits')"),
        ("votable", "j1-result.vot", "job.fetch_result().to_table()"),
        ("application/x-votable+xml;serialization=BINARY2", "j1-result.vot", "job.fetch_result().to_table()"),
        (None, "j1-result", "job.fetch_result().to_table()"),
    ],
)
def test_a_result_is_downloaded_with_its_extension_and_read_the_way_its_format_needs(kind, name, reads):
    made = commands.for_job(ASYNC, "j1", "results", kind)
    assert shlex.split(made.curl)[3] == name and shlex.split(made.wget)[2] == name
    assert reads in made.pyvo
    ast.parse(made.pyvo)
