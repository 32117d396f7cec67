"""Hostile requests to a real server: a 100 MB body refused without being read, and what gunicorn
refuses itself answered as JSON without echoing the token. (What the app refuses in-process:
tests/unit/test_hostile_inputs.py.)"""

import contextlib
import json
import socket
import threading
import time

import pytest
import requests

from support.lab import LiveServer
from support.settings import NO_DOCKER, TOKEN


def test_a_100_mb_body_is_refused_without_being_read(tmp_path):
    server = LiveServer(
        tmp_path / "server.log", "--workers", "1",
        env={"DOCKER_HOST": NO_DOCKER, "REAPER_INTERVAL": "0"},
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
