"""Queueing by memory reservation: swarm holds a job pending until a worker has room.

The queue lives in the swarm, so it survives quartermaster being killed and restarted.
"""

import signal
import time

import requests
from conftest import TOKEN, LiveServer

MIB = 1024 * 1024


def worker_memory_mb(docker_client) -> int:
    workers = docker_client.api.nodes(filters={"role": "worker"})
    return min(node["Description"]["Resources"]["MemoryBytes"] for node in workers) // MIB


def status_of(server, job_id) -> dict:
    return requests.get(f"{server.url}/status/{job_id}?token={TOKEN}", timeout=10).json()


def wait_for_statuses(server, job_ids, condition, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {job_id: status_of(server, job_id) for job_id in job_ids}
        if condition([s["status"] for s in statuses.values()]):
            return statuses
        time.sleep(0.25)
    raise AssertionError(f"timed out; statuses: {[s['status'] for s in statuses.values()]}")


def test_jobs_queue_by_memory_and_the_queue_survives_a_restart(lab, docker_client, tmp_path):
    memory = int(worker_memory_mb(docker_client) * 0.6)
    server = LiveServer(tmp_path / "first.log").start()
    job_ids = []
    for _ in range(lab.workers + 1):
        response = requests.post(
            f"{server.url}/run",
            json={"token": TOKEN, "image": lab.image, "command": "sleep 6", "memory": memory},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        job_ids.append(response.json()["id"])

    statuses = wait_for_statuses(
        server, job_ids, lambda s: s.count("started") == lab.workers and "pending" in s
    )
    [queued] = [job_id for job_id, doc in statuses.items() if doc["status"] == "pending"]
    assert "insufficient resources" in statuses[queued]["error"]

    # quartermaster dies without warning; a new one knows about the queued job from the swarm.
    server.stop(signal.SIGKILL)
    restarted = LiveServer(tmp_path / "second.log").start()
    try:
        assert status_of(restarted, queued)["status"] == "pending"
        final = wait_for_statuses(restarted, job_ids, lambda s: s == ["complete"] * len(s))
        assert all(doc["exit_code"] == 0 for doc in final.values())
    finally:
        restarted.stop()
