"""The record store: every job's record, its timeline and its kept log, in SQL.

The swarm says what is running; a record is what the store knows of a job, from its /run to its
`ttl` after it ended. Writers are the /run handler (the record's first version), /stop (its log
and `shutdown`) and the reaper (transitions, the final record and log, the service's removal,
expiry). Every write is one short transaction of SQL alone, whatever it waits for first.
"""

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from quartermaster.jobs.errors import (
    AmbiguousReference,
    JobNotFound,
    StoreError,
    StoreRefused,
    StoreSchemaMismatch,
    StoreUnavailable,
)
from quartermaster.jobs.history import JobHistory, LogLine, Transition
from quartermaster.jobs.query import JobPage, JobQuery, encode_cursor, position_nanos
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.status import JobStatus
from quartermaster.jobs.times import NANO, nanos_of, timestamp_of
from quartermaster.store import migrate
from quartermaster.store.engine import make_engine, writer
from quartermaster.store.schema import (
    job_labels,
    job_log_chunks,
    job_transitions,
    jobs,
    store_hosts,
)

log = logging.getLogger(__name__)

NO_SUCH_JOB = "no such job"
AMBIGUOUS_REFERENCE = "more than one job matches this reference; use the job's full id"
UNREACHABLE = "the record store cannot be reached"
SCHEMA_MISMATCH = (
    "the record store's tables do not match this quartermaster's schema (the log names each "
    "difference)"
)
# An error of a statement naming a table or column the database does not have: PostgreSQL's
# undefined_table and undefined_column, SQLite's words.
UNDEFINED_NAME_STATES = ("42P01", "42703")
UNDEFINED_NAME = re.compile(r"no such (table|column)|table \S+ has no column named")
REFUSED = "the record store cannot hold a value it was given (text not UTF-8, a NUL, too long)"
CHUNK_BYTES = 64 * 1024  # a kept log is written in chunks of about this size, one stream each
MAX_NANOS = 2**63 - 1
# After a failed attempt to open the store, calls fail at once this long, doubled after each
# further failure up to the second figure: a store away costs each caller no wait of its own.
RETRY_AFTER_SECONDS = (1.0, 10.0)
HOSTS_SEEN_SECONDS = 600  # a host that used the store this recently is using it
# Expired records go a few at a time, each batch its own short write transaction: SQLite's write
# lock is the whole database's, and 100 records with a 1 MiB log each held it 0.3-1.9 s at once.
# Between batches the lock is left free for longer than a waiting writer's pause between tries
# (engine.LOCK_RETRY_SECONDS), so writers waiting for it get in.
EXPIRY_BATCH_RECORDS = 20
EXPIRY_BATCH_LOG_BYTES = 4 * 1024 * 1024  # kept logs a batch deletes at most (a larger one alone)
EXPIRY_BATCH_PAUSE_SECONDS = 0.02

# /jobs: a name prefix's jobs are counted up to this many to choose how to walk them, and the
# jobs of each kind of filter (when several are asked) up to COMPARED_ROWS, to choose the one
# whose index drives. (Counts that read the table too, as PostgreSQL's do until VACUUM has
# marked its pages all-visible: about 1 ms per 500 rows.)
PROBE_ROWS = 5000
COMPARED_ROWS = 500
# What a page of /jobs answers with (_as_status): never the request, which may be megabytes.
PAGE_COLUMNS = (
    jobs.c.id, jobs.c.name, jobs.c.image, jobs.c.type, jobs.c.status, jobs.c.state,
    jobs.c.exit_code, jobs.c.error, jobs.c.node_id, jobs.c.created_at, jobs.c.started_at,
    jobs.c.finished_at, jobs.c.completions, jobs.c.succeeded, jobs.c.failed, jobs.c.attempts,
)  # fmt: skip


@dataclass(frozen=True)
class LiveRecord:
    """What the reaper compares with the swarm: a record whose job's service is not removed."""

    id: str
    status: str
    state: str
    finished: bool  # its final record (status and log) is written


@dataclass(frozen=True)
class StoreSize:
    """What the store holds: its records, and the bytes of their kept logs."""

    records: int
    log_bytes: int


