"""GET /logs/<id>?follow through a real server: streamed live until the job ends, and followers
that go away. (Filters, tails, a follow in-process: the runtime contract, support/contract.py.)"""

import requests

from support.settings import TOKEN


def test_followed_logs_stream_while_the_job_prints_and_end_with_it(lab, live_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    script = "for i in 1 2 3 4 5; do echo tick-$i; sleep 1; done"
    job_id = requests.post(
        f"{live_server.url}/run",
        json={"image": lab.image, "command": ["sh", "-c", script]},
        headers=headers,
        timeout=10,
    ).json()["id"]
    lines, statuses_seen_while_reading = [], set()
    with requests.get(
        f"{live_server.url}/logs/{job_id}?follow=true", headers=headers, stream=True, timeout=60
    ) as response:
        assert response.status_code == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        for line in response.iter_lines():
            lines.append(line.decode())
            status = requests.get(f"{live_server.url}/status/{job_id}", headers=headers, timeout=5)
            statuses_seen_while_reading.add(status.json()["status"])
    # The stream ended by itself, after every line, and lines arrived while the job ran.
    assert lines == [f"tick-{i}" for i in range(1, 6)]
    assert "started" in statuses_seen_while_reading
    final = requests.get(f"{live_server.url}/status/{job_id}", headers=headers, timeout=5)
    assert final.json()["status"] == "complete"


def test_a_follower_that_goes_away_leaves_the_server_well(lab, live_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    job_id = requests.post(
        f"{live_server.url}/run",
        json={
            "image": lab.image,
            "command": ["sh", "-c", "while true; do echo x; sleep 0.2; done"],
        },
        headers=headers,
        timeout=10,
    ).json()["id"]
    for _ in range(5):
        with requests.get(
            f"{live_server.url}/logs/{job_id}?follow=true", headers=headers, stream=True, timeout=30
        ) as response:
            assert next(response.iter_lines()) == b"x"
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
    stopped = requests.post(
        f"{live_server.url}/stop", json={"id": job_id}, headers=headers, timeout=10
    )
    assert stopped.status_code == 200
