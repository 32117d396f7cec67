"""deploy/nginx.conf with a real nginx in front: headers, request ids, streaming, JSON errors."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from support.lab import (
    ServerApi,
    free_port,
    long_requests_in_flight,
    pending_job,
    read_head,
    send_request,
    wait_until,
)
from support.settings import TOKEN


@pytest.fixture
def echo_server():
    """Answers every request with the headers it received, as JSON."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(dict(self.headers)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_proxy_headers_reach_the_upstream(nginx_factory, echo_server):
    nginx = nginx_factory(echo_server)
    seen = requests.get(
        f"{nginx.url}/anything", headers={"X-Request-ID": "abc-1"}, timeout=5
    ).json()
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["Host"] == f"127.0.0.1:{nginx.port}"
    assert seen["X-Request-ID"] == "abc-1"
    generated = requests.get(f"{nginx.url}/anything", timeout=5).json()["X-Request-ID"]
    assert len(generated) == 32  # nginx made one


def test_quartermaster_behind_nginx_keeps_request_ids(live_server, nginx_factory):
    nginx = nginx_factory(live_server.port)
    response = requests.get(f"{nginx.url}/healthz", headers={"X-Request-ID": "trace-9"}, timeout=5)
    assert response.status_code == 200 and response.json()["success"] is True
    assert response.headers["X-Request-ID"] == "trace-9"
    made_by_nginx = requests.get(f"{nginx.url}/healthz", timeout=5).headers["X-Request-ID"]
    assert len(made_by_nginx) == 32


def test_followed_logs_stream_through_nginx(lab, live_server, nginx_factory):
    nginx = nginx_factory(live_server.port)
    script = "for i in 1 2 3 4; do echo tick-$i; sleep 1; done"
    through_nginx = ServerApi(nginx.url)
    job_id = through_nginx.run_ok(image=lab.image, command=["sh", "-c", script])
    lines, statuses = [], set()
    with through_nginx.get(f"/logs/{job_id}?follow=true", stream=True, timeout=60) as response:
        for line in response.iter_lines():
            lines.append(line.decode())
            statuses.add(through_nginx.status(job_id)["status"])
    assert lines == [f"tick-{i}" for i in range(1, 5)]
    assert "started" in statuses  # lines arrived while the job ran: nginx did not buffer them


def test_a_follow_through_nginx_has_its_headers_at_once_and_ends_with_its_client(
    lab, live_server, nginx_factory
):
    nginx = nginx_factory(live_server.port)
    job_id = pending_job(live_server, lab)
    follow = send_request(nginx.port, f"/logs/{job_id}?follow=true")
    status, headers, _ = read_head(follow)  # though the job has printed nothing
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert long_requests_in_flight(live_server) == 1
    follow.close()  # nginx closes its connection to quartermaster, which ends the follow
    wait_until(
        lambda: long_requests_in_flight(live_server) == 0,
        timeout=10,
        message="the follow goes on after its client left nginx",
    )


def test_a_body_over_the_limit_is_a_json_413_from_nginx(live_server, nginx_factory):
    nginx = nginx_factory(live_server.port)
    body = b'{"image": "' + b"a" * (1024 * 1024) + b'"}'
    response = ServerApi(nginx.url).post(
        "/run", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "code": 413,
        "error": "the body is over the limit of 1 MiB",
    }


def test_an_upstream_that_is_down_is_logged_without_the_token(nginx_factory):
    nginx = nginx_factory(free_port())  # nothing listens there: a rolling update's gap
    for params, headers in [
        ({"token": TOKEN}, {}),
        ({}, {"X-Request-ID": TOKEN}),
        ({"token": TOKEN, "wait": "1"}, {"Authorization": f"Bearer {TOKEN}"}),
    ]:
        response = requests.get(f"{nginx.url}/status/x", params=params, headers=headers, timeout=10)
        assert response.status_code == 503
    nginx.stop()  # its log is complete
    lines = nginx.log_path.read_text().splitlines()
    failures = [json.loads(line) for line in lines if '"upstream failed"' in line]
    assert len(failures) >= 3, lines  # (and the start-up probes, also unanswered)
    assert {(line["status"], line["upstream_status"]) for line in failures} == {(503, "502")}
    assert TOKEN not in nginx.log_path.read_text()


def test_an_upstream_that_is_down_is_a_json_503(nginx_factory):
    nginx = nginx_factory(free_port())  # nothing listens there
    response = requests.get(f"{nginx.url}/healthz", headers={"X-Request-ID": "down-1"}, timeout=10)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == 503
    assert response.headers["X-Request-ID"] == "down-1"
