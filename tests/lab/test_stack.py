"""deploy/stack.yml on the lab: quartermaster (2 replicas, dnsrr) behind nginx, token as a swarm
secret; a rolling update while jobs are queued loses no job, and every answer stays JSON."""

import subprocess
import threading
import time

import pytest
import requests

from support.lab import free_port, wait_until
from support.settings import PROJECT_ROOT

STACK = "qmtest"
SECRET = "quartermaster_token"
TOKEN = "stack-test-token-7f3a"  # the stack's own: it reads it from the swarm secret
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
IMAGES = {"QUARTERMASTER_IMAGE": "quartermaster:test", "NGINX_IMAGE": "qm/nginx:test"}


def docker(*args, timeout=120, **kwargs):
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.fixture
def stack(lab, docker_client):
    for image in IMAGES.values():
        if docker("image", "inspect", image).returncode != 0:
            pytest.fail(f"the image {image} does not exist: run make image")
    docker("secret", "rm", SECRET)
    docker("secret", "create", SECRET, "-", input=TOKEN)
    port = free_port()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **IMAGES, "PUBLISHED_PORT": str(port)}
    deployed = docker(
        "stack", "deploy", "--resolve-image", "never", "-c", "deploy/stack.yml", STACK,
        cwd=PROJECT_ROOT, env=env,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{url}/healthz").status_code == 200, 90, "the stack never answered")
        yield url
    finally:
        docker("stack", "rm", STACK)
        wait_until(lambda: not docker("service", "ls", "-q", "--filter", f"name={STACK}_").stdout,
                   60, "the stack's services stayed")  # fmt: skip
        wait_until(lambda: docker("network", "inspect", f"{STACK}_front").returncode != 0,
                   60, "the stack's network stayed")  # fmt: skip
        docker("secret", "rm", SECRET)


def get(url, **kwargs):
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.RequestException:
        return requests.Response()  # status_code None: not up yet


def test_a_rolling_update_with_jobs_queued_loses_nothing(lab, docker_client, stack):
    workers = docker_client.api.nodes(filters={"role": "worker"})
    memory = int(min(n["Description"]["Resources"]["MemoryBytes"] for n in workers) / 2**20 * 0.6)
    job = {"image": lab.image, "command": "sleep 10", "memory": memory}
    job_ids = [
        requests.post(f"{stack}/run", json=job, headers=HEADERS, timeout=10).json()["id"]
        for _ in range(lab.workers + 1)
    ]
    answers, done = [], threading.Event()

    def keep_asking():
        while not done.is_set():
            # The token in the query too: nginx must not log it when the upstream is switching.
            for path in [f"/status/{job_ids[-1]}", f"/jobs?token={TOKEN}", "/healthz"]:
                try:
                    response = requests.get(f"{stack}{path}", headers=HEADERS, timeout=10)
                except requests.RequestException as error:
                    answers.append((path, None, repr(error)))
                    continue
                answers.append((path, response.status_code, response.headers.get("Content-Type")))
            time.sleep(0.1)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        updated = docker(
            "service", "update", "--force", "--detach=false", f"{STACK}_quartermaster", timeout=240
        )
        assert updated.returncode == 0, updated.stderr
    finally:
        done.set()
        asker.join()
    assert len(answers) > 20
    assert all(content == "application/json" for _, _, content in answers), [
        a for a in answers if a[2] != "application/json"
    ][:5]
    assert {code for _, code, _ in answers} <= {200, 503}
    # Every container of the stack runs on this manager; `docker service logs` can hang on the
    # tasks an update replaced, so each container's log is read.
    containers = docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}")
    assert containers.stdout.split(), containers.stderr
    for container in containers.stdout.split():
        logs = docker("logs", container)
        assert TOKEN not in logs.stdout + logs.stderr, f"the token is in {container}'s log"

    # Every job is still there, none twice, and all of them finish.
    def all_complete():
        statuses = [
            get(f"{stack}/status/{job_id}", headers=HEADERS).json().get("status")
            for job_id in job_ids
        ]
        return statuses == ["complete"] * len(job_ids)

    wait_until(all_complete, 120, "not every queued job completed")
    listed = requests.get(f"{stack}/jobs", headers=HEADERS, timeout=10).json()["jobs"]
    assert sorted(job["id"] for job in listed) == sorted(job_ids)
