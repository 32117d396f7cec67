"""The record store's connections: one pool per process, opened on first use once the schema is
brought up to date (migrate.py; or found at the revision the master checked: schema_check.py), and
the database's failures as our errors.

A store away costs each caller no wait of its own: one caller opens the pool while the others wait
for that attempt's outcome, and after a failed attempt calls fail at once until the retry time.
"""

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from quartermaster.jobs.errors import (
    StoreError,
    StoreRefused,
    StoreSchemaMismatch,
    StoreUnavailable,
)
from quartermaster.store import schema_check, sqlite_file
from quartermaster.store.engine import make_engine, writer

log = logging.getLogger("quartermaster.store.records")  # the store's one logger, as before

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
# After a failed attempt to open the store, calls fail at once this long, doubled after each
# further failure up to the second figure: a store away costs each caller no wait of its own.
RETRY_AFTER_SECONDS = (1.0, 10.0)


class StoreConnection:
    """The pool of one process's store; opened on first use, after a failure again once
    RETRY_AFTER_SECONDS have passed."""

    def __init__(self, url: str):
        self.url = url
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()  # held for bookkeeping only, never while opening
        self._opening: threading.Event | None = None  # set when the attempt under way ends
        self._failure: StoreError | None = None  # the last attempt's, while retry_at is ahead
        self._failures = 0
        self._retry_at = 0.0

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        with reachable(), self.ready().begin() as connection:
            yield connection

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        with reachable(), writer(self.ready()).begin() as connection:
            yield connection

    def ready(self) -> sa.Engine:
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
            return self.ready()
        try:
            engine = self._open()
        except BaseException as error:
            self._attempt_ended(opening, error)
            raise
        self._attempt_ended(opening, engine)
        return engine

    def _open(self) -> sa.Engine:
        try:
            with reachable():
                if not self._at_checked_head():
                    # Alembic (10 MB) only in a process that has to migrate or compare.
                    from quartermaster.store import migrate

                    migrate.upgrade(self.url)
        except schema_check.SchemaMismatch as error:
            log.error("record store: %s", error)
            raise StoreSchemaMismatch(SCHEMA_MISMATCH) from error
        return pooled_engine(self.url)

    def _at_checked_head(self) -> bool:
        """The store is one the master checked (schema_check.py), still at that revision."""
        if not schema_check.was_checked(self.url):
            return False
        database = sqlite_file.database_file(self.url)
        if database is not None:
            sqlite_file.prepare(database)  # narrowed at each open, as migrate.upgrade does
        engine = make_engine(self.url, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                return schema_check.revision(connection) == schema_check.HEAD_REVISION
        finally:
            engine.dispose()

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


def pooled_engine(url: str) -> sa.Engine:
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
def reachable() -> Iterator[None]:
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
