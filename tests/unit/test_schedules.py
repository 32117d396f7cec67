"""Schedules (jobs/schedules.py): which instants a cron in a time zone fires at, across both
daylight-saving transitions of Europe/Berlin, America/New_York and Australia/Lord_Howe (a
30-minute shift); what is refused and why; the ticks missed over a long gap. No clock: every
computation starts after an instant the test gives.

Expected ticks are written as the zone's wall clock with its offset that day (`+02:00`: summer
time in Berlin), compared as instants."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from quartermaster.jobs.schedules import (
    MACROS,
    InvalidSchedule,
    Schedule,
    Ticks,
    cron_error,
    describe,
    next_ticks,
    ticks_between,
    timezone_error,
)

BERLIN, NEW_YORK, LORD_HOWE = "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"


def at(text: str) -> datetime:
    """An instant: `2026-03-29 03:00+02:00`, or UTC without an offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ticks(cron: str, zone: str, after: str, count: int) -> list[datetime]:
    return next_ticks(Schedule(cron, zone), at(after), count)


# A set local time the clock jumps over that day: once, at the first instant after the gap.
@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        ("30 2 * * *", BERLIN, "2026-03-28 12:00",
         ["2026-03-29 03:00+02:00", "2026-03-30 02:30+02:00"]),
        ("0 2 * * *", BERLIN, "2026-03-28 12:00",
         ["2026-03-29 03:00+02:00", "2026-03-30 02:00+02:00"]),
        # Both skipped times fire together, once, then the day goes on at 03:30.
        ("0,30 2,3 * * *", BERLIN, "2026-03-29 00:00",
         ["2026-03-29 03:00+02:00", "2026-03-29 03:30+02:00", "2026-03-30 02:00+02:00"]),
        # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT.
        ("30 2 * * *", NEW_YORK, "2026-03-07 12:00",
         ["2026-03-08 03:00-04:00", "2026-03-09 02:30-04:00"]),
        # Lord Howe, 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11:00).
        ("15 2 * * *", LORD_HOWE, "2026-10-02 12:00",
         ["2026-10-03 02:15+10:30", "2026-10-04 02:30+11:00", "2026-10-05 02:15+11:00"]),
    ],
)  # fmt: skip
def test_a_local_time_that_does_not_exist_fires_once_at_the_first_instant_after_the_gap(
    cron, zone, after, expected
):
    assert ticks(cron, zone, after, len(expected)) == [at(tick) for tick in expected]


# A set local time the clock passes twice that day: once, the first time.
@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, 02:00-02:59 happen twice.
        ("30 2 * * *", BERLIN, "2026-10-24 12:00",
         ["2026-10-25 02:30+02:00", "2026-10-26 02:30+01:00"]),
        ("0 1-3 * * *", BERLIN, "2026-10-24 22:00",
         ["2026-10-25 01:00+02:00", "2026-10-25 02:00+02:00", "2026-10-25 03:00+01:00",
          "2026-10-26 01:00+01:00"]),
        # New York, 2026-11-01: 02:00 EDT becomes 01:00 EST.
        ("30 1 * * *", NEW_YORK, "2026-10-31 12:00",
         ["2026-11-01 01:30-04:00", "2026-11-02 01:30-05:00"]),
        # Lord Howe, 2026-04-05: 02:00 (+11:00) becomes 01:30 (+10:30).
        ("45 1 * * *", LORD_HOWE, "2026-04-03 12:00",
         ["2026-04-04 01:45+11:00", "2026-04-05 01:45+11:00", "2026-04-06 01:45+10:30"]),
    ],
)  # fmt: skip
def test_a_local_time_that_happens_twice_fires_once_the_first_time(cron, zone, after, expected):
    assert ticks(cron, zone, after, len(expected)) == [at(tick) for tick in expected]


