"""Schema migrations (Alembic, run from here: no alembic.ini), safe when processes start at once.

Every process that uses the store calls `upgrade` once before its first statement: at head, that
is a few reads and no lock. Otherwise one process migrates and the others wait for it: on
PostgreSQL under a transaction-scoped advisory lock (waited for as long as the connection's lock
timeout, engine.py: then `upgrade` fails, and its caller tries again later), on SQLite under a
lock file beside the database (one host: SQLite is for one instance) and BEGIN IMMEDIATE. Lock
and every migration are one transaction: a migration failing half-way leaves nothing of itself.

Then the database's tables are compared with schema.py's: a difference (a revision edited after
databases were made from it, say) is SchemaMismatch, which names each difference, instead of
statements failing one by one later. A released revision is never edited: add a new one.
"""

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from quartermaster.store import sqlite_file
from quartermaster.store.engine import make_engine, writer
from quartermaster.store.schema import metadata
from quartermaster.store.schema_check import (
    SchemaMismatch,
    StoreRefused,
    note_checked,
    revision,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 7_146_421_395_236_454_012  # pg_advisory_xact_lock's key for "migrating"
# A migrating process waits this long for another's migration on SQLite.
MIGRATION_WAIT_MS = 600_000
# PostgreSQL: a migration's statement may run this long once the lock is had (an index built
# over every record); the connection's own limits (engine.py) hold for everything else,
# waiting for another process's migration, or for a table's lock, included.
MIGRATION_STATEMENT_TIMEOUT_MS = 300_000
LOCK_FILE_POLL_SECONDS = 0.05  # how often a process waiting for the lock file tries again


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(url: str) -> list[str]:
    """Bring the database to the newest schema; the revisions this call applied (none when it
    was there already, or another process did it)."""
    database = sqlite_file.database_file(url)
    if database is not None:
        sqlite_file.prepare(database)  # owner-only, before SQLite makes it
        with _file_lock(database + ".migrate-lock"):
            return _upgrade(url)
    return _upgrade(url)


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """The lock file, waited for in time.sleep, never in flock: a gevent worker's first use of
    the store waits here, and its other greenlets run meanwhile (time.sleep is gevent's)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + MIGRATION_WAIT_MS / 1000
        while not _locked(descriptor):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{path} was held for {MIGRATION_WAIT_MS // 1000} s")
            time.sleep(LOCK_FILE_POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)


def _locked(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _upgrade(url: str) -> list[str]:
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    engine = make_engine(url, poolclass=sa.NullPool, busy_timeout_ms=MIGRATION_WAIT_MS)
    applied: list[str] = []
    try:
        if engine.dialect.name == "sqlite":
            _use_wal(engine)
        with engine.connect() as connection:
            current = revision(connection)
            _check_known(script, current)
            if current == head:
                _check_schema(connection, head)
                note_checked(url)
                return applied
        with writer(engine).connect() as connection:
            if connection.dialect.name == "sqlite":
                # Off before BEGIN (inside a transaction the pragma does nothing): a migration
                # that makes a table anew drops the old one, which would delete its children's
                # rows with it. Checked again below, before anything is committed.
                _driver(connection).execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                    )
                    connection.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {MIGRATION_STATEMENT_TIMEOUT_MS}"
                    )
                config.attributes["connection"] = connection
                config.attributes["applied"] = applied
                command.upgrade(config, "head")
                if connection.dialect.name == "sqlite":
                    _check_foreign_keys(connection)
                _check_schema(connection, head)  # a mismatch rolls the migrations back
        note_checked(url)
    finally:
        engine.dispose()
    return applied


def schema_differences(connection: sa.Connection) -> list[str]:
    """How the database's tables differ from those schema.py declares (none: they match).
    Tables of its own are all compared; any other table in the database is not ours."""
    context = MigrationContext.configure(connection, opts={"include_name": _is_ours})
    return [_difference(difference) for difference in compare_metadata(context, metadata)]


def _is_ours(name: str | None, kind: str, _parents: object) -> bool:
    return kind != "table" or name in metadata.tables


def _difference(difference: Any) -> str:
    """One of compare_metadata's differences, in words."""
    if isinstance(difference, list):  # one column's differences
        return "; ".join(_difference(part) for part in difference)
    kind, *details = difference
    change, _, item = kind.partition("_")
    if change == "modify":
        _schema, table, column, _existing, in_database, declared = details
        return f"{table}.{column}: {item} is {in_database} in the database, {declared} declared"
    if item == "column":
        _schema, table, column = details
        what = f"column {table}.{column.name}"
    else:
        what = f"{item} {_name_of(details[0])}"
    return f"{what} missing" if change == "add" else f"{what} not declared"


def _name_of(item: Any) -> str:
    name = getattr(item, "name", None)
    if name:
        return str(name)
    table = getattr(item, "table", None)
    columns = ", ".join(column.name for column in getattr(item, "columns", ()))
    return f"on {getattr(table, 'name', '?')} ({columns})"


def _check_schema(connection: sa.Connection, head: str | None) -> None:
    differences = schema_differences(connection)
    if differences:
        raise SchemaMismatch(
            f"the record store's tables differ from this quartermaster's (revision {head}): "
            + "; ".join(differences)
        )


def _check_known(script: ScriptDirectory, revision: str | None) -> None:
    known = {each.revision for each in script.walk_revisions()}
    if revision is not None and revision not in known:
        raise SchemaMismatch(
            f"the record store is at revision {revision}, which this quartermaster does not "
            f"have (it knows {', '.join(sorted(known))}): a newer quartermaster made it"
        )


def _check_foreign_keys(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise SchemaMismatch(f"a migration broke a foreign key of table {broken[0]}")


def _driver(connection: sa.Connection) -> Any:
    driver = connection.connection.driver_connection
    assert driver is not None
    return driver


def _use_wal(engine: sa.Engine) -> None:
    """WAL is kept in the file: switched once, under the lock file (switching a new file from
    several processes at once can fail at once, busy timeout or not)."""
    with engine.connect() as connection:  # on the driver's connection: outside a transaction
        mode = _driver(connection).execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        raise StoreRefused(
            f"SQLite cannot use WAL here (journal_mode={mode}): put DATA_DIR on a local filesystem"
        )
