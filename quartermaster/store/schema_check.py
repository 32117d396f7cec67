"""Whether a process may use the record store without comparing its schema again: the part of
the schema check that needs no Alembic.

Comparing a database's tables with schema.py takes Alembic (migrate.py), which costs a process
10 MB. The master compares them once at start, in a child of its own (server/gunicorn_app.py), so
that Alembic stays out of the master and of every worker forked from it, and notes the store as
checked here. A process forked since only reads the database's revision: migrate.py's whole check
runs again when that is not HEAD_REVISION (another quartermaster migrated it since), or when
nobody checked this store (the master could not reach it at start; a script; a test).
"""

import sqlalchemy as sa

# The newest revision in migrations/ (tests/unit/test_store_schema_check.py holds them equal).
HEAD_REVISION = "0008"

_checked_at_head: set[str] = set()  # store URLs whose tables matched schema.py at HEAD_REVISION


class StoreRefused(RuntimeError):
    """The database cannot be used as a store here (e.g. SQLite on a filesystem without WAL)."""


class SchemaMismatch(StoreRefused):
    """The database's tables are not those schema.py declares, or its revision is unknown here."""


def note_checked(url: str) -> None:
    """The store at `url` was found at HEAD_REVISION with the tables schema.py declares."""
    _checked_at_head.add(url)


def was_checked(url: str) -> bool:
    return url in _checked_at_head


def revision(connection: sa.Connection) -> str | None:
    """The database's schema revision (None: no schema made yet)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