@pytest.mark.parametrize(
    ("zone", "second_pass", "next_day"),
    [
        (BERLIN, "2026-10-25 02:10+01:00", "2026-10-26 02:30+01:00"),
        (NEW_YORK, "2026-11-01 01:10-05:00", "2026-11-02 01:30-05:00"),
    ],
)
def test_started_in_the_second_pass_the_first_pass_time_is_not_fired_again(
    zone, second_pass, next_day
):
    # The wall clock reads 02:10 (01:10) again: the 02:30 (01:30) of that day fired an hour ago.
    cron = "30 2 * * *" if zone == BERLIN else "30 1 * * *"
    assert ticks(cron, zone, second_pass, 1) == [at(next_day)]


# A cron by the minute or the hour: every real instant whose wall clock matches.
@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Berlin falling back: 02:00, 02:20, 02:40 on both passes, 20 minutes apart throughout.
        ("*/20 * * * *", BERLIN, "2026-10-24 23:30",
         ["2026-10-25 01:40+02:00", "2026-10-25 02:00+02:00", "2026-10-25 02:20+02:00",
          "2026-10-25 02:40+02:00", "2026-10-25 02:00+01:00", "2026-10-25 02:20+01:00",
          "2026-10-25 02:40+01:00", "2026-10-25 03:00+01:00"]),
        # Berlin springing forward: from 01:40 straight to 03:00, 20 minutes later.
        ("*/20 * * * *", BERLIN, "2026-03-29 00:30",
         ["2026-03-29 01:40+01:00", "2026-03-29 03:00+02:00", "2026-03-29 03:20+02:00"]),
        # Hourly at :30: both 02:30s in the autumn, none in the skipped hour in spring.
        ("30 * * * *", BERLIN, "2026-10-24 23:00",
         ["2026-10-25 01:30+02:00", "2026-10-25 02:30+02:00", "2026-10-25 02:30+01:00",
          "2026-10-25 03:30+01:00"]),
        ("30 * * * *", BERLIN, "2026-03-28 23:00",
         ["2026-03-29 00:30+01:00", "2026-03-29 01:30+01:00", "2026-03-29 03:30+02:00"]),
        ("*/30 * * * *", NEW_YORK, "2026-11-01 04:45",
         ["2026-11-01 01:00-04:00", "2026-11-01 01:30-04:00", "2026-11-01 01:00-05:00",
          "2026-11-01 01:30-05:00", "2026-11-01 02:00-05:00"]),
        ("*/30 * * * *", NEW_YORK, "2026-03-08 06:15",
         ["2026-03-08 01:30-05:00", "2026-03-08 03:00-04:00", "2026-03-08 03:30-04:00"]),
        # Lord Howe's half-hour shifts: autumn repeats 01:30-01:59, spring skips 02:00-02:29.
        ("30 * * * *", LORD_HOWE, "2026-04-04 13:00",
         ["2026-04-05 00:30+11:00", "2026-04-05 01:30+11:00", "2026-04-05 01:30+10:30",
          "2026-04-05 02:30+10:30"]),
        ("30 * * * *", LORD_HOWE, "2026-10-03 13:00",
         ["2026-10-04 00:30+10:30", "2026-10-04 01:30+10:30", "2026-10-04 02:30+11:00",
          "2026-10-04 03:30+11:00"]),
        ("*/15 * * * *", LORD_HOWE, "2026-04-04 14:20",
         ["2026-04-05 01:30+11:00", "2026-04-05 01:45+11:00", "2026-04-05 01:30+10:30",
          "2026-04-05 01:45+10:30", "2026-04-05 02:00+10:30"]),
        ("*/15 * * * *", LORD_HOWE, "2026-10-03 15:00",
         ["2026-10-04 01:45+10:30", "2026-10-04 02:30+11:00", "2026-10-04 02:45+11:00"]),
    ],
)  # fmt: skip
def test_a_cron_by_the_minute_fires_at_every_real_instant_that_matches(cron, zone, after, expected):
    assert ticks(cron, zone, after, len(expected)) == [at(tick) for tick in expected]


# Both rules told apart from cronsim, by brute force: the wall clock at every minute of real time
# over 8 hours around each transition.
TRANSITIONS = [
    (BERLIN, "2026-03-28 22:00"), (BERLIN, "2026-10-24 21:00"),
    (NEW_YORK, "2026-03-08 03:00"), (NEW_YORK, "2026-11-01 02:00"),
    (LORD_HOWE, "2026-04-04 12:00"), (LORD_HOWE, "2026-10-03 12:00"),
]  # fmt: skip


