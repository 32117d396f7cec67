"""Engines with what each database needs, and the store's one error for "not reachable".

SQLite: WAL (set once, by migrate.py), NORMAL sync (durable at each checkpoint, never corrupt),
a busy timeout, foreign keys (labels, timeline and log go with their job). A write transaction
takes the write lock at BEGIN (IMMEDIATE): one that read first would otherwise fail with
"database is locked" whatever the timeout, when another process wrote meanwhile. Reads begin
deferred and never wait for a writer. A write transaction is SQL only: a gevent worker that
yielded inside one would hold every other process's writes.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")
BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **options: Any) -> sa.Engine:
    # A statement's values (log chunks, requests) never in an error's text, nor in a log line.
    engine = sa.create_engine(url, hide_parameters=True, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine and pool, for write transactions: `with writer(engine).begin() as c`."""
    return engine.execution_options(write=True)


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 begins nothing itself: we do, below
        cursor = dbapi_connection.cursor()
        for pragma in (f"busy_timeout={busy_timeout_ms}", *SQLITE_PRAGMAS):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
