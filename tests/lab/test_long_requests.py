"""Long requests (/logs?follow, /status?wait): headers at once, gone with their client, bounded in
time and in number per worker, one shared poll per job, and nothing left behind."""

import subprocess
import threading
import time
from pathlib import Path

import requests

from quartermaster.swarm.docker_connection import POOL_SIZE
from support.lab import (
    long_requests_in_flight,
    metric_samples,
    pending_job,
    read_head,
    send_request,
    wait_until,
)

DOCKER_SOCKET = "/var/run/docker.sock"
BATCH = 100  # 1,000 follows, this many at a time
WORKERS = 2


def docker_calls(server) -> float:
    return sum(
        sample.value
        for sample in metric_samples(server)
        if sample.name == "quartermaster_docker_call_duration_seconds_count"
    )


def worker_pids(server) -> list[int]:
    pid = server.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def docker_connections(pids: list[int]) -> int:
    """Connections these processes hold open to Docker's socket."""
    table = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
    # Docker's ends of its connections name the socket file; the peer is the client's end.
    client_ends = {
        fields[7]
        for fields in (line.split() for line in table.splitlines())
        if len(fields) >= 8 and fields[4] == DOCKER_SOCKET
    }
    held = 0
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:[") and target[8:-1] in client_ends:
                held += 1
    return held


class HealthProbe:
    """Asks /healthz every 0.2 s from a thread; records each answer's status (0: none within
    10 s) and time."""

    def __init__(self, server):
        self._url = f"{server.url}/healthz"
        self.answers: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()

    def _probe(self):
        while not self._stop.wait(0.2):
            started = time.monotonic()
            try:
                status = requests.get(self._url, timeout=10).status_code
            except requests.RequestException:
                status = 0
            self.answers.append((status, time.monotonic() - started))

    def stop(self) -> list[tuple[int, float]]:
        self._stop.set()
        self._thread.join()
        return self.answers


def test_a_thousand_dropped_follows_leave_nothing_behind(lab, live_server_factory):
    server = live_server_factory("--workers", str(WORKERS), env={"REAPER_INTERVAL": "0"})
    job_id = pending_job(server, lab)
    # Every worker forked (one answering /healthz is not all of them), or some connections
    # would go uncounted.
    wait_until(
        lambda: len(worker_pids(server)) == WORKERS,
        timeout=10,
        message=f"not {WORKERS} workers",
    )
    workers = worker_pids(server)
    connections_before = docker_connections(workers)
    probe = HealthProbe(server)
    for _ in range(1000 // BATCH):
        batch = [send_request(server.port, f"/logs/{job_id}?follow=true") for _ in range(BATCH)]
        # The headers come at once, though the job has printed nothing.
        for sock in batch:
            status, headers, _ = read_head(sock)
            assert status == 200 and headers["transfer-encoding"] == "chunked"
        # Each follow opens its Docker log connection just after its headers went out.
        wait_until(
            lambda: docker_connections(workers) >= BATCH,
            timeout=10,
            message=f"fewer Docker connections than the batch's {BATCH} follows",
        )
        for sock in batch:
            sock.close()
        # 100 at a time: the next batch once these are gone (else, as one worker may accept
        # most connections, a few batches' worth could meet its long-request cap: a 429).
        wait_until(
            lambda: long_requests_in_flight(server) == 0,
            timeout=10,
            message="dropped follows still in flight after 10 s",
        )
    dropped_at = time.monotonic()
    # What may be left are kept-alive connections for reads: at most POOL_SIZE per worker,
    # however many follows there were.
    wait_until(
        lambda: docker_connections(workers) <= connections_before + POOL_SIZE * len(workers),
        timeout=10 - (time.monotonic() - dropped_at),
        message=f"{docker_connections(workers)} connections to Docker left",
    )
    answers = probe.stop()  # (each /healthz makes Docker calls of its own)
    calls = docker_calls(server)
    time.sleep(2)
    assert docker_calls(server) == calls, "quartermaster still polls Docker"
    # Every /healthz answered meanwhile, each within the probe's 10 s (none starved behind the
    # follows); how fast is the bench's to say, not a test's on a shared machine.
    assert answers and all(status == 200 for status, _ in answers), answers
    assert server.client().post("/stop", json={"id": job_id}, timeout=10
    ).status_code == 200  # fmt: skip


def test_waiters_on_one_job_share_one_poll_and_go_with_their_clients(lab, live_server_factory):
    server = live_server_factory("--workers", "1", env={"REAPER_INTERVAL": "0"})
    job_id = pending_job(server, lab)
    waiters = [send_request(server.port, f"/status/{job_id}?wait=60") for _ in range(100)]
    wait_until(
        lambda: long_requests_in_flight(server) == 100,
        timeout=20,
        message="the 100 waiters are not all waiting",
    )
    time.sleep(2)  # each waiter first reads the job's status itself, once
    calls = docker_calls(server)
    time.sleep(5)
    # One poll of the job every 0.5 s, two calls each: about 20 in 5 s. (Each waiter polling on
    # its own made about 2 calls a second: 1,000.)
    calls_in_5_seconds = docker_calls(server) - calls
    assert calls_in_5_seconds <= 30, calls_in_5_seconds
    for sock in waiters:
        sock.close()
    wait_until(
        lambda: long_requests_in_flight(server) == 0,
        timeout=5,
        message="waiters whose clients left are still waiting",
    )
    calls = docker_calls(server)
    time.sleep(2)
    assert docker_calls(server) == calls, "the poll goes on with no one waiting"


def test_long_requests_beyond_the_limit_are_429_and_others_still_answer(lab, live_server_factory):
    # Four connections per worker: by default at most half of them for long requests.
    server = live_server_factory(
        "--workers", "1", "--worker-connections", "4", env={"REAPER_INTERVAL": "0"}
    )
    job_id = pending_job(server, lab)
    held = [
        send_request(server.port, f"/logs/{job_id}?follow=true"),
        send_request(server.port, f"/status/{job_id}?wait=60"),
    ]
    assert read_head(held[0])[0] == 200
    wait_until(
        lambda: long_requests_in_flight(server) == 2, timeout=10, message="not both in flight"
    )
    for path in (f"/logs/{job_id}?follow=true", f"/status/{job_id}?wait=5"):
        answer = server.client().get(path, timeout=10)
        assert answer.status_code == 429
        assert answer.json() == {**answer.json(), "success": False, "code": 429}
        assert "long requests" in answer.json()["error"]
        assert int(answer.headers["Retry-After"]) > 0
    # Short requests still have connections.
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert server.client().get(f"/status/{job_id}", timeout=5).json()[
        "status"
    ] == "pending"  # fmt: skip
    assert pending_job(server, lab)
    for sock in held:
        sock.close()
    wait_until(
        lambda: long_requests_in_flight(server) == 0, timeout=5, message="slots not given back"
    )
    follow = send_request(server.port, f"/logs/{job_id}?follow=true")
    assert read_head(follow)[0] == 200
    follow.close()


def test_a_follow_ends_after_follow_max_seconds(lab, live_server_factory):
    server = live_server_factory("--follow-max-seconds", "2", env={"REAPER_INTERVAL": "0"})
    job_id = pending_job(server, lab)
    started = time.monotonic()
    with server.client().get(f"/logs/{job_id}?follow=true", stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.content == b""  # read to its clean end (raises if cut)
    assert 2 <= time.monotonic() - started < 10
    wait_until(
        lambda: long_requests_in_flight(server) == 0, timeout=5, message="the follow is in flight"
    )
