"""Schema migrations (Alembic, run from here: no alembic.ini), safe when processes start at once.

Every process that uses the store calls `upgrade` once before its first statement: at head, that
is one read and no lock. Otherwise one process migrates and the others wait for it: on
PostgreSQL under a transaction-scoped advisory lock, on SQLite under a lock file beside the
database (one host: SQLite is for one instance) and BEGIN IMMEDIATE. Lock and every migration are
one transaction: a migration failing half-way leaves nothing of itself.
"""

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from quartermaster.store.engine import make_engine, writer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 7_146_421_395_236_454_012  # pg_advisory_xact_lock's key for "migrating"
# A migrating process waits this long for another's migration on SQLite.
MIGRATION_WAIT_MS = 600_000
LOCK_FILE_POLL_SECONDS = 0.05  # how often a process waiting for the lock file tries again


class StoreRefused(RuntimeError):
    """The database cannot be used as a store here (e.g. SQLite on a filesystem without WAL)."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(url: str) -> list[str]:
    """Bring the database to the newest schema; the revisions this call applied (none when it
    was there already, or another process did it)."""
    address = sa.make_url(url)
    if address.get_backend_name() == "sqlite" and address.database not in (None, "", ":memory:"):
        Path(address.database).parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(address.database + ".migrate-lock"):
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
    head = ScriptDirectory.from_config(config).get_current_head()
    engine = make_engine(url, poolclass=sa.NullPool, busy_timeout_ms=MIGRATION_WAIT_MS)
    applied: list[str] = []
    try:
        if engine.dialect.name == "sqlite":
            _use_wal(engine)
        with engine.connect() as connection:
            if _revision(connection) == head:
                return applied
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            config.attributes["connection"] = connection
            config.attributes["applied"] = applied
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    return applied


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return MigrationContext.configure(connection).get_current_revision()


def _use_wal(engine: sa.Engine) -> None:
    """WAL is kept in the file: switched once, under the lock file (switching a new file from
    several processes at once can fail at once, busy timeout or not)."""
    with engine.connect() as connection:  # on the driver's connection: outside a transaction
        driver = connection.connection.driver_connection
        assert driver is not None
        mode = driver.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        raise StoreRefused(
            f"SQLite cannot use WAL here (journal_mode={mode}): put DATA_DIR on a local filesystem"
        )
