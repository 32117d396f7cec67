"""History that outlives the swarm, on the lab, with the record store on SQLite and on the lab's
PostgreSQL: a finished job's service goes soon (KEEP_FINISHED), and its status, timeline
facts and log are read from its record as they were from the swarm."""

import time

import pytest
import requests

from quartermaster.jobs.spec import JobSpec
from quartermaster.process.config import Config
from quartermaster.swarm.runtime import Swarm
from support.lab import DEPLOYMENT, MANAGER_SOCKET, this_test_labels, wait_until
from support.postgres import fresh_database_url
from support.settings import TOKEN

FINAL = {"complete", "failed", "rejected", "shutdown", "lost"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, lab, module_server_factory):
    """A quartermaster whose reaper looks twice a second and removes a finished job's service
    a second after it is recorded; one for the module's tests on each store."""
    env = {"REAPER_INTERVAL": "0.5", "KEEP_FINISHED": "1", "LOG_KEEP_BYTES": "4096"}
    if request.param == "postgresql":
        request.getfixturevalue("postgres")
        env["DATABASE_URL"] = fresh_database_url()
    return module_server_factory(env=env)


def call(server, method: str, path: str, **kwargs) -> requests.Response:
    return server.client().request(method, path, **kwargs)


def run(server, lab, command: str, **fields) -> str:
    return server.client().run_ok(image=lab.image, command=command, **fields)


def service_gone(docker_client, job_id: str) -> bool:
    return not docker_client.api.services(filters={"id": job_id})


