"""Hostile input: each gets a clear JSON 4xx, before anything reaches Docker.

The app here points at a Docker socket that does not exist: a request that got past validation
would answer 503, so every 4xx below is the validation's own.
"""

import contextlib
import json
import socket
import threading
import time

import pytest
import requests
from conftest import TOKEN, LiveServer, make_config

from quartermaster.web.app import create_app

BEARER = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def offline(tmp_path):
    app = create_app(make_config(docker_host=f"unix://{tmp_path}/no-docker.sock"))
    return app.test_client()


def assert_json_4xx(response, code=400):
    assert response.status_code == code, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["success"] is False and body["code"] == code
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"image": "alpine", "labels": ' + b'{"a":' * 5_000 + b'"x"' + b"}" * 5_001,
    ],
)
def test_deeply_nested_json_is_400(offline, body):
    for headers in ({**JSON, **BEARER}, JSON):
        assert (
            "nested too deeply"
            in assert_json_4xx(offline.post("/run", data=body, headers=headers))["error"]
        )


@pytest.mark.parametrize("field", ["memory", "cpus", "timeout", "ttl", "retries", "completions"])
@pytest.mark.parametrize("value", [10**30, -(10**30), 2**63, 1e308])
def test_numbers_far_beyond_64_bits_are_400_naming_the_field(offline, field, value):
    body = {"image": "alpine", field: value, **({"type": "job"} if field == "completions" else {})}
    response = offline.post("/run", json=body, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "alpine\x00"),
        ("name", "job\x00"),
        ("command", "echo \x00"),
        ("command", ["echo", "\x00"]),
        ("labels", {"k\x00": "v"}),
        ("labels", {"k": "v\x00"}),
        ("env", {"K": "\x00"}),
        ("constraints", ["node.role==\x00"]),
    ],
)
def test_nul_characters_are_400_naming_the_field(offline, field, value):
    response = offline.post("/run", json={"image": "alpine", field: value}, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "alpine@sha256:" + "A" * 64),  # Docker: upper-case hex is no digest
        ("image", "alpine@md5:" + "a" * 64),  # an algorithm Docker does not know
        ("image", "a" * 64),  # Docker reads it as an image id
        ("image", "a" * 238),  # Docker: over 255 as docker.io/library/...
        ("constraints", ["ab==é"]),  # swarmkit: a value it refuses (Docker answered 500)
        ("constraints", ["a==b"]),  # swarmkit: a one-character key
        ("callback_url", "http://[a:]/"),  # urlsplit raises on it
    ],
)
def test_what_docker_would_refuse_is_400_naming_the_field_before_docker(offline, field, value):
    response = offline.post("/run", json={"image": "alpine", field: value}, headers=BEARER)
    assert field in assert_json_4xx(response)["fields"]


@pytest.mark.parametrize("key", [" order-1", "order-1 ", "ordre-é", "", "k" * 256])
def test_an_idempotency_key_out_of_its_pattern_is_400_naming_it(offline, key):
    headers = {**BEARER, "Idempotency-Key": key}
    response = offline.post("/run", json={"image": "alpine"}, headers=headers)
    assert list(assert_json_4xx(response)["fields"]) == ["Idempotency-Key"]


@pytest.mark.parametrize(
    "path",
    ["/status/..%2F..%2Fetc", "/status/a%00b", "/status/%C3%BC", "/status/%FF%FE", "/logs/a%00",
     "/status/x?wait=%00", "/jobs?name=%00", "/jobs?cursor=%FF"],
)  # fmt: skip
def test_hostile_paths_and_queries_are_json_4xx(offline, path):
    response = offline.get(path, headers=BEARER)
    assert response.status_code in (400, 404)
    assert response.get_json()["success"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {"Token": TOKEN},
        {"X-Token": TOKEN},
        {"Cookie": f"token={TOKEN}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Token {TOKEN}"},
    ],
)
def test_the_token_in_a_wrong_place_is_401(offline, headers):
    assert_json_4xx(offline.get("/status/x", headers=headers), 401)


