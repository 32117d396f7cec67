"""Who a request is, and what a tenant may run: the operator, tenants, their keys' rights and
their policies. Pure: the store keeps tenants and keys (store/tenancy.py), the HTTP layer finds a
request's actor (web/auth.py), the service asks the questions below.

The operator holds TOKEN: every right, every tenant's jobs, and alone manages tenants. A tenant (a
team) owns the jobs its keys run; each key carries rights, and the tenant a policy that every job
of its must meet (or be refused, never silently changed: only a missing timeout takes the
policy's `max_timeout`).
"""

import fnmatch
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from quartermaster.jobs.spec import JobSpec

READ = "read"  # /status (with ?wait), /jobs, /logs (with follow), /history, /nodes
RUN = "run"  # /run
STOP = "stop"  # /stop
KEYS = "keys"  # its own tenant's keys: make, list, revoke (never its policy)
TEMPLATES = "templates"  # its own tenant's templates: make, change, remove
DISPATCH = "dispatch"  # run its tenant's templates (their images, without `run`'s any image)
RIGHTS = (READ, RUN, STOP, KEYS, TEMPLATES, DISPATCH)
RIGHT_DESCRIPTIONS = {
    READ: "read jobs: /status (and ?wait), /jobs, /logs (and follow), /history, /nodes; "
    "and its tenant's templates",
    RUN: "run jobs: /run",
    STOP: "stop jobs: /stop",
    KEYS: "manage its own tenant's keys (never the tenant's policy)",
    TEMPLATES: "make, change and remove its own tenant's templates",
    DISPATCH: "dispatch its own tenant's templates (without /run's right to any image)",
}
# Tenants' and keys' names: lower-case, safe in a URL path, a label value and a log line.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
NAME_ERROR = "lower-case letters, digits and '-', starting with a letter or digit, at most 63"


# Docker's bound on a service's name.
MAX_SERVICE_NAME = 63


def service_name(tenant: str | None, name: str) -> str:
    """The swarm's name for the service of `tenant`'s job `name` (names are swarm-wide; a job's
    are its tenant's): `<tenant>_<name>` (a tenant's name holds no `_`, so no two tenants' jobs
    can share one), or, past Docker's 63 characters, the tenant's first 40 and a hash of both.
    The operator's jobs keep their names."""
    if tenant is None:
        return name
    plain = f"{tenant}_{name}"
    if len(plain) <= MAX_SERVICE_NAME:
        return plain
    digest = hashlib.sha256(f"{tenant}/{name}".encode()).hexdigest()[:22]
    return f"{tenant[:40]}_{digest}"


@dataclass(frozen=True)
class Actor:
    """Whose request it is: the operator (`tenant` None), or one key of a tenant."""

    tenant: str | None
    key_name: str | None = None
    rights: frozenset[str] = frozenset(RIGHTS)
    expires_at: float | None = None  # epoch seconds; None: the key does not expire
    # The request's, for the audit trail (jobs/audit.py): its id and the client's address.
    request_id: str | None = None
    address: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.tenant is None

    def may(self, right: str) -> bool:
        return right in self.rights

    def manages_keys_of(self, tenant: str) -> bool:
        """May make, list and revoke `tenant`'s keys: the operator, or a key of that tenant with
        the `keys` right."""
        return self.is_operator or (self.tenant == tenant and self.may(KEYS))


OPERATOR = Actor(tenant=None)


@dataclass(frozen=True)
class TenantPolicy:
    """What every job of a tenant must meet. Empty `images`: any image."""

    images: tuple[str, ...] = ()  # glob patterns on the image reference as sent
    constraints: tuple[str, ...] = ()  # added to each of its jobs' placement, not to be undone
    max_memory: int | None = None  # MB
    max_cpus: float | None = None
    max_timeout: int | None = None  # seconds; a job without a timeout gets this one


# A tenant's jobs waiting at once, unless its quota says otherwise; its share of a full swarm.
DEFAULT_QUEUED = 1000
DEFAULT_WEIGHT = 1


