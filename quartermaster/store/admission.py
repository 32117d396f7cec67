"""Admission to a tenant's quota, decided where it cannot race: in one write transaction under
the tenant's row lock (PostgreSQL: SELECT ... FOR UPDATE; SQLite: its one writer at a time).
However many workers and instances ask at once, each reads the tenant's live jobs and its queue
as the last one left them, so a quota is never passed and a queued job is admitted once.

A live job is one admitted and not ended: its record not `waiting` and without `finished_at`
(the reaper sets that within a round of its end). A queued job's record is `waiting`, in its
tenant's queue by (created_at, id): first come, first admitted.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import TenantNotFound, TooManyRuns
from quartermaster.jobs.status import PENDING, QUEUED, JobStatus
from quartermaster.jobs.tenancy import Footprint, Tenant, waiting_reason
from quartermaster.jobs.times import NANO
from quartermaster.store.audit import entry_row
from quartermaster.store.connection import StoreConnection
from quartermaster.store.holdings import live_footprint, queued_count, waiting
from quartermaster.store.rows import FirstRecord, insert_first_records, nanos
from quartermaster.store.schema import jobs, run_starts, tenants
from quartermaster.store.tenancy import NO_TENANT, tenant_of

MINUTE = 60 * NANO
# Queued jobs looked at in one admission, from the head: a queue of thousands is not read whole.
ADMIT_BATCH = 100
QUEUE_FULL = "tenant {tenant}: its queue holds {queued} jobs, its quota's most"


@dataclass(frozen=True)
class Admission:
    """What became of a job at /run: admitted (its service may run), or queued. `recorded
    before`: its record was there already (a reaper imported it, or a retried /run wrote it)."""

    admitted: bool
    recorded_before: bool = False


@dataclass(frozen=True)
class Admitted:
    """A queued job admitted, and since when it had waited (epoch seconds: its creation)."""

    job_id: str
    queued_since: float


@dataclass(frozen=True)
class QueuePlace:
    """A queued job's place in its tenant's queue (1: next), and what holds it now."""

    position: int
    reason: str


class AdmissionStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    def take_run(self, tenant: str, runs_per_minute: int, now: float) -> float | None:
        """Count a /run of `tenant` if fewer than `runs_per_minute` were made in the last 60 s:
        None. Otherwise, counting nothing, the seconds until one of those leaves the window."""
        at = nanos(now)
        with self._connection.writing() as connection:
            _locked(connection, tenant)
            connection.execute(
                run_starts.delete().where(
                    run_starts.c.tenant == tenant, run_starts.c.at <= at - MINUTE
                )
            )
            recent = (
                connection.execute(
                    sa.select(run_starts.c.at)
                    .where(run_starts.c.tenant == tenant)
                    .order_by(run_starts.c.at.desc())
                    .limit(runs_per_minute)
                )
                .scalars()
                .all()
            )
            if len(recent) >= runs_per_minute:
                return max((recent[-1] + MINUTE - at) / NANO, 0.001)
            connection.execute(run_starts.insert().values(tenant=tenant, at=at))
        return None

    def add(
        self,
        status: JobStatus,
        request: Mapping[str, Any],
        ttl: int,
        now: float,
        key: tuple[str, str] | None,
        entry: AuditEntry,
    ) -> Admission:
        """The first record of a job whose service is held (as RecordStore.add's), with the
        audit `entry` of its /run: admitted if it fits its tenant's quota now and no job of the
        tenant waits before it; else queued (its record `waiting`), or refused if the queue is
        full (TooManyRuns: nothing written). A job with a record already (a retried /run's) is
        left as it is: admitted if it is not waiting."""
        at = nanos(now)
        record = FirstRecord.of(status, request, ttl, at, key, entry_row(entry, at))
        tenant = status.tenant
        assert tenant is not None, "the operator's jobs have no quota"
        with self._connection.writing() as connection:
            quota_of = _locked(connection, tenant)
            holds = Footprint.of_request(record.row["request"])
            queued = queued_count(connection, tenant)
            reason = "jobs of this tenant wait before it" if queued else None
            reason = reason or waiting_reason(
                tenant, quota_of.quota, live_footprint(connection, tenant), holds
            )
            if reason is not None and queued >= quota_of.quota.queued:
                raise TooManyRuns(QUEUE_FULL.format(tenant=tenant, queued=queued))
            row = {
                **record.row,
                "status": QUEUED if reason else PENDING,
                "waiting": reason is not None,
            }
            transition = {**record.transition, "status": row["status"]}
            first = FirstRecord(row, record.labels, transition, record.audit)
            if not insert_first_records(connection, [first])[0]:
                waiting = connection.execute(
                    sa.select(jobs.c.waiting).where(jobs.c.id == row["id"])
                ).scalar()
                return Admission(admitted=not waiting, recorded_before=True)
        return Admission(admitted=reason is None)

    def admit(self, tenant: str, now: float) -> list[Admitted]:
        """Admit `tenant`'s queued jobs, first come first, while the next fits its quota: those
        admitted (their services are then released). Nothing if the tenant is gone. The queue
        is read from its head ADMIT_BATCH at a time, while a whole batch was admitted."""
        admitted: list[Admitted] = []
        with self._connection.writing() as connection:
            try:
                quota = _locked(connection, tenant).quota
            except TenantNotFound:
                return admitted
            live = live_footprint(connection, tenant)
            while True:
                batch = connection.execute(_queue_of(tenant)).all()
                taken: list[Admitted] = []
                for job_id, memory, cpus, created_at in batch:
                    holds = Footprint(memory or 0, cpus or 0.0)
                    if waiting_reason(tenant, quota, live, holds) is not None:
                        break  # first come, first admitted: none passes the head
                    taken.append(Admitted(job_id, created_at / NANO))
                    live = live + holds
                if taken:
                    connection.execute(
                        jobs.update()
                        .where(jobs.c.id.in_([job.job_id for job in taken]))
                        .values(waiting=False, status=PENDING, updated_at=nanos(now))
                    )
                admitted += taken
                if len(taken) < ADMIT_BATCH:
                    return admitted

    def tenants_waiting(self) -> list[str]:
        """The tenants with a job queued (their queue is looked at again when room frees)."""
        with self._connection.reading() as connection:
            query = sa.select(jobs.c.tenant).where(waiting()).distinct()
            return [tenant for tenant in connection.execute(query).scalars() if tenant]

    def place(self, job_id: str) -> QueuePlace | None:
        """Where a queued job stands in its tenant's queue and what holds it; None if it is not
        waiting (admitted meanwhile, or no such record)."""
        with self._connection.reading() as connection:
            job = connection.execute(
                sa.select(jobs.c.tenant, jobs.c.created_at, jobs.c.memory_mb, jobs.c.cpus).where(
                    jobs.c.id == job_id, waiting()
                )
            ).one_or_none()
            if job is None or job.tenant is None:
                return None
            ahead = connection.execute(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(
                    jobs.c.tenant == job.tenant,
                    waiting(),
                    sa.tuple_(jobs.c.created_at, jobs.c.id)
                    < sa.tuple_(sa.literal(job.created_at), sa.literal(job_id)),
                )
            ).scalar_one()
            row = connection.execute(tenants.select().where(tenants.c.name == job.tenant)).first()
            live = live_footprint(connection, job.tenant)
        holds = Footprint(job.memory_mb or 0, job.cpus or 0.0)
        reason = None
        if row is not None:
            reason = waiting_reason(job.tenant, tenant_of(row).quota, live, holds)
        if ahead:
            reason = reason or f"tenant {job.tenant}: {ahead} of its jobs wait before it"
        return QueuePlace(ahead + 1, reason or f"tenant {job.tenant}: about to be admitted")


def _locked(connection: sa.Connection, name: str) -> Tenant:
    """The tenant, its row locked until the transaction ends (SQLite: the writer holds the
    whole database already)."""
    row = connection.execute(
        tenants.select().where(tenants.c.name == name).with_for_update()
    ).first()
    if row is None:
        raise TenantNotFound(NO_TENANT)
    return tenant_of(row)


def _queue_of(tenant: str) -> sa.Select:
    return (
        sa.select(jobs.c.id, jobs.c.memory_mb, jobs.c.cpus, jobs.c.created_at)
        .where(jobs.c.tenant == tenant, waiting())
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(ADMIT_BATCH)
    )
