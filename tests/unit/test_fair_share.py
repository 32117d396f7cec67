"""Fair share of a full swarm (jobs/fair_share.py): the order of admission, the room each job
needs, head-of-line blocking and its bound, and the jobs refused because no node could ever take
them. Pure: a fake clock, rooms made by hand."""

from collections import Counter

import pytest

from quartermaster.jobs.fair_share import (
    ROOM,
    ROOM_PATIENCE_SECONDS,
    QueuedJob,
    TenantQueue,
    admissions,
    never_fits,
)
from quartermaster.jobs.tenancy import NOTHING, Footprint, TenantQuota
from quartermaster.jobs.times import NANO
from support.api import ApiClient, assert_error
from support.rooms import node, swarm
from support.tenants import bearer, make_key, make_tenant

NOW = 1_800_000_000.0


def job(
    name: str,
    tenant: str | None = "a",
    memory: int = 256,
    cpus: float = 0.0,
    runs: int = 1,
    waited: float = 1.0,
    constraints: tuple[str, ...] = (),
) -> QueuedJob:
    """A job queued `waited` seconds before NOW."""
    created = round((NOW - waited) * NANO)
    return QueuedJob(name, tenant, created, memory, cpus, runs, constraints)


def queue(
    tenant: str | None,
    *jobs: QueuedJob,
    weight: int = 1,
    live: Footprint = NOTHING,
    quota: TenantQuota | None = None,
) -> TenantQueue:
    return TenantQueue(tenant, quota or TenantQuota(), weight, live, list(jobs))


def names(admitted: list[QueuedJob]) -> list[str]:
    return [job.id for job in admitted]


def test_the_least_served_tenant_goes_first_and_each_tenant_first_come_first():
    # Room for 3 jobs of 256 MB; a holds 512 MB already, b nothing.
    room = swarm(node("w1", memory_mb=1024, free_memory_mb=768))
    a = queue("a", job("a1", waited=9), job("a2", waited=8), live=Footprint(512, 0.0, 2))
    b = queue("b", job("b1", "b", waited=1), job("b2", "b", waited=0.5), job("b3", "b"))
    assert names(admissions([a, b], room, [], NOW)) == ["b1", "b2", "a1"]


def test_the_dominant_share_is_the_larger_of_memory_and_cpus():
    # a holds little memory but most of the cpus: b, holding more memory, is still less served.
    room = swarm(node("w1", memory_mb=4096, cpus=4.0, free_memory_mb=2048, free_cpus=0.5))
    a = queue("a", job("a1", cpus=0.5, waited=9), live=Footprint(256, 3.0, 1))
    b = queue("b", job("b1", "b", cpus=0.5), live=Footprint(1792, 0.0, 1))
    assert names(admissions([a, b], room, [], NOW)) == ["b1"]


def test_weights_share_a_full_swarm_three_to_one():
    """Both saturating, jobs ending one at a time: admissions follow the weights."""
    room_for = 8  # jobs of 256 MB at once
    live = {"a": NOTHING, "b": NOTHING}
    running: list[str] = []
    admitted: Counter = Counter()
    for step in range(400):
        free = (room_for - len(running)) * 256
        room = swarm(node("w1", memory_mb=room_for * 256, free_memory_mb=free))
        queues = [
            queue("a", job(f"a{step}", "a"), weight=3, live=live["a"]),
            queue("b", job(f"b{step}", "b"), weight=1, live=live["b"]),
        ]
        for taken in admissions(queues, room, [], NOW):
            running.append(taken.tenant or "")
            live[taken.tenant or ""] += taken.footprint
            if step >= 100:  # after the start, when both run at their share
                admitted[taken.tenant] += 1
        ended = running.pop(0)  # the oldest run ends
        live[ended] = Footprint(live[ended].memory - 256, 0.0, live[ended].jobs - 1)
    assert admitted["a"] / admitted["b"] == pytest.approx(3, rel=0.2)


def test_the_operator_is_a_tenant_of_its_own():
    room = swarm(node("w1", memory_mb=1024, free_memory_mb=512))
    operator = queue(None, job("o1", None, waited=9), job("o2", None, waited=8))
    a = queue("a", job("a1", waited=1), live=NOTHING)
    assert names(admissions([operator, a], room, [], NOW)) == ["o1", "a1"]


def test_a_quota_ends_its_tenants_turn_without_passing_its_head():
    room = swarm(node("w1", memory_mb=8192))
    quota = TenantQuota(memory=512)
    a = queue("a", job("a1", memory=512), job("a2", memory=128), quota=quota,
              live=Footprint(128, 0.0, 1))  # fmt: skip
    assert names(admissions([a], room, [], NOW)) == []


