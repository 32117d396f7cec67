"""What becomes of a schedule's due ticks (jobs/schedules.py computes them). Pure: the scheduler
(service/schedules.py) takes the plan to the store, which records each tick once.

A tick is fired when a scheduler takes it within ON_TIME_SECONDS of its time (a busy or
restarting instance is a little late). Ticks found later than that were missed: every instance
down, or the store out of reach. Of those, the newest alone may still run, and only within the
schedule's `catch_up` seconds of its time; every other is recorded as missed, never run. An
outage of a week of an every-minute schedule records its newest MAX_MISSED_RECORDED misses, the
oldest of them naming how many older ones were not listed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from quartermaster.jobs.schedules import Schedule, next_ticks, ticks_between

FIRED = "fired"
SKIPPED = "skipped"  # its overlap policy forbade it: one of the template's jobs was live
MISSED = "missed"
FAILED_TO_START = "failed to start"  # refused: policy, quota, an invalid template, the store
TICK_OUTCOMES = (FIRED, SKIPPED, MISSED, FAILED_TO_START)
FIRING = "firing"  # taken, its job not started yet (or its scheduler stopped meanwhile)

ON_TIME_SECONDS = 30
MAX_MISSED_RECORDED = 1000
MISSED_REASON = "no instance took it within {late} s of its time (all down, or the store away)"
OLDER_MISSED = "; {count} older ticks were missed too, not listed"
# A tick's time has a second's resolution at most: this starts a span just before one.
JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class TickPlan:
    """What to do with a schedule's due ticks at a moment: the tick to start a job for (on
    time, or the newest missed one catching up), those missed (with the reason of each), and
    the schedule's next tick after them."""

    fire: datetime | None
    missed: tuple[tuple[datetime, str], ...]
    next_tick: datetime | None


def plan(schedule: Schedule, due: datetime, now: datetime) -> TickPlan:
    """The plan for `schedule`, whose oldest tick not yet taken is `due`, at `now`."""
    ticks = ticks_between(schedule, due - JUST_BEFORE, now, keep=MAX_MISSED_RECORDED + 1)
    following = next_ticks(schedule, max(now, due), 1)
    next_tick = following[0] if following else None
    if not ticks.newest:
        return TickPlan(None, (), next_tick)  # not due yet after all
    newest = ticks.newest[-1]
    allowed = max(ON_TIME_SECONDS, schedule.catch_up)
    fire = newest if (now - newest).total_seconds() <= allowed else None
    missed = [tick for tick in ticks.newest if tick != fire][-MAX_MISSED_RECORDED:]
    reasons = [MISSED_REASON.format(late=ON_TIME_SECONDS) for _ in missed]
    not_listed = ticks.total - (1 if fire else 0) - len(missed)
    if not_listed > 0:
        reasons[0] += OLDER_MISSED.format(count=not_listed)
    return TickPlan(fire, tuple(zip(missed, reasons, strict=True)), next_tick)
