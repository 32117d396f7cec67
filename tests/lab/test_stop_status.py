"""POST /stop and GET /status on the swarm: containers stopped, tasks removed, two Docker calls
(none for an archived job), other services never touched. (By id, prefix or name: the runtime
contract, support/contract.py.)"""

import time

import docker
import pytest

from quartermaster.reaper.reaper import Reaper
from support.lab import DockerCalls, lab_config, reap_until, this_test_labels, wait_for_tasks


@pytest.fixture
def foreign_service(lab, docker_client):
    """A service on the swarm that quartermaster did not create."""
    service = docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["sleep", "60"]}},
        name="not-a-job",
        labels=this_test_labels(),
    )
    return service["ID"]


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


def test_services_not_created_by_quartermaster_are_404_and_untouched(
    api, docker_client, foreign_service
):
    assert api.status(foreign_service).status_code == 404
    assert api.stop(foreign_service).status_code == 404
    assert api.stop("not-a-job").status_code == 404
    assert docker_client.api.inspect_service(foreign_service)["ID"] == foreign_service


def test_status_costs_two_docker_calls(lab, api):
    job_id = api.run_ok(image=lab.image, command="true")
    calls = DockerCalls()
    assert api.status(job_id).status_code == 200
    assert len(calls) == 2


def test_an_archived_job_is_read_without_a_docker_call(lab, api, docker_client):
    """Its service removed by the reaper: its status, a wait, its log and its history come from
    its record alone. (Waited for in one request: a worker that found it running, and not
    since, asks the swarm once more when it reads it next: tests/unit/test_archived_reads.py.)"""
    job_id = api.run_ok(image=lab.image, command="echo archived", name="archived-read")
    assert api.status(job_id, "?wait=60").get_json()["status"] == "complete"
    reaper = Reaper(lab_config(keep_finished=0))
    try:
        reap_until([reaper], lambda: not docker_client.api.services(filters={"id": job_id}))
    finally:
        reaper.close()
    calls = DockerCalls()
    for reference in (job_id, job_id[:10], "archived-read"):
        assert api.status(reference).get_json()["status"] == "complete"
        assert api.status(reference, "?wait=30").get_json()["status"] == "complete"
        assert api.logs(reference, "?tail=1") == "archived\n"
        assert api.get_ok(f"/history/{reference}")["id"] == job_id
    assert api.stop(job_id).get_json() == {"success": True, "id": job_id}
    assert len(calls) == 0


def test_a_foreign_service_named_like_a_jobs_id_prefix_does_not_hide_the_job(
    lab, api, docker_client
):
    job_id = api.run_ok(image=lab.image, command="sleep 60")
    api.wait_for(job_id, "started")
    prefix = job_id[:6]
    foreign = docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image, "Args": ["sleep", "60"]}},
        name=prefix,
        labels=this_test_labels(),
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
