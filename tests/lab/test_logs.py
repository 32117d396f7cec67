"""GET /logs/<id>?follow through a real server: streamed live until the job ends, and followers
that go away. (Filters, tails, a follow in-process: the runtime contract, support/contract.py.)"""

import requests


def test_followed_logs_stream_while_the_job_prints_and_end_with_it(lab, live_server):
    api = live_server.client()
    script = "for i in 1 2 3 4 5; do echo tick-$i; sleep 1; done"
    job_id = api.run_ok(image=lab.image, command=["sh", "-c", script])
    lines, statuses_seen_while_reading = [], set()
    with api.get(f"/logs/{job_id}?follow=true", stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        for line in response.iter_lines():
            lines.append(line.decode())
            statuses_seen_while_reading.add(api.status(job_id)["status"])
    # The stream ended by itself, after every line, and lines arrived while the job ran.
    assert lines == [f"tick-{i}" for i in range(1, 6)]
    assert "started" in statuses_seen_while_reading
    assert api.status(job_id)["status"] == "complete"


def test_a_follower_that_goes_away_leaves_the_server_well(lab, live_server):
    api = live_server.client()
    script = "while true; do echo x; sleep 0.2; done"
    job_id = api.run_ok(image=lab.image, command=["sh", "-c", script])
    for _ in range(5):
        with api.get(f"/logs/{job_id}?follow=true", stream=True) as response:
            assert next(response.iter_lines()) == b"x"
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
    assert api.stop(job_id).status_code == 200
