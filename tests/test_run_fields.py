"""The /run fields beyond the seed (env, cpus, constraints, type job, retries), on the lab."""

import time


def node_hostname(docker_client, node_id) -> str:
    return docker_client.api.inspect_node(node_id)["Description"]["Hostname"]


def test_env_reaches_the_container(lab, api, docker_client):
    job_id = api.run_ok(
        image=lab.image, command=["sh", "-c", 'echo "[$GREETING]"'], env={"GREETING": "a b;c"}
    )
    api.wait_for(job_id, "complete")
    assert b"[a b;c]" in b"".join(docker_client.api.service_logs(job_id, stdout=True))


def test_cpus_are_limit_and_reservation(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="true", cpus=0.25)
    resources = docker_client.api.inspect_service(job_id)["Spec"]["TaskTemplate"]["Resources"]
    assert resources["Limits"]["NanoCPUs"] == 250_000_000
    assert resources["Reservations"]["NanoCPUs"] == 250_000_000


def test_client_constraints_narrow_placement(lab, api, docker_client):
    job_id = api.run_ok(
        image=lab.image, command="true", constraints=["node.hostname==lab-worker-1"]
    )
    document = api.wait_for(job_id, "complete")
    assert node_hostname(docker_client, document["node"]) == "lab-worker-1"
    placement = docker_client.api.inspect_service(job_id)["Spec"]["TaskTemplate"]["Placement"]
    assert placement["Constraints"] == ["node.role==worker", "node.hostname==lab-worker-1"]


def test_client_constraints_cannot_lift_the_worker_only_default(lab, api):
    job_id = api.run_ok(image=lab.image, command="true", constraints=["node.role==manager"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        document = api.status(job_id).get_json()
        assert document["status"] == "pending"
        time.sleep(0.5)
    assert "no suitable node" in document["error"]


def test_a_job_with_completions_and_parallelism(lab, api, docker_client):
    job_id = api.run_ok(
        image=lab.image, command="sh -c 'sleep 1'", type="job", completions=3, parallelism=2
    )
    mode = docker_client.api.inspect_service(job_id)["Spec"]["Mode"]
    assert mode == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 3}}
    most_at_once = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = docker_client.api.tasks(filters={"service": job_id})
        running = [t for t in tasks if t["Status"]["State"] == "running"]
        most_at_once = max(most_at_once, len(running))
        document = api.status(job_id).get_json()
        if document["status"] == "complete":
            break
        assert document["status"] in ("pending", "started")
        time.sleep(0.2)
    assert document["status"] == "complete"
    assert (document["type"], document["completions"], document["succeeded"]) == ("job", 3, 3)
    assert document["failed"] == 0
    assert most_at_once <= 2


def test_a_job_is_failed_when_a_run_fails(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sh -c 'exit 5'", type="job", completions=2)
    document = api.wait_for(job_id, ["complete", "failed"])
    assert (document["status"], document["exit_code"], document["succeeded"]) == ("failed", 5, 0)
    # And it stays failed: swarm starts no other run of it, and the status does not move.
    time.sleep(5)
    later = api.status(job_id).get_json()
    assert (later["status"], later["attempts"], later["failed"]) == ("failed", 1, 1), later
    assert len(docker_client.api.tasks(filters={"service": job_id})) == 1


def test_retries_are_attempted_and_counted(lab, api, docker_client):
    job_id = api.run_ok(image=lab.image, command="sh -c 'exit 4'", retries=2)
    policy = docker_client.api.inspect_service(job_id)["Spec"]["TaskTemplate"]["RestartPolicy"]
    assert (policy["Condition"], policy["MaxAttempts"]) == ("on-failure", 2)
    document = api.wait_for(job_id, ["failed", "complete"], timeout=90)
    # Between attempts the job is not failed yet: only after the last one.
    assert (document["status"], document["attempts"], document["failed"]) == ("failed", 3, 3)
    assert document["exit_code"] == 4