def wall_clocks(zone: str, start: datetime) -> list[tuple[datetime, datetime]]:
    """Each minute of real time after `start` for 8 hours, with the zone's wall clock then."""
    minutes = [start + timedelta(minutes=n) for n in range(1, 8 * 60 + 1)]
    return [(minute, minute.astimezone(ZoneInfo(zone)).replace(tzinfo=None)) for minute in minutes]


@pytest.mark.parametrize(
    ("cron", "matches"),
    [
        ("*/15 * * * *", lambda wall: wall.minute % 15 == 0),
        ("30 * * * *", lambda wall: wall.minute == 30),
        ("*/10 1-3 * * *", lambda wall: wall.minute % 10 == 0 and 1 <= wall.hour <= 3),
    ],
)
@pytest.mark.parametrize(("zone", "day"), TRANSITIONS)
def test_a_cron_by_the_minute_fires_at_each_minute_of_real_time_whose_wall_clock_matches(
    cron, matches, zone, day
):
    clocks = wall_clocks(zone, at(day))
    expected = tuple(minute for minute, wall in clocks if matches(wall))
    found = ticks_between(Schedule(cron, zone), at(day), clocks[-1][0], 1000)
    assert found.newest == expected


@pytest.mark.parametrize(
    ("cron", "matches"),
    [
        ("30 2 * * *", lambda wall: (wall.hour, wall.minute) == (2, 30)),
        ("0,15,30,45 1,2 * * *", lambda wall: wall.minute % 15 == 0 and wall.hour in (1, 2)),
        ("45 1 * * *", lambda wall: (wall.hour, wall.minute) == (1, 45)),
        ("10 3 * * *", lambda wall: (wall.hour, wall.minute) == (3, 10)),
    ],
)
@pytest.mark.parametrize(("zone", "day"), TRANSITIONS)
def test_a_cron_at_set_times_fires_once_a_wall_clock_time_at_its_first_instant(
    cron, matches, zone, day
):
    expected, seen, previous = [], set(), None
    for minute, wall in wall_clocks(zone, at(day)):
        jumped_over = []
        while previous and previous + timedelta(minutes=len(jumped_over) + 1) < wall:
            jumped_over.append(previous + timedelta(minutes=len(jumped_over) + 1))
        if any(matches(time) for time in jumped_over) or (matches(wall) and wall not in seen):
            expected.append(minute)
        seen.add(wall)
        previous = wall
    found = ticks_between(Schedule(cron, zone), at(day), minute, 1000)
    assert found.newest == tuple(expected) and expected


