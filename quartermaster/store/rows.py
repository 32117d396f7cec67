"""Row mapping: what the store answers (LiveRecord, StoreSize), a job's status as the `jobs`
table's columns and back, its labels' and timeline's rows, the reference that finds a record,
and times as the integer nanoseconds the tables keep."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from quartermaster.jobs.errors import AmbiguousReference, JobNotFound
from quartermaster.jobs.history import Transition
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.status import QUEUED, JobStatus
from quartermaster.jobs.tenancy import Footprint
from quartermaster.jobs.times import NANO, nanos_of, timestamp_of
from quartermaster.store.schema import audit_entries, job_labels, job_transitions, jobs


@dataclass(frozen=True)
class LiveRecord:
    """What the reaper compares with the swarm: a record whose job's service is not removed."""

    id: str
    status: str
    state: str
    finished: bool  # its final record (status and log) is written
    waiting: bool = False  # queued: not yet admitted to its tenant's quota (its service held)


@dataclass(frozen=True)
class StoreSize:
    """What the store holds: its records, and the bytes of their kept logs."""

    records: int
    log_bytes: int


NO_SUCH_JOB = "no such job"
AMBIGUOUS_REFERENCE = "more than one job matches this reference; use the job's full id"
MAX_NANOS = 2**63 - 1


def first_record(
    status: JobStatus,
    request: Mapping[str, Any],
    ttl: int,
    at: int,
    key: tuple[str, str] | None,
) -> dict[str, Any]:
    """The `jobs` row of a job's first record. `key`: the hashes of its Idempotency-Key and of
    its request."""
    holds = Footprint.of_request(request)
    return {
        "idempotency_key": key[0] if key else None,
        "request_hash": key[1] if key else None,
        **status_columns(status),
        "id": status.id,
        "name": status.name,
        "image": status.image,
        "type": status.type,
        "request": dict(request),
        "memory_mb": holds.memory,
        "cpus": holds.cpus,
        "waiting": status.status == QUEUED,
        "ttl": ttl,
        "updated_at": at,
        "log_bytes": 0,
        "log_truncated": False,
    }


def label_rows(job_id: str, labels: Mapping[str, str], created_at: int) -> list[dict[str, Any]]:
    """The `job_labels` rows of a job (they copy its creation time: pages walk them in order)."""
    return [
        {"job_id": job_id, "key": key, "value": value, "created_at": created_at}
        for key, value in labels.items()
    ]


@dataclass(frozen=True)
class FirstRecord:
    """A job's first record: its `jobs` row, its labels' rows and its first transition's."""

    row: dict[str, Any]
    labels: list[dict[str, Any]]
    transition: dict[str, Any]
    audit: dict[str, Any] | None = None  # the `audit_entries` row of the /run that made it

    @classmethod
    def of(
        cls,
        status: JobStatus,
        request: Mapping[str, Any],
        ttl: int,
        at: int,
        key: tuple[str, str] | None,
        audit: dict[str, Any] | None = None,
    ) -> "FirstRecord":
        row = first_record(status, request, ttl, at, key)
        created_at = row["created_at"]
        return cls(
            row,
            label_rows(status.id, request.get("labels") or {}, created_at),
            # The job's first transition: its timeline is empty (it goes with its record).
            transition_row(status.id, 0, created_at, status, "created"),
            audit,
        )


def insert_first_records(connection: sa.Connection, records: Sequence[FirstRecord]) -> list[bool]:
    """Insert these first records, their labels and transitions, a statement per table; for
    each, whether it was inserted (not when its job has a record already, nor for a job named
    twice: its second one)."""
    first_of_job = {record.row["id"]: index for index, record in reversed(list(enumerate(records)))}
    new = [records[index] for index in sorted(first_of_job.values())]
    # RETURNING, not rowcount: psycopg gives no row count for INSERT ... ON CONFLICT here.
    insert = insert_for(connection, jobs).on_conflict_do_nothing().returning(jobs.c.id)
    inserted = set(connection.execute(insert, [record.row for record in new]).scalars())
    written = [record for record in new if record.row["id"] in inserted]
    labels = [label for record in written for label in record.labels]
    if labels:
        connection.execute(job_labels.insert(), labels)
    if written:
        connection.execute(job_transitions.insert(), [record.transition for record in written])
    entries = [record.audit for record in written if record.audit is not None]
    if entries:
        connection.execute(audit_entries.insert(), entries)
    return [
        first_of_job[record.row["id"]] == index and record.row["id"] in inserted
        for index, record in enumerate(records)
    ]


def insert_for(connection: sa.Connection, table: sa.Table) -> Any:
    """The database's own INSERT, which has ON CONFLICT (both dialects spell it alike)."""
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def add_transition(
    connection: sa.Connection, job_id: str, at: int, status: JobStatus, detail: str | None
) -> None:
    last = connection.execute(
        sa.select(sa.func.max(job_transitions.c.seq)).where(job_transitions.c.job_id == job_id)
    ).scalar()
    seq = 0 if last is None else last + 1
    connection.execute(job_transitions.insert(), transition_row(job_id, seq, at, status, detail))


