"""What a tenant's jobs hold now, from their records: its live jobs' footprint and its queue
(both read on ix_jobs_unended). Read by admission (under the tenant's lock), usage and /tenants."""

import sqlalchemy as sa

from quartermaster.jobs.tenancy import Footprint
from quartermaster.store.schema import jobs


def live_footprint(connection: sa.Connection, tenant: str) -> Footprint:
    """What `tenant`'s live jobs (admitted, not ended) hold now."""
    count, memory, cpus = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(jobs.c.memory_mb), 0),
            sa.func.coalesce(sa.func.sum(jobs.c.cpus), 0.0),
        ).where(jobs.c.tenant == tenant, jobs.c.finished_at.is_(None), sa.not_(jobs.c.waiting))
    ).one()
    return Footprint(int(memory), float(cpus), count)


def queued_count(connection: sa.Connection, tenant: str) -> int:
    """How many jobs of `tenant` wait."""
    query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.tenant == tenant, waiting())
    return connection.execute(query).scalar_one()


def waiting() -> sa.ColumnElement[bool]:
    """Waiting records; `finished_at IS NULL` (always so while waiting) lets both databases
    read them from ix_jobs_unended, not the whole table."""
    return sa.and_(jobs.c.finished_at.is_(None), jobs.c.waiting)