class RecordStore:
    """One per process; its pool is opened on first use, after the schema is brought up to date
    (see migrate.py); after a failure, again once RETRY_AFTER_SECONDS have passed."""

    def __init__(self, url: str):
        self._url = url
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()  # held for bookkeeping only, never while opening
        self._opening: threading.Event | None = None  # set when the attempt under way ends
        self._failure: StoreError | None = None  # the last attempt's, while retry_at is ahead
        self._failures = 0
        self._retry_at = 0.0

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # -- writes --------------------------------------------------------------------------------

    def add(
        self,
        status: JobStatus,
        request: Mapping[str, Any],
        ttl: int,
        now: float,
        key: tuple[str, str] | None = None,
    ) -> bool:
        """The first record of a job; False if it has one already. `key`: the hashes of its
        Idempotency-Key and of its request."""
        at = _nanos(now)
        row = {
            "idempotency_key": key[0] if key else None,
            "request_hash": key[1] if key else None,
            **_status_columns(status),
            "id": status.id,
            "name": status.name,
            "image": status.image,
            "type": status.type,
            "request": dict(request),
            "ttl": ttl,
            "updated_at": at,
            "log_bytes": 0,
            "log_truncated": False,
        }
        created_at = row["created_at"]
        with self._writing() as connection:
            if not _insert_new(connection, jobs, row):
                return False
            labels = request.get("labels") or {}
            if labels:
                connection.execute(
                    job_labels.insert(),
                    [
                        {"job_id": status.id, "key": k, "value": v, "created_at": created_at}
                        for k, v in labels.items()
                    ],
                )
            _add_transition(connection, status.id, created_at, status, "created")
        return True

    def observe(self, status: JobStatus, now: float, detail: str | None = None) -> bool:
        """The job's status as last seen, and a transition if its status or state changed;
        False when the job has no record, or its final record is written already."""
        at = _nanos(now)
        with self._writing() as connection:
            current = connection.execute(
                _unfinished(status.id, jobs.c.status, jobs.c.state, jobs.c.started_at)
            ).one_or_none()
            if current is None:
                return False
            columns = _status_columns(status)
            if columns["started_at"] is None:
                columns["started_at"] = current.started_at  # kept once the run is over
            connection.execute(
                jobs.update().where(jobs.c.id == status.id).values(**columns, updated_at=at)
            )
            if (current.status, current.state) != (status.status, status.state):
                _add_transition(connection, status.id, at, status, detail)
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
    ) -> bool:
        """The final record: the job's last status and its log, at once (all or nothing);
        False if it was written already (by another reaper, or /stop)."""
        at = _nanos(now)
        chunks = list(_chunks(status.id, lines))
        with self._writing() as connection:
            current = connection.execute(
                _unfinished(status.id, jobs.c.status, jobs.c.state, jobs.c.started_at, jobs.c.ttl)
            ).one_or_none()
            if current is None:
                return False
            columns = _status_columns(status)
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
                    log_bytes=sum(len(line.line) for line in lines),
                    log_truncated=truncated,
                )
            )
            if chunks:
                connection.execute(job_log_chunks.insert(), chunks)
            if (current.status, current.state) != (status.status, status.state) or detail:
                _add_transition(connection, status.id, finished_at, status, detail)
        return True

    def service_removed(self, job_id: str, now: float) -> None:
        with self._writing() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.service_removed_at.is_(None))
                .values(service_removed_at=_nanos(now), updated_at=_nanos(now))
            )

    def callback_settled(self, job_id: str, state: str, detail: str, now: float) -> None:
        """The outcome of the job's callback's latest attempt."""
        with self._writing() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(callback_state=state, callback_detail=detail, callback_at=_nanos(now))
            )

    def callback_outcome(self, job_id: str) -> tuple[str | None, str | None]:
        """(state, detail) of the job's callback as last settled."""
        query = sa.select(jobs.c.callback_state, jobs.c.callback_detail).where(jobs.c.id == job_id)
        with self._reading() as connection:
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
        with self._writing() as connection:
            expired = (
                sa.select(jobs.c.id, jobs.c.log_bytes)
                .where(jobs.c.expires_at <= _nanos(now), jobs.c.service_removed_at.is_not(None))
                .limit(wanted)
            )
            rows = connection.execute(expired).all()
            ids = _within_log_budget(rows)
            if ids:
                connection.execute(jobs.delete().where(jobs.c.id.in_(ids)))
        return len(ids), len(rows) == wanted or len(ids) < len(rows)

    def note_host(self, boot_id: str, hostname: str, now: float) -> list[str]:
        """This host uses the store; the hostnames of the others that did in the last
        HOSTS_SEEN_SECONDS (on SQLite, a warning: its locks do not cross hosts)."""
        at = _nanos(now)
        recent = sa.select(store_hosts.c.hostname).where(
            store_hosts.c.boot_id != boot_id,
            store_hosts.c.seen_at >= at - HOSTS_SEEN_SECONDS * NANO,
        )
        with self._writing() as connection:
            insert = _insert(connection, store_hosts)
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
        return sa.make_url(self._url).get_backend_name() == "sqlite"

    # -- reads ---------------------------------------------------------------------------------

    def page(self, query: JobQuery) -> JobPage:
        """A page of records, newest first, by the keyset (created_at, id): each filter walks an
        index already in that order, so a page costs the same whatever the history's size. Its
        rows are the status documents' columns only, never the request (up to megabytes)."""
        with self._reading() as connection:
            rows = _page_rows(connection, query)
        cursor = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            last = rows[-1]
            cursor = encode_cursor((timestamp_of(last.created_at).rstrip("Z"), last.id))
        return JobPage([_as_status(row) for row in rows], cursor)

    def live(self) -> dict[str, LiveRecord]:
        """Every record whose job's service is not removed: as many as the swarm holds."""
        query = sa.select(
            jobs.c.id,
            jobs.c.status,
            jobs.c.state,
            jobs.c.log_captured_at.is_not(None).label("finished"),
        ).where(jobs.c.service_removed_at.is_(None))
        with self._reading() as connection:
            return {row.id: LiveRecord(*row) for row in connection.execute(query)}

    def size(self) -> StoreSize:
        """One statement, but a full scan of `jobs` on both databases (about 0.1 s at 100,000
        records on SQLite): its callers keep the answer a while (service.py)."""
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.log_bytes), 0))
        with self._reading() as connection:
            records, log_bytes = connection.execute(query.select_from(jobs)).one()
        return StoreSize(records, int(log_bytes))

    def status(self, reference: str) -> JobStatus:
        """The recorded status of the job `reference` means: the job with that full id, else
        the newest job of that name or the one whose id starts with it (none: JobNotFound;
        both, or several by id: AmbiguousReference)."""
        with self._reading() as connection:
            return _as_status(_find(connection, reference))

    def job_with_key(self, key_hash: str) -> tuple[str, str | None] | None:
        """The id of the job an Idempotency-Key (by its hash) made, and its request's hash."""
        query = sa.select(jobs.c.id, jobs.c.request_hash).where(jobs.c.idempotency_key == key_hash)
        with self._reading() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (row.id, row.request_hash)

    def archived_log(self, reference: str) -> tuple[JobStatus, list[LogLine]]:
        """The job `reference` means (as for status) and its kept log (empty if none is kept), in
        order, read at once."""
        with self._reading() as connection:
            row = _find(connection, reference)
            return _as_status(row), _log_lines(connection, row.id)

    def log_kept(self, job_id: str) -> bool:
        with self._reading() as connection:
            captured = connection.execute(
                sa.select(jobs.c.log_captured_at).where(jobs.c.id == job_id)
            ).scalar()
        return captured is not None

    def history(self, reference: str) -> JobHistory:
        """The request and the timeline of the job `reference` means (as for status)."""
        with self._reading() as connection:
            row = _find(connection, reference)
            return JobHistory(row.id, row.request, _timeline(connection, row.id))

    # -- connections ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with _reachable(), self._ready().begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with _reachable(), writer(self._ready()).begin() as connection:
            yield connection

    def _ready(self) -> sa.Engine:
        """The pool. One caller opens it; callers meanwhile wait for that attempt's end (which
        every timeout bounds) and share its outcome; after a failure, calls fail at once until
        the retry time."""
        with self._lock:
            if self._engine is not None:
                return self._engine
            if self._failure is not None and time.monotonic() < self._retry_at:
                raise type(self._failure)(*self._failure.args)
            opening = self._opening
            if opening is None:
                opening = self._opening = threading.Event()
                opener = True
            else:
                opener = False
        if not opener:
            opening.wait()
            return self._ready()
        try:
            engine = self._open()
        except BaseException as error:
            self._attempt_ended(opening, error)
            raise
        self._attempt_ended(opening, engine)
        return engine

    def _open(self) -> sa.Engine:
        try:
            with _reachable():
                migrate.upgrade(self._url)
        except migrate.SchemaMismatch as error:
            log.error("record store: %s", error)
            raise StoreSchemaMismatch(SCHEMA_MISMATCH) from error
        return _pooled_engine(self._url)

    def _attempt_ended(self, opening: threading.Event, outcome: sa.Engine | BaseException) -> None:
        """The attempt's outcome kept, then the callers waiting for it let go on."""
        with self._lock:
            self._opening = None
            if isinstance(outcome, sa.Engine):
                self._engine, self._failure, self._failures = outcome, None, 0
            elif isinstance(outcome, StoreError):
                first, longest = RETRY_AFTER_SECONDS
                self._retry_at = time.monotonic() + min(first * 2**self._failures, longest)
                self._failures += 1
                self._failure = outcome
        opening.set()


