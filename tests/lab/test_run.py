"""POST /run through the app to the real swarm: the service it creates, with the configured
memory and constraints. (The job's life: the runtime contract, support/contract.py.)"""

import time

from quartermaster.compose import compose_app
from support.lab import DEPLOYMENT, DockerCalls, lab_config, this_test_labels
from support.settings import TOKEN


def test_the_service_spec(lab, api, docker_client):
    job_id = api.run_ok(
        image=lab.image,
        command=["echo", "$HOME; rm -rf / `id`"],
        name="spec_check",
        labels={"team": "a", "purpose": "spec"},
        memory=64,
    )
    service = docker_client.api.inspect_service(job_id)
    spec = service["Spec"]
    assert spec["Name"] == "spec_check"
    assert spec["Labels"] == {
        **this_test_labels(),  # the lab's `api` marks every job with its test's label
        "team": "a",
        "purpose": "spec",
        "quartermaster.job": DEPLOYMENT,  # the tests' servers run as a deployment of their own
        "quartermaster.image": lab.image,
        "quartermaster.ttl": "604800",
        "quartermaster.completions": "1",
        "quartermaster.run-by": "operator",  # the audit trail's actor
    }
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    template = spec["TaskTemplate"]
    assert template["ContainerSpec"]["Args"] == ["echo", "$HOME; rm -rf / `id`"]
    assert template["ContainerSpec"]["StopSignal"] == "SIGINT"
    assert template["RestartPolicy"]["Condition"] == "none"
    assert template["Resources"]["Limits"]["MemoryBytes"] == 64 * 1024 * 1024
    assert template["Resources"]["Reservations"]["MemoryBytes"] == 64 * 1024 * 1024
    assert template["Placement"]["Constraints"] == ["node.role==worker"]
    # Shell metacharacters reach the container as one argv word; no shell of ours ran them.
    api.wait_for(job_id, "complete")
    logs = b"".join(docker_client.api.service_logs(job_id, stdout=True))
    assert b"$HOME; rm -rf / `id`" in logs


def test_memory_defaults_to_the_configured_value(lab, docker_client):
    app = compose_app(lab_config(memory_mb=96))
    response = app.test_client().post(
        "/run", json={"token": TOKEN, "image": lab.image, "command": "true"}
    )
    resources = docker_client.api.inspect_service(response.get_json()["id"])["Spec"][
        "TaskTemplate"
    ]["Resources"]
    assert resources["Limits"]["MemoryBytes"] == 96 * 1024 * 1024


def test_configured_constraints_are_applied(lab, docker_client):
    constraints = ("node.role==worker", "node.hostname==lab-worker-2")
    app = compose_app(lab_config(constraints=constraints))
    client = app.test_client()
    job_id = client.post(
        "/run", json={"token": TOKEN, "image": lab.image, "command": "true"}
    ).get_json()["id"]
    node_id = None
    deadline = time.monotonic() + 30
    while not node_id and time.monotonic() < deadline:
        tasks = docker_client.api.tasks(filters={"service": job_id})
        node_id = tasks[0].get("NodeID") if tasks else None
    hostname = docker_client.api.inspect_node(node_id)["Description"]["Hostname"]
    assert hostname == "lab-worker-2"


def test_a_run_costs_two_engine_api_calls_and_answers_once_recorded(lab, api):
    """The service's create, then its inspect for the first record: not its tasks, which swarm
    makes after answering the create (the reaper records them as they come)."""
    never_placed = ["node.labels.qm-never==1"]
    api.run_ok(image=lab.image, command="true", constraints=never_placed)  # connected
    calls = DockerCalls()
    job_id = api.run_ok(image=lab.image, command="true", constraints=never_placed)
    assert calls.by_call() == {"POST /services/create": 1, "GET /services/{id}": 1}
    history = api.get_ok(f"/history/{job_id}")
    assert history["timeline"][0]["detail"] == "created"
    assert history["timeline"][0]["status"] == "pending"
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}  # removed: recorded
