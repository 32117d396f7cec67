"""GET /healthz against the real swarm, a dead socket and a non-manager daemon."""

import os
import time

from conftest import MANAGER_SOCKET, make_config

from quartermaster.app import create_app
from quartermaster.swarm.client import DockerConnection


def test_healthz_counts_the_swarm_without_a_token(lab, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "success": True,
        "docker": "ok",
        "swarm": {"managers": 1, "workers": lab.workers, "ready_workers": lab.workers},
    }


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
    parent_client = connection.api
    assert parent_client.ping()
    child = os.fork()
    if child == 0:  # the child reports through its exit status only
        try:
            fresh = connection.api is not parent_client and connection.api.ping()
            os._exit(0 if fresh else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert connection.api is parent_client
