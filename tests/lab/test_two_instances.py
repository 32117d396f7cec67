"""Two quartermaster instances, three gunicorn workers and a reaper each, against one swarm and
one PostgreSQL database.

Every worker of either instance gives the same answers, and the two reapers race for every
timeout, callback, record and expiry: each action happens exactly once, and neither logs an
error.
"""

import itertools

import pytest
import requests

from support.lab import wait_until
from support.receivers import Receiver

FINAL = {"complete", "failed", "rejected", "shutdown", "lost"}
# (command, extra fields, final status): each kind twice, half submitted to each instance.
KINDS = [
    ("true", {}, "complete"),
    ("sh -c 'exit 3'", {}, "failed"),
    ("sleep 120", {"timeout": 2}, "failed"),
]
TTL = 15  # seconds: time enough to compare answers before the reapers remove the jobs
ASKS_PER_INSTANCE = 4  # answers from several of each instance's workers


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def two_instances(live_server_factory, postgres_url):
    settings = {
        "REAPER_INTERVAL": "0.5",
        "WORKERS": "3",
        "CALLBACK_ALLOW_PRIVATE": "1",
        "DATABASE_URL": postgres_url,
    }
    return live_server_factory(env=settings), live_server_factory(env=settings)


def get(server, path) -> requests.Response:
    return server.client().get(path)


def test_two_instances_answer_alike_and_their_reapers_act_once(lab, two_instances, receiver):
    servers = itertools.cycle(two_instances)
    expected, with_timeout = {}, set()
    for command, fields, status in KINDS * 2:
        body = {"image": lab.image, "command": command, "ttl": TTL, **fields}
        body["callback_url"] = f"{receiver.url}/hook"
        response = next(servers).client().run(**body)
        assert response.status_code == 200, response.text
        expected[response.json()["id"]] = status
        if "timeout" in fields:
            with_timeout.add(response.json()["id"])

    def all_final():
        return all(get(next(servers), f"/status/{i}").json()["status"] in FINAL for i in expected)

    wait_until(all_final, 60, "the jobs never all finished")

    for job_id, status in expected.items():
        answers = [
            get(server, f"/status/{job_id}").json()
            for server in two_instances
            for _ in range(ASKS_PER_INSTANCE)
        ]
        assert all(answer == answers[0] for answer in answers), answers
        assert answers[0]["status"] == status, answers[0]
        assert answers[0]["attempts"] == 1  # never run twice, nor re-run by a reaper's update
    listings = [
        sorted((job["id"], job["status"]) for job in get(server, "/jobs").json()["jobs"])
        for server in two_instances
        for _ in range(ASKS_PER_INSTANCE)
    ]
    assert all(listing == listings[0] for listing in listings)
    assert {job_id for job_id, _ in listings[0]} >= set(expected)

    def all_removed():
        return all(
            get(server, f"/status/{i}").status_code == 404
            for server in two_instances
            for i in expected
        )

    wait_until(all_removed, TTL + 30, "the reapers never removed the finished jobs")

    # One callback per job, with its final status.
    delivered = sorted((doc["id"], doc["status"]) for doc in receiver.documents())
    assert delivered == sorted(expected.items())
    logs = "".join(server.log_text() for server in two_instances)
    for job_id in expected:
        timed_out = int(job_id in with_timeout)
        assert logs.count(f"job {job_id} ran past its timeout; stopped") == timed_out, job_id
        assert logs.count(f"job {job_id} is recorded; its service removed") == 1, job_id
        assert logs.count(f"callback for job {job_id} to ") == 1, job_id
    for sign_of_trouble in ("Traceback", "round failed", "round skipped", "cannot read"):
        assert sign_of_trouble not in logs
