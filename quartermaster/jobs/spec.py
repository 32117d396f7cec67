"""A job as a client asks for it (a validated /run request), and as it runs: with the
operator's defaults applied, once, by the service (service/jobs.py). The runtime runs a `JobSpec` as
given and the record keeps it, so that the history shows what ran."""

import secrets
from dataclasses import dataclass, field, replace

# "service": one run; "job": swarm's replicated-job (`completions` runs, `parallelism` at once).
# Where a job finds its dispatch's payload.
PAYLOAD_PATH = "/qm/payload"
JOB_TYPES = ("service", "job")


@dataclass(frozen=True)
class JobSpec:
    """A validated /run request; with JobDefaults applied, the job as it runs."""

    image: str
    command: tuple[str, ...] | None = None  # None: the image's default command
    name: str | None = None  # None in a request: quartermaster picks one (see unique_name)
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    memory_mb: int | None = None  # None in a request: MEMORY
    cpus: float | None = None  # None: no CPU limit or reservation
    constraints: tuple[str, ...] = ()  # a request's come after the configured CONSTRAINTS
    type: str = "service"  # one of JOB_TYPES
    completions: int = 1
    parallelism: int = 1
    retries: int = 0
    timeout: int | None = None  # seconds a run may last; None: no limit
    ttl: int | None = None  # seconds a finished job is kept; None in a request: HISTORY_TTL
    callback_url: str | None = None
    idempotency_key: str | None = None  # a retried /run with the same key is the same job
    # The decoded Docker auth object. Never stored, logged or shown: it is only forwarded.
    registry_auth: dict[str, str] | None = field(default=None, repr=False)
    # A dispatch's payload (jobs/templates.py): a file at PAYLOAD_PATH in the container, carried
    # by a swarm config made for the job; never in its env, labels or record.
    payload: bytes | None = field(default=None, repr=False)
    # The tenant whose key runs it (None: the operator's), set by the service from the actor,
    # never from a request's body.
    tenant: str | None = None
    run_by: str | None = None  # the audit trail's actor (jobs/audit.py), set by the service
    # The template it was made from, and the tick of its schedule it runs for (RFC 3339, UTC):
    # set by the service, never from a request's body.
    template: str | None = None
    scheduled_for: str | None = None


@dataclass(frozen=True)
class JobDefaults:
    """What the operator set for what a request leaves out (MEMORY, CONSTRAINTS, HISTORY_TTL)."""

    memory_mb: int
    constraints: tuple[str, ...]  # every job's placement; a request's constraints are added
    ttl: int

    def applied_to(self, job: JobSpec) -> JobSpec:
        """The job as it runs: a field the request left out takes its default, the configured
        constraints come first, and an unnamed job gets a unique name."""
        return replace(
            job,
            name=job.name or unique_name(),
            memory_mb=self.memory_mb if job.memory_mb is None else job.memory_mb,
            constraints=(*self.constraints, *job.constraints),
            ttl=self.ttl if job.ttl is None else job.ttl,
        )


def unique_name() -> str:
    """A name for a job its client did not name.

    Swarm's own names (adjective_scientist) come from about 25,000 pairs: with a few hundred
    jobs on the swarm, a create now and then failed with a name conflict the client never asked
    for. 64 random bits do not collide.
    """
    return "job-" + secrets.token_hex(8)