def _within_log_budget(rows: Sequence[sa.Row]) -> list[str]:
    """The ids of the first rows whose kept logs add up to EXPIRY_BATCH_LOG_BYTES (one at least)."""
    ids: list[str] = []
    size = 0
    for row in rows:
        size += row.log_bytes
        if ids and size > EXPIRY_BATCH_LOG_BYTES:
            break
        ids.append(row.id)
    return ids


def _unfinished(job_id: str, *columns: sa.ColumnElement) -> sa.Select:
    """The job's record while its final record is not written, locked until the transaction
    ends: of reapers (or a /stop) writing one job at once, one writes, then the others see
    it written. (SQLite: the write transaction holds the whole database already.)"""
    return (
        sa.select(*columns)
        .where(jobs.c.id == job_id, jobs.c.log_captured_at.is_(None))
        .with_for_update()
    )


def _pooled_engine(url: str) -> sa.Engine:
    if sa.make_url(url).get_backend_name() == "postgresql":
        return make_engine(
            url,
            pool_size=5,
            max_overflow=10,
            pool_timeout=10,
            pool_pre_ping=True,  # a connection the server dropped (its restart) is replaced
        )
    return make_engine(url)


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """The database's own failures as StoreUnavailable (503), and a pool that had no connection
    free in time (its connections all held by writes waiting for SQLite's lock, or by slow
    queries); a statement naming a table or column the database lacks as StoreSchemaMismatch; a
    value it cannot hold as StoreRefused (400); a constraint broken by a racing writer is left to
    the caller."""
    try:
        yield
    except IntegrityError:
        raise
    except UnicodeEncodeError as error:  # raised by the driver itself, before the database
        log.warning("record store: a value is not %s: %s", error.encoding, error.reason)
        raise StoreRefused(REFUSED) from error
    except DBAPIError as error:
        if _names_something_undefined(error):
            log.error("record store: the schema does not match: %s", first_line(error))
            raise StoreSchemaMismatch(SCHEMA_MISMATCH) from error
        log.warning("record store: %s", first_line(error))
        if _refused_value(error):
            raise StoreRefused(REFUSED) from error
        raise StoreUnavailable(UNREACHABLE) from error
    except (OSError, PoolTimeout) as error:
        log.warning("record store: %s", first_line(error))
        raise StoreUnavailable(UNREACHABLE) from error


