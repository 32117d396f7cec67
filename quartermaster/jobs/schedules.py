"""Schedules: when a template's jobs start on their own. Pure: the store keeps a template's
schedule and its ticks, the firing loop asks here which instants are due.

A schedule is a cron expression read on the wall clock of an IANA time zone (no implicit server
zone): five fields, minute hour day-of-month month day-of-week, as Debian's cron reads them
(names such as MON or JAN; day-of-month and day-of-week both restricted: either matches), with
cronsim's extensions L, LW, 5L and MON#2, or a macro (MACROS). cronsim steps the expression,
zoneinfo (the system's tzdata) gives the zone's rules.

A tick is the instant a schedule fires, kept in UTC: the store keys (template, tick) as unique, so
a tick is the same instant whichever moment the computation starts after (`next_ticks(s, a, n)`
lists the very ticks a walk from any earlier moment meets after `a`).

Daylight saving, as Debian's cron does it (cronsim follows it):

- A schedule at set times, whose minute and hour fields both start with something else than `*`
  ("30 2 * * *", "0 9-17 * * MON-FRI", the macros but @hourly): a local time that does not exist
  that day (the clock jumps over it) fires once, at the first instant after the gap (several such
  times fire once together); a local time that happens twice (the clock falls back over it) fires
  once, the first time.
- A schedule whose minute or hour field starts with `*` ("*/15 * * * *", "30 * * * *", @hourly,
  "0 */2 * * *"): every real instant whose local time matches. In the hour the clock repeats, each
  match fires on both passes (they are distinct instants an hour apart, and a job every 15 minutes
  should not stop for an hour); in the hour it skips there is no such local time, so nothing fires
  until the next match after the gap ("30 * * * *": 01:30, then 03:30 summer time, an hour apart).
  cronsim steps these on the wall clock alone, and each match is placed here at the zone's offset
  at that time: cronsim's own stepping in a zone misses matches where the clock moves by 30
  minutes (Lord Howe's "30 * * * *" skips its repeated 01:30 and its 02:30 after the gap).

A cron that never fires ("0 0 30 2 *") is refused, like one malformed.
"""

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from cronsim import CronSim, CronSimError

OVERLAPS = ("allow", "forbid", "replace")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MAX_CRON_LENGTH = 200
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
FIELD_VALUES = {
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31, L or LW",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 (0 and 7: Sunday) or SUN-SAT, 5L, MON#2",
}
# Zone names that are not a zone of their own: the server's (no implicit server zone) and tzdata's
# placeholder for "not set".
NOT_ZONES = frozenset({"localtime", "Factory"})
# cron_error looks for a first tick from here: a five-field cron that fires at all fires within
# any 40 years (the calendar's weekdays repeat every 28 years, but across a century's missing
# leap day), and cronsim looks 50 years ahead.
CHECKED_FROM = datetime(2001, 1, 1)  # a wall-clock time: no zone on purpose
SECOND = timedelta(seconds=1)
OFFSET_PROBE = timedelta(hours=12)


@dataclass(frozen=True)
class Schedule:
    """A template's schedule as its owner wrote it (validated by cron_error and timezone_error)."""

    cron: str
    timezone: str
    overlap: str = "allow"  # one of OVERLAPS: whether a tick starts a job while one is live
    catch_up: int = 0  # seconds: how late the newest missed tick may still start, after an outage
    paused: bool = False

    def as_json(self) -> dict[str, Any]:
        """As a body gives it, an answer shows it and the store keeps it (`Schedule(**it)`)."""
        return {
            "cron": self.cron,
            "timezone": self.timezone,
            "overlap": self.overlap,
            "catch_up": self.catch_up,
            "paused": self.paused,
        }


@dataclass(frozen=True)
class Ticks:
    """The ticks of a span: the newest of them (oldest first), and how many there were in all."""

    newest: tuple[datetime, ...]
    total: int


class InvalidSchedule(ValueError):
    """A schedule that cron_error or timezone_error refuses, met where ticks are computed."""


def five_fields(cron: str) -> str:
    """The cron expression itself, a macro replaced by the five fields it stands for."""
    return MACROS.get(cron.strip().lower(), cron)


def cron_error(cron: str) -> str | None:
    """Why `cron` is not a cron expression a schedule may have, or None."""
    if len(cron) > MAX_CRON_LENGTH:
        return f"a cron expression is at most {MAX_CRON_LENGTH} characters"
    if cron.strip().startswith("@") and cron.strip().lower() not in MACROS:
        return f"unknown macro {cron.strip()!r}: one of {', '.join(MACROS)}"
    expression = five_fields(cron)
    fields = expression.split()
    if len(fields) != len(FIELDS):
        return (
            f"{cron!r} is neither five fields, {' '.join(FIELDS)}, nor a macro such as @daily "
            f"(it has {len(fields)})"
        )
    try:
        first = CronSim(expression, CHECKED_FROM)
    except CronSimError as error:
        return _field_error(fields, str(error))
    try:
        next(first)
    except StopIteration:
        return f"{cron!r} never fires: no date matches all of its fields"
    return None


