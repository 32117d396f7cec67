"""What a tenant's jobs used (jobs/tenancy.py's Usage), summed from their records on indexes.

A window's run time is each run's part of it: from its start (its record's `started_at`) to its
end (`finished_at`, or now while it runs), cut to the window. Three index-backed statements: the
jobs made in the window (ix_jobs_tenant_created_at_id), the jobs that ended in it or after it
(ix_jobs_tenant_finished_at) and those still going (ix_jobs_unended); a job made before the window
but running into it is counted too.
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
            ended_after = jobs.c.finished_at > start
            running = jobs.c.finished_at.is_(None)
            runs = [
                *connection.execute(_runs(tenant, end, ended_after)).all(),
                *connection.execute(_runs(tenant, end, running)).all(),
            ]
            live = live_footprint(connection, tenant)
            queued = queued_count(connection, tenant)
        seconds = memory = cpus = 0.0
        for started_at, finished_at, memory_mb, job_cpus in runs:
            ran = max(0, min(finished_at or at, end, at) - max(started_at, start)) / NANO
            seconds += ran
            memory += ran * (memory_mb or 0)
            cpus += ran * (job_cpus or 0.0)
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


def _runs(tenant: str, end: int, which: sa.ColumnElement[bool]) -> sa.Select:
    """The runs of `tenant`'s jobs that started before `end` and are `which`."""
    return sa.select(jobs.c.started_at, jobs.c.finished_at, jobs.c.memory_mb, jobs.c.cpus).where(
        jobs.c.tenant == tenant, which, jobs.c.started_at.is_not(None), jobs.c.started_at < end
    )
