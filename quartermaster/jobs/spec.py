"""A job as a client asks for it: a validated /run request."""

from dataclasses import dataclass, field

# "service": one run; "job": swarm's replicated-job (`completions` runs, `parallelism` at once).
JOB_TYPES = ("service", "job")


@dataclass(frozen=True)
class JobSpec:
    """A validated /run request."""

    image: str
    command: tuple[str, ...] | None = None  # None: the image's default command
    name: str | None = None  # None: quartermaster picks one (see unique_name)
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    memory_mb: int | None = None  # None: the configured default
    cpus: float | None = None  # None: no CPU limit or reservation
    constraints: tuple[str, ...] = ()  # added to the configured ones
    type: str = "service"  # one of JOB_TYPES
    completions: int = 1
    parallelism: int = 1
    retries: int = 0
    timeout: int | None = None  # seconds a run may last; None: no limit
    ttl: int | None = None  # seconds a finished job is kept; None: the configured default
    callback_url: str | None = None
    idempotency_key: str | None = None  # a retried /run with the same key is the same job
    # The decoded Docker auth object. Never stored, logged or shown: it is only forwarded.
    registry_auth: dict[str, str] | None = field(default=None, repr=False)
