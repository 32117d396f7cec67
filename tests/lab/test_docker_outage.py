"""Docker goes away, or hangs, and comes back: quartermaster answers 503 JSON within about one
Docker timeout, then recovers by itself.

The server reaches Docker through a forwarder on a unix socket of the test's own, which the test
stops and starts, or makes hang (accept connections, never answer): for quartermaster that is
exactly a daemon that stopped answering and came back.
"""

import contextlib
import os
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from quartermaster.swarm.docker_connection import POOL_SIZE
from support.lab import pipe, wait_until

pytestmark = pytest.mark.alone  # answers timed against one Docker timeout: on a quiet host

DOCKER_SOCKET = "/var/run/docker.sock"


class SocketForwarder:
    """Listens on `path` and pipes every connection to the Docker socket, until stopped; or,
    after `hang()`, holds every connection and answers nothing, until `answer()`."""

    def __init__(self, path: str):
        self.path = path
        self.listener = None
        self.connections: list[socket.socket] = []
        self.hanging = False
        self.held: set[socket.socket] = set()  # connections open while hanging
        self._lock = threading.Lock()

    def hang(self):
        """From now on, accept and never answer; connections piped so far are cut."""
        self.hanging = True
        self._cut(self.connections)

    def answer(self):
        """Pipe to Docker again; the connections held meanwhile are cut."""
        self.hanging = False
        with self._lock:
            held, self.held = list(self.held), set()
        self._cut(held)

    def start(self):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self):
        self.listener.close()
        os.unlink(self.path)
        self._cut(self.connections)

    @staticmethod
    def _cut(connections):
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        connections.clear()

    def _hold(self, client):
        """Read what the client sends and never answer, until it gives up (or `answer()`)."""
        with self._lock:
            self.held.add(client)
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass
        with self._lock:
            self.held.discard(client)
        client.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            if self.hanging:
                threading.Thread(target=self._hold, args=(client,), daemon=True).start()
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(DOCKER_SOCKET)
            self.connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(source, target), daemon=True).start()


def test_docker_down_is_503_at_once_and_back_without_a_restart(lab, live_server_factory, tmp_path):
    forwarder = SocketForwarder(str(tmp_path / "docker.sock"))
    forwarder.start()
    server = live_server_factory(
        env={"DOCKER_HOST": f"unix://{forwarder.path}", "REAPER_INTERVAL": "0"}
    )
    run = {"image": lab.image, "command": "true"}
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    job_id = server.client().run(timeout=10, **run).json()["id"]

    forwarder.stop()
    answers = [
        requests.get(f"{server.url}/healthz", timeout=1),  # no hang: an answer within a second
        server.client().get(f"/status/{job_id}", timeout=1),
        server.client().run(timeout=1, **run),
        server.client().get("/jobs", timeout=1),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json() == {**answer.json(), "success": False, "code": 503}

    forwarder.start()  # Docker is back; quartermaster is not restarted
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert server.client().get(f"/status/{job_id}", timeout=5).status_code == 200
    again = server.client().run(timeout=10, **run)
    assert again.status_code == 200
    forwarder.stop()


DOCKER_TIMEOUT = 2.0
# "About one Docker timeout": the timeout, and time for 50 requests to be sent and answered on
# this machine's two CPUs. Requests queued behind each other's timeouts would take 2x, 3x, ...
WITHIN_SECONDS = DOCKER_TIMEOUT * 1.75


def fifty_at_once(server, paths=("/status/qm-hung-job", "/nodes")) -> list:
    """50 requests at the same moment, to `paths` in turn: each answer and its time."""

    def timed(path):
        started = time.monotonic()
        answer = server.client().get(path, timeout=30)
        return time.monotonic() - started, answer

    paths = list(paths) * (50 // len(paths))
    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(timed, paths))


def connections_to(path: str) -> int:
    """Connections open to the socket file `path` (its accepted ends name it)."""
    table = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
    return sum(1 for line in table.splitlines() if line.split()[4:5] == [path])


def assert_each_a_quick_503(answers):
    for _, answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json() == {**answer.json(), "success": False, "code": 503}
    slowest = max(seconds for seconds, _ in answers)
    assert slowest < WITHIN_SECONDS, f"the slowest 503 took {slowest:.1f}s"


def test_a_hung_docker_is_503_within_one_timeout_for_every_request(
    lab, live_server_factory, tmp_path
):
    forwarder = SocketForwarder(str(tmp_path / "docker.sock"))
    forwarder.start()
    forwarder.hang()
    # One worker: every request meets the same Docker client and the same cap on its calls.
    # /openapi.json answers without Docker: the server is up while Docker hangs.
    server = live_server_factory(
        "--workers", "1", "--docker-timeout", str(DOCKER_TIMEOUT),
        env={"DOCKER_HOST": f"unix://{forwarder.path}", "REAPER_INTERVAL": "0"},
        ready_path="/openapi.json",
    )  # fmt: skip

    # Hung before the worker ever reached Docker: no client yet, so each request needs one made.
    assert_each_a_quick_503(fifty_at_once(server))

    forwarder.answer()  # Docker answers again; quartermaster is not restarted
    wait_until(
        lambda: requests.get(f"{server.url}/healthz", timeout=10).status_code == 200,
        timeout=10,
        message="service did not come back when Docker answered again",
    )
    run = {"image": lab.image, "command": "true"}
    job_id = server.client().run(timeout=10, **run).json()["id"]

    # Hung with the client made and connections kept: 100 Engine API calls at once (two for each
    # /status), more than a worker sends to Docker at a time.
    forwarder.hang()
    with ThreadPoolExecutor(1) as beside:
        answers = beside.submit(fifty_at_once, server, ["/status/qm-hung-job"])
        time.sleep(DOCKER_TIMEOUT / 2)  # every call is out by now: sent, or waiting for a slot
        connections = connections_to(forwarder.path)
        assert_each_a_quick_503(answers.result())
    assert 50 <= connections <= POOL_SIZE

    forwarder.answer()
    wait_until(
        lambda: server.client().get(f"/status/{job_id}", timeout=10)
        .status_code == 200,
        timeout=10,
        message="service did not come back the second time",
    )  # fmt: skip
    assert server.client().get("/jobs", timeout=10).status_code == 200
    forwarder.stop()