def _names_something_undefined(error: DBAPIError) -> bool:
    if getattr(error.orig, "sqlstate", None) in UNDEFINED_NAME_STATES:
        return True
    return error.orig is not None and UNDEFINED_NAME.match(str(error.orig)) is not None


def _refused_value(error: DBAPIError) -> bool:
    """A value the database cannot hold: SQL's data exceptions (class 22: a NUL in PostgreSQL's
    text...) and PostgreSQL's program limits (class 54: an index row over its size...)."""
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return isinstance(error, DataError) or sqlstate.startswith(("22", "54"))


def first_line(error: BaseException) -> str:
    """The database's own message of an error, first line only (never a statement's values)."""
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__


def _insert(connection: sa.Connection, table: sa.Table) -> Any:
    """The database's own INSERT, which has ON CONFLICT (both dialects spell it alike)."""
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def _insert_new(connection: sa.Connection, table: sa.Table, row: dict) -> bool:
    """Insert `row` unless its primary key is taken; whether it was inserted."""
    key = next(iter(table.primary_key))
    # RETURNING, not rowcount: psycopg gives no row count for INSERT ... ON CONFLICT here.
    insert = _insert(connection, table).values(row).on_conflict_do_nothing().returning(key)
    inserted = connection.execute(insert)
    return inserted.first() is not None