def test_a_repeated_hour_months_after_the_start_fires_on_both_passes():
    # From June, the next matches are the autumn's repeated 02:00 and 02:30, twice, then a year
    # later (a Monday, still summer time): the offset changed twice between.
    schedule = Schedule("*/30 2 25 10 *", BERLIN)
    assert next_ticks(schedule, at("2026-06-01 00:00"), 5) == [
        at("2026-10-25 02:00+02:00"), at("2026-10-25 02:30+02:00"),
        at("2026-10-25 02:00+01:00"), at("2026-10-25 02:30+01:00"),
        at("2027-10-25 02:00+02:00"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("macro", "zone", "after", "expected"),
    [
        ("@yearly", BERLIN, "2026-06-01 00:00", "2027-01-01 00:00+01:00"),
        ("@annually", NEW_YORK, "2026-06-01 00:00", "2027-01-01 00:00-05:00"),
        ("@monthly", BERLIN, "2026-03-15 00:00", "2026-04-01 00:00+02:00"),
        ("@weekly", "UTC", "2026-12-07 12:00", "2026-12-13 00:00"),  # a Sunday
        ("@daily", BERLIN, "2026-06-01 00:00", "2026-06-02 00:00+02:00"),
        ("@midnight", NEW_YORK, "2026-06-01 00:00", "2026-06-01 00:00-04:00"),
        ("@hourly", LORD_HOWE, "2026-06-01 00:10", "2026-06-01 11:00+10:30"),
        ("@Daily", "UTC", "2026-06-01 00:00", "2026-06-02 00:00"),
    ],
)
def test_macros_fire_as_the_fields_they_stand_for(macro, zone, after, expected):
    assert cron_error(macro) is None
    assert ticks(macro, zone, after, 1) == [at(expected)]


def test_every_macro_cron_knows_is_tested():
    assert set(MACROS) == {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
                           "@hourly"}  # fmt: skip


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Weekdays at 09:00 in New York, from a Friday morning: Monday, then Tuesday.
        ("0 9 * * MON-FRI", NEW_YORK, "2026-12-04 15:00",
         ["2026-12-07 09:00-05:00", "2026-12-08 09:00-05:00"]),
        # The first of every month at midnight, Berlin: across the new year and summer time.
        ("0 0 1 * *", BERLIN, "2026-12-15 00:00",
         ["2027-01-01 00:00+01:00", "2027-02-01 00:00+01:00", "2027-03-01 00:00+01:00",
          "2027-04-01 00:00+02:00"]),
        # Day-of-month and day-of-week both restricted: either matches (the 13th, or a Friday).
        ("0 12 13 * FRI", "UTC", "2027-01-01 00:00",
         ["2027-01-01 12:00", "2027-01-08 12:00", "2027-01-13 12:00", "2027-01-15 12:00"]),
        # The last day of the month, and the last Friday.
        ("0 6 L * *", "UTC", "2027-01-31 07:00", ["2027-02-28 06:00", "2027-03-31 06:00"]),
        ("0 18 * * 5L", BERLIN, "2027-01-01 00:00",
         ["2027-01-29 18:00+01:00", "2027-02-26 18:00+01:00", "2027-03-26 18:00+01:00"]),
        # 7 is Sunday, like 0.
        ("0 8 * * 7", "UTC", "2026-12-07 00:00", ["2026-12-13 08:00", "2026-12-20 08:00"]),
    ],
)  # fmt: skip
def test_days_of_the_month_and_of_the_week(cron, zone, after, expected):
    assert ticks(cron, zone, after, len(expected)) == [at(tick) for tick in expected]


def test_ticks_are_in_utc_and_strictly_after_the_start():
    (tick,) = ticks("0 3 * * *", BERLIN, "2026-12-08 02:00", 1)  # 03:00 in Berlin, exactly
    assert tick.tzinfo is UTC and tick == at("2026-12-09 02:00")
    assert ticks("0 3 * * *", BERLIN, "2026-12-08 01:59:59.999999", 1) == [at("2026-12-08 02:00")]


# Each (cron, zone) walked from a day before a transition, then started again after each instant
# of the two days around it, every 7 minutes 30 seconds: the same ticks whatever the start.
WALKS = [
    ("30 2 * * *", BERLIN, "2026-10-24 00:00"),
    ("0,30 2,3 * * *", BERLIN, "2026-03-28 00:00"),
    ("*/20 * * * *", BERLIN, "2026-10-24 22:00"),
    ("30 * * * *", BERLIN, "2026-03-28 22:00"),
    ("30 1 * * *", NEW_YORK, "2026-10-31 00:00"),
    ("*/15 * * * *", NEW_YORK, "2026-03-08 04:00"),
    ("45 1 * * *", LORD_HOWE, "2026-04-04 00:00"),
    ("15 2 * * *", LORD_HOWE, "2026-10-03 00:00"),
    ("*/15 2 * * *", LORD_HOWE, "2026-10-03 00:00"),
]


@pytest.mark.parametrize(("cron", "zone", "walk_from"), WALKS)
def test_a_tick_is_the_same_instant_whatever_the_start(cron, zone, walk_from):
    schedule = Schedule(cron, zone)
    walk = next_ticks(schedule, at(walk_from), 40)
    assert len(walk) == 40 and walk == sorted(set(walk))
    moment = at(walk_from)
    while moment < min(walk[-4], at(walk_from) + timedelta(days=2)):
        later = [tick for tick in walk if tick > moment][:3]
        assert next_ticks(schedule, moment, 3) == later, moment
        assert ticks_between(schedule, moment, later[-1], 10) == Ticks(tuple(later), 3), moment
        moment += timedelta(minutes=7, seconds=30)