@pytest.mark.parametrize("token", [12, None, [TOKEN], {"t": TOKEN}, TOKEN + " ", TOKEN.upper()])
def test_a_token_of_the_wrong_kind_in_the_body_is_401(offline, token):
    response = offline.post("/stop", json={"id": "x", "token": token})
    assert_json_4xx(response, 401)


def test_a_form_encoded_token_is_not_accepted(offline):
    response = offline.post("/stop", data={"token": TOKEN, "id": "x"})
    assert_json_4xx(response, 401)


def test_a_100_mb_body_is_refused_without_being_read(tmp_path):
    server = LiveServer(
        tmp_path / "server.log", "--workers", "1",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "REAPER_INTERVAL": "0"},
    ).start()  # fmt: skip
    try:
        [worker] = _children(server.process.pid)  # --workers 1 and no reaper: the worker
        before = _rss_kib(worker)
        for chunked in (True, False):  # no length announced, then 100 MB announced
            answer = _post_100_megabytes(server.port, chunked)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
            assert (body["code"], body["error"]) == (413, "the body is over the limit of 1 MiB")
        assert _rss_kib(worker) - before < 20 * 1024  # never buffered: far less than 100 MB
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 503  # still serving
    finally:
        server.stop()


def _post_100_megabytes(port: int, chunked: bool) -> bytes:
    """POST /run with a 100 MB body; the answer's first bytes, read while the body is sent (the
    server answers, then closes, long before the body's end)."""
    head = [f"POST /run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n",
            "Content-Type: application/json\r\n"]  # fmt: skip
    head.append(
        "Transfer-Encoding: chunked\r\n\r\n" if chunked else "Content-Length: 104857600\r\n\r\n"
    )
    megabyte = b"x" * (1024 * 1024)
    piece = b"100000\r\n" + megabyte + b"\r\n" if chunked else megabyte
    answer = []

    def read_answer():
        with contextlib.suppress(OSError):  # a reset once the server closed: the answer is in
            while data := sock.recv(65536):
                answer.append(data)

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = threading.Thread(target=read_answer)
        reader.start()
        try:
            sock.sendall("".join(head).encode())
            for _ in range(100):
                sock.sendall(piece)
        except OSError:
            pass  # the server closed after answering: the rest was never read
        reader.join(30)
    return b"".join(answer)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.parametrize(
    ("request_head", "code"),
    [
        (f"GET /status/x?token={TOKEN}&pad={'a' * 5000} HTTP/1.1", 400),
        (f"GE(T /status/x?token={TOKEN} HTTP/1.1", 400),
        (f"GET  /status/x?token={TOKEN} HTTP/1.1", 400),  # echoed by gunicorn: redacted
        (f"GET /status/x?token={TOKEN} HTTP/9.9", 400),
        ("GET /healthz HTTP/1.1\r\nX-Pad: " + "a" * 9000, 431),
        ("GET /healthz HTTP/1.1\r\n" + "".join(f"X-{i}: 1\r\n" for i in range(120)), 431),
    ],
    ids=[
        "request line too long",
        "not a method",
        "not a request line",
        "not an HTTP version",
        "header too long",
        "too many headers",
    ],
)
def test_what_gunicorn_refuses_itself_is_json_and_does_not_echo_the_token(
    live_server, request_head, code
):
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as connection:
        connection.sendall(f"{request_head}\r\nHost: x\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {code} ")
    assert "Content-Type: application/json" in head
    document = json.loads(body)
    assert (document["success"], document["code"]) == (False, code)
    assert TOKEN not in body
    assert "token=" not in body or "token=[REDACTED]" in body
    time.sleep(0.2)  # the worker logs the refusal as it answers
    assert TOKEN not in live_server.log_text()
