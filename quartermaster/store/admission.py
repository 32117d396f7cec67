"""Admission, decided where it cannot race: in one write transaction under the admission lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite: its one writer at a time). However many
workers and instances ask at once, each reads the live jobs and the queues as the last one left
them, so no quota is passed, the swarm's room is not promised twice, and a queued job is
admitted once. The order is jobs/fair_share.py's; the swarm's room is read by the caller before
(it takes Docker calls, never made under the lock), and the jobs admitted since are in the store.

A live job is one admitted and not ended: its record not `waiting` and without `finished_at`
(the reaper sets that within a round of its end). A queued job's record is `waiting`, in its
tenant's queue by (created_at, id): first come, first admitted.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import TenantNotFound, TooManyRuns
from quartermaster.jobs.fair_share import (
    OPERATOR_WEIGHT,
    ROOM,
    QueuedJob,
    SwarmRoom,
    TenantQueue,
    admissions,
)
from quartermaster.jobs.status import PENDING, QUEUED, JobStatus
from quartermaster.jobs.tenancy import Footprint, Tenant, TenantQuota, waiting_reason
from quartermaster.jobs.times import NANO
from quartermaster.store.audit import entry_row
from quartermaster.store.connection import StoreConnection
from quartermaster.store.holdings import live, live_footprint, owned_by, queued_count, waiting
from quartermaster.store.rows import FirstRecord, insert_first_records, nanos
from quartermaster.store.schema import jobs, run_starts, tenants
from quartermaster.store.tenancy import NO_TENANT, tenant_of

MINUTE = 60 * NANO
# Queued jobs of each tenant looked at in one pass, from the head: a queue of thousands is not
# read whole (a pass that admits a tenant's whole lookahead looks again).
ADMIT_BATCH = 100
QUEUE_FULL = "tenant {tenant}: its queue holds {queued} jobs, its quota's most"
# Any 64-bit number of ours: the PostgreSQL advisory lock every admission takes.
ADMISSION_LOCK = 0x716D_6164_6D69_7473


@dataclass(frozen=True)
class Admitted:
    """A queued job admitted, and since when it had waited (epoch seconds: its creation)."""

    job_id: str
    tenant: str | None
    queued_since: float


@dataclass(frozen=True)
class Admission:
    """What became of a job at /run: admitted (its service may run), or queued; and the other
    jobs the same pass admitted (their services are to be released too). `recorded before`: its
    record was there already (a reaper imported it, or a retried /run wrote it)."""

    admitted: bool
    recorded_before: bool = False
    others: list[Admitted] = field(default_factory=list)


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
        room: SwarmRoom,
    ) -> Admission:
        """The first record of a job whose service is held (as RecordStore.add's), with the
        audit `entry` of its /run, queued; then a pass of admission over the swarm's `room`,
        which may admit it at once. A tenant's job that would wait while its queue holds
        `quota.queued` is refused (TooManyRuns: nothing written). A job with a record already
        (a retried /run's) is left as it is: admitted if it is not waiting."""
        at = nanos(now)
        record = FirstRecord.of(status, request, ttl, at, key, entry_row(entry, at))
        row = {**record.row, "status": QUEUED, "waiting": True}
        first = FirstRecord(
            row, record.labels, {**record.transition, "status": QUEUED}, record.audit
        )
        with self._connection.writing() as connection:
            _lock_admissions(connection)
            tenant = status.tenant
            queued, limit = 0, 0
            if tenant is not None:
                limit = _locked(connection, tenant).quota.queued  # gone: TenantNotFound
                queued = queued_count(connection, tenant)
            if not insert_first_records(connection, [first])[0]:
                was_waiting = connection.execute(
                    sa.select(jobs.c.waiting).where(jobs.c.id == row["id"])
                ).scalar()
                return Admission(admitted=not was_waiting, recorded_before=True)
            admitted = _admit(connection, room, now)
            mine = any(job.job_id == status.id for job in admitted)
            if tenant is not None and not mine and queued >= limit:
                raise TooManyRuns(QUEUE_FULL.format(tenant=tenant, queued=queued))
        others = [job for job in admitted if job.job_id != status.id]
        return Admission(admitted=mine, others=others)

    def admit(self, room: SwarmRoom, now: float) -> list[Admitted]:
        """Admit what of every queue fits now, in fair_share's order, over the swarm's `room`:
        those admitted (their services are then released)."""
        with self._connection.writing() as connection:
            _lock_admissions(connection)
            return _admit(connection, room, now)

    def anything_waiting(self) -> bool:
        """Whether any job is queued (its queue is looked at again when room frees)."""
        with self._connection.reading() as connection:
            query = sa.select(jobs.c.id).where(waiting()).limit(1)
            return connection.execute(query).first() is not None

    def place(self, job_id: str) -> QueuePlace | None:
        """Where a queued job stands in its tenant's queue and what holds it; None if it is not
        waiting (admitted meanwhile, or no such record)."""
        with self._connection.reading() as connection:
            job = connection.execute(
                sa.select(jobs.c.tenant, jobs.c.created_at, jobs.c.memory_mb, jobs.c.cpus).where(
                    jobs.c.id == job_id, waiting()
                )
            ).one_or_none()
            if job is None:
                return None
            ahead = connection.execute(
                sa.select(sa.func.count())
                .select_from(jobs)
                .where(
                    owned_by(job.tenant),
                    waiting(),
                    sa.tuple_(jobs.c.created_at, jobs.c.id)
                    < sa.tuple_(sa.literal(job.created_at), sa.literal(job_id)),
                )
            ).scalar_one()
            owner = _owner(connection, job.tenant)
            quota = TenantQuota() if owner is None else owner.quota
            held = live_footprint(connection, job.tenant)
        holds = Footprint(job.memory_mb or 0, job.cpus or 0.0)
        reason = waiting_reason(job.tenant or "", quota, held, holds)
        return QueuePlace(ahead + 1, reason or ROOM)


def _admit(connection: sa.Connection, room: SwarmRoom, now: float) -> list[Admitted]:
    """One pass of admission (or more, while one admits a tenant's whole lookahead), its
    admissions written."""
    admitted: list[Admitted] = []
    while True:
        queues = _queues(connection)
        if not queues:
            return admitted
        taken = admissions(queues, room, _unplaced(connection, room), now)
        if taken:
            connection.execute(
                jobs.update()
                .where(jobs.c.id.in_([job.id for job in taken]))
                .values(waiting=False, status=PENDING, updated_at=nanos(now))
            )
        admitted += [Admitted(job.id, job.tenant, job.created_at / NANO) for job in taken]
        taken_ids = {job.id for job in taken}
        if not any(
            len(queue.jobs) == ADMIT_BATCH and all(job.id in taken_ids for job in queue.jobs)
            for queue in queues
        ):
            return admitted


def _queues(connection: sa.Connection) -> list[TenantQueue]:
    """Each queue with a job waiting (the operator's among them), with its tenant's quota and
    weight, what its live jobs hold, and its first ADMIT_BATCH jobs; only its first when its
    quota holds that one (none passes it: the rest are not read)."""
    owners = connection.execute(sa.select(jobs.c.tenant).where(waiting()).distinct()).scalars()
    queues = []
    for owner in owners:
        tenant = _owner(connection, owner)
        if tenant is None:
            continue  # a tenant deleted with jobs queued: they wait for their /stop
        quota, weight = tenant.quota, tenant.weight
        live = live_footprint(connection, owner)
        queued = _queue_head(connection, owner, 1)
        if queued and not waiting_reason(owner or "", quota, live, queued[0].footprint):
            queued = _queue_head(connection, owner, ADMIT_BATCH)
        queues.append(TenantQueue(owner, quota, weight, live, queued))
    return queues


def _queue_head(connection: sa.Connection, owner: str | None, count: int) -> list[QueuedJob]:
    head = connection.execute(
        sa.select(jobs.c.id, jobs.c.created_at, jobs.c.request)
        .where(owned_by(owner), waiting())
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(count)
    ).all()
    return [QueuedJob.of_request(job_id, owner, at, request) for job_id, at, request in head]


def _unplaced(connection: sa.Connection, room: SwarmRoom) -> list[QueuedJob]:
    """The live jobs with no run on a node in `room`: admitted since it was read (or still
    starting); the room they will take is not shown taken yet."""
    ids = set(connection.execute(sa.select(jobs.c.id).where(live())).scalars()) - room.placed
    if not ids:
        return []
    rows = connection.execute(
        sa.select(jobs.c.id, jobs.c.tenant, jobs.c.created_at, jobs.c.request).where(
            jobs.c.id.in_(sorted(ids))
        )
    ).all()
    return [QueuedJob.of_request(*row) for row in rows]


def _owner(connection: sa.Connection, tenant: str | None) -> Tenant | None:
    """The owner of a queue as admission sees it: its tenant (None if it is gone), or for the
    operator's jobs (`tenant` None) a tenant of no quota and OPERATOR_WEIGHT."""
    if tenant is None:
        return Tenant("operator", weight=OPERATOR_WEIGHT)
    row = connection.execute(tenants.select().where(tenants.c.name == tenant)).first()
    return None if row is None else tenant_of(row)


def _lock_admissions(connection: sa.Connection) -> None:
    """Held until the transaction ends (SQLite: the writer holds the whole database already)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADMISSION_LOCK)))


def _locked(connection: sa.Connection, name: str) -> Tenant:
    """The tenant, its row locked until the transaction ends (SQLite: the writer holds the
    whole database already)."""
    row = connection.execute(
        tenants.select().where(tenants.c.name == name).with_for_update()
    ).first()
    if row is None:
        raise TenantNotFound(NO_TENANT)
    return tenant_of(row)
