"""SocketReads: the same answers as docker-py from the real Docker, and HTTP read correctly."""

import json
import socket
import threading
from dataclasses import dataclass

import docker
import pytest

from quartermaster.jobs.errors import DockerUnavailable, JobNotFound
from quartermaster.swarm.client import DockerConnection, translate_errors
from quartermaster.swarm.socket_reads import SocketReads, unix_socket_path
from support.lab import TEST_LABEL, pipe, wait_until

DOCKER_SOCKET = "/var/run/docker.sock"


def test_the_socket_file_of_a_docker_host():
    assert unix_socket_path(None) == DOCKER_SOCKET
    assert unix_socket_path("unix:///run/other.sock") == "/run/other.sock"
    assert unix_socket_path("tcp://10.77.0.1:2376") is None
    assert unix_socket_path("ssh://user@host") is None


def test_reads_go_over_the_socket_only_for_a_unix_host(docker_client, docker_over_tcp, lab, api):
    assert isinstance(DockerConnection("unix://" + DOCKER_SOCKET, 5).reads, SocketReads)
    assert isinstance(DockerConnection(None, 5).reads, SocketReads)
    over_tcp = DockerConnection(docker_over_tcp, 5)
    assert isinstance(over_tcp.reads, docker.APIClient)
    # And a job is read alike either way.
    job_id = api.run_ok(image=lab.image, command="true", labels={TEST_LABEL: "tcp"})
    assert over_tcp.reads.inspect_service(job_id) == docker_client.api.inspect_service(job_id)


