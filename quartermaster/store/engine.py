"""Engines with what each database needs, and the store's one error for "not reachable".

SQLite: WAL (set once, by migrate.py), NORMAL sync (durable at each checkpoint, never corrupt),
a busy timeout, foreign keys (labels, timeline and log go with their job). A write transaction
takes the write lock at BEGIN (IMMEDIATE): one that read first would otherwise fail with
"database is locked" whatever the timeout, when another process wrote meanwhile. Reads begin
deferred and never wait for a writer. A write transaction is SQL only: a gevent worker that
yielded inside one would hold every other process's writes.

A write waiting for the lock waits in Python, not in SQLite: SQLite's busy timeout sleeps inside
C, where a gevent worker's other greenlets (/healthz, follows, waits) would all stand still
behind another process's write. So BEGIN IMMEDIATE is tried with no busy timeout, and tried
again after a short time.sleep (gevent's, in a patched process) until the busy timeout is spent.
The sleeps all come before the lock is taken: once BEGIN IMMEDIATE succeeds the transaction runs
to its end without a switch. Waiting is all that could take long; the statements themselves stay
short (the reaper deletes expired records in batches). This rather than running SQLite calls in
gevent's thread pool: there SQLAlchemy's connection pool and logging would take gevent's patched
locks from native threads, which gevent supports only as best it can; here every object stays in
its worker's one thread, and a process without gevent (the reaper) waits the same way.

PostgreSQL: every connection has its limits (POSTGRESQL_LIMITS, below): to open, for a statement
to run, for a lock to be had, and for a silent peer to be found out. Without them one call to a
server that accepts and never answers waits for ever, and every later one behind it.
"""

import itertools
import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")
BUSY_TIMEOUT_MS = 5000
# A write finding the lock taken tries again after these pauses, then every last one.
LOCK_RETRY_SECONDS = (0.001, 0.002, 0.005, 0.01)
# libpq's parameters for every PostgreSQL connection; a parameter of DATABASE_URL's own
# (?connect_timeout=10, ?options=-c statement_timeout=30000) wins over its figure here.
STATEMENT_TIMEOUT_MS = 10_000
LOCK_TIMEOUT_MS = 10_000
POSTGRESQL_LIMITS: dict[str, Any] = {
    "connect_timeout": 3,  # seconds to open (psycopg's own wait, so a silent listener too)
    "keepalives": 1,  # a peer gone silent is found out in about 5 + 3 * 2 s of quiet
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms that sent data may stay unacknowledged
}
POSTGRESQL_SETTINGS = (
    f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS} "
    # psycopg prepares a statement run 5 times, and PostgreSQL then plans it once for any
    # values: a label filter's plan for any label walks common labels' rows (two labels at
    # 100,000 records: 20 ms, against 2 planned for their values).
    "-c plan_cache_mode=force_custom_plan "
    # Each statement reads a page's rows along an index: a parallel worker only adds its start
    # (a label and status page: 13 ms of 18, measured).
    "-c max_parallel_workers_per_gather=0"
)


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **options: Any) -> sa.Engine:
    if sa.make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = _postgresql_connect_args(url, options.get("connect_args", {}))
    # A statement's values (log chunks, requests) never in an error's text, nor in a log line.
    engine = sa.create_engine(url, hide_parameters=True, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _postgresql_connect_args(url: str, connect_args: dict[str, Any]) -> dict[str, Any]:
    """POSTGRESQL_LIMITS and POSTGRESQL_SETTINGS, under the URL's own parameters and the
    caller's."""
    given = {**sa.make_url(url).query, **connect_args}
    limits = {key: value for key, value in POSTGRESQL_LIMITS.items() if key not in given}
    options = f"{POSTGRESQL_SETTINGS} {given.get('options', '')}".strip()  # the last -c wins
    return {**connect_args, **limits, "options": options}


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine and pool, for write transactions: `with writer(engine).begin() as c`."""
    return engine.execution_options(write=True)


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 begins nothing itself: we do, below
        cursor = dbapi_connection.cursor()
        # Kept for reads, which in WAL wait only for a crashed process's recovery, briefly.
        for pragma in (f"busy_timeout={busy_timeout_ms}", *SQLITE_PRAGMAS):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get("write", False):
            _begin_immediate(connection, busy_timeout_ms)
        else:
            connection.exec_driver_sql("BEGIN")


def _begin_immediate(connection: sa.Connection, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock up to busy_timeout_ms, never inside SQLite."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    pauses = itertools.chain(LOCK_RETRY_SECONDS, itertools.repeat(LOCK_RETRY_SECONDS[-1]))
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as error:
                if not _busy(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(min(next(pauses), max(deadline - time.monotonic(), 0)))
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout_ms}")


def _busy(error: sa.exc.OperationalError) -> bool:
    return getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