def _field_error(fields: list[str], cronsim_message: str) -> str:
    """cronsim says "Bad <field>" only: the field's text and what it takes, or a day-of-month
    that none of the months has (cronsim refuses it as a bad day-of-month)."""
    name = cronsim_message.removeprefix("Bad ")
    if name not in FIELDS:
        return f"not a cron expression: {cronsim_message}"
    text = fields[FIELDS.index(name)]
    if name == "day-of-month" and _parses([*fields[:3], "*", *fields[4:]]):
        return f"{' '.join(fields)!r} never fires: no month in {fields[3]!r} has day {text!r}"
    return f"the {name} field {text!r} is not valid: it takes {FIELD_VALUES[name]}"


def _parses(fields: list[str]) -> bool:
    try:
        CronSim(" ".join(fields), CHECKED_FROM)
    except CronSimError:
        return False
    return True


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_ZONES  # reads the tzdata directory once


def timezone_error(name: str) -> str | None:
    """Why `name` is not an IANA time zone of this system's tzdata, or None."""
    if name in _zone_names():
        return None
    same_but_case = [zone for zone in _zone_names() if zone.lower() == name.strip().lower()]
    if same_but_case:
        return f"unknown time zone {name!r}: did you mean {same_but_case[0]!r}?"
    return f"unknown time zone {name!r}: an IANA name such as 'Europe/Berlin' or 'UTC'"


def next_ticks(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks strictly after `after` (fewer if the schedule stops firing), in
    UTC. `after` must be aware; paused or not, the schedule's ticks are computed."""
    ticks: list[datetime] = []
    for tick in _ticks_after(schedule, after):
        if len(ticks) == count:
            break
        ticks.append(tick)
    return ticks


def ticks_between(schedule: Schedule, start: datetime, end: datetime, keep: int) -> Ticks:
    """The ticks in (start, end]: the newest `keep` of them, and their number in all (e.g. the
    ticks missed while no instance ran: the newest may catch up, the others are recorded missed).

    It walks every tick of the span: about 9 µs a tick, and about 2 µs a minute of the span for
    a cron that steps by minutes ("*/15"): a week of an every-minute cron in 0.09 s, a year in 5 s.
    """
    _aware(end, "end")
    newest: deque[datetime] = deque(maxlen=keep)
    total = 0
    for tick in _ticks_after(schedule, start):
        if tick > end:
            break
        newest.append(tick)
        total += 1
    return Ticks(tuple(newest), total)


def describe(schedule: Schedule) -> str:
    """The schedule in words, e.g. "At 03:00 every day (Europe/Berlin)"."""
    words = CronSim(five_fields(schedule.cron), CHECKED_FROM).explain()
    return f"{words} ({schedule.timezone})"


def _ticks_after(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Every tick after `after`, oldest first, in UTC."""
    _aware(after, "after")
    problem = cron_error(schedule.cron) or timezone_error(schedule.timezone)
    if problem:
        raise InvalidSchedule(problem)
    expression, zone = five_fields(schedule.cron), ZoneInfo(schedule.timezone)
    minute, hour = expression.split()[:2]
    if minute.startswith("*") or hour.startswith("*"):
        return _matching_instants(expression, zone, after.astimezone(UTC))
    return _set_times(expression, zone, after)


def _set_times(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """cronsim steps a cron at set times on the wall clock, the zone's offset left aside, and
    places each time as Debian's cron does: in a gap, at the first instant after it; repeated,
    at its first pass. Started in the second pass of a repeated hour, it gives that hour's times
    on their first pass, already past: only instants later than the tick before are kept."""
    last = after
    for moment in CronSim(expression, after.astimezone(zone)):  # none in 50 years: it stops
        tick = moment.astimezone(UTC)
        if tick > last:
            last = tick
            yield tick


def _matching_instants(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Every real instant whose wall clock matches. cronsim steps the wall clock alone (stepping
    in the zone, it jumps by hours of 60 minutes, and misses matches where a clock moves by 30
    minutes: Lord Howe's); each match is placed at the zone's offset of the stretch of time it
    falls in. A match past a change of the offset starts the stretch after it over, from the
    first instant of the new offset: the hour repeated, or the first instant after the gap."""
    offset = _offset(zone, after)
    since, wall_clock = after, _wall_clock(after, offset)
    while True:
        for match in CronSim(expression, wall_clock):  # none in 50 years: it stops
            tick = (match - offset).replace(tzinfo=UTC)
            change = _offset_change(zone, since, tick, offset)
            if change:
                offset = _offset(zone, change)
                # cronsim gives the matches after the second it starts from.
                since, wall_clock = change, _wall_clock(change, offset) - SECOND
                break
            yield tick
            since = tick
        else:
            return


def _offset_change(
    zone: ZoneInfo, since: datetime, until: datetime, offset: timedelta
) -> datetime | None:
    """The first instant of (since, until] at which the zone's offset is no longer `offset`, or
    None: probed every OFFSET_PROBE (a change and its undoing never fall between two probes:
    tzdata's changes of an offset are weeks apart), then halved down to the second."""
    low = since
    while low < until:
        high = min(low + OFFSET_PROBE, until)
        if _offset(zone, high) != offset:
            while high - low > SECOND:
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(zone, middle) == offset else (low, middle)
            return low.replace(microsecond=0) + SECOND  # offsets change on a whole second
        low = high
    return None


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _wall_clock(instant: datetime, offset: timedelta) -> datetime:
    return (instant + offset).replace(tzinfo=None)


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {moment!r}")