def test_a_head_that_does_not_fit_does_not_block_smaller_jobs_behind_it():
    room = swarm(node("w1", memory_mb=2048, free_memory_mb=700))
    a = queue("a", job("big", memory=1024, waited=30), job("small", memory=256, waited=20))
    b = queue("b", job("b1", "b", memory=256, waited=10), live=Footprint(256, 0.0, 1))
    assert names(admissions([a, b], room, [], NOW)) == ["small", "b1"]


def test_a_head_passed_over_for_its_patience_holds_the_room_until_it_fits():
    room = swarm(node("w1", memory_mb=2048, free_memory_mb=700))
    patient = ROOM_PATIENCE_SECONDS + 1
    a = queue("a", job("big", memory=1024, waited=patient), job("small", memory=256, waited=5))
    b = queue("b", job("b1", "b", memory=256, waited=10), live=Footprint(256, 0.0, 1))
    assert names(admissions([a, b], room, [], NOW)) == []
    # Room freed: the large job goes first.
    freed = swarm(node("w1", memory_mb=2048, free_memory_mb=1300))
    assert names(admissions([a, b], freed, [], NOW)) == ["big", "b1"]


def test_every_run_at_once_needs_a_node_and_constraints_choose_the_nodes():
    room = swarm(
        node("w1", memory_mb=1024, labels={"disk": "ssd"}),
        node("w2", memory_mb=1024),
    )
    three = job("three", memory=600, runs=3, waited=9)  # one run a node: 2 nodes
    two = job("two", memory=600, runs=2, waited=8)
    ssd = job("ssd", memory=600, waited=7, constraints=("node.labels.disk==ssd",))
    assert names(admissions([queue("a", three, two, ssd)], room, [], NOW)) == ["two"]


def test_jobs_admitted_and_not_yet_placed_take_their_room_first():
    room = swarm(node("w1", memory_mb=1024))
    starting = [job("started", "b", memory=768)]
    a = queue("a", job("a1", memory=512))
    assert names(admissions([a], room, starting, NOW)) == []


def test_nodes_down_or_drained_take_nothing():
    down = node("w1", memory_mb=4096, state="down")
    drained = node("w2", memory_mb=4096)
    drained.node["Spec"]["Availability"] = "drain"
    assert names(admissions([queue("a", job("a1"))], swarm(down, drained), [], NOW)) == []


def test_a_job_no_node_could_ever_take_is_named_by_the_field_at_fault():
    nodes = [node("w1", memory_mb=1024, cpus=2.0), node("w2", memory_mb=2048, cpus=1.0)]
    assert never_fits(job("fits", memory=2048, cpus=1.0), nodes) == {}
    assert set(never_fits(job("m", memory=4096), nodes)) == {"memory"}
    assert set(never_fits(job("c", cpus=4.0), nodes)) == {"cpus"}
    # Each alone fits a node, both together none.
    assert set(never_fits(job("both", memory=2048, cpus=2.0), nodes)) == {"memory"}
    nowhere = job("n", constraints=("node.labels.gpu==yes",))
    assert set(never_fits(nowhere, nodes)) == {"constraints"}
    # A node down now may come back: it counts.
    assert never_fits(job("d", memory=4096), [node("w3", memory_mb=8192, state="down")]) == {}


# -- over HTTP, on the in-memory runtime: a manager and two workers of 4096 MB ----------------

BIG = {"image": "qm/busybox:latest", "command": ["sleep", "60"], "memory": 3000}


def test_without_tenants_a_job_no_node_can_take_pends_as_it_always_did(api):
    job_id = api.run_ok(**{**BIG, "memory": 8192})
    assert api.status(job_id).get_json()["status"] == "pending"


def test_with_tenants_a_job_no_node_could_ever_take_is_refused(api, flask_client):
    make_tenant(flask_client, "team-n")
    too_big = assert_error(api.run(**{**BIG, "memory": 8192}), 400)
    assert "more than any node" in too_big["fields"]["memory"][0]
    nowhere = assert_error(api.run(**BIG, constraints=["node.labels.gpu==yes"]), 400)
    assert set(nowhere["fields"]) == {"constraints"}


def test_with_tenants_a_job_waits_for_room_and_is_admitted_when_it_frees(api, flask_client):
    make_tenant(flask_client, "team-w")
    team = ApiClient(flask_client)
    team.headers = bearer(make_key(flask_client, "team-w", "ci", ["read", "run", "stop"])["key"])
    running = [api.run_ok(**BIG) for _ in range(3)]  # one a node
    waiting = team.run_ok(**BIG)
    small = team.run_ok(**{**BIG, "memory": 512})  # behind it, and fits: not blocked
    queued = team.status(waiting).get_json()
    assert (queued["status"], queued["error"], queued["queue_position"]) == ("queued", ROOM, 1)
    assert team.status(small).get_json()["status"] in ("pending", "started")
    assert api.stop(running[0]).status_code == 200
    assert team.status(waiting).get_json()["status"] in ("pending", "started")
