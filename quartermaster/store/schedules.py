"""Templates' schedules in the store: which is due, a tick taken once, what became of it.

A template with a schedule keeps its next tick not yet taken (`next_tick`; null while paused).
A scheduler takes a due tick by moving `next_tick` on from the value it read, and records the
tick (and the ticks it missed) in the same transaction: two schedulers that read the same tick
cannot both move it, and the tick's row, keyed by (owner, template, tick), cannot be written
twice. So a tick is taken once, whichever instance or worker is first, by construction.
"""

from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from quartermaster.jobs.schedules import Schedule
from quartermaster.jobs.ticks import FIRING
from quartermaster.store.connection import StoreConnection
from quartermaster.store.rows import insert_for, owner_key
from quartermaster.store.schema import jobs, template_ticks, templates


@dataclass(frozen=True)
class DueSchedule:
    """A template whose next tick is due: its owner (None: the operator), name and schedule."""

    tenant: str | None
    name: str
    schedule: Schedule
    tick: int  # nanoseconds, UTC: the next tick not yet taken


@dataclass(frozen=True)
class TickRow:
    """A tick as recorded: what became of it (jobs/ticks.py's TICK_OUTCOMES, or FIRING)."""

    tick: int
    outcome: str
    job_id: str | None = None
    reason: str | None = None


class TakenTick(NamedTuple):
    tenant: str | None
    name: str
    tick: int


@dataclass(frozen=True)
class TickRecord:
    """A recorded tick with its job's status as last recorded (None: no job, or no record)."""

    tick: int  # nanoseconds, UTC
    outcome: str
    job_id: str | None
    reason: str | None
    job_status: str | None


class ScheduleStore:
    def __init__(self, connection: StoreConnection):
        self._connection = connection

    def next_due_at(self) -> int | None:
        """The earliest next tick of any schedule not paused (nanoseconds), from its index."""
        with self._connection.reading() as connection:
            return connection.execute(sa.select(sa.func.min(templates.c.next_tick))).scalar()

    def due(self, now: int, limit: int) -> list[DueSchedule]:
        """The schedules whose next tick is at or before `now`, the most overdue first."""
        with self._connection.reading() as connection:
            rows = connection.execute(
                sa.select(templates.c.owner, templates.c.name, templates.c.schedule)
                .add_columns(templates.c.next_tick)
                .where(templates.c.next_tick <= now)
                .order_by(templates.c.next_tick)
                .limit(limit)
            ).all()
        return [
            DueSchedule(row.owner or None, row.name, Schedule(**row.schedule), row.next_tick)
            for row in rows
        ]

    def live_jobs(self, tenant: str | None, name: str, tick: int) -> list[str]:
        """The ids of the template's jobs whose record is not final (queued, pending, running,
        or ended and not recorded so yet: the caller asks the swarm), but for the jobs of
        `tick` and of the ticks after it: a tick's overlap is with the jobs before it."""
        owned = jobs.c.tenant.is_(None) if tenant is None else jobs.c.tenant == tenant
        before = sa.or_(jobs.c.scheduled_for.is_(None), jobs.c.scheduled_for < tick)
        with self._connection.reading() as connection:
            rows = connection.execute(
                sa.select(jobs.c.id).where(
                    jobs.c.template == name, owned, jobs.c.finished_at.is_(None), before
                )
            ).all()
        return [row.id for row in rows]

    def take(
        self, due: DueSchedule, next_tick: int | None, ticks: list[TickRow], now: int
    ) -> set[int]:
        """Take the due tick: move the schedule's next tick on to `next_tick` and record `ticks`
        (the taken one among them), if no other scheduler did first: the ticks recorded now
        (none if another scheduler took it; a tick recorded before stays as it was)."""
        rows = [
            {
                "owner": owner_key(due.tenant),
                "template": due.name,
                "tick": tick.tick,
                "outcome": tick.outcome,
                "job_id": tick.job_id,
                "reason": tick.reason,
                "recorded_at": now,
            }
            for tick in ticks
        ]
        with self._connection.writing() as connection:
            moved = connection.execute(
                templates.update()
                .where(
                    templates.c.owner == owner_key(due.tenant),
                    templates.c.name == due.name,
                    templates.c.next_tick == due.tick,
                )
                .values(next_tick=next_tick)
            ).rowcount
            if moved != 1 or not rows:
                return set()
            # RETURNING, not rowcount: psycopg gives no row count for INSERT ... ON CONFLICT.
            insert = insert_for(connection, template_ticks).on_conflict_do_nothing()
            return set(connection.execute(insert.returning(template_ticks.c.tick), rows).scalars())

    def settle(self, tenant: str | None, name: str, tick: TickRow, now: int) -> None:
        """What became of a tick taken as FIRING (its job, or why none started)."""
        with self._connection.writing() as connection:
            connection.execute(
                template_ticks.update()
                .where(
                    template_ticks.c.owner == owner_key(tenant),
                    template_ticks.c.template == name,
                    template_ticks.c.tick == tick.tick,
                )
                .values(
                    outcome=tick.outcome, job_id=tick.job_id, reason=tick.reason, recorded_at=now
                )
            )

    def unsettled(self, taken_before: int, limit: int) -> list[TakenTick]:
        """Ticks taken before `taken_before` and still FIRING: their scheduler stopped between
        taking them and recording their job (or could not start it yet)."""
        with self._connection.reading() as connection:
            rows = connection.execute(
                sa.select(template_ticks.c.owner, template_ticks.c.template, template_ticks.c.tick)
                .where(
                    template_ticks.c.outcome == FIRING,
                    template_ticks.c.recorded_at < taken_before,
                )
                .order_by(template_ticks.c.recorded_at)
                .limit(limit)
            ).all()
        return [TakenTick(row.owner or None, row.template, row.tick) for row in rows]

    def ticks(
        self, tenant: str | None, name: str, before: int | None, limit: int
    ) -> list[TickRecord]:
        """The template's ticks, newest first: those before the tick `before` (a keyset page),
        each with its job's recorded status."""
        query = (
            sa.select(
                template_ticks.c.tick,
                template_ticks.c.outcome,
                template_ticks.c.job_id,
                template_ticks.c.reason,
                jobs.c.status,
            )
            .select_from(template_ticks.outerjoin(jobs, jobs.c.id == template_ticks.c.job_id))
            .where(
                template_ticks.c.owner == owner_key(tenant),
                template_ticks.c.template == name,
            )
            .order_by(template_ticks.c.tick.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(template_ticks.c.tick < before)
        with self._connection.reading() as connection:
            rows = connection.execute(query).all()
        return [
            TickRecord(row.tick, row.outcome, row.job_id, row.reason, row.status) for row in rows
        ]