@pytest.mark.parametrize(
    ("cron", "zone", "tick"),
    [
        ("*/20 * * * *", BERLIN, "2026-03-29 03:00+02:00"),  # the first instant after the gap
        ("30 2 * * *", BERLIN, "2026-03-29 03:00+02:00"),
        ("*/20 * * * *", BERLIN, "2026-10-25 02:00+01:00"),  # the second pass's first instant
        ("30 * * * *", LORD_HOWE, "2026-10-04 02:30+11:00"),
        ("0 3 * * *", NEW_YORK, "2026-12-08 03:00-05:00"),
    ],
)
def test_a_tick_is_found_from_a_microsecond_before_it(cron, zone, tick):
    # The scheduler asks for the ticks from just before the oldest one it has not taken.
    schedule, just_before = Schedule(cron, zone), at(tick) - timedelta(microseconds=1)
    assert next_ticks(schedule, just_before, 1) == [at(tick)]
    assert ticks_between(schedule, just_before, at(tick), 5) == Ticks((at(tick),), 1)


def test_a_long_gap_gives_its_newest_ticks_and_how_many_there_were():
    every_minute = Schedule("* * * * *", BERLIN)
    start, end = at("2026-03-23 12:00"), at("2026-03-30 12:00")  # a week, summer time begun
    missed = ticks_between(every_minute, start, end, 3)
    assert missed == Ticks(
        newest=(at("2026-03-30 11:58"), at("2026-03-30 11:59"), at("2026-03-30 12:00")),
        total=7 * 24 * 60,  # (start, end]: a minute a minute of real time, the skipped hour too
    )
    assert ticks_between(every_minute, start, end, 0) == Ticks((), 7 * 24 * 60)


def test_ticks_between_keeps_all_when_there_are_fewer_and_none_outside_the_span():
    nightly = Schedule("0 3 * * *", BERLIN)
    missed = ticks_between(nightly, at("2026-10-24 01:00"), at("2026-10-27 02:00"), 10)
    assert missed == Ticks(
        (at("2026-10-25 03:00+01:00"), at("2026-10-26 03:00+01:00"), at("2026-10-27 03:00+01:00")),
        3,
    )
    assert ticks_between(nightly, at("2026-10-25 02:00"), at("2026-10-26 01:59"), 10) == Ticks(
        (), 0
    )


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("61 * * * *", "the minute field '61' is not valid: it takes 0-59"),
        ("* 24 * * *", "the hour field '24' is not valid: it takes 0-23"),
        ("0 0 32 * *", "the day-of-month field '32' is not valid"),
        ("0 0 * 13 *", "the month field '13' is not valid"),
        ("0 0 * * 8", "the day-of-week field '8' is not valid"),
        ("*/0 * * * *", "the minute field '*/0' is not valid"),
        ("0 5-3 * * *", "the hour field '5-3' is not valid"),
        ("a b c d e", "the minute field 'a' is not valid"),
        ("0 3 * *", "'0 3 * *' is neither five fields, minute hour day-of-month month "
                    "day-of-week, nor a macro such as @daily (it has 4)"),
        ("0 0 3 * * *", "(it has 6)"),  # six fields: seconds are not ours
        ("", "(it has 0)"),
        ("every day", "(it has 2)"),
        ("@reboot", "unknown macro '@reboot': one of @yearly, @annually"),
        ("@fortnightly", "unknown macro '@fortnightly'"),
        ("0," * 200 + "0 * * * *", "a cron expression is at most 200 characters"),
    ],
)  # fmt: skip
def test_an_invalid_cron_is_refused_with_the_field_at_fault(cron, words):
    assert words in (cron_error(cron) or "")


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 0 30 2 *", "'0 0 30 2 *' never fires: no month in '2' has day '30'"),
        (
            "0 0 31 4,6,9,11 *",
            "'0 0 31 4,6,9,11 *' never fires: no month in '4,6,9,11' has day '31'",
        ),
        # The first or 21st that is the last Monday of its month (never after the 28th-1st).
        ("0 0 */20 * 1L", "'0 0 */20 * 1L' never fires: no date matches all of its fields"),
    ],
)
def test_a_cron_that_never_fires_is_refused(cron, words):
    assert cron_error(cron) == words


