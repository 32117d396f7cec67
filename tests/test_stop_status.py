"""POST /stop and GET /status by id, prefix and name; other services are never touched."""

import time

import docker
import pytest
from conftest import TEST_LABEL, TOKEN, DockerCalls

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
