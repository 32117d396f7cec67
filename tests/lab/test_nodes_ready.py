"""GET /nodes (capacity and what jobs reserve) and GET /readyz (a job could be placed now)."""

import time
from dataclasses import asdict

from quartermaster.compose import compose_app
from quartermaster.jobs import labels
from quartermaster.jobs.times import NANO, nanos_of
from quartermaster.process.config import DEFAULT_REAPER_INTERVAL
from quartermaster.swarm.nodes import summarize_nodes
from support.lab import DEPLOYMENT, lab_config, metric_values, wait_for_tasks


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


def test_nodes_sum_what_every_job_task_would_with_jobs_parked(lab, api, docker_client):
    """/nodes reads only the tasks placed on nodes: the same document as summing every task of
    the deployment's jobs, a parked one's (waiting for a node no node can be) among them."""
    parked = api.run_ok(image=lab.image, constraints=["node.labels.qm-test==never-placed"])
    running = api.run_ok(image=lab.image, command="sleep 60", memory=100, cpus=0.25)
    api.wait_for(running, "started")
    wait_for_tasks(docker_client, parked, 1)

    def summed_from_every_task() -> list[dict]:
        job_filter = labels.job_filter(DEPLOYMENT)
        tasks = docker_client.api.tasks(filters={"label": job_filter})
        assert any(task["ServiceID"] == parked and not task.get("NodeID") for task in tasks)
        nodes = docker_client.api.nodes()
        return [asdict(summary) for summary in summarize_nodes(nodes, tasks)]

    for _ in range(5):  # other tests' jobs may start or end meanwhile: until nothing moved
        before = summed_from_every_task()
        listed = api.get_ok("/nodes")["nodes"]
        if before == summed_from_every_task():
            break
    assert sorted(listed, key=lambda n: n["id"]) == sorted(before, key=lambda n: n["id"])
    assert sum(node["running_jobs"] for node in listed) >= 1


TASK_LISTINGS = 'quartermaster_docker_call_duration_seconds_count{call="GET /tasks"}'


def test_a_reading_of_the_nodes_is_shared_by_the_workers_for_a_round(lab, live_server_factory):
    """/nodes makes swarm walk every task: a reading made at most a round ago (REAPER_INTERVAL)
    is answered as it is, by any worker, with when it was made; an older one is made again."""
    env = {"REAPER_INTERVAL": "0", "DEPLOYMENT": f"{DEPLOYMENT}-kept-nodes"}  # no reaper's
    server = live_server_factory("--workers", "3", env=env)
    client = server.client()
    first = client.get("/nodes").json()
    made = nanos_of(first["as_of"]) / NANO
    assert time.time() - 5 <= made <= time.time()
    listings = metric_values(client.get("/metrics").text).get(TASK_LISTINGS, 0)
    for _ in range(12):  # spread over the three workers by the kernel
        assert client.get("/nodes").json() == first
    if time.time() - made < DEFAULT_REAPER_INTERVAL:  # else a worker rightly read it again
        assert metric_values(client.get("/metrics").text).get(TASK_LISTINGS, 0) == listings
    time.sleep(DEFAULT_REAPER_INTERVAL + 0.1)
    later = client.get("/nodes").json()
    assert nanos_of(later["as_of"]) > nanos_of(first["as_of"])
    assert metric_values(client.get("/metrics").text)[TASK_LISTINGS] == listings + 1


def test_readyz_is_503_when_no_node_matches_the_constraints(lab):
    app = compose_app(lab_config(constraints=("node.role==worker", "node.labels.gpu==yes")))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "no ready, active node matches" in response.get_json()["error"]


def test_readyz_is_503_without_docker_or_on_a_worker(lab, tmp_path):
    for docker_host in (f"unix://{tmp_path}/none.sock", lab.worker_sockets[0]):
        response = compose_app(lab_config(docker_host=docker_host)).test_client().get("/readyz")
        assert response.status_code == 503