@pytest.mark.parametrize(
    "cron",
    ["0 3 * * *", " 0  3 * * * ", "*/5 9-17 * JAN-MAR sat,sun", "0 0 29 2 *", "0 0 * 2 MON#5",
     "0 0 LW * *", "@daily", "0 12 13 * FRI", "59 23 31 12 7"],
)  # fmt: skip
def test_valid_crons_are_accepted(cron):
    assert cron_error(cron) is None


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Europe/Berlin", None),
        ("America/Argentina/Buenos_Aires", None),
        ("UTC", None),
        ("europe/berlin", "unknown time zone 'europe/berlin': did you mean 'Europe/Berlin'?"),
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons': an IANA name such as "
                              "'Europe/Berlin' or 'UTC'"),
        ("", "unknown time zone ''"),
        # The server's own zone is no zone of the schedule's: no implicit server zone.
        ("localtime", "unknown time zone 'localtime'"),
        ("Factory", "unknown time zone 'Factory'"),
        # Paths, and tzdata's leap-second variants, are not zone names.
        ("/etc/localtime", "unknown time zone '/etc/localtime'"),
        ("../zoneinfo/UTC", "unknown time zone '../zoneinfo/UTC'"),
        ("right/UTC", "unknown time zone 'right/UTC'"),
    ],
)  # fmt: skip
def test_the_time_zone_is_one_of_tzdata(name, error):
    found = timezone_error(name)
    assert found == error if error is None else error in (found or "")


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        (Schedule("0 0 30 2 *", BERLIN), "never fires"),
        (Schedule("0 3 * * *", "Berlin"), "unknown time zone 'Berlin'"),
    ],
)
def test_ticks_of_an_invalid_schedule_are_refused_with_the_reason(schedule, problem):
    with pytest.raises(InvalidSchedule, match=problem):
        next_ticks(schedule, at("2026-12-08 00:00"), 1)


def test_the_span_must_be_of_aware_instants():
    nightly, naive = Schedule("0 3 * * *", BERLIN), datetime(2026, 12, 8)
    with pytest.raises(ValueError, match="after must be an aware datetime"):
        next_ticks(nightly, naive, 1)
    with pytest.raises(ValueError, match="end must be an aware datetime"):
        ticks_between(nightly, at("2026-12-08 00:00"), naive, 1)


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (Schedule("0 3 * * *", BERLIN), "At 03:00 every day (Europe/Berlin)"),
        (Schedule("*/15 * * * *", "UTC"), "Every 15th minute of every hour (UTC)"),
        (Schedule("0 9 * * MON-FRI", NEW_YORK),
         "At 09:00 on Monday through Friday (America/New_York)"),
        (Schedule("@hourly", "UTC"), "At the start of every hour (UTC)"),
        (Schedule("@monthly", BERLIN), "At 00:00 on the first day of every month (Europe/Berlin)"),
    ],
)  # fmt: skip
def test_a_schedule_in_words(schedule, words):
    assert describe(schedule) == words


def test_a_schedule_as_json_is_what_its_owner_wrote():
    schedule = Schedule("@daily", BERLIN, overlap="forbid", catch_up=600, paused=True)
    document = {"cron": "@daily", "timezone": BERLIN, "overlap": "forbid", "catch_up": 600,
                "paused": True}  # fmt: skip
    assert schedule.as_json() == document and Schedule(**document) == schedule
    assert Schedule("0 3 * * *", "UTC").as_json() == {
        "cron": "0 3 * * *", "timezone": "UTC", "overlap": "allow", "catch_up": 0, "paused": False
    }  # fmt: skip