def _add_transition(
    connection: sa.Connection, job_id: str, at: int, status: JobStatus, detail: str | None
) -> None:
    last = connection.execute(
        sa.select(sa.func.max(job_transitions.c.seq)).where(job_transitions.c.job_id == job_id)
    ).scalar()
    connection.execute(
        job_transitions.insert().values(
            job_id=job_id,
            seq=0 if last is None else last + 1,
            at=at,
            status=status.status,
            state=status.state,
            detail=detail,
        )
    )


def _status_columns(status: JobStatus) -> dict[str, Any]:
    return {
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
        "started_at": _nanos_or_none(status.started_at),
        "finished_at": _nanos_or_none(status.finished_at),
    }


def _as_status(row: sa.Row) -> JobStatus:
    return JobStatus(
        id=row.id,
        name=row.name,
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
    )


def _log_lines(connection: sa.Connection, job_id: str) -> list[LogLine]:
    query = (
        sa.select(job_log_chunks.c.stream, job_log_chunks.c.data)
        .where(job_log_chunks.c.job_id == job_id)
        .order_by(job_log_chunks.c.seq)
    )
    return [
        LogLine(row.stream, nanos_of(line.partition(b" ")[0].decode("ascii")), line)
        for row in connection.execute(query)
        for line in row.data.splitlines(keepends=True)
    ]


def _page_rows(connection: sa.Connection, query: JobQuery) -> Sequence[sa.Row]:
    """The page's rows and one more (there is a next page when it comes back), walked in page
    order on the index of one filter: of labels, statuses and a name prefix, the one with the
    fewest jobs (each counted up to COMPARED_ROWS on its own index) when several are asked; the
    others are tests of each row that walk gives."""
    labels = list(query.labels.items())
    several = sum(map(bool, (labels, query.statuses, query.name))) > 1
    counts: dict[str, int] = {}
    if len(labels) > 1 or (labels and several):
        jobs_by_label = {
            label: _count(connection, *_label_is(job_labels, *label), up_to=COMPARED_ROWS)
            for label in labels
        }
        labels.sort(key=jobs_by_label.__getitem__)
        counts["labels"] = jobs_by_label[labels[0]]
    if query.statuses and several:
        counts["statuses"] = _count(
            connection, jobs.c.status.in_(query.statuses), up_to=COMPARED_ROWS
        )
    named = 0
    if query.name:
        named = _count(connection, *_name_range(query.name), up_to=PROBE_ROWS)
        if named < PROBE_ROWS:  # many: walked in page order, never better than another's index
            counts["name"] = min(named, COMPARED_ROWS)
    # The fewest; on a tie, the first of labels, statuses, name (exact, then merged, then sorted).
    driver = min(counts, key=counts.__getitem__) if counts else None
    if driver == "labels" or (driver is None and labels):
        return connection.execute(_labelled_page(query, labels)).all()
    if driver == "statuses" or (driver is None and query.statuses):
        return connection.execute(_status_page(query, connection.dialect.name)).all()
    if query.name:
        return _named_page(connection, query, named)
    return connection.execute(_ordered(_filtered(_page_select(), query), query)).all()


def _count(connection: sa.Connection, *conditions: sa.ColumnElement, up_to: int) -> int:
    """How many rows meet the conditions, counted up to `up_to` (on an index)."""
    rows = sa.select(sa.literal(1)).where(*conditions).limit(up_to)
    return connection.execute(sa.select(sa.func.count()).select_from(rows.subquery())).scalar_one()


