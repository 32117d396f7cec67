"""The audit trail in the store (jobs/audit.py): entries written in the transaction of the change
they record (`insert_entry`, called by the writers of records, tenants and keys), or alone for a
refusal; read newest first in keyset pages; kept AUDIT_TTL."""

from typing import Any

import sqlalchemy as sa

from quartermaster.jobs.audit import AuditEntry, AuditPage, AuditQuery, encode_cursor
from quartermaster.jobs.times import timestamp_of
from quartermaster.store.connection import StoreConnection
from quartermaster.store.rows import nanos
from quartermaster.store.schema import audit_entries

EXPIRY_BATCH = 1000  # entries deleted a transaction


def entry_row(entry: AuditEntry, at: int) -> dict[str, Any]:
    return {
        "at": at,
        "actor": entry.actor,
        "tenant": entry.tenant,
        "action": entry.action,
        "target": entry.target,
        "target_tenant": entry.target_tenant,
        "code": entry.code,
        "request_id": entry.request_id,
        "client": entry.client,
    }


def insert_entry(connection: sa.Connection, entry: AuditEntry, at: int) -> None:
    connection.execute(audit_entries.insert().values(**entry_row(entry, at)))


class AuditStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    def add(self, entry: AuditEntry, now: float) -> None:
        """An entry of its own: a refusal, which changes nothing else."""
        with self._connection.writing() as connection:
            insert_entry(connection, entry, nanos(now))

    def page(self, query: AuditQuery) -> AuditPage:
        """Entries newest first, `query.limit` of them, with the next page's cursor."""
        table = audit_entries
        conditions = []
        if query.tenant is not None:
            conditions.append(
                sa.or_(table.c.tenant == query.tenant, table.c.target_tenant == query.tenant)
            )
        if query.actor is not None:
            conditions.append(table.c.actor == query.actor)
        if query.action is not None:
            conditions.append(table.c.action == query.action)
        if query.target is not None:
            conditions.append(table.c.target == query.target)
        if query.since is not None:
            conditions.append(table.c.at >= nanos(query.since))
        if query.until is not None:
            conditions.append(table.c.at < nanos(query.until))
        if query.after is not None:
            conditions.append(sa.tuple_(table.c.at, table.c.id) < sa.tuple_(*query.after))
        statement = (
            sa.select(table)
            .where(*conditions)
            .order_by(table.c.at.desc(), table.c.id.desc())
            .limit(query.limit + 1)
        )
        with self._connection.reading() as connection:
            rows = connection.execute(statement).all()
        cursor = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            cursor = encode_cursor(rows[-1].at, rows[-1].id)
        return AuditPage([_entry(row) for row in rows], cursor)

    def delete_older_than(self, before: float) -> int:
        """Entries from before `before` (UNIX time), EXPIRY_BATCH a transaction; how many."""
        deleted = 0
        while True:
            with self._connection.writing() as connection:
                batch = (
                    sa.select(audit_entries.c.id)
                    .where(audit_entries.c.at < nanos(before))
                    .limit(EXPIRY_BATCH)
                )
                ids = list(connection.execute(batch).scalars())
                if ids:
                    connection.execute(audit_entries.delete().where(audit_entries.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < EXPIRY_BATCH:
                return deleted


def _entry(row: sa.Row) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=timestamp_of(row.at),
        actor=row.actor,
        tenant=row.tenant,
        action=row.action,
        target=row.target,
        target_tenant=row.target_tenant,
        code=row.code,
        request_id=row.request_id,
        client=row.client,
    )
