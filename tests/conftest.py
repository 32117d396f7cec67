"""Fixtures: the lab swarm's facts, a Docker client to its manager, the app, a live server.

Every test that touches Docker runs against the real lab swarm (`make lab`). When the lab is not
up, those tests fail with "run make lab"; they never skip.
"""

import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from quartermaster.jobs import labels
from quartermaster.jobs.errors import JobNotFound
from quartermaster.process import metrics
from quartermaster.process.config import Config
from quartermaster.process.json_logging import JsonFormatter
from quartermaster.swarm import claims
from quartermaster.swarm.client import DockerConnection
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.removal import remove_job_service
from quartermaster.swarm.spec import key_hash, registry_auth_header
from quartermaster.web.app import create_app
from quartermaster.web.schemas import decode_registry_auth

LAB_FACTS = Path("/var/lib/qm-lab/lab.json")
MANAGER_SOCKET = "unix:///var/run/docker.sock"
TOKEN = "test-" + secrets.token_urlsafe(16)
# Services the tests create directly (not through quartermaster) carry this label.
TEST_LABEL = "qm-test"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CALLBACK_SECRET = "callback-" + secrets.token_urlsafe(16)
# The logs of every live server; searched for secrets at the end of the run.
LIVE_SERVER_LOGS: list[Path] = []
# What the lab's daemons (manager, workers, registry) log.
LAB_LOGS = sorted(Path("/var/log").glob("qm-*.log"))


@dataclass(frozen=True)
class Lab:
    workers: int
    registry: str
    registry_user: str
    registry_password: str
    image: str
    private_image: str
    worker_sockets: tuple[str, ...]


@pytest.fixture(scope="session")
def lab() -> Lab:
    if not LAB_FACTS.exists():
        pytest.fail(f"the lab swarm is not up ({LAB_FACTS} is missing): run make lab")
    facts = json.loads(LAB_FACTS.read_text())
    client = docker.DockerClient(base_url=MANAGER_SOCKET, timeout=10)
    try:
        nodes = client.api.nodes(filters={"role": "worker"})
    except docker.errors.DockerException as error:
        pytest.fail(f"the lab's manager does not answer ({error}): run make lab")
    ready = [node for node in nodes if node["Status"]["State"] == "ready"]
    if len(ready) < facts["workers"]:
        pytest.fail(f"{len(ready)} of {facts['workers']} lab workers are ready: run make lab")
    return Lab(
        workers=facts["workers"],
        registry=facts["registry"],
        registry_user=facts["registry_user"],
        registry_password=facts["registry_password"],
        image=facts["image"],
        private_image=facts["private_image"],
        worker_sockets=tuple(facts["worker_sockets"]),
    )


def seed_style_auth(username, password) -> str:
    """The seed's `auth` shape: standard base64 of {username, password, auth: "", email}."""
    auth = {"username": username, "password": password, "auth": "", "email": "qm@example.com"}
    return base64.b64encode(json.dumps(auth).encode()).decode()


@pytest.fixture(scope="session", autouse=True)
def secrets_never_logged(tmp_path_factory):
    """Capture every log the run writes and, at its end, search it all for the secrets.

    The in-process apps' records are written as the server writes them (JSON lines, INFO and up);
    the live servers' logs and what the lab's daemons logged during the run are added to them.
    """
    in_process = tmp_path_factory.mktemp("logs") / "in-process.log"
    handler = logging.FileHandler(in_process)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lab_log_starts = {path: path.stat().st_size for path in LAB_LOGS}
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
    logs = {in_process: 0, **dict.fromkeys(LIVE_SERVER_LOGS, 0), **lab_log_starts}
    found = []
    for path, start in logs.items():
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(start if path.stat().st_size >= start else 0)  # else: rewritten meanwhile
            text = log.read().decode(errors="replace")
        found += [f"{name} in {path}" for name, value in _secrets().items() if value in text]
    assert not found, f"secrets in the logs: {found}"


