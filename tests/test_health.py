"""GET /healthz against the real swarm, a dead socket and a non-manager daemon; the reaper's
liveness."""

import os
import time

import pytest
from conftest import MANAGER_SOCKET, make_config

from quartermaster.process import heartbeat, metrics_directory
from quartermaster.swarm.client import DockerConnection
from quartermaster.web.app import create_app


def test_healthz_counts_the_swarm_without_a_token(lab, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "success": True,
        "docker": "ok",
        "swarm": {"managers": 1, "workers": lab.workers, "ready_workers": lab.workers},
        # An app not started by the `quartermaster` command runs no reaper.
        "reaper": {"state": "off"},
    }


@pytest.fixture
def heartbeat_file(tmp_path, monkeypatch):
    """The instance's shared directory, as the `quartermaster` command makes it, with a
    heartbeat file in it."""
    monkeypatch.setenv(metrics_directory.VARIABLE, str(tmp_path))
    path = tmp_path / metrics_directory.HEARTBEAT_FILE
    path.touch()
    return path


def test_healthz_tells_the_reaper_makes_progress(lab, client, heartbeat_file):
    os.utime(heartbeat_file, (time.time() - 3, time.time() - 3))
    response = client.get("/healthz")
    assert response.status_code == 200
    reaper = response.get_json()["reaper"]
    assert reaper["state"] == "ok"
    assert 3 <= reaper["seconds_since_progress"] < 10


def test_healthz_is_503_when_the_reaper_is_stale(lab, client, heartbeat_file):
    quiet = 5 + heartbeat.STALE_SECONDS + 1  # beyond the default interval and the grace
    os.utime(heartbeat_file, (time.time() - quiet, time.time() - quiet))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert body["error"].startswith("the reaper made no progress for 6")


def test_healthz_says_off_when_the_instance_runs_no_reaper(lab, heartbeat_file):
    os.utime(heartbeat_file, (0, 0))
    app = create_app(make_config(reaper_interval=0))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["reaper"] == {"state": "off"}


def test_healthz_is_503_fast_when_docker_is_unreachable(tmp_path):
    app = create_app(make_config(docker_host=f"unix://{tmp_path}/no-docker.sock"))
    started = time.monotonic()
    response = app.test_client().get("/healthz")
    assert time.monotonic() - started < 1
    assert response.status_code == 503
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 503)
    assert "Docker is unreachable" in body["error"]


def test_healthz_is_503_on_a_docker_host_that_is_not_a_swarm_manager(lab):
    # A lab worker's daemon is a real Docker in the swarm, but not a manager.
    app = create_app(make_config(docker_host=lab.worker_sockets[0]))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "not a swarm manager" in response.get_json()["error"]


def test_each_process_makes_its_own_docker_client(lab):
    connection = DockerConnection(MANAGER_SOCKET, timeout=10)
    parent_client = connection.engine
    assert parent_client.version()
    child = os.fork()
    if child == 0:  # the child reports through its exit status only
        try:
            fresh = connection.engine is not parent_client and connection.engine.version()
            os._exit(0 if fresh else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert connection.engine is parent_client
