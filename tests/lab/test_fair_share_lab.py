"""Fair share of a full swarm on the lab (the order itself: tests/unit/test_fair_share.py): jobs
whose memory lets a worker hold only a few at once. A second tenant's job goes as soon as the
first of the first tenant's running jobs ends, not after its whole queue; a large job that does
not fit does not hold up a small one behind it; weights 3:1 share a full swarm 3:1."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.fair_share import ROOM
from support.lab import tenant_with_key, wait_until

# Each lab node has about 24,100 MB: three of these at once fit one worker, not four.
LARGE = 7000
ON_WORKER_1 = ["node.hostname==lab-worker-1"]


def released(docker_client, tenant: str) -> int:
    """How many of the tenant's jobs were handed to swarm (admitted): services not held."""
    services = docker_client.api.services(filters={"label": f"{job_labels.TENANT}={tenant}"})
    return sum(1 for service in services if job_labels.QUEUED not in service["Spec"]["Labels"])


def run_many(client, count: int, body: dict) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: client.run_ok(**body), range(count)))


def test_another_tenants_job_goes_when_the_first_running_job_ends_not_after_the_queue(
    lab, live_server_factory, docker_client
):
    server = live_server_factory(env={"REAPER_INTERVAL": "0.5"})
    (a, a_key), (b, b_key) = tenant_with_key(server, "f"), tenant_with_key(server, "f")
    body = {"image": lab.image, "command": ["sleep", "3"], "memory": LARGE,
            "constraints": ON_WORKER_1}  # fmt: skip
    a_jobs = run_many(server.client(a_key), 40, body)
    assert released(docker_client, a) == 3
    waiting = server.client(a_key).status(a_jobs[-1])
    assert (waiting["status"], waiting["error"]) == ("queued", ROOM)
    b_job = server.client(b_key).run_ok(**body)
    assert server.client(b_key).status(b_job)["status"] == "queued"
    wait_until(lambda: released(docker_client, b) == 1, 60, "b's job was never admitted")
    # The first of a's to end freed room for b's, fairer than a's next: a has had its first
    # three, and no more than those that ended in the same reaper round.
    assert released(docker_client, a) <= 5
    done = server.client(b_key).status(b_job, wait=30)
    assert (done["status"], done["exit_code"]) == ("complete", 0), done
    for job_id in a_jobs:
        server.client(a_key).stop(job_id)


def test_a_large_job_that_does_not_fit_does_not_hold_up_a_small_one_behind_it(
    lab, live_server_factory
):
    server = live_server_factory(env={"REAPER_INTERVAL": "0.5"})
    _, key = tenant_with_key(server, "f")
    operator, team = server.client(), server.client(key)
    sleeper = {"image": lab.image, "command": ["sleep", "120"], "constraints": ON_WORKER_1}
    holder = operator.run_ok(**sleeper, memory=3 * LARGE)  # leaves about 3,100 MB free
    wait_until(lambda: operator.status(holder)["status"] == "started", 60, "never started")
    large = team.run_ok(**sleeper, memory=LARGE)
    small = team.run_ok(**{**sleeper, "command": ["echo", "small"]}, memory=512)
    waiting = team.status(large)
    assert (waiting["status"], waiting["error"], waiting["queue_position"]) == ("queued", ROOM, 1)
    done = team.status(small, wait=60)
    assert (done["status"], done["exit_code"]) == ("complete", 0), done
    assert team.status(large)["status"] == "queued"
    assert operator.stop(holder).status_code == 200
    wait_until(
        lambda: team.status(large)["status"] == "started",
        60,
        f"never admitted: {team.status(large)}",
    )
    team.stop(large)


def test_a_job_no_node_could_ever_take_is_refused_once_tenants_exist(lab, live_server_factory):
    server = live_server_factory()
    tenant_with_key(server, "f")
    answer = server.client().run(image=lab.image, memory=10 * LARGE)
    assert answer.status_code == 400, answer.text
    assert "memory" in answer.json()["fields"]


@pytest.mark.alone  # it fills both workers' memory: other tests' jobs would wait meanwhile
def test_weights_three_to_one_share_a_full_swarm_three_to_one(
    lab, live_server_factory, docker_client
):
    server = live_server_factory(env={"REAPER_INTERVAL": "0.5"})
    (a, a_key), (b, b_key) = tenant_with_key(server, "f", weight=3), tenant_with_key(server, "f")
    # Six a worker, twelve at once: a's share nine, b's three.
    body = {"image": lab.image, "command": ["sleep", "4"], "memory": 3900,
            "constraints": ["node.role==worker"]}  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        queued = list(pool.map(lambda key, count: run_many(server.client(key), count, body),
                               (a_key, b_key), (80, 30)))  # fmt: skip
    time.sleep(8)  # both saturating, past the start
    start = released(docker_client, a), released(docker_client, b)
    time.sleep(24)
    end = released(docker_client, a), released(docker_client, b)
    admitted_a, admitted_b = end[0] - start[0], end[1] - start[1]
    assert end[0] < 80 and end[1] < 30, "a queue ran dry within the window"
    assert admitted_b > 0 and admitted_a / admitted_b == pytest.approx(3, rel=0.2), (
        admitted_a,
        admitted_b,
    )
    for key, job_ids in zip((a_key, b_key), queued, strict=True):
        for job_id in job_ids:
            server.client(key).stop(job_id)