def _secrets() -> dict[str, str]:
    secrets_of_the_run = {"the token": TOKEN, "the callback secret": CALLBACK_SECRET}
    if not LAB_FACTS.exists():
        return secrets_of_the_run  # no lab, so no registry credentials to look for
    facts = json.loads(LAB_FACTS.read_text())
    user, password = facts["registry_user"], facts["registry_password"]
    seed_auth = seed_style_auth(user, password)
    header = registry_auth_header(decode_registry_auth(seed_auth), facts["private_image"])
    return {
        **secrets_of_the_run,
        "the registry password": password,
        "the seed-style auth": seed_auth,
        "the X-Registry-Auth header": header,
    }


@pytest.fixture(scope="session")
def docker_client(lab) -> docker.DockerClient:
    return docker.DockerClient(base_url=MANAGER_SOCKET, timeout=30)


@pytest.fixture(scope="session")
def docker_engine(lab) -> EngineClient:
    """quartermaster's own client to the lab's manager."""
    return DockerConnection(MANAGER_SOCKET, timeout=30).engine


def wait_for_tasks(docker_client, service_id: str, count: int, timeout: float = 20) -> None:
    """Wait until the service has `count` tasks. Searched in the whole list: a removed service
    cannot be filtered on, and swarmkit keeps a removed replicated-job's unplaced tasks forever
    unless told otherwise (swarm/removal.py)."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = [task for task in docker_client.api.tasks() if task["ServiceID"] == service_id]
        if len(tasks) == count or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert len(tasks) == count


@pytest.fixture(autouse=True)
def remove_created_services(request):
    """Remove every job and test service a test created, even when it fails."""
    if "docker_client" not in request.fixturenames:
        yield
        return
    client = request.getfixturevalue("docker_client")
    engine = request.getfixturevalue("docker_engine")
    before = {service["ID"] for service in _test_services(client)}
    yield
    created = [service for service in _test_services(client) if service["ID"] not in before]
    # Callback records and Idempotency-Key claims (quartermaster-callback-..., -key-...).
    records = client.api.configs(filters={"name": "quartermaster-"})
    # Every job, callback record and claim the run makes is searched for secrets before it goes.
    jobs = [service for service in created if labels.is_job(service)]
    leaks = [name for name, value in _secrets().items() if value in json.dumps([jobs, records])]
    for service in created:
        with contextlib.suppress(JobNotFound):
            remove_job_service(engine, service)
    for record in records:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_config(record["ID"])
    assert not leaks, f"secrets in a job's service, a callback record or a claim: {leaks}"


@pytest.fixture
def private_image_not_on_workers(lab):
    """Workers keep an image once pulled and run it without credentials; start without it."""
    for socket_url in lab.worker_sockets:
        worker = docker.DockerClient(base_url=socket_url, timeout=30)
        with contextlib.suppress(docker.errors.ImageNotFound):
            worker.api.remove_image(lab.private_image, force=True)
    return lab.private_image


def _test_services(client):
    jobs = client.api.services(filters={"label": f"{labels.JOB}=true"})
    direct = client.api.services(filters={"label": TEST_LABEL})
    return jobs + direct


def hold_claim(client, idempotency_key, until: float) -> str:
    """A claim on the key as a /run request makes it, held until `until` (epoch seconds)."""
    hashed = key_hash(idempotency_key)
    claim_labels = {claims.CLAIM_OF: hashed, claims.CLAIM_UNTIL: f"{until:.3f}"}
    return client.api.create_config(claims.claim_name(hashed), b"{}", claim_labels)["ID"]


def make_config(**settings) -> Config:
    """The tests' settings: their callback receivers listen on loopback, so private callback
    addresses are allowed unless a test says otherwise."""
    defaults = {"token": TOKEN, "docker_host": MANAGER_SOCKET, "callback_allow_private": True}
    return Config(**{**defaults, **settings})


@pytest.fixture
def app(docker_client):
    return create_app(make_config())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """The test client with the token sent as a Bearer header."""
    return ApiClient(client)


class DockerCalls:
    """How many Engine API calls this process has sent since, by quartermaster's own metric
    (its Engine API client observes each call it sends in it)."""

    def __init__(self):
        self._start = self._total()

    @staticmethod
    def _total() -> int:
        return int(
            sum(
                sample.value
                for family in metrics.docker_duration.collect()
                for sample in family.samples
                if sample.name.endswith("_count")
            )
        )

    def __len__(self) -> int:
        return self._total() - self._start

    def clear(self) -> None:
        self._start = self._total()


class ApiClient:
    def __init__(self, client):
        self.client = client
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    def run(self, **body):
        return self.client.post("/run", json=body, headers=self.headers)

    def stop(self, job_id):
        return self.client.post("/stop", json={"id": job_id}, headers=self.headers)

    def status(self, job_id):
        return self.client.get(f"/status/{job_id}", headers=self.headers)

    def run_ok(self, **body) -> str:
        response = self.run(**body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["id"]

    def wait_for(self, job_id, statuses, timeout=60.0) -> dict:
        """Poll /status until the job's status is one of `statuses`; return that document."""
        statuses = {statuses} if isinstance(statuses, str) else set(statuses)
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            document = self.status(job_id).get_json()
            if not seen or seen[-1] != document.get("status"):
                seen.append(document.get("status"))
            if document.get("status") in statuses:
                document["seen"] = seen
                return document
            time.sleep(0.25)
        raise AssertionError(f"job {job_id} never reached {statuses}; went through {seen}")


