"""The example queries beside the editor: read from the DALI examples when asked, cached, loaded by a click."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tests.helpers import messages_of, text

pytestmark = pytest.mark.django_db

EXAMPLES = """<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Examples</title></head>
<body vocab="http://www.ivoa.net/rdf/examples#">
<div typeof="example" id="bright" resource="#bright"><h2 property="name">Bright stars</h2>
<p>The stars brighter than magnitude 5 &amp; their names.</p>
<pre property="query">SELECT name, mag
FROM stars
WHERE mag &lt; 5</pre></div>
<div typeof="example" id="count" resource="#count"><h2 property="name">Counting</h2>
<pre property="query">SELECT COUNT(*) FROM stars</pre></div>
{more}
</body></html>"""


def capabilities(examples_url: str) -> str:
    return (
        '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0">'
        '<capability standardID="ivo://ivoa.net/std/TAP"/>'
        '<capability standardID="ivo://ivoa.net/std/DALI#examples">'
        f"<interface><accessURL>{examples_url}</accessURL></interface></capability></vosi:capabilities>"
    )


def asked(fake, path: str) -> int:
    return len([request for request in fake.requests if request.path == path])


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_start_page_asks_for_no_examples_until_they_are_opened(client, fake):
    page = text(client.get("/fake/"))
    assert 'id="examples"' in page and 'href="/fake/examples"' in page
    assert 'hx-get="/fake/examples"' in page and "toggle from:#examples once" in page
    assert asked(fake, "/tap/examples") == 0


def test_the_examples_are_listed_with_their_names_descriptions_and_queries_and_asked_for_once(client, fake):
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=""), headers={"Content-Type": "text/html"})
    fragment = text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))
    assert "<html" not in fragment
    assert ">Bright stars</a>" in fragment and "brighter than magnitude 5 &amp; their names" in fragment
    # The link works without JavaScript; the query rides along for the click with it.
    assert 'href="/fake/?example=bright#new-query"' in fragment
    assert 'data-query="SELECT name, mag\nFROM stars\nWHERE mag &lt; 5"' in fragment
    assert ">Counting</a>" in fragment
    page = text(client.get("/fake/examples"))
    assert "<h1>Example queries of Fake service</h1>" in page and ">Bright stars</a>" in page
    assert asked(fake, "/tap/examples") == 1  # cached


def test_a_link_to_an_example_opens_the_start_page_with_its_query_in_the_editor(client, fake):
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=""))
    response = client.get("/fake/", {"example": "bright"})
    page = text(response)
    editor = re.search(r"<textarea[^>]*name=\"query\"[^>]*>(.*?)</textarea>", page, re.S)
    assert editor and editor[1].strip() == "SELECT name, mag\nFROM stars\nWHERE mag &lt; 5"
    assert "The new-query form holds the example “Bright stars”: edit it and submit." in messages_of(response)
    # The examples stay open beside it, to choose another without asking the service again.
    assert '<details class="examples-browser" id="examples" open>' in page and ">Counting</a>" in page
    assert 'hx-get="/fake/examples"' not in page
    client.get("/fake/", {"example": "count"})
    assert asked(fake, "/tap/examples") == 1


def test_an_example_the_service_no_longer_has_is_said_so(client, fake):
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=""))
    response = client.get("/fake/", {"example": "gone"})
    assert response.status_code == 200
    assert "The service no longer has that example; choose another." in messages_of(response)
    assert re.search(r"<textarea[^>]*name=\"query\"[^>]*>\s*</textarea>", text(response))


def test_the_capabilities_say_where_the_examples_are(client, fake):
    fake.reply("GET", "/tap/capabilities", body=capabilities(f"{fake.url}/tap/more/examples.html"))
    fake.reply("GET", "/tap/more/examples.html", body=EXAMPLES.format(more=""))
    assert ">Bright stars</a>" in text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))
    assert asked(fake, "/tap/examples") == 0


def test_examples_declared_outside_the_service_are_asked_for_below_it(client, fake):
    # DaCHS declares /__system__/tap/run/examples and serves the same at /tap/examples.
    fake.reply("GET", "/tap/capabilities", body=capabilities(f"{fake.url}/__system__/tap/run/examples"))
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=""))
    assert ">Bright stars</a>" in text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))
    assert asked(fake, "/__system__/tap/run/examples") == 0


def test_continuations_are_followed_within_the_service_only(client, fake):
    more = (
        '<a property="continuation" href="examples/2">more</a>'
        '<a property="continuation" href="http://elsewhere.example.org/examples">elsewhere</a>'
    )
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=more))
    second = EXAMPLES.format(more='<a property="continuation" href="/tap/examples">back to the first</a>')
    fake.reply("GET", "/tap/examples/2", body=second.replace("Bright stars", "Bright stars again"))
    fragment = text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))
    assert ">Bright stars</a>" in fragment and ">Bright stars again</a>" in fragment
    # The second document reuses the ids: each example keeps a key of its own.
    assert "?example=bright#" in fragment and "?example=bright-2#" in fragment
    assert "Some of the examples could not be read: The portal only contacts the configured service." in fragment
    assert asked(fake, "/tap/examples") == 1 and asked(fake, "/tap/examples/2") == 1


@pytest.mark.parametrize("status", [404, 501])
def test_a_service_without_examples_says_so_in_words(client, fake, status):
    fake.reply("GET", "/tap/examples", status, "Unknown TAP resource", headers={"Content-Type": "text/plain"})
    response = client.get("/fake/examples", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Fake service offers no example queries." in text(response)


def test_examples_without_a_query_are_said_to_hold_none(client, fake):
    fake.reply("GET", "/tap/examples", body="<html><body><p>This service does not define examples.</p></body></html>")
    assert "The examples of Fake service hold no query." in text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))


@pytest.mark.parametrize(
    "status, body, said",
    [
        (500, "boom", "The service failed with HTTP 500."),
        (200, "<capabilities/>", "answer could not be read"),
        (200, '<VOTABLE><INFO name="QUERY_STATUS" value="ERROR">examples are off</INFO></VOTABLE>', "reported"),
    ],
    ids=["server-error", "not-examples", "dali-error"],
)
def test_a_service_that_fails_gives_a_clear_message_not_a_500(client, fake, status, body, said):
    fake.reply("GET", "/tap/examples", status, body)
    response = client.get("/fake/examples", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The service did not give its example queries:" in text(response) and said in text(response)
    fake.reply("GET", "/tap/examples", body=EXAMPLES.format(more=""))
    assert ">Bright stars</a>" in text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))  # a failure is not kept


def test_a_service_that_is_down_gives_a_clear_message(client, fake):
    response = client.get("/dead/examples")
    assert response.status_code == 200
    assert "The service did not give its example queries: The service refused the connection" in text(response)
    response = client.get("/dead/", {"example": "bright"})
    assert response.status_code == 200
    assert any(message.startswith("The service did not give its example queries:") for message in messages_of(response))


def test_hostile_examples_are_shown_as_text(client, fake):
    hostile = (
        '<html><body><div typeof="example" id="x&quot; onmouseover=&quot;alert(1)">'
        '<h2 property="name">&lt;script&gt;alert(1)&lt;/script&gt;</h2>'
        '<pre property="query">SELECT "&gt;&lt;img src=x onerror=alert(1)&gt;</pre></div></body></html>'
    )
    fake.reply("GET", "/tap/examples", body=hostile)
    fragment = text(client.get("/fake/examples", HTTP_HX_REQUEST="true"))
    assert "<script" not in fragment and "<img" not in fragment and " onmouseover=" not in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</a>" in fragment
    assert "?example=x%22%20onmouseover%3D%22alert%281%29#" in fragment


def test_a_service_that_takes_no_queries_has_no_examples_page(client, fake, settings, tmp_path):
    path = tmp_path / "soda.toml"
    path.write_text(f'[services.soda]\ntitle = "Cutouts"\nurl = "{fake.url}/soda"\njobs = "{fake.url}/soda/jobs"\n')
    settings.PORTAL_SERVICES_FILE = path
    assert client.get("/soda/examples").status_code == 404
    assert 'id="examples"' not in text(client.get("/soda/"))
