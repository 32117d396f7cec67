"""The limits every PostgreSQL connection of the store has, on the lab's PostgreSQL: a statement
and a lock wait are cut short by the server, the migration's wait for another's advisory lock
too (before these limits it waited for ever, under the store's lock, in the gunicorn master)."""

import time

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from quartermaster.store import RecordStore, migrate
from quartermaster.store.engine import LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, make_engine
from support.postgres import libpq_url


def settings_of(url: str) -> tuple[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            statement = connection.exec_driver_sql("SHOW statement_timeout").scalar()
            lock = connection.exec_driver_sql("SHOW lock_timeout").scalar()
    finally:
        engine.dispose()
    return statement, lock


def test_every_connection_has_a_statement_and_a_lock_timeout(postgres_url):
    assert settings_of(postgres_url) == ("10s", "10s")
    # DATABASE_URL's own settings win.
    assert settings_of(postgres_url + "?options=-c%20lock_timeout%3D500") == ("10s", "500ms")


def test_a_migration_waiting_for_anothers_lock_gives_up_within_the_lock_timeout(postgres_url):
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (migrate.LOCK_KEY,))  # "migrating"
        started = time.monotonic()
        # Cut at 10 s by lock_timeout or statement_timeout, whichever the server sees first.
        with pytest.raises(OperationalError, match="timeout"):
            migrate.upgrade(postgres_url)
        took = time.monotonic() - started
    limit = min(LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS) / 1000
    assert limit <= took < limit + 5
    # Once the other process is done, the store is brought up to date as usual.
    store = RecordStore(postgres_url)
    try:
        assert store.live() == {}
    finally:
        store.close()
