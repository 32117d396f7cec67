"""The server's documents as frozen dataclasses.

Each is built from the JSON the server sent, field by field; fields a newer server adds are
tolerated (left out of the attributes) and the whole document is kept in `document`, so a caller
that wants every field, or the exact JSON, has it. Times are aware datetimes in UTC (the server
gives nanoseconds; a datetime keeps microseconds).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# A job's status, one of eight words, in the server's order (jobs/status.py: the client cannot
# import it; tests/unit/test_status_words.py holds the two equal).
STATUSES = (
    "queued", "pending", "started", "complete", "failed", "rejected", "shutdown", "lost"
)  # fmt: skip
FINAL_STATUSES = frozenset(STATUSES) - {"queued", "pending", "started"}
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z\Z")


def parse_time(text: str | None) -> datetime | None:
    """One of the server's RFC 3339 UTC times (any fraction, to the nanosecond), or None."""
    if text is None:
        return None
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time in UTC: {text!r}")
    whole, fraction = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(microsecond=micros, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    """A job's status document (`/status`, and each of `/jobs`)."""

    id: str
    name: str
    image: str
    status: str
    state: str
    exit_code: int | None
    error: str | None
    node: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    type: str
    completions: int
    succeeded: int
    failed: int
    attempts: int
    labels: dict[str, str] | None
    document: dict[str, Any] = field(repr=False, compare=False)
    tenant: str | None = None  # None: the operator's job
    queue_position: int | None = None  # while queued: 1 is next in its tenant's queue
    template: str | None = None  # the template it was made from
    scheduled_for: datetime | None = None  # the tick of its template's schedule it ran for

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Job":
        return cls(
            id=document["id"],
            name=document.get("name") or "",
            image=document.get("image") or "",
            status=document["status"],
            state=document.get("state") or "",
            exit_code=document.get("exit_code"),
            error=document.get("error"),
            node=document.get("node"),
            created_at=parse_time(document.get("created_at")),
            started_at=parse_time(document.get("started_at")),
            finished_at=parse_time(document.get("finished_at")),
            type=document.get("type") or "service",
            completions=document.get("completions", 1),
            succeeded=document.get("succeeded", 0),
            failed=document.get("failed", 0),
            attempts=document.get("attempts", 0),
            labels=document.get("labels"),
            document=_without_success(document),
            tenant=document.get("tenant"),
            queue_position=document.get("queue_position"),
            template=document.get("template"),
            scheduled_for=parse_time(document.get("scheduled_for")),
        )


@dataclass(frozen=True)
class Node:
    """A swarm node and what jobs reserve on it (`/nodes`)."""

    id: str
    hostname: str
    role: str
    state: str
    availability: str
    memory_mb: int
    cpus: float
    reserved_memory_mb: int
    reserved_cpus: float
    free_memory_mb: int
    free_cpus: float
    running_jobs: int
    document: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Node":
        return cls(
            id=document["id"],
            hostname=document.get("hostname") or "",
            role=document.get("role") or "",
            state=document.get("state") or "",
            availability=document.get("availability") or "",
            memory_mb=document.get("memory_mb", 0),
            cpus=document.get("cpus", 0.0),
            reserved_memory_mb=document.get("reserved_memory_mb", 0),
            reserved_cpus=document.get("reserved_cpus", 0.0),
            free_memory_mb=document.get("free_memory_mb", 0),
            free_cpus=document.get("free_cpus", 0.0),
            running_jobs=document.get("running_jobs", 0),
            document=document,
        )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    status: str
    state: str | None
    detail: str | None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "TimelineEntry":
        return cls(
            at=parse_time(document.get("at")),
            status=document.get("status") or "",
            state=document.get("state"),
            detail=document.get("detail"),
        )


@dataclass(frozen=True)
class History:
    """A job's record (`/history`): its request as given (without secrets) and its timeline."""

    id: str
    request: dict[str, Any]
    timeline: tuple[TimelineEntry, ...]
    document: dict[str, Any] = field(repr=False, compare=False)
    tenant: str | None = None  # None: the operator's job

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "History":
        return cls(
            id=document["id"],
            request=document.get("request") or {},
            timeline=tuple(map(TimelineEntry.from_document, document.get("timeline") or [])),
            document=_without_success(document),
            tenant=document.get("tenant"),
        )


@dataclass(frozen=True)
class Tenant:
    """A tenant, its policy, its quota and weight (`/tenants`)."""

    name: str
    images: tuple[str, ...]
    constraints: tuple[str, ...]
    max_memory: int | None
    max_cpus: float | None
    max_timeout: int | None
    created_at: datetime | None
    updated_at: datetime | None
    document: dict[str, Any] = field(repr=False, compare=False)
    # Its quota (memory, cpus, jobs, queued, runs_per_minute: None is no cap) and weight.
    quota: dict[str, Any] = field(default_factory=dict)
    weight: int = 1
    # What its jobs hold now (jobs, memory, cpus, queued); None if the answer has none.
    in_use: dict[str, Any] | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Tenant":
        return cls(
            name=document["name"],
            images=tuple(document.get("images") or ()),
            constraints=tuple(document.get("constraints") or ()),
            max_memory=document.get("max_memory"),
            max_cpus=document.get("max_cpus"),
            max_timeout=document.get("max_timeout"),
            quota=dict(document.get("quota") or {}),
            weight=document.get("weight", 1),
            in_use=document.get("in_use"),
            created_at=parse_time(document.get("created_at")),
            updated_at=parse_time(document.get("updated_at")),
            document=_without_success(document),
        )


@dataclass(frozen=True)
class Template:
    """A template: a job defined once, run by dispatch (`/templates`). `request` holds its /run
    fields as /history shows a job's (env values only where the server keeps them)."""

    name: str
    tenant: str | None
    request: dict[str, Any]
    required: tuple[str, ...]  # the parameters a dispatch must give
    optional: tuple[str, ...]
    auth_kept: bool  # it keeps registry credentials (sealed; never shown)
    created_at: datetime | None
    updated_at: datetime | None
    document: dict[str, Any] = field(repr=False, compare=False)
    # {"cron", "timezone", "overlap", "catch_up", "paused", "description", "next"}; None: none
    schedule: dict[str, Any] | None = None

    @property
    def next_ticks(self) -> list[datetime]:
        """Its schedule's next ticks (UTC); none without a schedule, or while it is paused."""
        times = (self.schedule or {}).get("next") or []
        return [moment for moment in map(parse_time, times) if moment is not None]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Template":
        parameters = document.get("parameters") or {}
        return cls(
            name=document["name"],
            tenant=document.get("tenant"),
            request=dict(document.get("request") or {}),
            required=tuple(parameters.get("required") or ()),
            optional=tuple(parameters.get("optional") or ()),
            auth_kept=bool(document.get("auth_kept")),
            created_at=parse_time(document.get("created_at")),
            updated_at=parse_time(document.get("updated_at")),
            document=_without_success(document),
            schedule=document.get("schedule"),
        )


@dataclass(frozen=True)
class TemplateRun:
    """A tick of a template's schedule (`/templates/:name/runs`): `outcome` is fired, skipped,
    missed, failed to start (or firing, while its job starts); `status` its job's now."""

    tick: datetime | None
    outcome: str
    job_id: str | None
    status: str | None
    reason: str | None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "TemplateRun":
        return cls(
            tick=parse_time(document.get("tick")),
            outcome=document["outcome"],
            job_id=document.get("job_id"),
            status=document.get("status"),
            reason=document.get("reason"),
        )


@dataclass(frozen=True)
class Usage:
    """What a tenant's jobs used in a window and hold now (`/tenants/:name/usage`)."""

    tenant: str
    since: datetime | None
    until: datetime | None
    jobs: dict[str, int]  # made in the window, by status
    run_seconds: float
    memory_mb_seconds: float
    cpu_seconds: float
    in_use: dict[str, Any]  # jobs, memory, cpus, queued: now
    document: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Usage":
        return cls(
            tenant=document["tenant"],
            since=parse_time(document.get("since")),
            until=parse_time(document.get("until")),
            jobs=dict(document.get("jobs") or {}),
            run_seconds=document.get("run_seconds", 0.0),
            memory_mb_seconds=document.get("memory_mb_seconds", 0.0),
            cpu_seconds=document.get("cpu_seconds", 0.0),
            in_use=dict(document.get("in_use") or {}),
            document=_without_success(document),
        )


@dataclass(frozen=True)
class Key:
    """A tenant's key (`/tenants/:name/keys`). `secret`: the whole key, only when it was just
    made (the server shows it once); never in its repr."""

    name: str
    tenant: str
    rights: tuple[str, ...]
    created_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    secret: str | None = field(default=None, repr=False)
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Key":
        return cls(
            name=document["name"],
            tenant=document.get("tenant") or "",
            rights=tuple(document.get("rights") or ()),
            created_at=parse_time(document.get("created_at")),
            expires_at=parse_time(document.get("expires_at")),
            last_used_at=parse_time(document.get("last_used_at")),
            secret=document.get("key"),
            document={k: v for k, v in _without_success(document).items() if k != "key"},
        )


@dataclass(frozen=True)
class Identity:
    """Who the client's token or key is (`/whoami`)."""

    operator: bool
    tenant: str | None
    key: str | None  # the key's name
    rights: tuple[str, ...]
    expires_at: datetime | None
    document: dict[str, Any] = field(repr=False, compare=False)
    policy: dict[str, Any] | None = None  # its tenant's policy; None: the operator

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Identity":
        return cls(
            operator=bool(document.get("operator")),
            tenant=document.get("tenant"),
            key=document.get("key"),
            rights=tuple(document.get("rights") or ()),
            expires_at=parse_time(document.get("expires_at")),
            document=_without_success(document),
            policy=document.get("policy"),
        )


@dataclass(frozen=True)
class AuditEntry:
    """An entry of the audit trail (`/audit`): who did what, when, to what, answered how."""

    id: int
    at: datetime | None
    actor: str  # operator, or <tenant>/<key>
    tenant: str | None
    action: str
    target: str | None
    target_tenant: str | None
    code: int
    request_id: str | None
    client: str | None
    document: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "AuditEntry":
        return cls(
            id=document["id"],
            at=parse_time(document.get("at")),
            actor=document.get("actor") or "",
            tenant=document.get("tenant"),
            action=document.get("action") or "",
            target=document.get("target"),
            target_tenant=document.get("target_tenant"),
            code=document.get("code", 0),
            request_id=document.get("request_id"),
            client=document.get("client"),
            document=document,
        )


def _without_success(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "success"}
