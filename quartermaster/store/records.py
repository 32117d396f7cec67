"""The record store: every job's record, its timeline and its kept log, in SQL.

The swarm says what is running; a record is what the store knows of a job, from its /run to its
`ttl` after it ended. Writers are the /run handler (the record's first version), /stop (its log
and `shutdown`) and the reaper (transitions, the final record and log, the service's removal,
expiry). Every write is one short transaction of SQL alone, whatever it waits for first.

`RecordStore` is the store's methods; around it: its connections and the database's failures as
our errors (connection.py), row mapping (rows.py), the pages of /jobs (pages.py) and kept logs
(kept_logs.py).
"""

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from quartermaster.jobs.audit import AuditEntry
from quartermaster.jobs.errors import JobLookupError, StoreRefused
from quartermaster.jobs.history import JobHistory, LogLine
from quartermaster.jobs.query import JobPage, JobQuery
from quartermaster.jobs.status import QUEUED, JobStatus
from quartermaster.jobs.times import NANO
from quartermaster.store.audit import entry_row, insert_entry
from quartermaster.store.connection import StoreConnection
from quartermaster.store.group_commit import GroupCommit
from quartermaster.store.kept_logs import chunks, log_chunks, within_log_budget
from quartermaster.store.pages import page_of
from quartermaster.store.rows import (
    FirstRecord,
    LiveRecord,
    StoreSize,
    add_transition,
    as_status,
    find,
    insert_first_records,
    insert_for,
    nanos,
    status_columns,
    timeline,
    unfinished,
)
from quartermaster.store.schema import job_log_chunks, jobs, store_hosts

HOSTS_SEEN_SECONDS = 600  # a host that used the store this recently is using it
# Expired records go a few at a time, each batch its own short write transaction: SQLite's write
# lock is the whole database's, and 100 records with a 1 MiB log each held it 0.3-1.9 s at once.
# Between batches the lock is left free for longer than a waiting writer's pause between tries
# (engine.LOCK_RETRY_SECONDS), so writers waiting for it get in.
EXPIRY_BATCH_RECORDS = 20
EXPIRY_BATCH_PAUSE_SECONDS = 0.02
# Ids in one `IN (...)` of live_of: well within SQLite's 32,766 bound parameters.
LIVE_OF_BATCH = 500