def _page_select() -> sa.Select:
    return sa.select(*PAGE_COLUMNS)


def _filtered(
    statement: sa.Select,
    query: JobQuery,
    created_at: sa.ColumnElement = jobs.c.created_at,
    job_id: sa.ColumnElement = jobs.c.id,
    *,
    labels: Sequence[tuple[str, str]] = (),
    statuses: bool = False,
    name: bool = False,
) -> sa.Select:
    """The query's filters on the rows an index walk gives: the time and position ones always;
    the labels given, and statuses and name when asked (when no index of theirs drives)."""
    for key, value in labels:
        label = job_labels.alias()
        statement = statement.where(
            sa.exists().where(label.c.job_id == job_id, *_label_is(label, key, value))
        )
    if statuses and query.statuses:
        # A live job's recorded status may be behind the swarm's: live jobs are all read, and
        # the service keeps those whose status as the swarm has it now matches.
        statement = statement.where(
            sa.or_(jobs.c.status.in_(query.statuses), jobs.c.log_captured_at.is_(None))
        )
    if name and query.name:
        statement = statement.where(_name_starts(query.name))
    if query.image:
        statement = statement.where(jobs.c.image == query.image)
    if query.created_after is not None:
        statement = statement.where(created_at > _nanos(query.created_after))
    if query.finished_before is not None:
        before = _nanos(query.finished_before)
        # A job finishes after it is created: the walk can start at `before`.
        statement = statement.where(jobs.c.finished_at < before, created_at < before)
    if query.after is not None:
        time, after_id = query.after
        position = sa.tuple_(created_at, job_id) < sa.tuple_(position_nanos(time), after_id)
        statement = statement.where(position)
    return statement


def _ordered(
    statement: sa.Select,
    query: JobQuery,
    created_at: sa.ColumnElement = jobs.c.created_at,
    job_id: sa.ColumnElement = jobs.c.id,
) -> sa.Select:
    return statement.order_by(created_at.desc(), job_id.desc()).limit(query.limit + 1)


def _label_is(table: sa.FromClause, key: str, value: str) -> tuple[sa.ColumnElement, ...]:
    return table.c.key == key, table.c.value == value


def _name_range(prefix: str) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    # Names are ASCII: those starting with the prefix sort between it and it + DEL.
    return jobs.c.name >= prefix, jobs.c.name < prefix + "\x7f"


def _name_starts(prefix: str) -> sa.ColumnElement:
    """The name prefix as a test of each row, not a range of the name index (which a planner
    could take to drive, and then sort what it read)."""
    return sa.func.substr(jobs.c.name, 1, len(prefix)) == prefix


def _labelled_page(query: JobQuery, labels: list[tuple[str, str]]) -> sa.Select:
    """The first label's index drives (in page order: its rows copy the job's creation time);
    the other labels are probes of their job's own."""
    (first_key, first_value), *others = labels
    driver = job_labels.alias("l0")
    statement = (
        _page_select()
        .select_from(driver.join(jobs, jobs.c.id == driver.c.job_id))
        .where(*_label_is(driver, first_key, first_value))
    )
    created_at, job_id = driver.c.created_at, driver.c.job_id
    statement = _filtered(
        statement, query, created_at, job_id, labels=others, statuses=True, name=True
    )
    return _ordered(statement, query, created_at, job_id)


def _named_page(connection: sa.Connection, query: JobQuery, matches: int) -> Sequence[sa.Row]:
    """No index has the jobs of a name prefix in page order: the name index has them by name.
    Few (`matches`, counted on that index, under PROBE_ROWS): their positions come from it,
    sorted here, and the page's rows by id. Many: the walk in page order meets them soon
    enough, when they are spread in time (of 100,000 jobs, 5,000 match: a page of 100 reads
    about 2,000 rows; a prefix whose many jobs are all older than many others is read past
    those)."""
    prefix = query.name or ""
    labels = list(query.labels.items())
    if matches >= PROBE_ROWS:
        walk = _filtered(_page_select(), query, labels=labels, statuses=True, name=True)
        return connection.execute(_ordered(walk, query)).all()
    positions = _filtered(
        sa.select(jobs.c.created_at, jobs.c.id).where(*_name_range(prefix)),
        query,
        labels=labels,
        statuses=True,
    )
    found = ((row.created_at, row.id) for row in connection.execute(positions))
    newest = sorted(found, reverse=True)[: query.limit + 1]
    if not newest:
        return []
    wanted = [job_id for _, job_id in newest]
    rows = {row.id: row for row in connection.execute(_page_select().where(jobs.c.id.in_(wanted)))}
    return [rows[job_id] for job_id in wanted]


