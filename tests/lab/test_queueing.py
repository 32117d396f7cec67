"""Queueing by memory reservation: swarm holds a job pending until a worker has room.

The queue lives in the swarm, so it survives quartermaster being killed and restarted.
"""

import signal
import time

import pytest
import requests

from support.lab import LiveServer
from support.settings import TOKEN

pytestmark = pytest.mark.alone  # fills the workers' memory

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
        if condition(list(statuses.values())):
            return statuses
        time.sleep(0.25)
    raise AssertionError(f"timed out; statuses: {[s['status'] for s in statuses.values()]}")


QUEUED = 20


def test_twenty_queued_jobs_survive_a_sigkill_and_each_runs_exactly_once(
    lab, docker_client, tmp_path
):
    # Each job reserves 60% of a worker's memory: one at a time per worker, the rest wait.
    memory = int(worker_memory_mb(docker_client) * 0.6)
    server = LiveServer(tmp_path / "first.log").start()
    try:
        job_ids = []
        for number in range(lab.workers + QUEUED):
            seconds = 8 if number < lab.workers else 1  # the first hold the workers while we look
            response = requests.post(
                f"{server.url}/run",
                json={
                    "token": TOKEN,
                    "image": lab.image,
                    "command": f"sh -c 'sleep {seconds}; echo ran {number}'",
                    "memory": memory,
                },
                timeout=10,
            )
            assert response.status_code == 200, response.text
            job_ids.append(response.json()["id"])

        def workers_busy_and_the_rest_queued(documents):
            # A task is pending a moment before the scheduler says why: wait for its reason too.
            words = [document["status"] for document in documents]
            queued = [document for document in documents if document["status"] == "pending"]
            return (
                words.count("started") == lab.workers
                and len(queued) == QUEUED
                and all(document["error"] for document in queued)
            )

        statuses = wait_for_statuses(server, job_ids, workers_busy_and_the_rest_queued)
        queued = [job_id for job_id, doc in statuses.items() if doc["status"] == "pending"]
        assert all("insufficient resources" in statuses[job_id]["error"] for job_id in queued)
    finally:
        # quartermaster dies without warning (and, should the test fail before, never stays
        # behind: its reaper would act on every job of the lab).
        server.stop(signal.SIGKILL)
    # A new one knows about the queued jobs from the swarm.
    restarted = LiveServer(tmp_path / "second.log").start()
    try:
        assert status_of(restarted, queued[-1])["status"] == "pending"
        final = wait_for_statuses(
            restarted,
            job_ids,
            lambda documents: all(document["status"] == "complete" for document in documents),
            timeout=240,
        )
    finally:
        restarted.stop()
    for number, job_id in enumerate(job_ids):
        assert final[job_id]["exit_code"] == 0
        assert final[job_id]["attempts"] == 1, final[job_id]  # one task: never run twice
        output = b"".join(docker_client.api.service_logs(job_id, stdout=True))
        assert output.decode().splitlines() == [f"ran {number}"]
