"""Templates' schedules: their due ticks taken once and fired, and the record of every tick.

Every instance runs a scheduler (`run_forever`, in its background process) that calls
`fire_due` when the earliest next tick comes. Which instance fires a tick is decided by the store
(store/schedules.py: a tick is taken by one scheduler alone); the job it starts is the tick's
(TemplateService.fire: the tick is its Idempotency-Key). A scheduler that stops between taking a
tick and recording its job leaves it `firing`: any scheduler fires it again after
UNSETTLED_SECONDS, which starts the job if none was started, or finds the one that was. So each
tick runs at most one job, and one that is due runs one (unless its overlap policy skips it, or
it cannot start).

A template's overlap policy counts its jobs the store has not recorded final (queued, pending,
running), as the swarm has them now: `forbid` skips the tick while one is live, `replace` stops
them and starts the tick's.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from quartermaster.jobs.errors import (
    DockerUnavailable,
    DomainError,
    JobLookupError,
    NotASwarmManager,
    StoreError,
    TemplateNotFound,
)
from quartermaster.jobs.tenancy import Actor
from quartermaster.jobs.ticks import (
    FAILED_TO_START,
    FIRED,
    FIRING,
    MISSED,
    ON_TIME_SECONDS,
    SKIPPED,
    plan,
)
from quartermaster.jobs.times import moment_of, nanos_of_moment
from quartermaster.service.jobs import JobService
from quartermaster.service.templates import TemplateService
from quartermaster.store.rows import nanos
from quartermaster.store.schedules import DueSchedule, ScheduleStore, TakenTick, TickRow

log = logging.getLogger("quartermaster.schedules")

RECHECK_SECONDS = 1.0  # the earliest next tick asked again (one indexed MIN: about 0.1 ms)
DUE_BATCH = 500  # schedules taken per pass (a pass repeats while some are left)
FIRING_THREADS = 16  # ticks due together fire together: each start is a few Docker calls
UNSETTLED_SECONDS = 30  # a tick `firing` this long has lost its scheduler: another fires it
# A tick whose job could not be started for a transient reason (the store or Docker away) is
# tried again until this long after its time (or its catch_up, if longer), then recorded failed.
RETRY_SECONDS = 300
# What may stop the start of a tick's job for a while: tried again, not recorded as failed.
TRANSIENT = (StoreError, DockerUnavailable, NotASwarmManager)


class ScheduleService:
    def __init__(
        self,
        store: ScheduleStore,
        templates: TemplateService,
        jobs: JobService,
        clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._templates = templates
        self._jobs = jobs
        self._clock = clock
        self._pool = ThreadPoolExecutor(FIRING_THREADS, thread_name_prefix="schedules")

    def next_due_at(self) -> float | None:
        """When the earliest tick of any schedule comes (UNIX time); None: none is coming."""
        due = self._store.next_due_at()
        return None if due is None else due / 10**9

    def fire_due(self) -> int:
        """Take and fire the ticks due now (DUE_BATCH schedules at most, FIRING_THREADS at
        once), and fire again the ticks whose scheduler stopped before recording their job: how
        many schedules were due."""
        due = self._store.due(nanos(self._clock()), DUE_BATCH)
        list(self._pool.map(self._take_and_fire, due))
        taken_before = nanos(self._clock() - UNSETTLED_SECONDS)
        unsettled = self._store.unsettled(taken_before, DUE_BATCH)
        list(self._pool.map(self._fire_again, unsettled))
        return len(due)

    def run_forever(self, stop: threading.Event) -> None:
        """Fire the ticks as they come, until `stop` is set: asleep until the earliest next tick
        of any schedule, looked up again at least every RECHECK_SECONDS (for schedules made or
        changed meanwhile, by any instance), never scanning the templates. A schedule still due
        after its pass (its tick could not be taken: the store away) waits that long too."""
        log.info("schedules: running")
        while not stop.is_set():
            try:
                if self.fire_due() == DUE_BATCH:
                    continue  # more may be due
                due_at = self.next_due_at()
                now = self._clock()
                wait = RECHECK_SECONDS if due_at is None or due_at <= now else due_at - now
            except TRANSIENT as error:
                log.warning("schedules: a pass waits: %s", error)
                wait = RECHECK_SECONDS
            except Exception:
                log.exception("schedules: a pass failed")
                wait = RECHECK_SECONDS
            stop.wait(min(wait, RECHECK_SECONDS))

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- firing ----------------------------------------------------------------------------

    def _take_and_fire(self, due: DueSchedule) -> None:
        try:
            self._take(due)
        except TRANSIENT as error:  # the schedule stays due: taken at a later pass
            log.warning("schedules: template %s's tick waits: %s", due.name, error)
        except Exception:
            log.exception("schedules: template %s's tick failed", due.name)

    def _fire_again(self, taken: TakenTick) -> None:
        """Fire a tick its scheduler left `firing`. With `replace`, the template's jobs before
        the tick are looked at again: that scheduler may have stopped before it stopped them."""
        try:
            schedule = self._templates.schedule_of(taken.tenant, taken.name)
            replacing = []
            if schedule is not None and schedule.overlap == "replace":
                replacing = self._live_jobs(taken.tenant, taken.name, taken.tick)
            self._start(taken.tenant, taken.name, taken.tick, replacing)
        except TemplateNotFound:
            pass  # removed meanwhile, its ticks with it
        except TRANSIENT as error:  # still `firing`: tried again at a later pass
            log.warning("schedules: template %s's tick waits: %s", taken.name, error)
        except Exception:
            log.exception("schedules: template %s's tick failed", taken.name)

    def _take(self, due: DueSchedule) -> None:
        now = self._clock()
        schedule = due.schedule
        planned = plan(schedule, moment_of(due.tick), moment_of(nanos(now)))
        rows = [TickRow(nanos_of_moment(tick), MISSED, reason=why) for tick, why in planned.missed]
        live: list[str] = []
        if planned.fire is not None:
            tick = nanos_of_moment(planned.fire)
            if schedule.overlap != "allow":
                live = self._live_jobs(due.tenant, due.name, tick)
            if schedule.overlap == "forbid" and live:
                reason = f"overlap forbid: its job {live[0]} is live"
                rows.append(TickRow(tick, SKIPPED, reason=reason))
            else:
                rows.append(TickRow(tick, FIRING))
        next_tick = None if planned.next_tick is None else nanos_of_moment(planned.next_tick)
        recorded = self._store.take(due, next_tick, rows, nanos(now))  # none: another took it
        for row in rows:
            if row.outcome == FIRING and row.tick in recorded:
                self._start(due.tenant, due.name, row.tick, replacing=live)

    def _live_jobs(self, tenant: str | None, name: str, tick: int) -> list[str]:
        """The template's jobs before `tick` that are live: not final in the store, nor on the
        swarm now."""
        recorded = self._store.live_jobs(tenant, name, tick)
        statuses = self._jobs.runtime.job_statuses(recorded)
        return [
            job_id for job_id in recorded if job_id in statuses and not statuses[job_id].is_final
        ]

    def _start(self, tenant: str | None, name: str, tick: int, replacing: list[str]) -> None:
        """Start the tick's job (replacing the live ones first), and record what became of it."""
        actor = Actor(tenant=tenant, key_name=f"schedule:{name}")
        try:
            for job_id in replacing:
                with contextlib.suppress(JobLookupError):  # it ended and went meanwhile
                    self._jobs.stop_job(actor, job_id)
            job_id = self._templates.fire(tenant, name, tick)
        except TemplateNotFound:
            return  # removed meanwhile, its ticks with it
        except TRANSIENT as error:
            if not self._retry_over(tenant, name, tick):
                log.warning("schedules: tick of template %s waits: %s", name, error)
                return  # still `firing`: tried again after UNSETTLED_SECONDS
            settled = TickRow(tick, FAILED_TO_START, reason=f"not started in time: {error}")
        except DomainError as error:
            settled = TickRow(tick, FAILED_TO_START, reason=str(error))
        else:
            settled = TickRow(tick, FIRED, job_id=job_id)
        self._store.settle(tenant, name, settled, nanos(self._clock()))

    def _retry_over(self, tenant: str | None, name: str, tick: int) -> bool:
        try:
            schedule = self._templates.schedule_of(tenant, name)
        except TemplateNotFound:
            return True
        catch_up = 0 if schedule is None else schedule.catch_up
        allowed = max(ON_TIME_SECONDS, catch_up) + RETRY_SECONDS
        return self._clock() - tick / 10**9 > allowed