class RecordStore:
    """One per process; its pool is opened on first use, after the schema is brought up to date
    (see migrate.py); after a failure, again once connection.RETRY_AFTER_SECONDS have passed."""

    def __init__(self, url: str):
        self._connection = StoreConnection(url)
        # A value one record holds that the store refuses, or a constraint one breaks (its
        # Idempotency-Key's, taken by a racing job), is that record's caller's error alone.
        self._first_records = GroupCommit(
            self._add_first_records, alone_on=(StoreRefused, IntegrityError)
        )

    def close(self) -> None:
        self._connection.close()

    @property
    def connection(self) -> StoreConnection:
        """The process's pool, for the store's other tables (tenancy.py)."""
        return self._connection

    # -- writes --------------------------------------------------------------------------------

    def add(
        self,
        status: JobStatus,
        request: Mapping[str, Any],
        ttl: int,
        now: float,
        key: tuple[str, str] | None = None,
        entry: AuditEntry | None = None,
    ) -> bool:
        """The first record of a job, and the audit `entry` of the /run that made it, in one
        transaction; False if it has one already. `key`: the hashes of its Idempotency-Key and
        of its request. Written with those of the other jobs this process is adding at the same
        time, in one transaction (group_commit.py): it returns once that is committed."""
        at = nanos(now)
        audit_row = None if entry is None else entry_row(entry, at)
        return self._first_records.submit(FirstRecord.of(status, request, ttl, at, key, audit_row))

    def _add_first_records(self, records: Sequence[FirstRecord]) -> list[bool]:
        with self._connection.writing() as connection:
            return insert_first_records(connection, records)

    def observe(self, status: JobStatus, now: float, detail: str | None = None) -> bool:
        """The job's status as last seen, and a transition if its status or state changed;
        False when the job has no record, or its final record is written already."""
        at = nanos(now)
        with self._connection.writing() as connection:
            current = connection.execute(
                unfinished(
                    status.id, jobs.c.status, jobs.c.state, jobs.c.started_at, jobs.c.waiting
                )
            ).one_or_none()
            if current is None:
                return False
            if status.status == QUEUED and not current.waiting:
                return True  # admitted, its runs not yet released: not queued again
            columns = status_columns(status)
            if columns["started_at"] is None:
                columns["started_at"] = current.started_at  # kept once the run is over
            connection.execute(
                jobs.update().where(jobs.c.id == status.id).values(**columns, updated_at=at)
            )
            if (current.status, current.state) != (status.status, status.state):
                add_transition(connection, status.id, at, status, detail)
        return True

    def finish(
        self,
        status: JobStatus,
        lines: list[LogLine],
        truncated: bool,
        now: float,
        *,
        node_hostname: str | None = None,
        detail: str | None = None,
        entry: AuditEntry | None = None,
    ) -> bool:
        """The final record: the job's last status and its log, at once (all or nothing), with
        the audit `entry` of the /stop that ended it; False if it was written already (by
        another reaper, or /stop)."""
        at = nanos(now)
        log_chunks = list(chunks(status.id, lines))
        with self._connection.writing() as connection:
            current = connection.execute(
                unfinished(status.id, jobs.c.status, jobs.c.state, jobs.c.started_at, jobs.c.ttl)
            ).one_or_none()
            if current is None:
                return False
            columns = status_columns(status)
            columns["started_at"] = columns["started_at"] or current.started_at
            finished_at = columns["finished_at"] = columns["finished_at"] or at
            connection.execute(
                jobs.update()
                .where(jobs.c.id == status.id)
                .values(
                    **columns,
                    expires_at=finished_at + current.ttl * NANO,
                    node_hostname=node_hostname,
                    updated_at=at,
                    log_captured_at=at,
                    waiting=False,  # a queued job stopped: no longer waiting either
                    log_bytes=sum(len(line.line) for line in lines),
                    log_truncated=truncated,
                )
            )
            if log_chunks:
                connection.execute(job_log_chunks.insert(), log_chunks)
            if (current.status, current.state) != (status.status, status.state) or detail:
                add_transition(connection, status.id, finished_at, status, detail)
            if entry is not None:
                insert_entry(connection, entry, at)
        return True

    def service_removed(self, job_id: str, now: float) -> None:
        with self._connection.writing() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.service_removed_at.is_(None))
                .values(service_removed_at=nanos(now), updated_at=nanos(now))
            )

    def callback_settled(self, job_id: str, state: str, detail: str, now: float) -> None:
        """The outcome of the job's callback's latest attempt."""
        with self._connection.writing() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(callback_state=state, callback_detail=detail, callback_at=nanos(now))
            )

    def callback_outcome(self, job_id: str) -> tuple[str | None, str | None]:
        """(state, detail) of the job's callback as last settled."""
        query = sa.select(jobs.c.callback_state, jobs.c.callback_detail).where(jobs.c.id == job_id)
        with self._connection.reading() as connection:
            row = connection.execute(query).one_or_none()
        return (None, None) if row is None else (row.callback_state, row.callback_detail)

    def delete_expired(self, now: float, limit: int = 100) -> int:
        """Delete up to `limit` records whose ttl ran out, with their labels, timeline and log;
        how many. A record whose service the swarm still holds stays (a record gone before its
        service would be made again from it). In batches: see EXPIRY_BATCH_RECORDS."""
        deleted, more = self._delete_expired_batch(now, limit)
        while more and deleted < limit:
            time.sleep(EXPIRY_BATCH_PAUSE_SECONDS)
            batch, more = self._delete_expired_batch(now, limit - deleted)
            deleted += batch
        return deleted

    def _delete_expired_batch(self, now: float, limit: int) -> tuple[int, bool]:
        """One batch of delete_expired: how many it deleted, and whether more may be due."""
        wanted = min(limit, EXPIRY_BATCH_RECORDS)
        with self._connection.writing() as connection:
            expired = (
                sa.select(jobs.c.id, jobs.c.log_bytes)
                .where(jobs.c.expires_at <= nanos(now), jobs.c.service_removed_at.is_not(None))
                .limit(wanted)
            )
            rows = connection.execute(expired).all()
            ids = within_log_budget(rows)
            if ids:
                connection.execute(jobs.delete().where(jobs.c.id.in_(ids)))
        return len(ids), len(rows) == wanted or len(ids) < len(rows)

    def note_host(self, boot_id: str, hostname: str, now: float) -> list[str]:
        """This host uses the store; the hostnames of the others that did in the last
        HOSTS_SEEN_SECONDS (on SQLite, a warning: its locks do not cross hosts)."""
        at = nanos(now)
        recent = sa.select(store_hosts.c.hostname).where(
            store_hosts.c.boot_id != boot_id,
            store_hosts.c.seen_at >= at - HOSTS_SEEN_SECONDS * NANO,
        )
        with self._connection.writing() as connection:
            insert = insert_for(connection, store_hosts)
            connection.execute(
                insert.values(boot_id=boot_id, hostname=hostname, seen_at=at).on_conflict_do_update(
                    index_elements=[store_hosts.c.boot_id],
                    set_={"hostname": hostname, "seen_at": at},
                )
            )
            return list(connection.execute(recent).scalars())

    @property
    def embedded(self) -> bool:
        """The store is a SQLite file: for one host only."""
        return sa.make_url(self._connection.url).get_backend_name() == "sqlite"

    # -- reads ---------------------------------------------------------------------------------

    def page(self, query: JobQuery) -> JobPage:
        """A page of records, newest first, by the keyset (created_at, id): each filter walks an
        index already in that order, so a page costs the same whatever the history's size. Its
        rows are the status documents' columns only, never the request (up to megabytes)."""
        with self._connection.reading() as connection:
            return page_of(connection, query)

    def live(self) -> dict[str, LiveRecord]:
        """Every record whose job's service is not removed: as many as the swarm holds."""
        with self._connection.reading() as connection:
            return {row.id: LiveRecord(*row) for row in connection.execute(_live_records())}

    def live_of(self, job_ids: Collection[str]) -> dict[str, LiveRecord]:
        """The records of these jobs whose service is not removed: one indexed statement per
        LIVE_OF_BATCH ids."""
        found: dict[str, LiveRecord] = {}
        wanted = sorted(job_ids)
        with self._connection.reading() as connection:
            for start in range(0, len(wanted), LIVE_OF_BATCH):
                batch = wanted[start : start + LIVE_OF_BATCH]
                query = _live_records().where(jobs.c.id.in_(batch))
                found.update((row.id, LiveRecord(*row)) for row in connection.execute(query))
        return found

    def has_live_jobs_of(self, tenant: str) -> bool:
        """Whether a job of `tenant` is live as far as its record says: not ended, its service
        not removed."""
        with self._connection.reading() as connection:
            query = sa.select(jobs.c.id).where(
                jobs.c.tenant == tenant,
                jobs.c.finished_at.is_(None),
                jobs.c.service_removed_at.is_(None),
            )
            return connection.execute(query.limit(1)).first() is not None

    def size(self) -> StoreSize:
        """One statement, but a full scan of `jobs` on both databases (about 0.1 s at 100,000
        records on SQLite): its callers keep the answer a while (service/jobs.py)."""
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.log_bytes), 0))
        with self._connection.reading() as connection:
            records, log_bytes = connection.execute(query.select_from(jobs)).one()
        return StoreSize(records, int(log_bytes))

    def status(self, reference: str, tenant: str | None = None) -> JobStatus:
        """The recorded status of the job `reference` means among `tenant`'s (None: every
        job; rows.py's find): the job with that full id, else the newest job of that name or
        the one whose id starts with it (none: JobNotFound; both, or several by id:
        AmbiguousReference)."""
        with self._connection.reading() as connection:
            return as_status(find(connection, reference, tenant))

    def archived(self, reference: str, tenant: str | None = None) -> JobStatus | None:
        """The recorded status of the job `reference` means (as for status) when its service is
        gone: the record is then all there is of the job. None when the reference means no
        recorded job, several, or one whose service the swarm may still hold. One statement by
        a full id (two by a name or a prefix), on indexes."""
        with self._connection.reading() as connection:
            try:
                row = find(connection, reference, tenant)
            except JobLookupError:
                return None
        return as_status(row) if row.service_removed_at is not None else None

    def job_with_key(self, key_hash: str) -> tuple[str, str | None] | None:
        """The id of the job an Idempotency-Key (by its hash) made, and its request's hash."""
        query = sa.select(jobs.c.id, jobs.c.request_hash).where(jobs.c.idempotency_key == key_hash)
        with self._connection.reading() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (row.id, row.request_hash)

    def kept_log(self, job_id: str) -> list[tuple[int, bytes]]:
        """The kept log of the job with this full id, as (stream, data) runs in order (none if
        no log is kept): one statement. JobNotFound without a record of that id."""
        with self._connection.reading() as connection:
            return log_chunks(connection, job_id)

    def log_kept(self, job_id: str) -> bool:
        with self._connection.reading() as connection:
            captured = connection.execute(
                sa.select(jobs.c.log_captured_at).where(jobs.c.id == job_id)
            ).scalar()
        return captured is not None

    def history(self, reference: str, tenant: str | None = None) -> JobHistory:
        """The request and the timeline of the job `reference` means (as for status)."""
        with self._connection.reading() as connection:
            row = find(connection, reference, tenant)
            return JobHistory(row.id, row.tenant, row.request, timeline(connection, row.id))


def _live_records() -> sa.Select:
    """Records whose job's service is not removed, as LiveRecord's columns."""
    return sa.select(
        jobs.c.id,
        jobs.c.status,
        jobs.c.state,
        jobs.c.log_captured_at.is_not(None).label("finished"),
        jobs.c.waiting,
    ).where(jobs.c.service_removed_at.is_(None))
