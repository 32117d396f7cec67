"""GET /nodes (capacity and what jobs reserve) and GET /readyz (a job could be placed now)."""

from quartermaster.compose import compose_app
from support.lab import lab_config


def test_nodes_are_the_labs_as_docker_describes_them(lab, api, docker_client):
    """(What jobs reserve on them: the runtime contract, support/contract.py.)"""
    nodes = api.get_ok("/nodes")["nodes"]
    assert len(nodes) == lab.workers + 1
    workers = sorted(node["hostname"] for node in nodes if node["role"] == "worker")
    assert workers == [f"lab-worker-{n}" for n in range(1, lab.workers + 1)]
    for node in nodes:
        described = docker_client.api.inspect_node(node["id"])["Description"]["Resources"]
        assert node["memory_mb"] == described["MemoryBytes"] // (1024 * 1024)
        assert node["cpus"] == described["NanoCPUs"] / 1e9
        assert (node["state"], node["availability"]) == ("ready", "active")


def test_readyz_is_503_when_no_node_matches_the_constraints(lab):
    app = compose_app(lab_config(constraints=("node.role==worker", "node.labels.gpu==yes")))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "no ready, active node matches" in response.get_json()["error"]


def test_readyz_is_503_without_docker_or_on_a_worker(lab, tmp_path):
    for docker_host in (f"unix://{tmp_path}/none.sock", lab.worker_sockets[0]):
        response = compose_app(lab_config(docker_host=docker_host)).test_client().get("/readyz")
        assert response.status_code == 503
