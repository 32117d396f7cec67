"""The reaper's decisions from services, tasks and callback records: pure logic, no Docker."""

from quartermaster.reaper.recording import plan_records
from quartermaster.store import LiveRecord
from quartermaster.swarm.claims import CLAIM_OF, CLAIM_UNTIL
from quartermaster.swarm.reaping import (
    ATTEMPTS,
    LEASE_UNTIL,
    NEXT_AT,
    RECORD_OF,
    STATE,
    Snapshot,
    plan,
)
from quartermaster.swarm.status import epoch_of
from support.store_cases import a_status

NOW = epoch_of("2026-11-25T12:00:00Z")


def service(service_id, **labels):
    return {
        "ID": service_id,
        "CreatedAt": "2026-11-25T11:00:00Z",
        "Version": {"Index": 10},
        "Spec": {
            "Name": service_id,
            "Labels": {"quartermaster.job": "true", **labels},
            "TaskTemplate": {"ContainerSpec": {"Image": "qm/busybox:latest"}},
            "Mode": {"Replicated": {"Replicas": 1}},
        },
    }


def task(service_id, state, at):
    return {
        "ID": f"t-{service_id}",
        "ServiceID": service_id,
        "CreatedAt": "2026-11-25T11:00:00Z",
        "Version": {"Index": 11},
        "NodeID": "n1",
        "Status": {"State": state, "Timestamp": at, "ContainerStatus": {"ExitCode": 0}},
    }


def record(service_id, **labels):
    return {"ID": f"c-{service_id}", "Version": {"Index": 3}, "Spec": {"Labels": {
        RECORD_OF: service_id, ATTEMPTS: "1", **labels}}}  # fmt: skip


def test_timeouts_count_from_when_the_run_started():
    services = [
        service("late", **{"quartermaster.timeout": "60"}),
        service("fine", **{"quartermaster.timeout": "600"}),
        service(
            "done",
            **{"quartermaster.timeout": "60", "quartermaster.timed-out": "2026-11-25T11:56:00Z"},
        ),
        service("no-limit"),
    ]
    started = "2026-11-25T11:55:00Z"  # five minutes ago
    tasks = [task(s["ID"], "running", started) for s in services]
    work = plan(Snapshot(services, tasks, []), NOW, default_ttl=86400, keep_finished=86400)
    assert [s["ID"] for s in work.time_out] == ["late"]


def test_expiry_counts_from_the_end_and_waits_for_the_callback():
    ended = "2026-11-25T11:59:00Z"  # a minute ago
    services = [
        service("expired", **{"quartermaster.ttl": "30"}),
        service("kept", **{"quartermaster.ttl": "3600"}),
        service("old-label-less"),  # the default ttl applies: kept
        service("waiting", **{"quartermaster.ttl": "0", "quartermaster.callback-url": "http://x"}),
        service("running", **{"quartermaster.ttl": "0"}),
    ]
    tasks = [task(s["ID"], "complete", ended) for s in services[:-1]]
    tasks.append(task("running", "running", ended))
    work = plan(Snapshot(services, tasks, []), NOW, default_ttl=86400, keep_finished=86400)
    assert [s["ID"] for s in work.expire] == ["expired"]
    assert [notice.status.id for notice in work.notify] == ["waiting"]


def test_callbacks_are_due_by_their_record():
    ended = "2026-11-25T11:59:00Z"
    names = ["new", "leased", "lease-expired", "retry-later", "retry-now", "delivered", "failed"]
    services = [service(n, **{"quartermaster.callback-url": f"http://x/{n}"}) for n in names]
    tasks = [task(n, "failed", ended) for n in names]
    records = [
        record("leased", **{STATE: "delivering", LEASE_UNTIL: str(NOW + 30)}),
        record("lease-expired", **{STATE: "delivering", LEASE_UNTIL: str(NOW - 1)}),
        record("retry-later", **{STATE: "retrying", NEXT_AT: str(NOW + 10)}),
        record("retry-now", **{STATE: "retrying", NEXT_AT: str(NOW - 10)}),
        record("delivered", **{STATE: "delivered"}),
        record("failed", **{STATE: "failed"}),
        record("gone", **{STATE: "delivered"}),
    ]
    work = plan(Snapshot(services, tasks, records), NOW, default_ttl=0, keep_finished=60)
    assert [n.status.id for n in work.notify] == ["new", "lease-expired", "retry-now"]
    assert [n.url for n in work.notify] == [
        "http://x/new",
        "http://x/lease-expired",
        "http://x/retry-now",
    ]
    assert [s["ID"] for s in work.expire] == ["delivered", "failed"]
    assert [r["ID"] for r in work.orphan_records] == ["c-gone"]


def test_a_job_with_unreadable_labels_is_left_alone_and_the_rest_go_on():
    ended = "2026-11-25T11:59:00Z"
    services = [
        service("garbled", **{"quartermaster.ttl": "soon"}),
        service("expired", **{"quartermaster.ttl": "0"}),
    ]
    tasks = [task(s["ID"], "complete", ended) for s in services]
    work = plan(Snapshot(services, tasks, []), NOW, default_ttl=0, keep_finished=60)
    assert [s["ID"] for s in work.unreadable] == ["garbled"]
    assert [s["ID"] for s in work.expire] == ["expired"]


def test_claims_are_removed_once_their_holder_is_gone():
    claims = [
        {"ID": "held", "Spec": {"Labels": {CLAIM_OF: "a", CLAIM_UNTIL: str(NOW + 1)}}},
        {"ID": "stale", "Spec": {"Labels": {CLAIM_OF: "b", CLAIM_UNTIL: str(NOW - 1)}}},
        {"ID": "garbled", "Spec": {"Labels": {CLAIM_OF: "c", CLAIM_UNTIL: "soon"}}},
    ]
    work = plan(Snapshot([], [], [], claims=claims), NOW, default_ttl=0, keep_finished=60)
    assert [claim["ID"] for claim in work.stale_claims] == ["stale", "garbled"]


def test_a_stop_recorded_but_not_done_is_for_the_reaper_to_end():
    """Only /stop writes a `shutdown` record before its job is over, then removes the service:
    such a record of a job that runs on is a /stop whose process died (or whose Docker call
    failed) in between. Other final records of live jobs are left as they are."""
    statuses = {
        "stopping": a_status("stopping", status="started", state="running"),
        "stopped": a_status("stopped", status="shutdown", state="shutdown"),
        "complete": a_status("complete", status="started", state="running"),
        "ongoing": a_status("ongoing", status="started", state="running"),
    }
    records = {
        "stopping": LiveRecord("stopping", "shutdown", "shutdown", finished=True),
        "stopped": LiveRecord("stopped", "shutdown", "shutdown", finished=True),
        "complete": LiveRecord("complete", "complete", "complete", finished=True),
        "ongoing": LiveRecord("ongoing", "shutdown", "shutdown", finished=False),
    }
    work = plan_records(statuses, set(statuses), records)
    assert work.unfinished_stops == ["stopping"]
    assert work.finals == [] and work.removed == [] and work.vanished == []