def transition_row(
    job_id: str, seq: int, at: int, status: JobStatus, detail: str | None
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "seq": seq,
        "at": at,
        "status": status.status,
        "state": status.state,
        "detail": detail,
    }


def status_columns(status: JobStatus) -> dict[str, Any]:
    return {
        "tenant": status.tenant,
        "status": status.status,
        "state": status.state,
        "exit_code": status.exit_code,
        "error": status.error,
        "node_id": status.node,
        "completions": status.completions,
        "succeeded": status.succeeded,
        "failed": status.failed,
        "attempts": status.attempts,
        "created_at": nanos_of(status.created_at),
        "started_at": nanos_or_none(status.started_at),
        "finished_at": nanos_or_none(status.finished_at),
        "template": status.template,
        "scheduled_for": nanos_or_none(status.scheduled_for),
    }


def as_status(row: sa.Row) -> JobStatus:
    return JobStatus(
        id=row.id,
        name=row.name,
        tenant=row.tenant,
        image=row.image,
        type=row.type,
        status=row.status,
        state=row.state,
        exit_code=row.exit_code,
        error=row.error,
        node=row.node_id,
        created_at=timestamp_of(row.created_at),
        started_at=None if row.started_at is None else timestamp_of(row.started_at),
        finished_at=None if row.finished_at is None else timestamp_of(row.finished_at),
        completions=row.completions,
        succeeded=row.succeeded,
        failed=row.failed,
        attempts=row.attempts,
        template=row.template,
        scheduled_for=None if row.scheduled_for is None else timestamp_of(row.scheduled_for),
    )


def find(connection: sa.Connection, reference: str, tenant: str | None = None) -> sa.Row:
    """The record `reference` means among `tenant`'s jobs (None: the operator, who sees every
    job): by full id; else the newest job of that name or the one whose id starts with it.
    The operator names its own jobs by their names, and a tenant's by their service's
    (`<tenant>_<name>`, jobs/tenancy.py)."""
    owned = [] if tenant is None else [jobs.c.tenant == tenant]
    if is_full_id(reference):
        query = sa.select(jobs).where(jobs.c.id == reference, *owned)
        row = connection.execute(query).one_or_none()
        if row is None:
            raise JobNotFound(NO_SUCH_JOB)
        return row
    newest_named = (
        sa.select(jobs)
        .where(_named(reference, tenant))
        .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        .limit(1)
    )
    # Ids are lower-case letters and digits: "{" sorts after all of them.
    by_prefix = (
        sa.select(jobs).where(jobs.c.id >= reference, jobs.c.id < reference + "{", *owned).limit(2)
    )
    candidates = {row.id: row for row in connection.execute(newest_named)}
    candidates.update((row.id, row) for row in connection.execute(by_prefix))
    if not candidates:
        raise JobNotFound(NO_SUCH_JOB)
    if len(candidates) > 1:
        raise AmbiguousReference(AMBIGUOUS_REFERENCE)
    (row,) = candidates.values()
    return row


def _named(reference: str, tenant: str | None) -> sa.ColumnElement[bool]:
    if tenant is not None:
        return sa.and_(jobs.c.tenant == tenant, jobs.c.name == reference)
    own = sa.and_(jobs.c.tenant.is_(None), jobs.c.name == reference)
    owner, _, name = reference.partition("_")
    if not name:
        return own
    return sa.or_(own, sa.and_(jobs.c.tenant == owner, jobs.c.name == name))


def timeline(connection: sa.Connection, job_id: str) -> list[Transition]:
    query = (
        sa.select(job_transitions)
        .where(job_transitions.c.job_id == job_id)
        .order_by(job_transitions.c.seq)
    )
    return [
        Transition(timestamp_of(row.at), row.status, row.state, row.detail)
        for row in connection.execute(query)
    ]


def unfinished(job_id: str, *columns: sa.ColumnElement) -> sa.Select:
    """The job's record while its final record is not written, locked until the transaction
    ends: of reapers (or a /stop) writing one job at once, one writes, then the others see
    it written. (SQLite: the write transaction holds the whole database already.)"""
    return (
        sa.select(*columns)
        .where(jobs.c.id == job_id, jobs.c.log_captured_at.is_(None))
        .with_for_update()
    )


def nanos(seconds: float) -> int:
    """Nanoseconds, within a BIGINT (up to the year 2262: a later time of a query is as late)."""
    return min(round(seconds * NANO), MAX_NANOS)


def nanos_or_none(timestamp: str | None) -> int | None:
    return None if timestamp is None else nanos_of(timestamp)


def owner_key(tenant: str | None) -> str:
    """A template's owner as its key column holds it: the tenant's name, or "" (the operator)."""
    return "" if tenant is None else tenant
