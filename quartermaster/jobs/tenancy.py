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
from dataclasses import dataclass, field, replace

from quartermaster.jobs.spec import JobSpec

READ = "read"  # /status (with ?wait), /jobs, /logs (with follow), /history, /nodes
RUN = "run"  # /run
STOP = "stop"  # /stop
KEYS = "keys"  # its own tenant's keys: make, list, revoke (never its policy)
RIGHTS = (READ, RUN, STOP, KEYS)
RIGHT_DESCRIPTIONS = {
    READ: "read jobs: /status (and ?wait), /jobs, /logs (and follow), /history, /nodes",
    RUN: "run jobs: /run",
    STOP: "stop jobs: /stop",
    KEYS: "manage its own tenant's keys (never the tenant's policy)",
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


@dataclass(frozen=True)
class Tenant:
    name: str
    policy: TenantPolicy = field(default_factory=TenantPolicy)
    created_at: str | None = None  # RFC 3339, set by the store
    updated_at: str | None = None


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
