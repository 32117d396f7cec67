"""Faults on the real lab: a worker's Docker daemon killed mid-job, the registry down, an image
missing. A test that breaks the lab puts it back (`scripts/lab.sh up`) however it ends."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support.lab import PRIVATE_IMAGE, assert_alone, seed_style_auth
from support.settings import PROJECT_ROOT

REGISTRY_PIDFILE = Path("/var/lib/qm-lab/state/registry/registry.pid")
FINAL = ["complete", "failed", "rejected", "shutdown"]


def restore_the_lab():
    result = subprocess.run(
        [PROJECT_ROOT / "scripts/lab.sh", "up"], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr


def kill_from_pidfile(pidfile: Path) -> None:
    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


@pytest.fixture
def worker_hostnames(lab, docker_client) -> list[str]:
    workers = docker_client.api.nodes(filters={"role": "worker"})
    return sorted(node["Description"]["Hostname"] for node in workers)


@pytest.fixture
def lab_restored_afterwards(lab):
    yield
    restore_the_lab()


@pytest.mark.alone  # kills a worker's Docker daemon
def test_a_worker_daemon_killed_mid_job_fails_that_job_only(
    lab, api, flask_client, worker_hostnames, lab_restored_afterwards
):
    doomed_host, other_host = worker_hostnames[:2]
    doomed = api.run_ok(
        image=lab.image, command="sleep 300", constraints=[f"node.hostname=={doomed_host}"]
    )
    survivor = api.run_ok(
        image=lab.image,
        command="sh -c 'sleep 25; echo survived'",
        constraints=[f"node.hostname=={other_host}"],
    )
    api.wait_for(doomed, "started")
    api.wait_for(survivor, "started")

    # Worker i's daemon keeps its pid in /run/qm-w<i>/docker.pid; its hostname is lab-worker-<i>.
    assert_alone("a worker's Docker daemon killed")
    kill_from_pidfile(Path(f"/run/qm-w{doomed_host.rsplit('-', 1)[1]}/docker.pid"))

    # The manager declares the node down after missing its heartbeats (about 10-15 s here).
    lost = api.wait_for(doomed, FINAL, timeout=60)
    assert lost["status"] == "failed", lost
    assert lost["error"] == (
        f"the node {doomed_host} stopped answering the swarm during this run; "
        "its outcome is unknown"
    )
    assert lost["exit_code"] is None
    assert "started" not in lost["seen"][1:]  # it never went back to "started"
    listed = flask_client.get("/jobs", headers=api.headers).get_json()["jobs"]
    assert {job["id"]: job["status"] for job in listed}[doomed] == "failed"

    done = api.wait_for(survivor, FINAL, timeout=60)
    assert done["status"] == "complete", done
    assert done["exit_code"] == 0
    assert done["seen"] == ["started", "complete"]


@pytest.fixture
def registry_down(lab, private_image_not_on_workers):
    kill_from_pidfile(REGISTRY_PIDFILE)
    yield
    restore_the_lab()


@pytest.mark.xdist_group(PRIVATE_IMAGE)  # it stops the registry
def test_with_the_registry_down_a_private_job_is_rejected_saying_why(lab, api, registry_down):
    started = time.monotonic()
    job_id = api.run_ok(
        image=lab.private_image,
        command="echo private",
        auth=seed_style_auth(lab.registry_user, lab.registry_password),
    )
    document = api.wait_for(job_id, FINAL, timeout=60)
    assert document["status"] == "rejected", document
    assert "No such image" in document["error"]
    assert time.monotonic() - started < 60


def test_a_missing_image_is_rejected_saying_why(lab, api):
    missing = f"{lab.registry}/private/no-such-image:1"
    job_id = api.run_ok(
        image=missing,
        command="echo never",
        auth=seed_style_auth(lab.registry_user, lab.registry_password),
    )
    document = api.wait_for(job_id, FINAL, timeout=60)
    assert document["status"] == "rejected", document
    assert document["error"] == f"No such image: {missing}"
