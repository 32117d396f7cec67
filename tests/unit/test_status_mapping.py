"""Swarm task JSON (recorded on the lab) to the public status words: pure logic, no Docker."""

import pytest

from quartermaster.swarm.status import current_task, job_status, timestamp_key

SERVICE = {
    "ID": "nfnr25enzvnye5q38b71cdjcx",
    "CreatedAt": "2026-11-25T22:54:23.5Z",
    "Spec": {
        "Name": "job",
        "Labels": {"quartermaster.job": "true", "quartermaster.image": "qm/busybox:latest"},
        "TaskTemplate": {"ContainerSpec": {"Image": "qm/busybox:latest@sha256:" + "a" * 64}},
    },
}


def task(state, created="2026-11-25T22:54:23.553007986Z", index=42, node="node1", **status):
    return {
        "ID": f"task-{state}-{index}",
        "Version": {"Index": index},
        "CreatedAt": created,
        "NodeID": node,
        "Status": {"Timestamp": "2026-11-25T22:54:26.155360423Z", "State": state, **status},
    }


FAILED_EXIT_3 = task(
    "failed",
    Message="started",
    Err="task: non-zero exit (3)",
    ContainerStatus={"ContainerID": "81af", "PID": 0, "ExitCode": 3},
)
NOT_STARTABLE = task(
    "failed",
    Message="starting",
    Err='starting container failed: ... exec: "node": executable file not found in $PATH',
    ContainerStatus={"ContainerID": "9c1d", "PID": 0, "ExitCode": 127},
)
NO_IMAGE = task("rejected", Err="No such image: 10.77.0.1:5000/private/busybox:1")
QUEUED = task("pending", node="", Err="no suitable node (insufficient resources on 2 nodes)")


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("new", "pending"),
        ("pending", "pending"),
        ("assigned", "pending"),
        ("accepted", "pending"),
        ("preparing", "pending"),
        ("starting", "pending"),
        ("running", "started"),
        ("complete", "complete"),
        ("failed", "failed"),
        ("rejected", "rejected"),
        ("shutdown", "shutdown"),
        ("orphaned", "shutdown"),
    ],
)
def test_task_states_map_to_one_word(state, status):
    assert job_status(SERVICE, [task(state)]).status == status


def test_a_service_without_tasks_yet_is_pending():
    document = job_status(SERVICE, [])
    assert (document.status, document.state, document.node) == ("pending", "new", None)


def test_failed_reports_exit_code_and_error():
    document = job_status(SERVICE, [FAILED_EXIT_3])
    assert document.status == "failed"
    assert document.exit_code == 3
    assert document.error == "task: non-zero exit (3)"
    assert document.finished_at == "2026-11-25T22:54:26.155360423Z"
    assert document.started_at is None


def test_complete_has_exit_code_zero():
    document = job_status(SERVICE, [task("complete", ContainerStatus={"ExitCode": 0})])
    assert (document.status, document.exit_code, document.error) == ("complete", 0, None)


def test_a_container_that_could_not_start_is_rejected():
    document = job_status(SERVICE, [NOT_STARTABLE])
    assert document.status == "rejected"
    assert document.state == "failed"
    assert "executable file not found" in document.error
    assert document.exit_code is None


def test_missing_image_is_rejected_with_the_reason():
    document = job_status(SERVICE, [NO_IMAGE])
    assert (document.status, document.error) == ("rejected", NO_IMAGE["Status"]["Err"])


def test_queued_job_is_pending_and_says_why():
    document = job_status(SERVICE, [QUEUED])
    assert document.status == "pending"
    assert "insufficient resources" in document.error
    assert document.node is None


def test_running_job_has_started_at():
    document = job_status(SERVICE, [task("running")])
    assert document.started_at == "2026-11-25T22:54:26.155360423Z"
    assert document.finished_at is None


def test_image_is_what_the_client_asked_for():
    assert job_status(SERVICE, []).image == "qm/busybox:latest"


def test_newest_task_wins_even_with_short_fractions():
    older = task("failed", created="2026-11-25T22:54:23.5Z", index=50)
    newer = task("failed", created="2026-11-25T22:54:23.51Z", index=40)
    assert current_task([older, newer]) is newer  # .51 is later than .5


def test_a_running_task_is_current_over_newer_ones():
    running = task("running", created="2026-11-25T22:54:23Z")
    waiting = task("pending", created="2026-11-25T22:54:24Z")
    assert current_task([waiting, running]) is running


