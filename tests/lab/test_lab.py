"""The lab itself: a real multi-node swarm with a private registry, as the other tests assume."""

import base64
import json
import time

import pytest

from support.lab import PRIVATE_IMAGE, this_test_labels

# It removes the private image from the workers.
pytestmark = pytest.mark.xdist_group(PRIVATE_IMAGE)


def create_test_service(client, image, command, headers=None):
    spec = {
        "Labels": this_test_labels(),
        "TaskTemplate": {
            "ContainerSpec": {"Image": image, "Args": command},
            "RestartPolicy": {"Condition": "none"},
            "Placement": {"Constraints": ["node.role==worker"]},
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    # docker-py's create_service takes no per-call credentials: the request goes through its
    # requests session, as the Engine API documents it.
    api = client.api
    url = f"{api.base_url}/v{api.api_version}/services/create"
    response = api.post(url, json=spec, headers=headers or {})
    response.raise_for_status()
    return response.json()["ID"]


def wait_for_final_task(client, service_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = client.api.tasks(filters={"service": service_id})
        final = [t for t in tasks if t["Status"]["State"] in ("complete", "failed", "rejected")]
        if final:
            return final[0]
        time.sleep(0.25)
    raise AssertionError(f"service {service_id} has no finished task after {timeout}s")


def test_nodes(lab, docker_client):
    nodes = docker_client.api.nodes()
    workers = [n for n in nodes if n["Spec"]["Role"] == "worker"]
    managers = [n for n in nodes if n["Spec"]["Role"] == "manager"]
    assert len(managers) == 1
    assert len(workers) == lab.workers
    hostnames = {n["Description"]["Hostname"] for n in workers}
    assert hostnames == {f"lab-worker-{i}" for i in range(1, lab.workers + 1)}
    assert all(n["Status"]["State"] == "ready" for n in workers)


def test_a_worker_service_runs_on_a_worker_and_is_seen_from_the_manager(lab, docker_client):
    service_id = create_test_service(docker_client, lab.image, ["echo", "hello from a worker"])
    task = wait_for_final_task(docker_client, service_id)
    assert task["Status"]["State"] == "complete"
    node = docker_client.api.inspect_node(task["NodeID"])
    assert node["Spec"]["Role"] == "worker"
    logs = b"".join(docker_client.api.service_logs(service_id, stdout=True, stderr=True))
    assert b"hello from a worker" in logs


def test_the_private_registry_serves_workers_with_credentials_only(
    lab, docker_client, private_image_not_on_workers
):
    auth = {
        "username": lab.registry_user,
        "password": lab.registry_password,
        "serveraddress": lab.registry,
    }
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    # Without credentials first: once a worker has pulled the image, it runs it for anyone.
    without_auth = create_test_service(docker_client, lab.private_image, ["true"])
    refused = wait_for_final_task(docker_client, without_auth)
    assert refused["Status"]["State"] == "rejected"
    assert "No such image" in refused["Status"]["Err"]
    with_auth = create_test_service(
        docker_client, lab.private_image, ["true"], headers={"X-Registry-Auth": header}
    )
    assert wait_for_final_task(docker_client, with_auth)["Status"]["State"] == "complete"
