"""What a tenant's jobs hold now, from their records: its live jobs' footprint and its queue
(both read on ix_jobs_unended). Read by admission (under its lock), usage and /tenants. The
operator's jobs (tenant None) are a queue of their own."""

import sqlalchemy as sa

from quartermaster.jobs.tenancy import Footprint
from quartermaster.store.schema import jobs


def live_footprint(connection: sa.Connection, tenant: str | None) -> Footprint:
    """What `tenant`'s live jobs (admitted, not ended) hold now."""
    count, memory, cpus = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(jobs.c.memory_mb), 0),
            sa.func.coalesce(sa.func.sum(jobs.c.cpus), 0.0),
        ).where(owned_by(tenant), jobs.c.finished_at.is_(None), sa.not_(jobs.c.waiting))
    ).one()
    return Footprint(int(memory), float(cpus), count)


def queued_count(connection: sa.Connection, tenant: str | None) -> int:
    """How many jobs of `tenant` wait."""
    query = sa.select(sa.func.count()).select_from(jobs).where(owned_by(tenant), waiting())
    return connection.execute(query).scalar_one()


def waiting() -> sa.ColumnElement[bool]:
    """Waiting records; `finished_at IS NULL` (always so while waiting) lets both databases
    read them from ix_jobs_unended, not the whole table."""
    return sa.and_(jobs.c.finished_at.is_(None), jobs.c.waiting)


def live() -> sa.ColumnElement[bool]:
    """Live records: admitted, not ended."""
    return sa.and_(jobs.c.finished_at.is_(None), sa.not_(jobs.c.waiting))


def owned_by(tenant: str | None) -> sa.ColumnElement[bool]:
    """The jobs of `tenant`; None: the operator's."""
    return jobs.c.tenant.is_(None) if tenant is None else jobs.c.tenant == tenant
