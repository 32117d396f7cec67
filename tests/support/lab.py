"""The lab tier's helpers: the lab's facts and secrets, its Docker, live servers, raw connections
and metrics. (Its fixtures are in tests/lab/conftest.py.) One module of ~380 lines: the tests
import every helper from one place."""

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from prometheus_client.parser import text_string_to_metric_families

from quartermaster.jobs import labels
from quartermaster.jobs.idempotency import key_hash
from quartermaster.process import metrics
from quartermaster.process.config import Config
from quartermaster.swarm import claims
from quartermaster.swarm.spec import registry_auth_header
from quartermaster.web.schemas.fields import decode_registry_auth
from support.settings import CALLBACK_SECRET, TOKEN, fresh_store_url, make_config

LAB_FACTS = Path("/var/lib/qm-lab/lab.json")
MANAGER_SOCKET = "unix:///var/run/docker.sock"
# Every job and service a test makes carries this label, its value the test's own mark (a
# test's cleanup removes what carries its mark, and nothing of another test running meanwhile).
TEST_LABEL = "qm-test"
# The logs of every live server; searched for secrets at the end of the run.
LIVE_SERVER_LOGS: list[Path] = []
# What the lab's daemons (manager, workers, registry) log.
LAB_LOGS = sorted(Path("/var/log").glob("qm-*.log"))
# Tests that must not run beside each other, though beside any other test: make test-lab runs the
# tests of each group in one process (pytest.mark.xdist_group; the `alone` mark: pyproject.toml).
PRIVATE_IMAGE = "private-image"  # they remove the private image from workers, or stop the registry
UNNAMED_DEPLOYMENT = "unnamed-deployment"  # they run the unnamed deployment, on port 9090
NEVER_PLACED = ["node.labels.qm-test==never-placed"]  # no node has that label
LAB_STORE_URL = fresh_store_url()
# The deployment of this process's apps, reapers and live servers (DEPLOYMENT): they see and reap
# only the jobs of their own process, so tests in parallel processes (pytest-xdist's workers, or
# another run on the lab) leave each other's jobs alone. The pid says which process made them
# (remove_leftover_deployments).
DEPLOYMENT_PREFIX = "qm-test-"
DEPLOYMENT = f"{DEPLOYMENT_PREFIX}{os.getpid()}"


class _RunningTest:
    # Set by tests/lab/conftest.py for each test.
    mark = "no-test"
    alone = False  # marked `alone`: no other test runs meanwhile


def mark_a_new_test(alone: bool) -> str:
    """A mark of the test starting now: unique in the run and across runs."""
    _RunningTest.mark = "t-" + secrets.token_hex(6)
    _RunningTest.alone = alone
    return _RunningTest.mark


def assert_alone(what: str) -> None:
    """`what` changes the lab for every test: only a test marked `alone` may do it (make
    test-lab runs the others in parallel)."""
    assert _RunningTest.alone, f"{what}: mark the test @pytest.mark.alone"


def this_test_labels() -> dict[str, str]:
    """The running test's label, for every job and service it makes."""
    return {TEST_LABEL: _RunningTest.mark}


def labelled(body: dict) -> dict:
    """A /run body with the running test's label added to its own (a body whose labels are not
    an object is sent as it is: the server's refusal is what the test wants)."""
    own = body.get("labels", {})
    if not isinstance(own, dict):
        return body
    return {**body, "labels": {**this_test_labels(), **own}}


@dataclass(frozen=True)
class Lab:
    workers: int
    registry: str
    registry_user: str
    registry_password: str
    image: str
    private_image: str
    worker_sockets: tuple[str, ...]


def lab_config(**settings) -> Config:
    """The tests' settings (make_config) on the lab's manager, with the run's one record store:
    an app and a reaper a test makes in-process see the same history."""
    defaults = {
        "docker_host": MANAGER_SOCKET,
        "database_url": LAB_STORE_URL,
        "deployment": DEPLOYMENT,
    }
    return make_config(**{**defaults, **settings})


def seed_style_auth(username, password) -> str:
    """The seed's `auth` shape: standard base64 of {username, password, auth: "", email}."""
    auth = {"username": username, "password": password, "auth": "", "email": "qm@example.com"}
    return base64.b64encode(json.dumps(auth).encode()).decode()