@dataclass(frozen=True)
class TenantQuota:
    """How much of the swarm a tenant's live jobs hold at once (None: no cap). A live job is
    one admitted and not yet ended; one over a cap waits, queued, for room (never refused for
    it, unless the queue itself is full)."""

    memory: int | None = None  # MB: the sum of its live jobs' memory
    cpus: float | None = None  # the sum of its live jobs' cpus
    jobs: int | None = None  # live jobs
    queued: int = DEFAULT_QUEUED  # jobs waiting at once; a /run past it is refused (429)
    runs_per_minute: int | None = None  # /run requests in any 60 s; past it refused (429)

    @property
    def caps_live_jobs(self) -> bool:
        """Whether its jobs are admitted one by one (a job that does not fit waits)."""
        return (self.memory, self.cpus, self.jobs) != (None, None, None)


@dataclass(frozen=True)
class Tenant:
    name: str
    policy: TenantPolicy = field(default_factory=TenantPolicy)
    quota: TenantQuota = field(default_factory=TenantQuota)
    weight: int = DEFAULT_WEIGHT  # its share when the swarm is full
    created_at: str | None = None  # RFC 3339, set by the store
    updated_at: str | None = None
    in_use: "InUse | None" = None  # as the store read it with the tenant


@dataclass(frozen=True)
class TenantChanges:
    """A PATCH of a tenant: the policy's and the quota's fields given, with their new values
    (None lifts a cap), and its weight if given."""

    policy: Mapping[str, Any] = field(default_factory=dict)
    quota: Mapping[str, Any] = field(default_factory=dict)
    weight: int | None = None

    def applied_to(self, tenant: Tenant) -> Tenant:
        return replace(
            tenant,
            policy=replace(tenant.policy, **self.policy),
            quota=replace(tenant.quota, **self.quota),
            weight=tenant.weight if self.weight is None else self.weight,
        )


@dataclass(frozen=True)
class Footprint:
    """What a job holds of its tenant's quota while it is live: its runs at once (a `job` runs
    `parallelism` of its completions at a time), each with the job's memory and cpus."""

    memory: int  # MB
    cpus: float
    jobs: int = 1

    @classmethod
    def of(cls, job: JobSpec) -> "Footprint":
        return cls.of_request(vars(job))

    @classmethod
    def of_request(cls, request: Mapping[str, Any]) -> "Footprint":
        """Of a job as its record keeps its request (JobSpec's fields)."""
        at_once = runs_at_once(request)
        memory, cpus = request.get("memory_mb") or 0, request.get("cpus") or 0.0
        return cls(memory=memory * at_once, cpus=cpus * at_once)

    def __add__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.memory + other.memory, self.cpus + other.cpus, self.jobs + other.jobs)


NOTHING = Footprint(memory=0, cpus=0.0, jobs=0)


def runs_at_once(request: Mapping[str, Any]) -> int:
    """How many runs of a job (JobSpec's fields) hold their reservation at once: a `job`'s
    `parallelism` of its completions, a service's one."""
    if request.get("type") == "job":
        return min(request.get("parallelism") or 1, request.get("completions") or 1)
    return 1


@dataclass(frozen=True)
class InUse:
    """What a tenant's jobs hold now: its live jobs' footprint, and how many wait."""

    live: Footprint = NOTHING
    queued: int = 0


def quota_breaches(quota: TenantQuota, job: JobSpec) -> dict[str, list[str]]:
    """What in `job` could never fit `quota`, even with none of its tenant's jobs live: each
    field with why (refused, 403, rather than queued forever). A job without `cpus` under a cpus
    quota would hold CPUs uncounted: its cpus are required."""
    needs = Footprint.of(job)
    breaches: dict[str, list[str]] = {}
    if quota.memory is not None and needs.memory > quota.memory:
        breaches["memory"] = [
            f"{needs.memory} MB at once is above this tenant's memory quota of "
            f"{quota.memory} MB: it could never run"
        ]
    if quota.cpus is not None and not 0 < needs.cpus <= quota.cpus:
        breaches["cpus"] = [
            f"required, and at once at most this tenant's cpus quota of {quota.cpus:g}"
        ]
    return breaches


