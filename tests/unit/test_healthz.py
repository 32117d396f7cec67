"""GET /healthz: the reaper's liveness, and Docker unreachable."""

import os
import time

import pytest

from quartermaster.process import heartbeat, metrics_directory
from quartermaster.web.app import create_app
from support.fake_runtime import FakeRuntime
from support.settings import make_config


@pytest.fixture
def heartbeat_file(tmp_path, monkeypatch):
    """The instance's shared directory, as the `quartermaster` command makes it, with a
    heartbeat file in it."""
    monkeypatch.setenv(metrics_directory.VARIABLE, str(tmp_path))
    path = tmp_path / metrics_directory.HEARTBEAT_FILE
    path.touch()
    return path


def test_healthz_needs_no_token_and_says_no_reaper_runs_in_a_bare_app(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    # An app not started by the `quartermaster` command runs no reaper.
    assert (body["success"], body["docker"], body["reaper"]) == (True, "ok", {"state": "off"})


def test_healthz_tells_the_reaper_makes_progress(client, heartbeat_file):
    os.utime(heartbeat_file, (time.time() - 3, time.time() - 3))
    response = client.get("/healthz")
    assert response.status_code == 200
    reaper = response.get_json()["reaper"]
    assert reaper["state"] == "ok"
    assert 3 <= reaper["seconds_since_progress"] < 10


def test_healthz_is_503_when_the_reaper_is_stale(client, heartbeat_file):
    quiet = 5 + heartbeat.STALE_SECONDS + 1  # beyond the default interval and the grace
    os.utime(heartbeat_file, (time.time() - quiet, time.time() - quiet))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert body["error"].startswith("the reaper made no progress for 6")


def test_healthz_says_off_when_the_instance_runs_no_reaper(heartbeat_file):
    os.utime(heartbeat_file, (0, 0))
    config = make_config(reaper_interval=0)
    response = create_app(config, FakeRuntime(config)).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["reaper"] == {"state": "off"}


def test_healthz_is_503_fast_when_docker_is_unreachable():
    app = create_app(make_config())  # the swarm runtime, on a Docker host that is not there
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert time.monotonic() - started < 1
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert "Docker is unreachable" in body["error"]
