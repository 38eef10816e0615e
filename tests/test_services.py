"""The services file: data, checked at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobs.services import ServiceConfigError, load_services

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "services.toml"
    path.write_text(text)
    return path


def test_the_default_file_offers_esos_two_services():
    services = load_services(ROOT / "portal" / "services.toml")
    assert list(services) == ["tap_obs", "tap_cat"]
    assert services["tap_obs"].url == "https://archive.eso.org/tap_obs"
    assert services["tap_cat"].jobs_url == "https://archive.eso.org/tap_cat/async"
    assert services["tap_obs"].title == "ESO tap_obs"


def test_it_keeps_the_order_and_strips_a_trailing_slash(tmp_path):
    path = write(
        tmp_path,
        '[services.b]\ntitle = "B"\nurl = "http://127.0.0.1:1/tap/"\n'
        '[services.a-1]\ntitle = "A"\nurl = "https://127.0.0.1/x"\ndescription = "d"\n',
    )
    services = load_services(path)
    assert list(services) == ["b", "a-1"]
    assert services["b"].url == "http://127.0.0.1:1/tap"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[services.x\n", "not valid TOML"),
        ("", "no [services.<slug>] table"),
        ('[services.Bad]\ntitle = "t"\nurl = "http://h/tap"\n', "slug must match"),
        ('[services.x]\nurl = "http://h/tap"\n', "missing title"),
        ('[services.x]\ntitle = "t"\n', "missing url"),
        ('[services.x]\ntitle = "t"\nurl = "ftp://h/tap"\n', "must be an http(s) URL"),
        ('[services.x]\ntitle = "t"\nurl = "http://h/tap?x=1"\n', "plain base URL"),
        ('[services.x]\ntitle = "t"\nurl = "http://h/tap"\ncolour = "red"\n', "unknown key(s) colour"),
        ('[services.x]\ntitle = 3\nurl = "http://h/tap"\n', "title must be a string"),
        ('[other]\n[services.x]\ntitle = "t"\nurl = "http://h/tap"\n', "unknown top-level key(s) other"),
    ],
)
def test_it_names_the_file_and_the_problem(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(ServiceConfigError) as caught:
        load_services(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ServiceConfigError, match="does not exist"):
        load_services(tmp_path / "nope.toml")


def test_a_malformed_file_stops_the_portal_at_start(tmp_path):
    path = write(tmp_path, "[services.x]\ntitle = 't'\n")
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PORTAL_SERVICES": str(path), "PORTAL_DEBUG": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert completed.stderr.strip() == f"portal: configuration error: {path}: [services.x]: missing url"


def test_a_uws_service_names_its_own_job_list_and_is_not_tap(tmp_path):
    services = load_services(
        write(
            tmp_path,
            '[services.cutouts]\ntitle = "Cutouts"\nurl = "https://data.example.org/api/cutout"\n'
            'jobs = "https://data.example.org/api/cutout/jobs/"\n'
            '[services.odd_tap]\ntitle = "TAP"\nurl = "https://h/tap"\njobs = "https://h/tap/uws"\ntap = true\n',
        )
    )
    cutouts = services["cutouts"]
    assert (cutouts.jobs_url, cutouts.tap) == ("https://data.example.org/api/cutout/jobs", False)
    assert services["odd_tap"].tap and services["odd_tap"].jobs_url == "https://h/tap/uws"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('jobs = "ftp://h/jobs"', r"jobs must be an http\(s\) URL"),
        ('jobs = "https://h/jobs?x=1"', "jobs must be a plain base URL"),
        ("tap = 1", "tap must be true or false"),
    ],
)
def test_a_bad_job_list_or_tap_flag_is_refused_at_start(tmp_path, entry, problem):
    with pytest.raises(ServiceConfigError, match=problem):
        load_services(write(tmp_path, f'[services.x]\ntitle = "t"\nurl = "https://h/x"\n{entry}\n'))