def wait_until(condition, timeout: float, message: str, interval: float = 0.3) -> None:
    """Ask `condition()` every `interval` seconds until it holds; at `timeout`, fail saying why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(message)


def pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy what `source` sends to `target` until it closes, then close `target`'s sending side."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The real `quartermaster` console script under gunicorn, with its output captured."""

    def __init__(
        self, log_path: Path, *args: str, env: dict | None = None, ready_path: str = "/healthz"
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        LIVE_SERVER_LOGS.append(log_path)
        self.args = args
        self.env = {**os.environ, "TOKEN": TOKEN, "DOCKER_HOST": MANAGER_SOCKET, **(env or {})}
        self.ready_path = ready_path  # answered once the server is up (any status)
        self.process = None

    def start(self):
        command = [str(Path(sys.executable).parent / "quartermaster")]
        command += ["--bind", "127.0.0.1", "--port", str(self.port), *self.args]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"quartermaster exited: {self.log_text()}"
            try:
                requests.get(f"{self.url}{self.ready_path}", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"quartermaster did not start: {self.log_text()}")

    def stop(self, sig=None):
        if self.process and self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def live_server_factory(docker_client, tmp_path):
    """Start real servers with extra flags and environment; stop them and check their logs."""
    servers = []

    def start(*args: str, env: dict | None = None, ready_path: str = "/healthz") -> LiveServer:
        log_path = tmp_path / f"quartermaster-{len(servers)}.log"
        servers.append(LiveServer(log_path, *args, env=env, ready_path=ready_path).start())
        return servers[-1]

    yield start
    for server in servers:  # all stopped before any check: a failed one leaves none running
        server.stop()
    for server in servers:
        assert TOKEN not in server.log_text(), "the token leaked into the server's log"
        assert "Traceback" not in server.log_text(), server.log_text()


@pytest.fixture
def live_server(live_server_factory):
    return live_server_factory()


# Long requests (/logs?follow, /status?wait) over raw connections, and what /metrics says.

NEVER_PLACED = ["node.labels.qm-test==never-placed"]  # no node has that label


def pending_job(server, lab) -> str:
    """A job through `server` that stays pending (no node matches it), printing nothing."""
    answer = requests.post(
        f"{server.url}/run",
        json={"image": lab.image, "command": "true", "constraints": NEVER_PLACED,
              "labels": {TEST_LABEL: "long-requests"}},
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def send_request(port: int, path: str) -> socket.socket:
    """A raw connection that has sent `GET path` and read nothing yet."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: qm\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    )
    return sock


def read_head(sock: socket.socket) -> tuple[int, dict, bytes]:
    """The status and headers of the answer on `sock` (within its timeout), and what followed."""
    data = b""
    while b"\r\n\r\n" not in data:
        received = sock.recv(65536)
        assert received, f"the connection closed after {data!r}"
        data += received
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, rest


def metric_samples(server) -> list:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    text = requests.get(f"{server.url}/metrics", headers=headers, timeout=10).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def long_requests_in_flight(server) -> float:
    samples = metric_samples(server)
    return sum(s.value for s in samples if s.name == "quartermaster_long_requests_in_flight")
