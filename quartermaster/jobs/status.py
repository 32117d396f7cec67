"""A job's public status: one of six words, and the document /status shows.

Swarm's task states are many; a client sees one of six words:

    pending   waiting for a node, resources, the image pull, the container start or a retry
    started   running
    complete  exited 0 (a `job` with completions N: N tasks exited 0)
    failed    exited non-zero and no retry is left (`exit_code` set, `error` from the task), or
              its node stopped answering the swarm while it ran (its outcome is unknown)
    rejected  could not start at all, e.g. the image could not be pulled (`error` says why)
    shutdown  stopped
"""

from dataclasses import dataclass

PENDING = "pending"
STARTED = "started"
COMPLETE = "complete"
FAILED = "failed"
REJECTED = "rejected"
SHUTDOWN = "shutdown"

STATUSES = (PENDING, STARTED, COMPLETE, FAILED, REJECTED, SHUTDOWN)
FINAL_STATUSES = frozenset({COMPLETE, FAILED, REJECTED, SHUTDOWN})


@dataclass(frozen=True)
class JobStatus:
    id: str
    name: str
    image: str
    type: str  # "service" (one run) or "job" (swarm's replicated-job: `completions` runs)
    status: str
    state: str  # swarm's raw state of the current task ("new" before the first task exists)
    exit_code: int | None
    error: str | None
    node: str | None  # the id of the node the current task is placed on
    created_at: str
    started_at: str | None
    finished_at: str | None
    completions: int
    succeeded: int
    failed: int
    attempts: int  # tasks swarm made: runs, retries included

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