@pytest.fixture
def docker_over_tcp():
    """Docker's socket forwarded to a loopback TCP port: a `tcp://` Docker host."""
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_forward_each, args=(listener,), daemon=True).start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def _forward_each(listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        docker_side = socket.socket(socket.AF_UNIX)
        docker_side.connect(DOCKER_SOCKET)
        for source, target in ((client, docker_side), (docker_side, client)):
            threading.Thread(target=pipe, args=(source, target), daemon=True).start()


@pytest.fixture
def finished_services(docker_client):
    """Three finished one-off services: enough for a list answer over 4 KiB, which Docker
    sends chunked, and tasks that no longer change."""
    api = docker_client.api
    ids = [
        api.create_service(
            {"ContainerSpec": {"Image": "qm/busybox:latest", "Args": ["true"]}},
            name=f"qm-reads-{index}",
            labels={TEST_LABEL: "reads", "padding": "x" * 2000},
            mode={"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}},
        )["ID"]
        for index in range(3)
    ]
    wait_until(
        lambda: all(
            [task["Status"]["State"] for task in api.tasks(filters={"service": service})]
            == ["complete"]
            for service in ids
        ),
        timeout=60,
        message="the one-off services did not complete",
    )
    return ids


def test_every_read_answers_as_docker_py_does(docker_client, finished_services):
    api = docker_client.api
    reads = SocketReads(DOCKER_SOCKET, api.api_version, timeout=10, pool_size=4)
    first = finished_services[0]
    for reference in (first, first[:12], "qm-reads-0"):
        assert reads.inspect_service(reference) == api.inspect_service(reference)
    ours = {"label": f"{TEST_LABEL}=reads"}
    listed = reads.services(filters=ours)
    assert sorted(service["ID"] for service in listed) == sorted(finished_services)
    assert len(json.dumps(listed)) > 4096
    assert _by_id(listed) == _by_id(api.services(filters=ours))
    tasks = reads.tasks(filters={"service": first})
    assert len(tasks) == 1
    assert tasks == api.tasks(filters={"service": first})
    assert _by_id(reads.tasks(filters=ours)) == _by_id(api.tasks(filters=ours))
    assert _hostnames(reads.nodes()) == _hostnames(api.nodes())
    assert reads.configs(filters=ours) == api.configs(filters=ours)
    assert reads.info()["Swarm"]["NodeID"] == api.info()["Swarm"]["NodeID"]


def test_connections_are_kept_and_reused(docker_client):
    reads = SocketReads(DOCKER_SOCKET, docker_client.api.api_version, timeout=10, pool_size=4)
    for _ in range(20):
        reads.nodes()
    assert len(reads._idle) == 1


def test_docker_errors_are_docker_pys_errors(docker_client):
    api = docker_client.api
    reads = SocketReads(DOCKER_SOCKET, api.api_version, timeout=10, pool_size=4)
    with pytest.raises(docker.errors.NotFound) as ours:
        reads.inspect_service("qm-no-such-service")
    with pytest.raises(docker.errors.NotFound) as theirs:
        api.inspect_service("qm-no-such-service")
    assert ours.value.status_code == theirs.value.status_code == 404
    assert ours.value.explanation == theirs.value.explanation
    with pytest.raises(JobNotFound, match="qm-no-such-service"), translate_errors():
        reads.inspect_service("qm-no-such-service")


# How HTTP is read, against a tiny server on a socket file that answers with set bytes.


@dataclass(frozen=True)
class AndClose:
    """An answer after which the server closes the connection."""

    data: bytes


class CannedServer:
    """Answers each request on a connection with the next of `answers`; an answer of None
    closes the connection instead, an `AndClose` closes it after answering."""

    def __init__(self, path, answers):
        self.connections = 0
        self._answers = list(answers)
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(str(path))
        self._listener.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection:
            while connection.recv(65536):
                answer = self._answers.pop(0)
                if answer is None:
                    return
                if isinstance(answer, AndClose):
                    connection.sendall(answer.data)
                    return
                connection.sendall(answer)

    def close(self):
        self._listener.close()


@pytest.fixture
def canned(tmp_path):
    servers = []

    def serve(*answers):
        servers.append(CannedServer(tmp_path / "docker.sock", answers))
        return servers[-1], SocketReads(str(tmp_path / "docker.sock"), "1.41", 2, pool_size=4)

    yield serve
    for server in servers:
        server.close()


def answer(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_chunked_answer(canned):
    chunks = b'4\r\n{"a"\r\n5;ext=1\r\n: [1,\r\n3\r\n 2]\r\n1\r\n}\r\n0\r\n\r\n'
    _, reads = canned(answer(chunks, "Transfer-Encoding: chunked"))
    assert reads.info() == {"a": [1, 2]}


def test_connection_close_is_honoured(canned):
    server, reads = canned(
        answer(b"{}", "Content-Length: 2", "Connection: close"),
        answer(b"[]", "Content-Length: 2"),
    )
    assert reads.info() == {}
    assert reads.nodes() == []
    assert server.connections == 2


def test_a_connection_docker_closed_while_idle_is_replaced(canned):
    server, reads = canned(
        answer(b"{}", "Content-Length: 2"), None, answer(b"[]", "Content-Length: 2")
    )
    assert reads.info() == {}
    assert reads.nodes() == []  # the idle connection is closed on its request: sent again
    assert server.connections == 2


@pytest.mark.parametrize(
    ("bad_answer", "reason"),
    [
        (b"nonsense\r\n\r\n", "not HTTP"),
        (AndClose(answer(b"{}", "Content-Length: 10")), "cut short"),  # 2 bytes of 10, closed
        (answer(b"zz\r\n", "Transfer-Encoding: chunked"), "not HTTP"),
        (answer(b"{not json", "Content-Length: 9"), "not JSON"),
    ],
)
def test_a_broken_answer_means_docker_is_unavailable(canned, bad_answer, reason):
    _, reads = canned(bad_answer, None)
    with pytest.raises(DockerUnavailable) as error, translate_errors():
        reads.info()
    assert reason in str(error.value.__cause__)  # each through its own branch, not a timeout


def test_no_answer_in_time_means_docker_is_unavailable(tmp_path):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "silent.sock"))
    listener.listen()  # accepts connections, never answers
    reads = SocketReads(str(tmp_path / "silent.sock"), "1.41", timeout=0.5, pool_size=4)
    with pytest.raises(DockerUnavailable), translate_errors():
        reads.info()
    listener.close()


def test_no_socket_means_docker_is_unavailable(tmp_path):
    reads = SocketReads(str(tmp_path / "absent.sock"), "1.41", timeout=1, pool_size=4)
    with pytest.raises(DockerUnavailable), translate_errors():
        reads.info()


def _by_id(objects):
    return {item["ID"]: item for item in objects}


def _hostnames(nodes):
    return {node["ID"]: node["Description"]["Hostname"] for node in nodes}
