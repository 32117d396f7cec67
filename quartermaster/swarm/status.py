"""A job's public status, derived from its service and its tasks (see jobs/status.py for the
words). Pure: no Docker calls."""

from collections.abc import Mapping
from types import MappingProxyType

from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.status import (
    COMPLETE,
    FAILED,
    FINAL_STATUSES,
    PENDING,
    QUEUED,
    REJECTED,
    SHUTDOWN,
    STARTED,
    JobStatus,
)
from quartermaster.jobs.times import NANO, nanos_of, nine_digits

_STATUS_OF_TASK_STATE = {
    "new": PENDING,
    "allocated": PENDING,
    "pending": PENDING,
    "assigned": PENDING,
    "accepted": PENDING,
    "preparing": PENDING,
    "ready": PENDING,
    "starting": PENDING,
    "running": STARTED,
    "complete": COMPLETE,
    "failed": FAILED,
    "rejected": REJECTED,
    "shutdown": SHUTDOWN,
    "remove": SHUTDOWN,
    "orphaned": SHUTDOWN,
}
_COULD_NOT_START = "starting container failed"
# States in which a run has ended.
_FINISHED_STATES = frozenset({"complete", "failed", "rejected", "shutdown", "remove", "orphaned"})
# States of a run that a node has taken on and not yet reported finished.
_ON_A_NODE = frozenset({"assigned", "accepted", "preparing", "ready", "starting", "running"})
NO_DOWN_NODES: Mapping[str, str] = MappingProxyType({})
LOST_RUN = "the node {node} stopped answering the swarm during this run; its outcome is unknown"


def job_status(
    service: dict, tasks: list[dict], down_nodes: Mapping[str, str] = NO_DOWN_NODES
) -> JobStatus:
    """`down_nodes` (id: hostname) are nodes that stopped answering the swarm: the runs left on
    them are failed, whatever they last reported."""
    spec = service["Spec"]
    labels = spec.get("Labels", {})
    mode = spec.get("Mode", {})
    completions = int(labels.get(job_labels.COMPLETIONS, 0)) or mode.get("ReplicatedJob", {}).get(
        "TotalCompletions", 1
    )
    words = [task_word(task, down_nodes) for task in tasks]
    task = current_task(tasks, down_nodes)
    task_status = task["Status"] if task else {}
    current_word = task_word(task, down_nodes) if task else PENDING
    status = overall_status(words, current_word, completions)
    timestamp = _in_our_form(task_status.get("Timestamp"))
    error = task_status.get("Err") or None
    lost_on = _lost_on(task, down_nodes) if task else None
    if lost_on:
        error = LOST_RUN.format(node=lost_on)
    finished_at = _last_finish(tasks, timestamp) if status in FINAL_STATUSES else None
    timed_out = labels.get(job_labels.TIMED_OUT)
    stopped = labels.get(job_labels.STOPPED)
    if timed_out and status not in (COMPLETE, FAILED, REJECTED):
        status, error, finished_at = (
            FAILED,
            timed_out_error(labels[job_labels.TIMEOUT]),
            timed_out,
        )
    elif stopped and status not in (COMPLETE, FAILED, REJECTED):
        status, error, finished_at = SHUTDOWN, None, stopped
    elif job_labels.QUEUED in labels and not tasks:
        status = QUEUED  # held until admitted: what holds it is the store's to say
    return JobStatus(
        id=service["ID"],
        name=labels.get(job_labels.NAME) or spec["Name"],
        tenant=labels.get(job_labels.TENANT),
        image=labels.get(job_labels.IMAGE) or spec["TaskTemplate"]["ContainerSpec"]["Image"],
        type="job" if "ReplicatedJob" in mode else "service",
        status=status,
        state=task_status.get("State", "new"),
        exit_code=None if lost_on else _exit_code(task_status, current_word),
        error=error,
        node=(task or {}).get("NodeID") or None,
        created_at=nine_digits(service["CreatedAt"]),
        started_at=timestamp if status == STARTED else None,
        finished_at=_in_our_form(finished_at),
        completions=completions,
        succeeded=words.count(COMPLETE),
        failed=words.count(FAILED) + words.count(REJECTED),
        attempts=len(tasks),
        template=labels.get(job_labels.TEMPLATE),
        scheduled_for=labels.get(job_labels.SCHEDULED_FOR),
    )