def lab_secrets() -> dict[str, str]:
    """Every secret of a run on the lab: the token, the callback secret, the registry's
    credentials in each form they travel in, the lab PostgreSQL's password."""
    secrets_of_the_run = {"the token": TOKEN, "the callback secret": CALLBACK_SECRET}
    if not LAB_FACTS.exists():
        return secrets_of_the_run  # no lab, so no registry credentials to look for
    facts = json.loads(LAB_FACTS.read_text())
    user, password = facts["registry_user"], facts["registry_password"]
    seed_auth = seed_style_auth(user, password)
    header = registry_auth_header(decode_registry_auth(seed_auth), facts["private_image"])
    secrets_of_the_run |= {
        "the registry password": password,
        "the seed-style auth": seed_auth,
        "the X-Registry-Auth header": header,
    }
    if "postgres" in facts:  # a lab brought up before it had PostgreSQL has none
        secrets_of_the_run["the PostgreSQL password"] = facts["postgres"]["password"]
    return secrets_of_the_run


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


def kill_with_its_children(pid: int) -> None:
    """SIGKILL a process and its children (gunicorn's workers, its reaper) at once, as the
    machine's end would: a master killed alone leaves its workers finishing their requests."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for doomed in [pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(doomed, signal.SIGKILL)


def remove_leftover_deployments(client) -> None:
    """Remove the jobs, and the configs kept beside them, of test deployments whose process is
    gone (a run killed before its tests cleaned up; no other deployment's reaper touches them)."""

    def leftover(labelled_object: dict) -> bool:
        mark = (labelled_object["Spec"].get("Labels") or {}).get(labels.JOB, "")
        pid = mark.removeprefix(DEPLOYMENT_PREFIX).partition("-")[0]  # qm-test-<pid>[-more]
        return mark.startswith(DEPLOYMENT_PREFIX) and not Path(f"/proc/{pid}").exists()

    jobs = [job for job in client.api.services(filters={"label": labels.JOB}) if leftover(job)]
    for job in jobs:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_service(job["ID"])
    for config in client.api.configs(filters={"label": labels.JOB}):
        if leftover(config):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.api.remove_config(config["ID"])


def hold_claim(client, idempotency_key, until: float) -> str:
    """A claim on the key as a /run request makes it, held until `until` (epoch seconds)."""
    hashed = key_hash(idempotency_key)
    claim_labels = {
        labels.JOB: labels.job_mark(DEPLOYMENT),
        claims.CLAIM_OF: hashed,
        claims.CLAIM_UNTIL: f"{until:.3f}",
        **this_test_labels(),
    }
    name = claims.claim_name(hashed, DEPLOYMENT)
    return client.api.create_config(name, b"{}", claim_labels)["ID"]


class DockerCalls:
    """How many Engine API calls this process has sent since, by quartermaster's own metric
    (docker-py and the socket reads observe each call they send in it)."""

    def __init__(self):
        self._start = self._total()
        self._start_by_call = self._by_call_so_far()

    @staticmethod
    def _by_call_so_far() -> dict[str, int]:
        return {
            sample.labels["call"]: int(sample.value)
            for family in metrics.docker_duration.collect()
            for sample in family.samples
            if sample.name.endswith("_count")
        }

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

    def by_call(self) -> dict[str, int]:
        """The calls since, by their name (those made since only)."""
        now = self._by_call_so_far()
        counts = {call: count - self._start_by_call.get(call, 0) for call, count in now.items()}
        return {call: count for call, count in counts.items() if count}

    def clear(self) -> None:
        self._start = self._total()
        self._start_by_call = self._by_call_so_far()


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
    """A port free now, for a server a test starts. Not one the kernel picks (port 0): those come
    from its range of connections' own ports, and one free when picked may be a client's (say,
    a PostgreSQL connection's) by the time the server binds it, which then fails with "Address
    already in use". So: at random below that range, where no connection's port ever is."""
    for _ in range(200):
        port = secrets.choice(SERVER_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: another
            return port
    raise AssertionError(f"no free port in {SERVER_PORTS}")


def _server_ports() -> range:
    """The ports below the kernel's range of connections' own ports (ip_local_port_range)."""
    lowest_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return range(max(1024, lowest_ephemeral - 12000), lowest_ephemeral)


SERVER_PORTS = _server_ports()


def background_processes_of(server: "LiveServer") -> list[int]:
    """The pids of the server's background processes (the reaper, and the schedules): its
    children running quartermaster.background."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        assert server.process is not None
        if parent == server.process.pid and b"quartermaster.background" in command:
            found.append(int(proc.name))
    return found


REAPER_RUNNING = "reaper: running every"  # its first line, before its first round


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
        self.env = {
            **os.environ,
            "TOKEN": TOKEN,
            "DOCKER_HOST": MANAGER_SOCKET,
            "DATA_DIR": str(log_path.with_name(log_path.stem + "-data")),  # its own store
            "DEPLOYMENT": DEPLOYMENT,
            **(env or {}),
        }
        self.ready_path = ready_path  # answered once the server is up (any status)
        self.process = None

    def start(self):
        command = [str(Path(sys.executable).parent / "quartermaster")]
        command += ["--bind", "127.0.0.1", "--port", str(self.port), *self.args]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + 30  # a busy lab: several test processes start servers
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"quartermaster exited: {self.log_text()}"
            try:
                answer = requests.get(f"{self.url}{self.ready_path}", timeout=1)
                self._wait_for_reaper(answer, deadline)
                return self
            # Not listening yet, or listening while its workers boot (a busy lab: a read timeout).
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        self.process.kill()  # not left running behind the failure, its reaper acting on the lab
        self.process.wait()
        raise AssertionError(f"quartermaster did not start: {self.log_text()}")

    def _wait_for_reaper(self, health: requests.Response, deadline: float) -> None:
        """Until the reaper the server runs (its /healthz says so) is in its rounds: the master
        starts it beside the workers, and on a busy lab it may come up seconds after the server
        answers, too late to see a short job run."""
        if self.ready_path != "/healthz" or health.status_code != 200:
            return
        if health.json()["reaper"]["state"] == "off":
            return
        while REAPER_RUNNING not in self.log_text():
            assert self.process.poll() is None, f"quartermaster exited: {self.log_text()}"
            assert time.monotonic() < deadline, f"its reaper did not start: {self.log_text()}"
            time.sleep(0.05)

    def stop(self, sig=None):
        if self.process and self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired as late:
                # Never left running: its reaper would go on acting on every job of the lab.
                self.process.kill()
                self.process.wait(timeout=30)
                raise AssertionError(
                    f"quartermaster did not stop in 30 s: {self.log_text()}"
                ) from late

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, token: str = TOKEN) -> "ServerApi":
        """Requests to this server as the tests send them (ServerApi)."""
        return ServerApi(self.url, token)


class ServerApi:
    """A live server's API as a test calls it over HTTP: the token as a Bearer header, and every
    /run with the running test's label (see `labelled`). Answers are requests' responses."""

    def __init__(self, url: str, token: str = TOKEN):
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(
        self, method: str, path: str, headers: dict | None = None, timeout: float = 30, **kwargs
    ):
        headers = {**self.headers, **(headers or {})}
        url = f"{self.url}{path}"
        return requests.request(method, url, headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def run(self, headers: dict | None = None, **body):
        return self.post("/run", json=labelled(body), headers=headers)

    def run_ok(self, **body) -> str:
        answer = self.run(**body)
        assert answer.status_code == 200, answer.text
        return answer.json()["id"]

    def stop(self, job_id: str):
        return self.post("/stop", json={"id": job_id})

    def status(self, job_id: str, **params) -> dict:
        return self.get(f"/status/{job_id}", params=params).json()


# Long requests (/logs?follow, /status?wait) over raw connections, and what /metrics says.


def tenant_with_key(server, prefix: str = "t", **fields) -> tuple[str, str]:
    """A new tenant of `server` (its other fields: quota, weight, ...), and a key of it with
    every job right."""
    operator = server.client()
    name = f"{prefix}-{secrets.token_hex(3)}"
    made = operator.request("POST", "/tenants", json={"name": name, **fields})
    assert made.status_code == 201, made.text
    key = operator.request(
        "POST", f"/tenants/{name}/keys", json={"name": "ci", "rights": ["read", "run", "stop"]}
    )
    return name, key.json()["key"]


def pending_job(server, lab) -> str:
    """A job through `server` that stays pending (no node matches it), printing nothing."""
    return server.client().run_ok(image=lab.image, command="true", constraints=NEVER_PLACED)


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
    text = server.client().get("/metrics", timeout=10).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def metric_values(text: str) -> dict[str, float]:
    """Prometheus text as {sample with its labels: value}."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def long_requests_in_flight(server) -> float:
    samples = metric_samples(server)
    return sum(s.value for s in samples if s.name == "quartermaster_long_requests_in_flight")


def reap_until(reapers, condition, timeout=60):
    """Run reaper rounds (several reapers: interleaved) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for reaper in reapers:
            reaper.run_once()
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("the reaper never got there")


def settle(reapers):
    for reaper in reapers:
        reaper.close()  # waits for deliveries in flight
