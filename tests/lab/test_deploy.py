"""The image (`make image`), deployed as the seed's README says: `docker run` and a swarm service.

The seed's two command lines are the contract, so they run through the docker CLI as written,
with only the image tag (and, for the service, the published port's mode) changed. Each
deployment runs a real job on a lab worker through the containerized quartermaster.
"""

import functools
import os
import socket
import subprocess
import time

import pytest
import requests

from support.lab import UNNAMED_DEPLOYMENT, free_port
from support.settings import TOKEN

# The seed's lines run the unnamed deployment, on port 9090.
pytestmark = pytest.mark.xdist_group(UNNAMED_DEPLOYMENT)


IMAGE = os.environ.get("QM_IMAGE", "quartermaster:test")
SEED_PORT = 9090
SERVICE_NAME = "quartermaster"
DOCKER_SOCKET = "/var/run/docker.sock"


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def run_container(*args: str) -> str:
    """`docker run -d` with these arguments; the container's id."""
    started = docker("run", "-d", *args)
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()


def container_logs(container: str) -> str:
    result = docker("logs", container)
    return result.stdout + result.stderr


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - where the seed publishes it
        except OSError:
            return False
        return True


def wait_for_free_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_free(port):
        if time.monotonic() > deadline:
            holders = subprocess.run(
                ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
            ).stdout.strip()
            pytest.fail(
                f"port {port} is already taken on this host ({holders or 'unknown process'}); "
                f"the seed's deployment publishes {port}: free it and run again"
            )
        time.sleep(0.5)


@pytest.fixture
def image(docker_client) -> str:
    if docker("image", "inspect", IMAGE).returncode != 0:
        pytest.fail(f"the image {IMAGE} does not exist: run make image")
    return IMAGE


@pytest.fixture
def seed_port():
    """The seed's port 9090, free now (a deployment of a previous test may still be leaving)."""
    wait_for_free_port(SEED_PORT)
    return SEED_PORT


