"""SIGTERM: in-flight requests finish, long waits end cleanly at once, and the server exits 0."""

import signal
import threading
import time


def test_sigterm_ends_waits_and_followed_logs_cleanly_then_exits_0(lab, live_server_factory):
    server = live_server_factory("--workers", "1")
    api = server.client()
    job_id = api.run_ok(
        image=lab.image, command=["sh", "-c", "while true; do echo x; sleep 0.3; done"]
    )
    results = {}

    def wait_for_the_job():
        response = api.get(f"/status/{job_id}?wait=60", timeout=90)
        results["wait"] = (response.status_code, response.json()["status"])

    def follow_the_logs():
        with api.get(f"/logs/{job_id}?follow=true", stream=True, timeout=90) as response:
            lines = list(response.iter_lines())  # raises if the stream is cut uncleanly
        results["follow"] = (response.status_code, len(lines))

    threads = [threading.Thread(target=wait_for_the_job), threading.Thread(target=follow_the_logs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the follower has output: both requests are in flight
        if api.status(job_id)["status"] == "started":
            break
        time.sleep(0.2)
    time.sleep(2)

    stopped_at = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    for thread in threads:
        thread.join(timeout=10)
    assert time.monotonic() - stopped_at < 10  # within Docker's default stop grace period
    assert results["wait"] == (200, "started")  # answered with where the job stood
    follow_status, lines = results["follow"]
    assert follow_status == 200 and lines > 0
