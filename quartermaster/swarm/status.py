"""A job's public status, derived from its service and its tasks. Pure: no Docker calls.

Swarm's task states are many; a client sees one of six words:

    pending   waiting for a node, resources, the image pull or the container start
    started   running
    complete  exited 0
    failed    exited non-zero (`exit_code` set, `error` from the task)
    rejected  could not start at all, e.g. the image could not be pulled (`error` says why)
    shutdown  stopped
"""

from dataclasses import asdict, dataclass

from . import labels as job_labels

PENDING = "pending"
STARTED = "started"
COMPLETE = "complete"
FAILED = "failed"
REJECTED = "rejected"
SHUTDOWN = "shutdown"

STATUSES = (PENDING, STARTED, COMPLETE, FAILED, REJECTED, SHUTDOWN)
FINAL_STATUSES = frozenset({COMPLETE, FAILED, REJECTED, SHUTDOWN})

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


@dataclass(frozen=True)
class JobStatus:
    id: str
    name: str
    image: str
    status: str
    state: str  # swarm's raw task state ("new" before the first task exists)
    exit_code: int | None
    error: str | None
    node: str | None  # the node id the task is placed on
    created_at: str
    started_at: str | None
    finished_at: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def job_status(service: dict, tasks: list[dict]) -> JobStatus:
    spec = service["Spec"]
    container = spec["TaskTemplate"]["ContainerSpec"]
    task = current_task(tasks)
    state = task["Status"]["State"] if task else "new"
    task_status = task["Status"] if task else {}
    status = _status_word(state, task_status.get("Err") or "")
    timestamp = task_status.get("Timestamp")
    return JobStatus(
        id=service["ID"],
        name=spec["Name"],
        image=spec.get("Labels", {}).get(job_labels.IMAGE) or container["Image"],
        status=status,
        state=state,
        exit_code=_exit_code(task_status, status),
        error=task_status.get("Err") or None,
        node=(task or {}).get("NodeID") or None,
        created_at=service["CreatedAt"],
        started_at=timestamp if status == STARTED else None,
        finished_at=timestamp if status in FINAL_STATUSES else None,
    )


def _status_word(state: str, error: str) -> str:
    status = _STATUS_OF_TASK_STATE.get(state, PENDING)
    if status == FAILED and error.startswith(_COULD_NOT_START):
        # Swarm says "failed" when the container could not even be created (executable missing,
        # bad mount): the command never ran, so it is rejected, not failed.
        return REJECTED
    return status


def current_task(tasks: list[dict]) -> dict | None:
    """The newest task: the one that says where the job stands now."""
    if not tasks:
        return None
    return max(tasks, key=lambda task: (timestamp_key(task["CreatedAt"]), task["Version"]["Index"]))


def timestamp_key(timestamp: str) -> str:
    """A sortable form of Docker's RFC 3339 timestamps, whose fractions vary in length."""
    seconds, _, fraction = timestamp.rstrip("Z").partition(".")
    return f"{seconds}.{fraction:0<9}"


def _exit_code(task_status: dict, status: str) -> int | None:
    if status not in (COMPLETE, FAILED):
        return None
    return task_status.get("ContainerStatus", {}).get("ExitCode", 0 if status == COMPLETE else None)