def wait_healthy(url: str, logs, container: str | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if container:
            running = docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip()
            assert running == "true", f"the container stopped; logs:\n{logs()}"
        try:
            response = requests.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except requests.RequestException as error:
            last = repr(error)
        time.sleep(0.5)
    raise AssertionError(f"{url}/healthz never answered 200 (last: {last}); logs:\n{logs()}")


def run_a_job_on_a_worker(url: str, docker_client, lab, token: str = TOKEN) -> dict:
    """POST /run a job through the deployed quartermaster, poll /status to `complete`."""
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.post(
        f"{url}/run",
        json={"token": token, "image": lab.image, "command": "sh -c 'echo hi'"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        document = requests.get(f"{url}/status/{job_id}", headers=headers, timeout=30).json()
        if not seen or seen[-1] != document.get("status"):
            seen.append(document.get("status"))
        if document.get("status") in {"complete", "failed", "rejected", "shutdown"}:
            break
        time.sleep(0.5)
    assert document["status"] == "complete", (seen, document)
    assert document["exit_code"] == 0
    node = docker_client.api.inspect_node(document["node"])
    assert node["Spec"]["Role"] == "worker"
    logs = b"".join(docker_client.api.service_logs(job_id, stdout=True, stderr=True))
    assert b"hi" in logs
    return document


def test_the_seed_docker_run_line(lab, docker_client, image, seed_port):
    # The seed: docker run -d -e TOKEN=4jrs8-534js-345ds-3lrd0 -p 9090:9090
    #           -v /var/run/docker.sock:/var/run/docker.sock stevelacy/quartermaster
    container = run_container(
        "-e", f"TOKEN={TOKEN}", "-p", "9090:9090",
        "-v", "/var/run/docker.sock:/var/run/docker.sock", image,
    )  # fmt: skip
    logs = functools.partial(container_logs, container)
    try:
        url = f"http://127.0.0.1:{seed_port}"
        wait_healthy(url, logs, container)
        run_a_job_on_a_worker(url, docker_client, lab)
        # A wrong token is still refused through the container.
        refused = requests.get(f"{url}/jobs", headers={"Authorization": "Bearer no"}, timeout=10)
        assert refused.status_code == 401
        assert docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip() == "true"
    finally:
        output = logs()
        docker("rm", "-f", container)
    assert "POST" in output or "request" in output, output  # the access log is there
    assert TOKEN not in output, "the token leaked into the container's log"


def test_the_seed_swarm_service_line_with_host_mode_publishing(
    lab, docker_client, image, seed_port
):
    # The seed, with `-p 9090:9090` as host-mode publishing: this kernel has no IPVS, so the
    # ingress routing mesh that `-p` asks for cannot work here.
    if docker("service", "inspect", SERVICE_NAME).returncode == 0:
        pytest.fail(f"a service named {SERVICE_NAME} exists already: docker service rm it first")
    try:
        created = docker(
            "service", "create", "--name", "quartermaster",
            "-e", f"TOKEN={TOKEN}",
            "--publish", "mode=host,target=9090,published=9090",
            "--constraint", "node.role == manager",
            "--mount", "type=bind,source=/var/run/docker.sock,destination=/var/run/docker.sock",
            image,
            timeout=180,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr

        def logs() -> str:
            result = docker("service", "logs", "--raw", SERVICE_NAME, timeout=30)
            return result.stdout + result.stderr

        url = f"http://127.0.0.1:{seed_port}"
        wait_healthy(url, logs)
        tasks = docker_client.api.tasks(
            filters={"service": SERVICE_NAME, "desired-state": "running"}
        )
        assert len(tasks) == 1
        manager = docker_client.api.inspect_node(tasks[0]["NodeID"])
        assert manager["Spec"]["Role"] == "manager"  # the seed's constraint held
        run_a_job_on_a_worker(url, docker_client, lab)
        output = logs()
        assert "request" in output, output
        assert TOKEN not in output, "the token leaked into the service's log"
    finally:
        docker("service", "rm", SERVICE_NAME)
        # Its task's container leaves the port a moment later; the next test wants the port.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = docker(
                "ps", "-aq", "--filter", f"label=com.docker.swarm.service.name={SERVICE_NAME}"
            ).stdout.strip()
            if not left:
                break
            time.sleep(0.5)


def test_the_token_from_a_file_through_the_image(lab, docker_client, image, tmp_path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    port = free_port()
    container = run_container(
        "--health-interval", "2s",
        "-e", "TOKEN_FILE=/run/secrets/token",
        "-v", f"{secret}:/run/secrets/token:ro",
        "-p", f"127.0.0.1:{port}:9090",
        "-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}", image,
    )  # fmt: skip
    logs = functools.partial(container_logs, container)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, logs, container)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{url}/nodes", headers=headers, timeout=30).status_code == 200
        wrong = {"Authorization": "Bearer wrong"}
        assert requests.get(f"{url}/nodes", headers=wrong, timeout=30).status_code == 401
        # The token is not in the container's configuration, unlike with -e TOKEN=.
        assert TOKEN not in docker("inspect", container).stdout
        # The image's HEALTHCHECK (python's urllib on /healthz) reports healthy.
        deadline = time.monotonic() + 60
        health = ""
        while time.monotonic() < deadline:
            health = docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()
            if health == "healthy":
                break
            time.sleep(1)
        assert health == "healthy", docker("inspect", "-f", "{{json .State.Health}}", container)
    finally:
        output = logs()
        docker("rm", "-f", container)
    assert TOKEN not in output, "the token leaked into the container's log"


def test_an_unreadable_token_file_stops_the_container_with_a_clear_message(image):
    result = docker(
        "run", "--rm", "-e", "TOKEN_FILE=/run/secrets/missing", image, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TOKEN_FILE '/run/secrets/missing' cannot be read" in result.stderr


# Run in the image: the store opened where the image puts it, then the modes of its files.
STORE_MODES = """
import os, stat
from quartermaster.store import RecordStore
database = os.path.join(os.environ["DATA_DIR"], "quartermaster.db")
store = RecordStore("sqlite:///" + database)
store.live()  # the store made, and a connection of its pool open: the WAL and SHM files exist
for path in (os.environ["DATA_DIR"], database, database + "-wal", database + "-shm"):
    print(oct(stat.S_IMODE(os.stat(path).st_mode)))
"""


def test_the_store_in_the_image_is_the_owners_alone(image):
    """The image's DATA_DIR, and so the volume made from it, is 0700; the SQLite store, its WAL
    and SHM are 0600 (they were 0755 and 0644: readable by every user of the host)."""
    result = docker(
        "run", "--rm", "--entrypoint", "python", image, "-c", STORE_MODES, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0o700", "0o600", "0o600", "0o600"]
