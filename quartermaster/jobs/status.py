"""A job's public status: one of eight words, and the document /status shows.

Swarm's task states are many; a client sees one of eight words:

    queued    waiting for its tenant's quota to have room (jobs/tenancy.py): not yet handed to
              swarm, no run made (`queue_position` says where it stands, `error` what holds it)
    pending   waiting for a node, resources, the image pull, the container start or a retry
    started   running
    complete  exited 0 (a `job` with completions N: N tasks exited 0)
    failed    exited non-zero and no retry is left (`exit_code` set, `error` from the task), or
              its node stopped answering the swarm while it ran (its outcome is unknown)
    rejected  could not start at all, e.g. the image could not be pulled (`error` says why)
    shutdown  stopped
    lost      its service was removed while it ran, by something other than quartermaster, and
              its end was never seen (only a record can say so: `error` says what is known)

`JobStatus`'s fields are the document's, in its order: the answer's schema is derived from them
(web/schemas/documents.py), each field's `description` and `enum` metadata included.
"""

from dataclasses import dataclass, field

from quartermaster.jobs.spec import JOB_TYPES

QUEUED = "queued"
PENDING = "pending"
STARTED = "started"
COMPLETE = "complete"
FAILED = "failed"
REJECTED = "rejected"
SHUTDOWN = "shutdown"
LOST = "lost"

STATUSES = (QUEUED, PENDING, STARTED, COMPLETE, FAILED, REJECTED, SHUTDOWN, LOST)
FINAL_STATUSES = frozenset({COMPLETE, FAILED, REJECTED, SHUTDOWN, LOST})


@dataclass(frozen=True)
class JobStatus:
    id: str
    name: str
    tenant: str | None = field(metadata={"description": "its tenant; null: the operator's"})
    image: str
    # "service" (one run) or "job" (swarm's replicated-job: `completions` runs)
    type: str = field(metadata={"enum": JOB_TYPES})
    status: str = field(metadata={"enum": STATUSES})
    # "new" before the first task exists
    state: str = field(metadata={"description": "swarm's raw state of the current task"})
    exit_code: int | None
    error: str | None
    # the id of the node the current task is placed on
    node: str | None = field(metadata={"description": "node id"})
    created_at: str
    started_at: str | None
    finished_at: str | None
    completions: int
    succeeded: int
    failed: int
    attempts: int  # tasks swarm made: runs, retries included
    queue_position: int | None = field(
        default=None,
        metadata={"description": "while queued: its place in its tenant's queue (1: next)"},
    )
    template: str | None = field(
        default=None, metadata={"description": "the template it was made from; null: none"}
    )
    scheduled_for: str | None = field(
        default=None,
        metadata={"description": "the tick of its template's schedule it ran for; null: none"},
    )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


def status_document(status: JobStatus) -> dict:
    """The /status answer, which a job's callback delivers too: its fields, then `success`.
    Every field is a scalar: a shallow copy, in the fields' order (asdict copies each deeply)."""
    return {**vars(status), "success": True}
