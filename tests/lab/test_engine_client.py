"""The Engine API client: the same answers as docker-py from the real Docker, over the Unix
socket and over tcp://; Docker's errors as ours; and HTTP read and written correctly."""

import json
import socket
import threading
import time
from dataclasses import dataclass

import docker
import pytest

from quartermaster.jobs.errors import (
    DockerRejected,
    DockerUnavailable,
    JobNotFound,
    NameConflict,
    NotASwarmManager,
    SwarmError,
)
from quartermaster.swarm.call_gate import CallGate
from quartermaster.swarm.docker_connection import DockerConnection
from quartermaster.swarm.docker_py_transport import DockerPyTransport
from quartermaster.swarm.engine import EngineClient
from quartermaster.swarm.transport import transport_for, unix_socket_path
from quartermaster.swarm.unix_socket_transport import UnixSocketTransport
from support.lab import MANAGER_SOCKET, NEVER_PLACED, TEST_LABEL, pipe, wait_until

DOCKER_SOCKET = "/var/run/docker.sock"


def test_the_socket_file_of_a_docker_host():
    assert unix_socket_path(None) == DOCKER_SOCKET
    assert unix_socket_path("unix:///run/other.sock") == "/run/other.sock"
    assert unix_socket_path("tcp://10.77.0.1:2376") is None
    assert unix_socket_path("ssh://user@host") is None