def _status_page(query: JobQuery, dialect: str) -> sa.Select:
    """Each status's own index, and the unfinished jobs' (whatever their recorded status: see
    _filtered), merged in page order: disjoint walks, each stopped once the page is full."""
    statuses = sorted(set(query.statuses))
    labels = list(query.labels.items())
    walks = [
        _filtered(_page_select().where(jobs.c.status == status), query, labels=labels, name=True)
        for status in statuses
    ]
    unfinished = _page_select().where(
        jobs.c.log_captured_at.is_(None), jobs.c.status.not_in(statuses)
    )
    walks.append(_filtered(unfinished, query, labels=labels, name=True))
    if dialect == "postgresql":
        # It merges ordered walks of a union's members only when each is a query of its own
        # (SQLite, only when none is: it would sort each again).
        walks = [sa.select(_ordered(walk, query).subquery()) for walk in walks]
    merged = sa.union_all(*walks).subquery("page")
    return _ordered(sa.select(merged), query, merged.c.created_at, merged.c.id)


def _find(connection: sa.Connection, reference: str) -> sa.Row:
    if is_full_id(reference):
        row = connection.execute(sa.select(jobs).where(jobs.c.id == reference)).one_or_none()
        if row is None:
            raise JobNotFound(NO_SUCH_JOB)
        return row
    newest_named = (
        sa.select(jobs)
        .where(jobs.c.name == reference)
        .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        .limit(1)
    )
    # Ids are lower-case letters and digits: "{" sorts after all of them.
    by_prefix = sa.select(jobs).where(jobs.c.id >= reference, jobs.c.id < reference + "{").limit(2)
    candidates = {row.id: row for row in connection.execute(newest_named)}
    candidates.update((row.id, row) for row in connection.execute(by_prefix))
    if not candidates:
        raise JobNotFound(NO_SUCH_JOB)
    if len(candidates) > 1:
        raise AmbiguousReference(AMBIGUOUS_REFERENCE)
    (row,) = candidates.values()
    return row


def _timeline(connection: sa.Connection, job_id: str) -> list[Transition]:
    query = (
        sa.select(job_transitions)
        .where(job_transitions.c.job_id == job_id)
        .order_by(job_transitions.c.seq)
    )
    return [
        Transition(timestamp_of(row.at), row.status, row.state, row.detail)
        for row in connection.execute(query)
    ]


def _chunks(job_id: str, lines: list[LogLine]) -> Iterator[dict]:
    """The rows of a kept log: runs of one stream's lines, each up to about CHUNK_BYTES."""
    run: list[LogLine] = []
    seq = size = 0
    for line in lines:
        if run and (line.stream != run[0].stream or size >= CHUNK_BYTES):
            yield _chunk(job_id, seq, run)
            run, seq, size = [], seq + 1, 0
        run.append(line)
        size += len(line.line)
    if run:
        yield _chunk(job_id, seq, run)


def _chunk(job_id: str, seq: int, run: list[LogLine]) -> dict:
    data = b"".join(line.line if line.line.endswith(b"\n") else line.line + b"\n" for line in run)
    return {
        "job_id": job_id,
        "seq": seq,
        "stream": run[0].stream,
        "first_at": run[0].at,
        "last_at": run[-1].at,
        "data": data,
    }


def _nanos(seconds: float) -> int:
    """Nanoseconds, within a BIGINT (up to the year 2262: a later time of a query is as late)."""
    return min(round(seconds * NANO), MAX_NANOS)


def _nanos_or_none(timestamp: str | None) -> int | None:
    return None if timestamp is None else nanos_of(timestamp)
