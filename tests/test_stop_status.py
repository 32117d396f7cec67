"""POST /stop and GET /status by id, prefix and name; other services are never touched."""

import time

import docker
import pytest
from conftest import TEST_LABEL, TOKEN, DockerCalls, wait_for_tasks

STATUS_KEYS = {
    "success",
    "id",
    "name",
    "image",
    "status",
    "state",
    "exit_code",
    "error",
    "node",
    "created_at",
    "started_at",
    "finished_at",
    "type",
    "completions",
    "succeeded",
    "failed",
    "attempts",
}


@pytest.fixture
def foreign_service(lab, docker_client):
    """A service on the swarm that quartermaster did not create."""
    service = docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["sleep", "60"]}},
        name="not-a-job",
        labels={TEST_LABEL: "foreign"},
    )
    return service["ID"]


def test_status_document_has_exactly_the_documented_fields(lab, api):
    job_id = api.run_ok(image=lab.image, command="sleep 30", name="status_fields")
    body = api.status(job_id).get_json()
    assert set(body) == STATUS_KEYS
    assert body["success"] is True
    assert (body["id"], body["name"], body["image"]) == (job_id, "status_fields", lab.image)
    assert body["created_at"].startswith("20")


@pytest.mark.parametrize("how", ["id", "prefix", "name"])
def test_status_and_stop_by_id_prefix_or_name(lab, api, docker_client, how):
    job_id = api.run_ok(image=lab.image, command="sleep 60", name=f"by_{how}")
    reference = {"id": job_id, "prefix": job_id[:8], "name": f"by_{how}"}[how]
    assert api.status(reference).get_json()["id"] == job_id
    response = api.stop(reference)
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "id": job_id}
    assert not docker_client.api.services(filters={"id": job_id})
    assert api.status(job_id).status_code == 404


def test_stopping_a_running_job_stops_its_container(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sh -c 'trap \"exit 0\" INT; sleep 60 & wait'")
    node_id = api.wait_for(job_id, "started")["node"]
    worker = worker_client(lab, docker_client, node_id)
    label = f"com.docker.swarm.service.id={job_id}"
    assert worker.api.containers(filters={"label": label})
    assert api.stop(job_id).status_code == 200
    deadline = time.monotonic() + 20
    while worker.api.containers(filters={"label": label}) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not worker.api.containers(filters={"label": label})


def worker_client(lab, docker_client, node_id) -> docker.DockerClient:
    """A client to the daemon of the lab worker that is node `node_id`."""
    hostname = docker_client.api.inspect_node(node_id)["Description"]["Hostname"]
    number = int(hostname.rsplit("-", 1)[1])
    return docker.DockerClient(base_url=lab.worker_sockets[number - 1])


def test_unknown_jobs_are_404(api):
    for response in (api.status("nosuchjob"), api.stop("nosuchjob")):
        assert response.status_code == 404
        body = response.get_json()
        assert (body["success"], body["code"]) == (False, 404)


def test_services_not_created_by_quartermaster_are_404_and_untouched(
    api, docker_client, foreign_service
):
    assert api.status(foreign_service).status_code == 404
    assert api.stop(foreign_service).status_code == 404
    assert api.stop("not-a-job").status_code == 404
    assert docker_client.api.inspect_service(foreign_service)["ID"] == foreign_service


@pytest.mark.parametrize("reference", ["..%2F..%2Fetc", "a%00b", "%C3%BC", "-x", "a" * 80])
def test_malformed_ids_are_400_naming_id(api, docker_client, reference):
    response = api.client.get(f"/status/{reference}", headers=api.headers)
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "id" in response.get_json()["fields"]
    response = api.client.post("/stop", json={"id": reference}, headers=api.headers)
    assert response.status_code == 400
    assert "id" in response.get_json()["fields"]


def test_a_json_body_on_status_is_ignored(lab, api):
    job_id = api.run_ok(image=lab.image, command="sleep 30")
    response = api.client.get(
        f"/status/{job_id}?token={TOKEN}",
        json={"token": TOKEN, "command": "sleep 50", "image": "alpine", "type": "service"},
    )
    assert response.status_code == 200
    assert response.get_json()["image"] == lab.image


def test_status_costs_two_docker_calls(lab, api):
    job_id = api.run_ok(image=lab.image, command="true")
    calls = DockerCalls()
    assert api.status(job_id).status_code == 200
    assert len(calls) == 2


def test_a_name_shaped_like_another_jobs_id_prefix_does_not_take_it_over(lab, api, docker_client):
    """The attack: name a job like a prefix of someone else's job id, to get that prefix's
    /status, /logs and /stop. A reference that could mean two jobs is refused instead."""
    victim = api.run_ok(image=lab.image, command="sleep 60")
    prefix = victim[:6]  # letters and digits: a valid service name
    shadow = api.run_ok(image=lab.image, command="sleep 60", name=prefix)
    logs = api.client.get(f"/logs/{prefix}", headers=api.headers)
    for response in (api.status(prefix), logs, api.stop(prefix)):
        assert response.status_code == 409
        body = response.get_json()
        assert (body["success"], body["code"]) == (False, 409)
        assert "full id" in body["error"]
        assert prefix not in body["error"]  # never echoed: it may be a secret sent by mistake
    for job_id in (victim, shadow):
        assert docker_client.api.inspect_service(job_id)["ID"] == job_id
    assert api.status(victim).get_json()["id"] == victim
    assert api.status(shadow).get_json()["name"] == prefix
    # Once the victim is gone, the name means one job again.
    assert api.stop(victim).status_code == 200
    assert api.status(prefix).get_json()["id"] == shadow


def test_an_id_prefix_of_several_jobs_is_409(lab, api, docker_client):
    first_of = {}
    job_id = api.run_ok(image=lab.image, command="sleep 60", memory=8)
    while job_id[0] not in first_of:  # ids are random: some two soon share a first character
        first_of[job_id[0]] = job_id
        job_id = api.run_ok(image=lab.image, command="sleep 60", memory=8)
    shared = job_id[0]
    assert api.status(shared).status_code == 409
    assert api.stop(shared).status_code == 409
    assert docker_client.api.inspect_service(job_id)["ID"] == job_id
    assert docker_client.api.inspect_service(first_of[shared])["ID"] == first_of[shared]


def test_a_foreign_service_named_like_a_jobs_id_prefix_does_not_hide_the_job(
    lab, api, docker_client
):
    job_id = api.run_ok(image=lab.image, command="sleep 60")
    api.wait_for(job_id, "started")
    prefix = job_id[:6]
    foreign = docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["sleep", "60"]}},
        name=prefix,
        labels={TEST_LABEL: "foreign"},
    )["ID"]
    body = api.status(prefix).get_json()
    assert (body["id"], body["status"]) == (job_id, "started")  # the job's own tasks
    assert api.client.get(f"/logs/{prefix}", headers=api.headers).status_code == 200
    assert api.stop(prefix).get_json() == {"success": True, "id": job_id}
    assert docker_client.api.inspect_service(foreign)["ID"] == foreign


def test_stopping_a_job_that_cannot_be_placed_leaves_none_of_its_tasks(lab, api, docker_client):
    job_id = api.run_ok(
        image=lab.image, type="job", completions=200, parallelism=200,
        constraints=["node.labels.qm-test==never-placed"],
    )  # fmt: skip
    wait_for_tasks(docker_client, job_id, 200)
    assert api.stop(job_id).status_code == 200
    wait_for_tasks(docker_client, job_id, 0)
