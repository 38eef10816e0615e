"""Several machines, proven on loopback: two portal instances and two workers on PostgreSQL behind nginx.

A browser's session, its token, My jobs, banners and e-mail work whichever instance answers;
a job watched by two workers ends in one e-mail; a worker killed, the other carries on.
Everything is started here and stopped after: Debian's nginx (scripts/test-tools.sh) on a port of
its own, gunicorn and `manage.py watch` as `make serve` runs them, a database of its own in
the PostgreSQL of scripts/dachs.sh (role of scripts/test-postgres.sh), the scripted service
and an SMTP server in this process.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.fakeuws import FakeUWS, job_xml
from tests.helpers import SCREENSHOTS, wait_in_page
from tests.watching.conftest import Inbox

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
UVICORN = ROOT / ".venv" / "bin" / "uvicorn"
POSTGRES = "postgres://portal_test:portal_test@127.0.0.1:5432/{}"
DATABASE = "portal_cluster"

pytestmark = pytest.mark.cluster


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class Cluster:
    url: str
    fake: FakeUWS
    inbox: Inbox
    workers: list[subprocess.Popen] = field(default_factory=list)
    instances: list[subprocess.Popen] = field(default_factory=list)

    def browser(self) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.url}/mine", timeout=10)
        return session


def _database() -> None:
    """A database of the cluster's own, made anew."""
    try:
        with psycopg.connect(POSTGRES.format("postgres"), autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {DATABASE}")
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 (scripts/dachs.sh, scripts/test-postgres.sh): {error}")


def _wait_for_a_tick(timeout: float = 60) -> None:
    """Wait until a worker has finished a tick, which is when the instances count the workers as running."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(POSTGRES.format(DATABASE), autocommit=True) as connection:
        while not connection.execute(
            "SELECT 1 FROM django_tasks_database_dbtaskresult WHERE task_path = %s AND status = 'SUCCESSFUL' LIMIT 1",
            ["jobs.watching.tasks.tick"],
        ).fetchone():
            if time.monotonic() > deadline:
                pytest.fail(f"no worker finished a tick in {timeout} s")
            time.sleep(0.2)


def _nginx_conf(folder: Path, port: int, upstreams: list[int], live: list[int]) -> Path:
    servers = "".join(f"    server 127.0.0.1:{upstream};\n" for upstream in upstreams)
    live_servers = "".join(f"    server 127.0.0.1:{upstream};\n" for upstream in live)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log {folder}/access.log;
  client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy; fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
  upstream portal {{
{servers}  }}
  upstream live {{
{live_servers}  }}
  server {{
    listen 127.0.0.1:{port};
    location /live/ {{
      proxy_pass http://live;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
      add_header X-Instance $upstream_addr always;
    }}
    location / {{
      proxy_pass http://portal;
      proxy_set_header Host $http_host;  # with its port: a browser's Origin names it (CSRF)
      proxy_set_header X-Forwarded-Proto http;
      proxy_read_timeout 120s;
      add_header X-Instance $upstream_addr always;
    }}
  }}
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.fail("nginx is missing: install it with `bash scripts/test-tools.sh` (as root)")
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("cluster")
    fake = FakeUWS()
    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    services = folder / "services.toml"
    services.write_text(f'[services.fake]\ntitle = "Fake service"\nurl = "{fake.url}/tap"\n')
    front, ports, live = free_port(), [free_port(), free_port()], [free_port(), free_port()]
    env = {
        **os.environ,
        "DATABASE_URL": POSTGRES.format(DATABASE),
        "PORTAL_SECRET_KEY": "cluster-test-secret-key-the-same-on-every-instance",
        "PORTAL_SERVICES": str(services),
        "PORTAL_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{front}",
        "PORTAL_ALLOWED_HOSTS": "127.0.0.1",
        "PORTAL_WORKERS": "1",
        "PORTAL_THREADS": "8",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _database()
    # As make serve does: the database made, the static files collected (production settings serve them hashed).
    for step in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([PYTHON, "manage.py", *step], cwd=ROOT, env=env, check=True, timeout=120)
    log = (folder / "processes.log").open("w")
    started = Cluster(url=f"http://127.0.0.1:{front}", fake=fake, inbox=inbox)
    proxy = None
    try:
        for port, live_port in zip(ports, live, strict=True):
            instance = {**env, "PORTAL_BIND": f"127.0.0.1:{port}", "PORTAL_LIVE_BIND": f"127.0.0.1:{live_port}"}
            started.instances.append(
                subprocess.Popen(
                    [GUNICORN, "-c", "portal/gunicorn.conf.py", "portal.wsgi"],
                    cwd=ROOT,
                    env=instance,
                    stdout=log,
                    stderr=log,
                )
            )
            # The live server beside it, as scripts/serve.sh starts it.
            started.instances.append(
                subprocess.Popen(
                    [UVICORN, "portal.live:application", "--host", "127.0.0.1", "--port", str(live_port)]
                    + ["--http", "h11", "--loop", "asyncio", "--no-access-log", "--timeout-graceful-shutdown", "3"],
                    cwd=ROOT,
                    env=instance,
                    stdout=log,
                    stderr=log,
                )
            )
        for _ in range(2):
            started.workers.append(
                subprocess.Popen([PYTHON, "manage.py", "watch"], cwd=ROOT, env=env, stdout=log, stderr=log)
            )
        proxy = subprocess.Popen(
            [nginx, "-c", str(_nginx_conf(folder, front, ports, live)), "-g", "daemon off;"], stdout=log, stderr=log
        )
        for port in (*ports, *live, front):
            wait_for_port(port)
        _wait_for_a_tick()  # until then, job pages poll the service themselves rather than the workers' record
        yield started
    finally:
        for process in [*started.workers, *started.instances, *([proxy] if proxy else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*started.workers, *started.instances, *([proxy] if proxy else [])]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()
        fake.close()
        log.close()


def instances_seen(responses) -> set[str]:
    return {response.headers["X-Instance"] for response in responses}


def confirm_address(cluster: Cluster, browser: requests.Session, address: str) -> None:
    browser.post(f"{cluster.url}/mine/email", data={"address": address, **csrf(browser)}, timeout=10)
    message = wait_for_mail(cluster.inbox, address)
    link = re.search(r"(/mine/confirm/\S+)", message.get_payload(decode=True).decode())[1]
    assert "Address confirmed" in browser.get(f"{cluster.url}{link}", timeout=10).text
    cluster.inbox.messages.clear()


def csrf(browser: requests.Session) -> dict[str, str]:
    """The CSRF field a form of the portal would send (its cookie, set by a page with a form)."""
    return {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}


def wait_for_mail(inbox: Inbox, address: str, timeout: float = 45, count: int = 1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(inbox.to(address)) >= count:
            return inbox.to(address)[count - 1]
        time.sleep(0.3)
    raise AssertionError(f"no e-mail {count} to {address} after {timeout} s (had {len(inbox.to(address))})")


def open_job(cluster: Cluster, browser: requests.Session, job_id: str, phase: str) -> None:
    cluster.fake.reply("GET", f"/tap/async/{job_id}", body=job_xml(job_id=job_id, phase=phase))
    page = browser.get(f"{cluster.url}/fake/async/{job_id}", timeout=10)
    assert page.status_code == 200 and f'Phase: <span class="phase">{phase}</span>' in page.text


def test_a_browser_is_the_same_whichever_instance_answers(cluster):
    browser = cluster.browser()
    browser.get(f"{cluster.url}/fake/", timeout=10)  # the CSRF cookie
    responses = [
        browser.post(f"{cluster.url}/fake/token", data={"token": "secret-token-1", **csrf(browser)}, timeout=10)
    ]
    for number in range(4):
        open_job(cluster, browser, f"j{number}", "EXECUTING")
    responses += [browser.get(f"{cluster.url}/mine", timeout=10) for _ in range(4)]
    assert len(instances_seen(responses)) == 2  # both instances answered
    sent = [request for request in cluster.fake.requests if request.path.startswith("/tap/async/j")]
    assert sent and all(request.headers.get("authorization") == "Bearer secret-token-1" for request in sent)
    for response in responses[1:]:
        assert all(f"/fake/async/j{number}" in response.text for number in range(4))


def test_two_workers_send_one_email_per_change_and_one_carries_on_when_the_other_is_killed(cluster):
    browser = cluster.browser()
    browser.get(f"{cluster.url}/fake/", timeout=10)
    confirm_address(cluster, browser, "astro@example.org")
    for round_number, job_id in enumerate(("w1", "w2"), start=1):
        open_job(cluster, browser, job_id, "EXECUTING")
        response = browser.post(
            f"{cluster.url}/fake/async/{job_id}/notify", data={"on": "on", **csrf(browser)}, timeout=10
        )
        assert response.status_code == 200
        cluster.fake.reply("GET", f"/tap/async/{job_id}", body=job_xml(job_id=job_id, phase="COMPLETED"))
        message = wait_for_mail(cluster.inbox, "astro@example.org", count=round_number)
        assert message["Subject"] == f"Job {job_id} of Fake service is COMPLETED"
        time.sleep(6)  # more ticks of both workers: still one message for this change
        assert len(cluster.inbox.to("astro@example.org")) == round_number
        banners = browser.get(f"{cluster.url}/mine/notices", headers={"HX-Request": "true"}, timeout=10).text
        assert f"{job_id}</a> is now <strong>COMPLETED</strong>" in banners
        if round_number == 1:
            cluster.workers[0].send_signal(signal.SIGKILL)
            cluster.workers[0].wait(timeout=10)


def test_ten_open_pages_on_one_job_cost_the_service_what_one_does_and_see_its_end_at_once(cluster):
    browsers = [cluster.browser() for _ in range(10)]
    cluster.fake.reply("GET", "/tap/async/live1", body=job_xml(job_id="live1", phase="EXECUTING"))
    for browser in browsers:
        page = browser.get(f"{cluster.url}/fake/async/live1", timeout=10).text
        assert 'hx-trigger="every 1.5s, portal:changed"' in page  # read from the worker's record
    asked_before = len([r for r in cluster.fake.requests if r.path == "/tap/async/live1"])
    started = time.monotonic()
    for _ in range(5):  # ten pages asking every 2 s, for 10 s
        for browser in browsers:
            answer = browser.get(
                f"{cluster.url}/fake/async/live1",
                params={"watch": "EXECUTING"},
                headers={"HX-Request": "true"},
                timeout=10,
            )
            assert answer.status_code == 204
        time.sleep(2)
    asked = len([r for r in cluster.fake.requests if r.path == "/tap/async/live1"]) - asked_before
    minutes = (time.monotonic() - started) / 60
    assert asked / minutes <= 6 + 2, f"{asked} requests to the service in {minutes:.2f} min for ten open pages"
    cluster.fake.reply("GET", "/tap/async/live1", body=job_xml(job_id="live1", phase="COMPLETED"))
    changed_at = time.monotonic()
    while time.monotonic() - changed_at < 15:
        answer = browsers[0].get(
            f"{cluster.url}/fake/async/live1", params={"watch": "EXECUTING"}, headers={"HX-Request": "true"}, timeout=10
        )
        if answer.status_code == 200:
            break
        time.sleep(0.5)
    assert answer.status_code == 200 and "COMPLETED" in answer.text
    # The fake ignores WAIT, so the worker asks it every 10 s: the end shows within that, plus a poll.
    assert time.monotonic() - changed_at < 10 + 2 + 1


@pytest.mark.browser
def test_an_open_page_is_told_of_its_jobs_end_by_the_live_server_and_asks_nothing_meanwhile(cluster, browser):
    """In Chromium behind nginx: the page's stream opens, htmx's polls are left unasked, one GET follows the end."""
    cluster.fake.reply("GET", "/tap/async/push1", body=job_xml(job_id="push1", phase="EXECUTING"))
    asked: list[str] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("request", lambda request: asked.append(request.url))
        page.goto(f"{cluster.url}/fake/async/push1")
        page.get_by_role("button", name="Tell me when it ends").click()  # a banner when it ends
        page.get_by_text("The portal will tell you when job").wait_for(timeout=10_000)
        # A page rendered before the workers' first heartbeat polls once, and its next live part names the job.
        wait_in_page(page, "live.open && live.url.includes('job=')")
        streams = [url for url in asked if "/live/events?" in url]
        assert "job=fake%2Fpush1" in streams[-1] and "phase=EXECUTING" in streams[-1]
        del asked[:]  # before the stream opened, htmx may have asked: from here on it is told
        time.sleep(4)  # a polling page would have asked twice by now
        assert [url for url in asked if "watch=" in url] == [], asked
        cluster.fake.reply("GET", "/tap/async/push1", body=job_xml(job_id="push1", phase="COMPLETED"))
        # The fake ignores WAIT: the worker's eager check asks it every 10 s.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=SCREENSHOTS / "cluster-stream-executing-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=SCREENSHOTS / "cluster-stream-executing-390.png", full_page=True)
        page.locator("#job-live .phase", has_text="COMPLETED").wait_for(timeout=20_000)
        assert [url for url in asked if "watch=" in url] == [f"{cluster.url}/fake/async/push1?watch=EXECUTING"], asked
        # Its banner comes the same way: the banners are asked for once, when the stream says so.
        page.locator("#banners", has_text="push1").wait_for(timeout=10_000)
        assert len([url for url in asked if "/mine/notices" in url]) == 1, asked
        # The final page follows the banners alone: its live part, swapped in, has no job to follow (htmx's load
        # event, which reopens the stream, comes after the swap settles, so the new stream may still be on its way).
        wait_in_page(page, "live.url && !live.url.includes('job=')")

        def last_stream() -> str:
            return [url for url in asked if "/live/events?" in url][-1]

        deadline = time.monotonic() + 10
        while "job=" in last_stream() and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets the browser's request events reach this side
        assert "job=" not in last_stream(), asked
        page.screenshot(path=SCREENSHOTS / "cluster-stream-completed-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=SCREENSHOTS / "cluster-stream-completed-1280.png", full_page=True)
    finally:
        context.close()