def _in_our_form(timestamp: str | None) -> str | None:
    return None if timestamp is None else nine_digits(timestamp)


def _last_finish(tasks: list[dict], current: str | None) -> str | None:
    """When the last run to end ended (`current`: the current run's time). The runs of a `job`
    end in any order, so the newest run is not always the last to finish."""
    finished = [
        task["Status"]["Timestamp"]
        for task in tasks
        if task["Status"]["State"] in _FINISHED_STATES and task["Status"].get("Timestamp")
    ]
    return max([*finished, *filter(None, [current])], key=timestamp_key, default=None)


def task_word(task: dict, down_nodes: Mapping[str, str] = NO_DOWN_NODES) -> str:
    if _lost_on(task, down_nodes):
        return FAILED
    status = task["Status"]
    word = _STATUS_OF_TASK_STATE.get(status["State"], PENDING)
    if word == FAILED and (status.get("Err") or "").startswith(_COULD_NOT_START):
        # Swarm says "failed" when the container could not even be created (executable missing,
        # bad mount): the command never ran, so it is rejected, not failed.
        return REJECTED
    return word


def overall_status(words: list[str], current: str, completions: int) -> str:
    """The job's status from its runs' words and its current run's word. The tests' fake
    runtime sums a job's runs up with this too, so the two cannot differ."""
    if words.count(COMPLETE) >= completions:
        return COMPLETE
    if STARTED in words:
        return STARTED
    if PENDING in words or not words:
        return PENDING  # includes a retry swarm has scheduled but not started
    # Nothing is running or waiting, and too few runs succeeded: the newest run says why.
    return PENDING if current == COMPLETE else current


def may_be_stranded(task: dict) -> bool:
    """Swarm wants this run shut down but its node has not said it stopped: is that node down?

    (Swarm marks the runs of a node it lost this way, and leaves them so until the node returns.
    The runs of a removed job want "remove" instead: they are not asked about.)
    """
    return task["Status"]["State"] in _ON_A_NODE and task.get("DesiredState") == "shutdown"


def _lost_on(task: dict, down_nodes: Mapping[str, str]) -> str | None:
    """The hostname of the down node this run was stranded on, if it was."""
    if task.get("NodeID") in down_nodes and may_be_stranded(task):
        return down_nodes[task["NodeID"]]
    return None


def current_task(tasks: list[dict], down_nodes: Mapping[str, str] = NO_DOWN_NODES) -> dict | None:
    """The task that says where the job stands: a running one, else the newest."""
    running = [
        task
        for task in tasks
        if task["Status"]["State"] == "running" and not _lost_on(task, down_nodes)
    ]
    candidates = running or tasks
    if not candidates:
        return None
    return max(candidates, key=lambda t: (timestamp_key(t["CreatedAt"]), t["Version"]["Index"]))


def timed_out_error(timeout: str | int) -> str:
    return f"timed out after {timeout}s"


def epoch_of(timestamp: str) -> float:
    """Seconds since the epoch of one of Docker's UTC timestamps."""
    return nanos_of(timestamp) / NANO


def timestamp_key(timestamp: str) -> str:
    """A sortable form of Docker's RFC 3339 timestamps, whose fractions vary in length."""
    seconds, _, fraction = timestamp.rstrip("Z").partition(".")
    return f"{seconds}.{fraction:0<9}"


def _exit_code(task_status: dict, word: str) -> int | None:
    if word not in (COMPLETE, FAILED):
        return None
    return task_status.get("ContainerStatus", {}).get("ExitCode", 0 if word == COMPLETE else None)
