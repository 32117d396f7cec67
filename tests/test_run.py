"""POST /run through the app to the real swarm: the service it creates and the job's life."""

import re
import time

from conftest import MANAGER_SOCKET, TOKEN

from quartermaster.process.config import Config
from quartermaster.web.app import create_app


def test_a_job_goes_pending_started_complete_on_a_worker(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sh -c 'sleep 3; echo done'")
    assert len(job_id) == 25  # the full service id, as in the seed
    assert api.status(job_id).get_json()["status"] == "pending"
    started = api.wait_for(job_id, "started")
    assert started["started_at"] and started["finished_at"] is None
    document = api.wait_for(job_id, "complete")
    assert document["exit_code"] == 0
    assert document["error"] is None
    assert document["finished_at"]
    node = docker_client.api.inspect_node(document["node"])
    assert node["Spec"]["Role"] == "worker"


def test_a_non_zero_exit_fails_with_its_code(lab, api):
    job_id = api.run_ok(image=lab.image, command="sh -c 'exit 3'")
    document = api.wait_for(job_id, "failed")
    assert document["exit_code"] == 3
    assert "exit (3)" in document["error"]
    assert document["state"] == "failed"


def test_a_command_that_cannot_start_is_rejected_with_the_reason(lab, api):
    job_id = api.run_ok(image=lab.image, command="node index.js")
    document = api.wait_for(job_id, ["rejected", "failed", "complete"])
    assert document["status"] == "rejected"
    assert "executable file not found" in document["error"]


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
        "team": "a",
        "purpose": "spec",
        "quartermaster.job": "true",
        "quartermaster.image": lab.image,
        "quartermaster.ttl": "86400",
        "quartermaster.completions": "1",
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
    app = create_app(Config(token=TOKEN, docker_host=MANAGER_SOCKET, memory_mb=96))
    response = app.test_client().post(
        "/run", json={"token": TOKEN, "image": lab.image, "command": "true"}
    )
    resources = docker_client.api.inspect_service(response.get_json()["id"])["Spec"][
        "TaskTemplate"
    ]["Resources"]
    assert resources["Limits"]["MemoryBytes"] == 96 * 1024 * 1024


def test_configured_constraints_are_applied(lab, docker_client):
    constraints = ("node.role==worker", "node.hostname==lab-worker-2")
    app = create_app(Config(token=TOKEN, docker_host=MANAGER_SOCKET, constraints=constraints))
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


def test_omitted_command_runs_the_image_default(lab, api):
    job_id = api.run_ok(image=lab.image)  # CMD ["sh"] with no input exits 0
    assert api.wait_for(job_id, ["complete", "failed"])["status"] == "complete"


def test_a_name_in_use_is_409(lab, api):
    api.run_ok(image=lab.image, command="sleep 30", name="taken")
    response = api.run(image=lab.image, command="sleep 30", name="taken")
    assert response.status_code == 409
    body = response.get_json()
    assert (body["success"], body["code"]) == (False, 409)


def test_bad_fields_are_400_naming_each_field(lab, api, docker_client):
    before = len(docker_client.api.services())
    response = api.run(image="NOT AN IMAGE", memory=0, labels={"quartermaster.job": "x"}, bogus=1)
    assert response.status_code == 400
    body = response.get_json()
    assert set(body["fields"]) == {"image", "memory", "labels", "bogus"}
    assert body["code"] == 400
    assert len(docker_client.api.services()) == before


def test_a_missing_image_is_400(api):
    response = api.run(command="echo")
    assert response.status_code == 400
    assert "image" in response.get_json()["fields"]


def test_an_unnamed_job_gets_a_unique_name(lab, api):
    job_ids = [api.run_ok(image=lab.image, command="true") for _ in range(3)]
    names = {api.status(job_id).get_json()["name"] for job_id in job_ids}
    assert len(names) == 3
    assert all(re.fullmatch(r"job-[0-9a-f]{16}", name) for name in names), names


def test_a_name_shaped_like_a_job_id_is_400(lab, api, docker_client):
    """25 lower-case letters and digits is the form of swarm's ids: as a name, it could pass
    for another job's id."""
    response = api.run(image=lab.image, command="true", name="0123456789abcdefghijklmno")
    assert response.status_code == 400
    assert "looks like a job id" in response.get_json()["fields"]["name"][0]
    assert not docker_client.api.services(filters={"name": "0123456789abcdefghijklmno"})
    # An upper-case letter cannot be in an id: that is just a name.
    assert (
        api.run(image=lab.image, command="true", name="0123456789abcdefghijklmnO").status_code
        == 200
    )
