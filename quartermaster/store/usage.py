"""What a tenant's jobs used (jobs/tenancy.py's Usage), summed from their records on indexes.

A window's run time is each run's part of it: from its start (its record's `started_at`) to its
end (`finished_at`, or now while it runs), cut to the window, summed by the database. Three
statements on indexes: the jobs made in the window (ix_jobs_tenant_created_at_id), the runs of the
jobs that ended in it or after it (from an index alone: tenant, finished_at, started_at, memory_mb,
cpus) and of those still going (ix_jobs_unended); a job made before the window but running into
it is counted too. What the tenant holds now is two more (store/holdings.py).
"""

import sqlalchemy as sa

from quartermaster.jobs.tenancy import Usage
from quartermaster.jobs.times import NANO
from quartermaster.store.connection import StoreConnection
from quartermaster.store.holdings import live_footprint, queued_count
from quartermaster.store.rows import nanos
from quartermaster.store.schema import jobs


class UsageStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    def usage(self, tenant: str, since: float, until: float, now: float) -> Usage:
        start, end, at = nanos(since), nanos(until), nanos(now)
        with self._connection.reading() as connection:
            by_status: dict[str, int] = dict(
                connection.execute(
                    sa.select(jobs.c.status, sa.func.count())
                    .where(jobs.c.tenant == tenant, jobs.c.created_at >= start,
                           jobs.c.created_at < end)
                    .group_by(jobs.c.status)
                ).all()
            )  # fmt: skip
            # Where the run ended: its end, or now while it runs; none after the window's end.
            until_now = min(end, at)
            sums = [
                connection.execute(_run_sums(tenant, start, until_now, which)).one()
                for which in (jobs.c.finished_at > start, jobs.c.finished_at.is_(None))
            ]
            live = live_footprint(connection, tenant)
            queued = queued_count(connection, tenant)
        seconds, memory, cpus = (sum(float(part[i] or 0) for part in sums) for i in range(3))
        return Usage(
            tenant=tenant,
            since=since,
            until=until,
            jobs={status: int(count) for status, count in sorted(by_status.items())},
            run_seconds=seconds,
            memory_mb_seconds=memory,
            cpu_seconds=cpus,
            live=live,
            queued=queued,
        )


def _run_sums(tenant: str, start: int, end: int, which: sa.ColumnElement[bool]) -> sa.Select:
    """The seconds the runs of `tenant`'s `which` jobs spent in [start, end), and those times
    their memory and cpus: summed by the database (the CASEs are both dialects' max and min), in
    seconds as floats (nanoseconds times MB would pass 64 bits)."""
    began = sa.case((jobs.c.started_at > start, jobs.c.started_at), else_=start)
    ended = sa.func.coalesce(jobs.c.finished_at, end)
    stopped = sa.case((ended < end, ended), else_=end)
    ran = sa.cast(sa.case((stopped > began, stopped - began), else_=0), sa.Float) / NANO
    return sa.select(
        sa.func.sum(ran),
        sa.func.sum(ran * sa.func.coalesce(jobs.c.memory_mb, 0)),
        sa.func.sum(ran * sa.func.coalesce(jobs.c.cpus, 0.0)),
    ).where(jobs.c.tenant == tenant, which, jobs.c.started_at.is_not(None), jobs.c.started_at < end)
