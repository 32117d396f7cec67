"""GET /nodes (capacity and what jobs reserve) and GET /readyz (a job could be placed now)."""

from conftest import make_config

from quartermaster.web.app import create_app


def test_nodes_report_reservations_of_running_jobs(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sleep 60", memory=300, cpus=0.5)
    node_id = api.wait_for(job_id, "started")["node"]
    response = api.client.get("/nodes", headers=api.headers)
    assert response.status_code == 200
    nodes = {node["id"]: node for node in response.get_json()["nodes"]}
    assert len(nodes) == lab.workers + 1
    busy = nodes[node_id]
    assert busy["hostname"].startswith("lab-worker-")
    assert (busy["role"], busy["state"], busy["availability"]) == ("worker", "ready", "active")
    assert (busy["reserved_memory_mb"], busy["reserved_cpus"], busy["running_jobs"]) == (
        300,
        0.5,
        1,
    )
    described = docker_client.api.inspect_node(node_id)["Description"]["Resources"]
    assert busy["memory_mb"] == described["MemoryBytes"] // (1024 * 1024)
    assert busy["free_memory_mb"] == busy["memory_mb"] - 300
    assert busy["cpus"] == described["NanoCPUs"] / 1e9
    idle = [node for node in nodes.values() if node["id"] != node_id]
    assert all(node["reserved_memory_mb"] == 0 and node["running_jobs"] == 0 for node in idle)


def test_nodes_needs_the_token(client):
    assert client.get("/nodes").status_code == 401


def test_readyz_with_ready_workers(lab, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "ready": True}


def test_readyz_is_503_when_no_node_matches_the_constraints(lab):
    app = create_app(make_config(constraints=("node.role==worker", "node.labels.gpu==yes")))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "no ready, active node matches" in response.get_json()["error"]


def test_readyz_is_503_without_docker_or_on_a_worker(lab, tmp_path):
    for docker_host in (f"unix://{tmp_path}/none.sock", lab.worker_sockets[0]):
        response = create_app(make_config(docker_host=docker_host)).test_client().get("/readyz")
        assert response.status_code == 503
