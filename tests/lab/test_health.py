"""GET /healthz against the real swarm and a non-manager daemon; each process its own client.
(The reaper's liveness and a dead socket: tests/unit/test_healthz.py.)"""

import os

from quartermaster.compose import compose_app
from quartermaster.swarm.docker_connection import DockerConnection
from support.lab import MANAGER_SOCKET, lab_config


def test_healthz_counts_the_swarm_without_a_token(lab, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    store = body.pop("store")  # the lab's store, which other tests fill too
    assert body == {
        "success": True,
        "docker": "ok",
        "swarm": {"managers": 1, "workers": lab.workers, "ready_workers": lab.workers},
        # An app not started by the `quartermaster` command runs no reaper.
        "reaper": {"state": "off"},
    }
    assert list(store) == ["state", "records", "log_bytes"] and store["state"] == "ok"
    assert store["records"] >= 0 and store["log_bytes"] >= 0


def test_healthz_is_503_on_a_docker_host_that_is_not_a_swarm_manager(lab):
    # A lab worker's daemon is a real Docker in the swarm, but not a manager.
    app = compose_app(lab_config(docker_host=lab.worker_sockets[0]))
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
