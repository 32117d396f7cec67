"""Docker goes away and comes back: quartermaster answers 503 JSON at once, then recovers by itself.

The server reaches Docker through a forwarder on a unix socket of the test's own, which the test
stops and starts: for quartermaster that is exactly a daemon that stopped answering and came back.
"""

import contextlib
import os
import socket
import threading

import requests
from conftest import TOKEN, pipe

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
DOCKER_SOCKET = "/var/run/docker.sock"


class SocketForwarder:
    """Listens on `path` and pipes every connection to the Docker socket, until stopped."""

    def __init__(self, path: str):
        self.path = path
        self.listener = None
        self.connections: list[socket.socket] = []

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
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.connections.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
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
    job_id = requests.post(f"{server.url}/run", json=run, headers=HEADERS, timeout=10).json()["id"]

    forwarder.stop()
    answers = [
        requests.get(f"{server.url}/healthz", timeout=1),  # no hang: an answer within a second
        requests.get(f"{server.url}/status/{job_id}", headers=HEADERS, timeout=1),
        requests.post(f"{server.url}/run", json=run, headers=HEADERS, timeout=1),
        requests.get(f"{server.url}/jobs", headers=HEADERS, timeout=1),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json() == {**answer.json(), "success": False, "code": 503}

    forwarder.start()  # Docker is back; quartermaster is not restarted
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert (
        requests.get(f"{server.url}/status/{job_id}", headers=HEADERS, timeout=5).status_code == 200
    )
    again = requests.post(f"{server.url}/run", json=run, headers=HEADERS, timeout=10)
    assert again.status_code == 200
    forwarder.stop()