@dataclass(frozen=True)
class Usage:
    """What a tenant's jobs used in a window [since, until) (epoch seconds), from their records:
    jobs made in it by status, and the run time that fell in it with the memory and cpus held
    meanwhile; and what its live jobs hold now, and its queue."""

    tenant: str
    since: float
    until: float
    jobs: dict[str, int]  # made in the window, by status
    run_seconds: float
    memory_mb_seconds: float
    cpu_seconds: float
    live: Footprint
    queued: int


# Sums of float cpus (0.1 + 0.2) are compared with this much room, so 3 jobs of 0.1 fit 0.3.
CPU_SLACK = 1e-9


def waiting_reason(tenant: str, quota: TenantQuota, live: Footprint, job: Footprint) -> str | None:
    """Why a job holding `job` cannot be admitted now that `tenant`'s live jobs hold `live`
    (None: it fits). The first cap it would pass, in words a user can act on."""
    if quota.jobs is not None and live.jobs + job.jobs > quota.jobs:
        return f"tenant {tenant}: jobs quota {quota.jobs}, {live.jobs} live"
    if quota.memory is not None and live.memory + job.memory > quota.memory:
        return f"tenant {tenant}: memory quota {quota.memory} MB, {live.memory} MB in use"
    if quota.cpus is not None and live.cpus + job.cpus > quota.cpus + CPU_SLACK:
        return f"tenant {tenant}: cpus quota {quota.cpus:g}, {live.cpus:g} in use"
    return None


def policy_breaches(policy: TenantPolicy, job: JobSpec) -> dict[str, list[str]]:
    """What in `job` (a /run request with the operator's defaults applied: its memory is set)
    breaks `policy`: each field with why. Empty when the job may run. A ceiling is never met by
    leaving the field out: a job without `cpus` has no CPU limit at all."""
    breaches: dict[str, list[str]] = {}
    if policy.images and not any(fnmatch.fnmatchcase(job.image, p) for p in policy.images):
        allowed = ", ".join(policy.images)
        breaches["image"] = [f"this tenant may run only images matching: {allowed}"]
    if policy.max_memory is not None and not 0 < (job.memory_mb or 0) <= policy.max_memory:
        breaches["memory"] = [f"at most this tenant's max_memory of {policy.max_memory} MB"]
    if policy.max_cpus is not None and not 0 < (job.cpus or 0) <= policy.max_cpus:
        breaches["cpus"] = [f"required, at most this tenant's max_cpus of {policy.max_cpus:g}"]
    if policy.max_timeout is not None and (job.timeout or 0) > policy.max_timeout:
        breaches["timeout"] = [f"at most this tenant's max_timeout of {policy.max_timeout} s"]
    return breaches


def under_policy(policy: TenantPolicy, job: JobSpec) -> JobSpec:
    """The job as its tenant runs it (it meets `policy`): the tenant's constraints added after
    the request's, and the policy's `max_timeout` when the request set none."""
    return replace(
        job,
        constraints=(*job.constraints, *policy.constraints),
        timeout=job.timeout if job.timeout is not None else policy.max_timeout,
    )


@dataclass(frozen=True)
class KeyInfo:
    """A key as /tenants/:name/keys shows it: never its secret."""

    name: str
    tenant: str
    rights: tuple[str, ...]
    created_at: str  # RFC 3339
    expires_at: str | None
    last_used_at: str | None  # within a minute


@dataclass(frozen=True)
class StoredKey:
    """What a request's key is checked against: its row, found by the id inside the key."""

    key_id: str
    tenant: str
    name: str
    rights: tuple[str, ...]
    secret_hash: str
    expires_at: float | None  # epoch seconds

    def actor(self) -> Actor:
        return Actor(self.tenant, self.name, frozenset(self.rights), self.expires_at)
