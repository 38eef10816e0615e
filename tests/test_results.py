"""Result downloads: streamed through, linked where another host keeps them."""

from __future__ import annotations

import pytest

from tests.fakeuws import Reply, job_xml
from tests.helpers import RESULT, text

pytestmark = pytest.mark.django_db


def test_result_is_streamed_with_type_length_and_a_file_name(client, fake):
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(
            job_id="abc", phase="COMPLETED", results=RESULT.format(f"{fake.url}/x/__system__/abc/results/result")
        ),
    )
    fake.reply("GET", "/tap/async/abc/results/result", body="a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Length"] == "8"
    assert response["Content-Disposition"] == 'attachment; filename="abc-result.csv"'


def test_a_result_the_job_does_not_have_is_a_404_saying_what_it_has(client, fake):
    fake.reply("GET", "/tap/async/abc", body=job_xml(job_id="abc", phase="EXECUTING"))
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 404
    assert "is EXECUTING and lists" in text(response)


def test_a_result_on_another_host_is_linked_not_proxied(client, fake):
    signed = "https://storage.example.org/b/r.fits?sig=1"
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(job_id="abc", phase="COMPLETED", results=RESULT.format(signed.replace("&", "&amp;"))),
    )
    response = client.get("/fake/async/abc/results/result")
    assert response.status_code == 302
    assert response["Location"] == signed
    assert [request.path for request in fake.requests] == ["/tap/async/abc"]


def test_a_large_result_streams_through_in_constant_memory(client, fake):
    import tracemalloc

    size, chunk = 200 * 1024 * 1024, b"x" * (1024 * 1024)
    fake.reply(
        "GET",
        "/tap/async/abc",
        body=job_xml(
            job_id="abc", phase="COMPLETED", results=RESULT.format(f"{fake.url}/tap/async/abc/results/result")
        ),
    )
    fake.route(
        "GET",
        "/tap/async/abc/results/result",
        lambda request: Reply(
            body=(chunk for _ in range(size // len(chunk))),
            headers={"Content-Type": "application/x-votable+xml", "Content-Length": str(size)},
        ),
    )
    tracemalloc.start()
    try:
        response = client.get("/fake/async/abc/results/result")
        assert response["Content-Length"] == str(size)
        assert response["Content-Disposition"] == 'attachment; filename="abc-result.vot"'
        received = sum(len(piece) for piece in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB result"
