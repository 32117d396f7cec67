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


def test_an_env_value_reaches_the_container_as_given_braces_and_all(lab, api, docker_client):
    """Swarm expands env values as Go templates: one that looks like a template (or would not
    parse as one) still arrives as it was sent."""
    values = {"NAME": "{{.Service.Name}}", "BROKEN": "a{{b", "CLOSED": "}}{{-"}
    job_id = api.run_ok(
        image=lab.image, command=["sh", "-c", 'echo "[$NAME][$BROKEN][$CLOSED]"'], env=values
    )
    api.wait_for(job_id, "complete")
    output = b"".join(docker_client.api.service_logs(job_id, stdout=True))
    assert b"[{{.Service.Name}}][a{{b][}}{{-]" in output


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


def test_a_job_is_swarms_replicated_job(lab, api, docker_client):
    """(How its runs go: the runtime contract, support/contract.py.)"""
    job_id = api.run_ok(
        image=lab.image, command="sh -c 'sleep 1'", type="job", completions=3, parallelism=2
    )
    mode = docker_client.api.inspect_service(job_id)["Spec"]["Mode"]
    assert mode == {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 3}}


def test_retries_are_swarms_restart_policy(lab, api, docker_client):
    """(The attempts, and the status between them: the runtime contract.)"""
    job_id = api.run_ok(image=lab.image, command="sh -c 'exit 4'", retries=2)
    policy = docker_client.api.inspect_service(job_id)["Spec"]["TaskTemplate"]["RestartPolicy"]
    assert (policy["Condition"], policy["MaxAttempts"], policy["Delay"]) == (
        "on-failure",
        2,
        10**9,
    )