def job_service(completions):
    mode = {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": completions}}
    return {**SERVICE, "Spec": {**SERVICE["Spec"], "Mode": mode}}


def test_a_job_is_complete_only_when_every_completion_succeeded():
    done = [task("complete", created=f"2026-11-25T22:54:2{i}Z") for i in range(2)]
    document = job_status(job_service(3), [*done, task("running", created="2026-11-25T22:54:25Z")])
    assert (document.type, document.status, document.completions) == ("job", "started", 3)
    assert (document.succeeded, document.failed, document.attempts) == (2, 0, 3)
    third = task("complete", created="2026-11-25T22:54:25Z")
    document = job_status(job_service(3), [*done, third])
    assert (document.status, document.succeeded, document.exit_code) == ("complete", 3, 0)


def test_finished_at_is_when_the_last_run_ended_not_the_newest_runs_end():
    # Two runs at once: the older one ran longer and ended last (issue: TTL counted from 10:00:01).
    older = task("complete", created="2026-11-25T10:00:00Z", index=1)
    older["Status"]["Timestamp"] = "2026-11-25T10:01:40.5Z"
    newer = task("complete", created="2026-11-25T10:00:00.2Z", index=2)
    newer["Status"]["Timestamp"] = "2026-11-25T10:00:01.123456789Z"
    document = job_status(job_service(2), [older, newer])
    assert (document.status, document.finished_at) == ("complete", "2026-11-25T10:01:40.500000000Z")
    assert (
        job_status(job_service(2), [newer, older]).finished_at == "2026-11-25T10:01:40.500000000Z"
    )


def test_every_time_has_the_nine_digits_a_record_gives_it():
    """Docker drops a fraction's trailing zeros; a live answer then read otherwise than the job's
    record, once its service went (a rolling update's replicas disagreed, 2026-12-07)."""
    running = task("running", created="2026-11-25T22:54:23.55Z")
    running["Status"]["Timestamp"] = "2026-11-25T22:54:24.10Z"
    live = job_status(SERVICE, [running])
    assert (live.created_at, live.started_at) == (
        "2026-11-25T22:54:23.500000000Z",
        "2026-11-25T22:54:24.100000000Z",
    )
    stopped = {
        **SERVICE,
        "Spec": {
            **SERVICE["Spec"],
            "Labels": {
                **SERVICE["Spec"]["Labels"],
                "quartermaster.stopped": "2026-11-25T22:55:00Z",
            },
        },
    }
    assert job_status(stopped, [running]).finished_at == "2026-11-25T22:55:00.000000000Z"


def test_a_job_between_runs_is_pending():
    done = task("complete", created="2026-11-25T22:54:21Z")
    assert job_status(job_service(2), [done]).status == "pending"


def test_a_job_whose_run_failed_with_nothing_left_to_run_failed():
    runs = [task("complete", created="2026-11-25T22:54:21Z"), FAILED_EXIT_3]
    document = job_status(job_service(3), runs)
    assert (document.status, document.succeeded, document.failed) == ("failed", 1, 1)
    assert document.exit_code == 3


def test_a_retry_waiting_to_start_is_pending_and_attempts_count():
    failed = [task("failed", created=f"2026-11-25T22:54:2{i}Z", Err="exit (4)") for i in range(2)]
    retry = task("assigned", created="2026-11-25T22:54:29Z")
    document = job_status(SERVICE, [*failed, retry])
    assert (document.type, document.status, document.attempts, document.failed) == (
        "service",
        "pending",
        3,
        2,
    )
    assert job_status(SERVICE, failed).status == "failed"


def test_timestamp_key_orders_fractions_numerically():
    stamps = ["2026-01-01T00:00:01Z", "2026-01-01T00:00:00.9Z", "2026-01-01T00:00:00.10Z"]
    assert sorted(stamps, key=timestamp_key) == [stamps[2], stamps[1], stamps[0]]


def stranded(state, node="node1"):
    """A run on a node the swarm lost: swarm wants it shut down, the node never said it stopped."""
    return {**task(state, node=node, Message="started"), "DesiredState": "shutdown"}


def test_a_run_stranded_on_a_down_node_is_failed_saying_so():
    document = job_status(SERVICE, [stranded("running")], {"node1": "lab-worker-1"})
    assert document.status == "failed"
    assert document.state == "running"  # swarm's own word, unchanged
    assert document.error == (
        "the node lab-worker-1 stopped answering the swarm during this run; its outcome is unknown"
    )
    assert document.exit_code is None
    assert document.finished_at == "2026-11-25T22:54:26.155360423Z"  # last heard of


def test_a_run_being_stopped_on_a_live_node_is_still_started():
    assert job_status(SERVICE, [stranded("running")], {}).status == "started"
    assert job_status(SERVICE, [stranded("running")], {"node2": "other"}).status == "started"


def test_a_retry_on_another_node_is_current_over_the_stranded_run():
    retry = task("running", created="2026-11-25T22:54:40Z", node="node2", index=50)
    document = job_status(SERVICE, [stranded("running"), retry], {"node1": "lab-worker-1"})
    assert document.status == "started"
    assert document.node == "node2"
    assert document.failed == 1