def test_plain_http_on_the_socket_only_for_a_unix_host(docker_over_tcp, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert isinstance(transport_for(MANAGER_SOCKET, 4), UnixSocketTransport)
    assert isinstance(transport_for(None, 4), UnixSocketTransport)
    assert isinstance(transport_for(docker_over_tcp, 4), DockerPyTransport)
    monkeypatch.setenv("DOCKER_HOST", docker_over_tcp)
    assert isinstance(transport_for(None, 4), DockerPyTransport)


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


@pytest.fixture(params=["unix", "tcp"])
def engine(request, docker_client):
    """Our client to the lab's manager, through each transport."""
    if request.param == "unix":
        return DockerConnection(MANAGER_SOCKET, 10).engine
    return DockerConnection(request.getfixturevalue("docker_over_tcp"), 10).engine


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


def test_every_read_answers_as_docker_py_does(docker_client, engine, finished_services):
    api = docker_client.api
    first = finished_services[0]
    for reference in (first, first[:12], "qm-reads-0"):
        assert engine.inspect_service(reference) == api.inspect_service(reference)
    ours = {"label": f"{TEST_LABEL}=reads"}
    listed = engine.services(filters=ours)
    assert sorted(service["ID"] for service in listed) == sorted(finished_services)
    assert len(json.dumps(listed)) > 4096
    assert _by_id(listed) == _by_id(api.services(filters=ours))
    tasks = engine.tasks(filters={"service": first})
    assert len(tasks) == 1
    assert tasks == api.tasks(filters={"service": first})
    assert _by_id(engine.tasks(filters=ours)) == _by_id(api.tasks(filters=ours))
    assert _hostnames(engine.nodes()) == _hostnames(api.nodes())
    assert engine.configs(filters=ours) == api.configs(filters=ours)
    assert engine.info()["Swarm"]["NodeID"] == api.info()["Swarm"]["NodeID"]
    assert engine.version()["ApiVersion"] == api.version()["ApiVersion"]


def test_writes_do_what_docker_pys_do(docker_client, engine):
    api = docker_client.api
    name = f"qm-test-config-{time.monotonic_ns()}"
    config_id = engine.create_config(name, {TEST_LABEL: "writes"}, b"data")
    try:
        config = api.inspect_config(config_id)
        assert (config["Spec"]["Name"], config["Spec"]["Labels"]) == (name, {TEST_LABEL: "writes"})
        assert config["Spec"]["Data"] == "ZGF0YQ=="  # base64 of b"data"
        spec = {**config["Spec"], "Labels": {TEST_LABEL: "changed"}}
        engine.update_config(config_id, config["Version"]["Index"], spec)
        assert api.inspect_config(config_id)["Spec"]["Labels"] == {TEST_LABEL: "changed"}
        with pytest.raises(SwarmError, match="update out of sequence"):  # Docker answers 500
            engine.update_config(config_id, config["Version"]["Index"], spec)  # a stale version
    finally:
        engine.remove_config(config_id)
    with pytest.raises(JobNotFound):
        engine.inspect_config(config_id)


def test_docker_errors_are_ours_with_docker_pys_explanation(docker_client, engine):
    api = docker_client.api
    with pytest.raises(docker.errors.NotFound) as theirs:
        api.inspect_service("qm-no-such-service")
    with pytest.raises(JobNotFound) as ours:
        engine.inspect_service("qm-no-such-service")
    assert str(ours.value) == theirs.value.explanation
    name = f"qm-test-config-{time.monotonic_ns()}"
    config_id = api.create_config(name, b"{}", labels={TEST_LABEL: "errors"})["ID"]
    try:
        with pytest.raises(docker.errors.APIError) as theirs:
            api.create_config(name, b"{}")
        with pytest.raises(NameConflict) as ours:
            engine.create_config(name, {})
        assert str(ours.value) == theirs.value.explanation
    finally:
        api.remove_config(config_id)


def test_a_followed_log_ends_when_shut_down_from_another_thread(lab, docker_client, engine):
    service_id = docker_client.api.create_service(
        {"ContainerSpec": {"Image": lab.image}, "Placement": {"Constraints": NEVER_PLACED}},
        labels={TEST_LABEL: "follow"},
    )["ID"]
    log = engine.service_logs(service_id, {"follow": True, "stdout": True, "stderr": True})
    log.without_timeout()
    threading.Timer(0.5, log.shutdown).start()
    started = time.monotonic()
    try:
        assert log.read(8) == b""  # the job prints nothing: only the shutdown ends the read
    except OSError:
        pass  # or the shut connection is an error: either ends the stream
    finally:
        log.close()
    assert 0.4 < time.monotonic() - started < 5


# How HTTP is read and written, against a tiny server on a socket file that answers with set
# bytes.


@dataclass(frozen=True)
class AndClose:
    """An answer after which the server closes the connection."""

    data: bytes


class CannedServer:
    """Answers each request on a connection with the next of `answers`; an answer of None
    closes the connection instead, an `AndClose` closes it after answering. Keeps what it
    was sent."""

    def __init__(self, path, answers):
        self.connections = 0
        self.received: list[bytes] = []
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
            while request := connection.recv(65536):
                self.received.append(request)
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
        path = tmp_path / "docker.sock"
        servers.append(CannedServer(path, answers))
        transport = UnixSocketTransport(str(path), pool_size=4)
        return servers[-1], EngineClient(transport, CallGate(4), timeout=2, api_version="1.41")

    yield serve
    for server in servers:
        server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_chunked_answer(canned):
    chunks = b'4\r\n{"a"\r\n5;ext=1\r\n: [1,\r\n3\r\n 2]\r\n1\r\n}\r\n0\r\n\r\n'
    _, engine = canned(answer(chunks, "Transfer-Encoding: chunked"))
    assert engine.info() == {"a": [1, 2]}


def test_connections_are_kept_and_reused(canned):
    server, engine = canned(*[answer(b"[]", "Content-Length: 2")] * 20)
    for _ in range(20):
        assert engine.nodes() == []
    assert server.connections == 1


def test_connection_close_is_honoured(canned):
    server, engine = canned(
        answer(b"{}", "Content-Length: 2", "Connection: close"),
        answer(b"[]", "Content-Length: 2"),
    )
    assert engine.info() == {}
    assert engine.nodes() == []
    assert server.connections == 2


def test_a_connection_docker_closed_while_idle_is_replaced(canned):
    server, engine = canned(
        answer(b"{}", "Content-Length: 2"), None, answer(b"[]", "Content-Length: 2")
    )
    assert engine.info() == {}
    assert engine.nodes() == []  # the idle connection is closed on its request: sent again
    assert server.connections == 2


def test_a_write_is_sent_once_on_a_new_connection_with_its_headers(canned):
    server, engine = canned(answer(b"{}", "Content-Length: 2"), None)
    assert engine.info() == {}
    with pytest.raises(DockerUnavailable):  # Docker closed it unanswered: it may have acted
        engine.create_service({"Name": "x"}, {"X-Registry-Auth": "e30="})
    assert server.connections == 2  # not on the idle connection of the GET
    assert len(server.received) == 2  # and never sent again
    head, _, body = server.received[1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1.41/services/create HTTP/1.1\r\n")
    assert b"\r\nX-Registry-Auth: e30=" in head
    assert b"\r\nContent-Type: application/json" in head
    assert json.loads(body) == {"Name": "x"}


def test_a_header_breaking_the_request_is_refused_unsent(canned):
    server, engine = canned()
    with pytest.raises(ValueError, match="characters HTTP does not allow"):
        engine.create_service({}, {"X-Registry-Auth": "a\r\nX-Other: b"})
    assert server.received == []


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        ("404 Not Found", "service x not found", JobNotFound),
        ("409 Conflict", "name conflicts with an existing object", NameConflict),
        ("400 Bad Request", "invalid spec", DockerRejected),
        ("503 Service Unavailable", "This node is not a swarm manager.", NotASwarmManager),
        ("500 Internal Server Error", "boom", DockerUnavailable),
    ],
)
def test_docker_error_answers_are_our_errors_with_docker_s_message(canned, status, message, error):
    body = json.dumps({"message": message}).encode()
    _, engine = canned(answer(body, f"Content-Length: {len(body)}", status=status))
    with pytest.raises(error) as raised:
        engine.inspect_service("x")
    assert message in str(raised.value)


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
    _, engine = canned(bad_answer, None)
    with pytest.raises(DockerUnavailable) as error:
        engine.info()
    assert reason in str(error.value.__cause__)  # each through its own branch, not a timeout


def test_no_answer_in_time_means_docker_is_unavailable(tmp_path):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "silent.sock"))
    listener.listen()  # accepts connections, never answers
    transport = UnixSocketTransport(str(tmp_path / "silent.sock"), pool_size=4)
    engine = EngineClient(transport, CallGate(4), timeout=0.5, api_version="1.41")
    started = time.monotonic()
    with pytest.raises(DockerUnavailable) as error:
        engine.info()
    assert isinstance(error.value.__cause__, TimeoutError)
    assert time.monotonic() - started < 2
    listener.close()


def test_no_socket_means_docker_is_unavailable(tmp_path):
    with pytest.raises(DockerUnavailable):
        DockerConnection(f"unix://{tmp_path}/absent.sock", 1).engine.info()


def _by_id(objects):
    return {item["ID"]: item for item in objects}


def _hostnames(nodes):
    return {node["ID"]: node["Description"]["Hostname"] for node in nodes}