def wait_until_archived(server, docker_client, job_id: str) -> dict:
    """The job's status once its service is gone: from its record alone."""
    wait_until(lambda: service_gone(docker_client, job_id), 60, f"{job_id} was never removed")
    answer = call(server, "GET", f"/status/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


SCRIPT = "echo out-1; echo err-1 >&2; sleep 2; echo out-2; exit 3"


def test_a_jobs_outcome_and_log_outlive_its_service(server, lab, docker_client):
    job_id = run(server, lab, f"sh -c '{SCRIPT}'")
    status = wait_until_archived(server, docker_client, job_id)
    assert (status["status"], status["exit_code"], status["attempts"]) == ("failed", 3, 1)
    assert status["started_at"] is not None  # seen while it ran; kept once it ended
    assert status["started_at"] < status["finished_at"]
    # Each stream in its order (Docker keeps no order across the two).
    both = call(server, "GET", f"/logs/{job_id}").text.splitlines()
    assert sorted(both) == ["err-1", "out-1", "out-2"]
    assert call(server, "GET", f"/logs/{job_id}?stream=stdout").text == "out-1\nout-2\n"
    assert call(server, "GET", f"/logs/{job_id}?stream=stderr").text == "err-1\n"
    assert call(server, "GET", f"/logs/{job_id}?stream=stdout&tail=1").text == "out-2\n"
    stamped = call(server, "GET", f"/logs/{job_id}?timestamps=true&tail=1").text
    assert stamped.startswith("20") and stamped.endswith("Z out-2\n")
    followed = call(server, "GET", f"/logs/{job_id}?follow=true")  # over at once: it ended
    assert followed.text.splitlines() == both
    # By its name and id prefix too, and in /jobs with the same document.
    name = status["name"]
    assert call(server, "GET", f"/status/{name}").json() == status
    assert call(server, "GET", f"/status/{job_id[:10]}").json() == status
    listed = {job["id"]: job for job in call(server, "GET", "/jobs").json()["jobs"]}
    assert {**listed[job_id], "success": True} == status
    # Its request and how it got there, from its record.
    history = call(server, "GET", f"/history/{name}").json()
    assert history["request"]["command"] == ["sh", "-c", SCRIPT]
    timeline = history["timeline"]  # a step for each change of status or of swarm's state
    statuses = [step["status"] for step in timeline]
    assert [each for n, each in enumerate(statuses) if statuses[n - 1 : n] != [each]] == [
        "pending", "started", "failed",
    ]  # fmt: skip
    assert timeline[-1]["at"] == status["finished_at"]
    assert [step["at"] for step in timeline] == sorted(step["at"] for step in timeline)


def test_a_stopped_jobs_output_is_kept(server, lab, docker_client):
    job_id = run(server, lab, "sh -c 'echo before-stop; sleep 120'")
    wait_until(
        lambda: "before-stop" in call(server, "GET", f"/logs/{job_id}").text, 60, "no output"
    )
    assert call(server, "POST", "/stop", json={"id": job_id}).status_code == 200
    assert service_gone(docker_client, job_id)
    status = call(server, "GET", f"/status/{job_id}").json()
    assert (status["status"], status["state"]) == ("shutdown", "shutdown")
    assert call(server, "GET", f"/logs/{job_id}").text == "before-stop\n"
    # Stopping it again: nothing to stop, it is over; its record stays as it was.
    again = call(server, "POST", "/stop", json={"id": job_id})
    assert (again.status_code, again.json()["id"]) == (200, job_id)
    assert call(server, "GET", f"/status/{job_id}").json() == status


def test_a_timed_out_jobs_output_is_kept(server, lab, docker_client):
    job_id = run(server, lab, "sh -c 'echo before-timeout; sleep 120'", timeout=2)
    status = wait_until_archived(server, docker_client, job_id)
    assert (status["status"], status["error"]) == ("failed", "timed out after 2s")
    assert call(server, "GET", f"/logs/{job_id}").text == "before-timeout\n"


def test_the_kept_log_is_the_newest_lines_within_the_cap(server, lab, docker_client):
    job_id = run(server, lab, "sh -c 'for i in $(seq 1 500); do echo line-$i; done'")
    wait_until_archived(server, docker_client, job_id)
    kept = call(server, "GET", f"/logs/{job_id}?timestamps=true").text
    assert len(kept.encode()) <= 4096  # LOG_KEEP_BYTES, timestamps counted
    lines = call(server, "GET", f"/logs/{job_id}").text.splitlines()
    assert lines[-1] == "line-500"
    first = int(lines[0].removeprefix("line-"))
    assert lines == [f"line-{n}" for n in range(first, 501)]  # a whole run of the newest
    assert first > 1


def test_a_record_goes_with_its_ttl(server, lab, docker_client):
    job_id = run(server, lab, "true", ttl=2)
    wait_until_archived(server, docker_client, job_id)
    wait_until(
        lambda: call(server, "GET", f"/status/{job_id}").status_code == 404, 30, "still there"
    )
    assert call(server, "GET", f"/logs/{job_id}").status_code == 404
    assert job_id not in [job["id"] for job in call(server, "GET", "/jobs").json()["jobs"]]


def test_jobs_made_without_the_store_are_imported(server, lab, docker_client):
    """An older quartermaster (or one whose store was out of reach) made the job: the reaper
    finds its service without a record and makes one, log included, before removing it."""
    swarm = Swarm(Config(token=TOKEN, docker_host=MANAGER_SOCKET, deployment=DEPLOYMENT))
    job_id = swarm.create_job(
        JobSpec(image=lab.image, command=("sh", "-c", "echo from-before"),
                labels={**this_test_labels(), "team": "old"})
    )  # fmt: skip
    status = wait_until_archived(server, docker_client, job_id)
    assert status["status"] == "complete"
    assert call(server, "GET", f"/logs/{job_id}").text == "from-before\n"
    assert job_id in [
        job["id"] for job in call(server, "GET", "/jobs?label=team=old").json()["jobs"]
    ]


def test_a_job_whose_service_vanished_unseen_is_lost(server, lab, docker_client):
    job_id = run(server, lab, "sleep 120")
    wait_until(
        lambda: call(server, "GET", f"/status/{job_id}").json()["status"] == "started",
        60,
        "never started",
    )
    time.sleep(1)  # a round of the reaper sees it started
    docker_client.api.remove_service(job_id)  # not through quartermaster
    wait_until(
        lambda: call(server, "GET", f"/status/{job_id}").json()["status"] == "lost", 30, "not lost"
    )
    status = call(server, "GET", f"/status/{job_id}").json()
    assert "not by quartermaster" in status["error"]
    assert status["finished_at"] is not None
