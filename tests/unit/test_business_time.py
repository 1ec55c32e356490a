"""Business calendar: lunch breaks, weekends, national and local holidays, São Paulo offsets.

A brute-force minute-by-minute reference (written independently of the interval stepping in
the module) cross-checks random ranges; `hypothesis` is not in the hub env, so the random
cases come from fixed seeds and are reproducible.
"""

from __future__ import annotations

import random
import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.domain.business_time import BusinessCalendar, NoBusinessTime, normalize_intervals, weekday_hours

SP = ZoneInfo("America/Sao_Paulo")
H = 3600.0
M = 60.0

WEEKDAY = ((time(8), time(12)), (time(13), time(18)))  # 9 h with lunch
HOURS = {**weekday_hours(WEEKDAY), 5: ((time(8), time(12)),)}  # + Saturday morning
CAL = BusinessCalendar.weekly(HOURS)
WEEKDAYS_ONLY = BusinessCalendar.weekly(weekday_hours(WEEKDAY))


def sp(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SP)


# -- business_seconds_between -------------------------------------------------------------

BETWEEN = [
    ("same morning", sp(2026, 3, 2, 9), sp(2026, 3, 2, 11), 2 * H),
    ("across lunch", sp(2026, 3, 2, 9), sp(2026, 3, 2, 14), 4 * H),
    ("inside lunch", sp(2026, 3, 2, 12, 10), sp(2026, 3, 2, 12, 50), 0.0),
    ("whole day from before opening", sp(2026, 3, 2, 7), sp(2026, 3, 2, 19), 9 * H),
    ("night", sp(2026, 3, 2, 18), sp(2026, 3, 3, 8), 0.0),
    ("Fri 17:00 -> Mon 09:00 (Sat morning counts)", sp(2026, 3, 6, 17), sp(2026, 3, 9, 9), 1 * H + 4 * H + 1 * H),
    ("Sat afternoon and Sunday closed", sp(2026, 3, 7, 12), sp(2026, 3, 9, 8), 0.0),
    ("a whole week", sp(2026, 3, 2), sp(2026, 3, 9), 5 * 9 * H + 4 * H),
    ("seconds", sp(2026, 3, 2, 11, 59, 30), sp(2026, 3, 2, 13, 0, 15), 45.0),
    ("empty range", sp(2026, 3, 2, 10), sp(2026, 3, 2, 10), 0.0),
]


@pytest.mark.parametrize(("case", "start", "end", "expected"), BETWEEN, ids=[c[0] for c in BETWEEN])
def test_business_seconds_between(case: str, start: datetime, end: datetime, expected: float) -> None:
    assert CAL.business_seconds_between(start, end) == expected


def test_reversed_range_is_negative() -> None:
    assert CAL.business_seconds_between(sp(2026, 3, 2, 14), sp(2026, 3, 2, 9)) == -4 * H


# -- add_business_seconds -----------------------------------------------------------------

ADD = [
    ("inside a morning", CAL, sp(2026, 3, 2, 9), 30 * M, sp(2026, 3, 2, 9, 30)),
    ("skips lunch", CAL, sp(2026, 3, 2, 11, 30), 1 * H, sp(2026, 3, 2, 13, 30)),
    ("ends exactly at 12:00, not 13:00", CAL, sp(2026, 3, 2, 11), 1 * H, sp(2026, 3, 2, 12)),
    ("starts during lunch", CAL, sp(2026, 3, 2, 12, 30), 30 * M, sp(2026, 3, 2, 13, 30)),
    ("starts before opening", CAL, sp(2026, 3, 2, 6), 15 * M, sp(2026, 3, 2, 8, 15)),
    ("Fri 17:30 + 1 h -> Saturday", CAL, sp(2026, 3, 6, 17, 30), 1 * H, sp(2026, 3, 7, 8, 30)),
    ("Fri 17:30 + 1 h -> Monday", WEEKDAYS_ONLY, sp(2026, 3, 6, 17, 30), 1 * H, sp(2026, 3, 9, 8, 30)),
    ("zero budget returns start", CAL, sp(2026, 3, 8, 3), 0.0, sp(2026, 3, 8, 3)),
    ("two business days", WEEKDAYS_ONLY, sp(2026, 3, 5, 10), 18 * H, sp(2026, 3, 9, 10)),
]


@pytest.mark.parametrize(("case", "cal", "start", "seconds", "expected"), ADD, ids=[c[0] for c in ADD])
def test_add_business_seconds(
    case: str, cal: BusinessCalendar, start: datetime, seconds: float, expected: datetime
) -> None:
    result = cal.add_business_seconds(start, seconds)
    assert result == expected
    assert result.tzinfo == SP


def test_add_rejects_negative_budget() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_business_seconds(sp(2026, 3, 2, 9), -1)


# -- holidays ----------------------------------------------------------------------------

HOLIDAYS = [
    ("Carnaval Monday 2026", date(2026, 2, 16)),
    ("Carnaval Tuesday 2026", date(2026, 2, 17)),
    ("Good Friday 2026", date(2026, 4, 3)),
    ("Tiradentes 2026", date(2026, 4, 21)),
    ("Corpus Christi 2026", date(2026, 6, 4)),
    ("Consciência Negra 2026", date(2026, 11, 20)),
    ("Carnaval Monday 2027", date(2027, 2, 8)),
    ("Carnaval Tuesday 2027", date(2027, 2, 9)),
    ("Good Friday 2027", date(2027, 3, 26)),
    ("Tiradentes 2027", date(2027, 4, 21)),
    ("Corpus Christi 2027", date(2027, 5, 27)),
]


@pytest.mark.parametrize(("case", "day"), HOLIDAYS, ids=[c[0] for c in HOLIDAYS])
def test_weekday_national_holidays_are_closed(case: str, day: date) -> None:
    assert day.weekday() < 5  # each of these falls on a weekday, so only the holiday closes it
    midday = datetime.combine(day, time(10), tzinfo=SP)
    assert CAL.is_holiday(day)
    assert not CAL.is_open(midday)
    assert CAL.business_seconds_between(midday.replace(hour=0), midday.replace(hour=23, minute=59)) == 0
    assert CAL.next_open(midday).date() > day


def test_ash_wednesday_after_carnaval_is_a_normal_day() -> None:
    assert CAL.is_open(sp(2026, 2, 18, 10))


def test_deadline_skips_the_carnaval_weekend() -> None:
    # Friday before Carnaval 17:00, 2 business hours: 1 h Friday, then Mon/Tue closed -> Wed.
    assert WEEKDAYS_ONLY.add_business_seconds(sp(2026, 2, 13, 17), 2 * H) == sp(2026, 2, 18, 9)
    # With Saturday mornings the second hour is spent on Saturday.
    assert CAL.add_business_seconds(sp(2026, 2, 13, 17), 2 * H) == sp(2026, 2, 14, 9)


def test_good_friday_to_monday() -> None:
    # Thursday before Easter 2027 17:00 + 2 h -> Good Friday closed, Saturday 08:00-09:00.
    assert CAL.add_business_seconds(sp(2027, 3, 25, 17), 2 * H) == sp(2027, 3, 27, 9)


def test_local_holidays_one_off_and_yearly() -> None:
    cal = BusinessCalendar.weekly(
        HOURS,
        local_holidays=[date(2026, 7, 9)],  # e.g. Revolução Constitucionalista (state of SP)
        yearly_local_holidays=[(1, 25)],  # São Paulo city anniversary
    )
    assert not cal.is_open(sp(2026, 7, 9, 10))
    assert cal.is_open(sp(2027, 7, 9, 10))  # one-off only
    assert not cal.is_open(sp(2027, 1, 25, 10))  # a Monday
    assert not cal.is_open(sp(2028, 1, 25, 10))  # every year
    assert CAL.is_open(sp(2027, 1, 25, 10))  # not a national holiday
    assert cal.add_business_seconds(sp(2027, 1, 22, 17), 2 * H) == sp(2027, 1, 23, 9)


def test_special_hours_override_weekday_and_holiday() -> None:
    cal = BusinessCalendar.weekly(
        HOURS,
        special_hours={date(2026, 12, 24): [(time(8), time(12))], date(2026, 4, 21): [(time(9), time(11))]},
    )
    assert cal.business_seconds_between(sp(2026, 12, 24), sp(2026, 12, 25)) == 4 * H
    assert not cal.is_open(sp(2026, 12, 24, 14))
    assert cal.business_seconds_between(sp(2026, 4, 21), sp(2026, 4, 22)) == 2 * H


def test_national_holidays_can_be_disabled() -> None:
    cal = BusinessCalendar.weekly(HOURS, include_national_holidays=False)
    assert cal.is_open(sp(2026, 4, 21, 10))


def test_a_full_year_matches_an_independent_day_count() -> None:
    holidays_2026 = {
        date(2026, 1, 1), date(2026, 2, 16), date(2026, 2, 17), date(2026, 4, 3), date(2026, 4, 21),
        date(2026, 5, 1), date(2026, 6, 4), date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 2),
        date(2026, 11, 15), date(2026, 11, 20), date(2026, 12, 25),
    }  # fmt: skip
    expected = 0.0
    day = date(2026, 1, 1)
    while day.year == 2026:
        if day not in holidays_2026:
            expected += 9 * H if day.weekday() < 5 else 4 * H if day.weekday() == 5 else 0
        day += timedelta(days=1)
    started = wallclock.perf_counter()
    assert CAL.business_seconds_between(sp(2026, 1, 1), sp(2027, 1, 1)) == expected
    assert CAL.add_business_seconds(sp(2026, 1, 1), expected) == sp(2026, 12, 31, 18)
    assert wallclock.perf_counter() - started < 0.5  # day stepping, not minute loops


# -- is_open / next_open -------------------------------------------------------------------

OPEN = [
    (sp(2026, 3, 2, 8), True),
    (sp(2026, 3, 2, 7, 59, 59), False),
    (sp(2026, 3, 2, 11, 59, 59), True),
    (sp(2026, 3, 2, 12), False),  # end exclusive: lunch starts
    (sp(2026, 3, 2, 13), True),
    (sp(2026, 3, 2, 18), False),
    (sp(2026, 3, 7, 10), True),  # Saturday morning
    (sp(2026, 3, 7, 13), False),
    (sp(2026, 3, 8, 10), False),  # Sunday
]


@pytest.mark.parametrize(("at", "expected"), OPEN)
def test_is_open_boundaries(at: datetime, expected: bool) -> None:
    assert CAL.is_open(at) is expected


NEXT_OPEN = [
    (sp(2026, 3, 2, 9), sp(2026, 3, 2, 9)),  # open: itself
    (sp(2026, 3, 2, 12, 15), sp(2026, 3, 2, 13)),  # lunch
    (sp(2026, 3, 7, 13), sp(2026, 3, 9, 8)),  # Saturday afternoon -> Monday
    (sp(2026, 2, 13, 18, 30), sp(2026, 2, 14, 8)),  # Friday before Carnaval -> Saturday
    (sp(2026, 2, 14, 12), sp(2026, 2, 18, 8)),  # Saturday of Carnaval -> Ash Wednesday
]


@pytest.mark.parametrize(("at", "expected"), NEXT_OPEN)
def test_next_open(at: datetime, expected: datetime) -> None:
    assert CAL.next_open(at) == expected


def test_empty_calendar_never_opens() -> None:
    cal = BusinessCalendar.weekly({})
    assert cal.business_seconds_between(sp(2026, 3, 2), sp(2026, 4, 2)) == 0
    assert not cal.is_open(sp(2026, 3, 2, 10))
    with pytest.raises(NoBusinessTime):
        cal.next_open(sp(2026, 3, 2, 10))
    with pytest.raises(NoBusinessTime):
        cal.add_business_seconds(sp(2026, 3, 2, 10), 60)


# -- zones and offsets ---------------------------------------------------------------------


def test_utc_inputs_are_converted_to_clinic_time() -> None:
    # São Paulo has had no DST since 2019: UTC-3 all year, also in January (old DST season).
    assert CAL.is_open(datetime(2026, 1, 15, 11, 0, tzinfo=UTC))  # 08:00 local
    assert not CAL.is_open(datetime(2026, 1, 15, 10, 59, tzinfo=UTC))  # 07:59 local
    deadline = CAL.add_business_seconds(datetime(2026, 1, 15, 14, 30, tzinfo=UTC), 1 * H)  # 11:30 local
    assert deadline == sp(2026, 1, 15, 13, 30)
    assert deadline.utcoffset() == timedelta(hours=-3)
    assert sp(2026, 7, 15, 12).utcoffset() == timedelta(hours=-3)


def test_historical_dst_day_is_measured_on_real_instants() -> None:
    # 2018-11-04 São Paulo jumped from 00:00 to 01:00 (UTC-3 -> UTC-2): that day had 23 hours.
    always = BusinessCalendar.always_open()
    assert always.business_seconds_between(sp(2018, 11, 3, 12), sp(2018, 11, 4, 12)) == 23 * H
    # Opening hours on the DST Monday still last 9 hours of real time.
    assert CAL.business_seconds_between(sp(2018, 11, 5), sp(2018, 11, 6)) == 9 * H


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_open(datetime(2026, 3, 2, 10))  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.business_seconds_between(datetime(2026, 3, 2, 10), sp(2026, 3, 2, 11))


def test_interval_until_midnight_and_always_open() -> None:
    on_call = BusinessCalendar.weekly({0: [(time(18), time(0))], 1: [(time(0), time(8))]})
    assert on_call.business_seconds_between(sp(2026, 3, 2, 23), sp(2026, 3, 3, 1)) == 2 * H
    assert on_call.add_business_seconds(sp(2026, 3, 2, 17), 7 * H) == sp(2026, 3, 3, 1)
    always = BusinessCalendar.always_open()
    assert always.is_open(sp(2026, 4, 21, 3))  # holidays and nights included
    assert always.add_business_seconds(sp(2026, 2, 16, 23, 58), 5 * M) == sp(2026, 2, 17, 0, 3)
    assert always.next_open(sp(2026, 2, 16, 3)) == sp(2026, 2, 16, 3)


INVALID = [
    ("end before start", [(time(12), time(8))]),
    ("empty interval", [(time(8), time(8))]),
    ("overlap", [(time(8), time(12)), (time(11), time(14))]),
    ("seconds", [(time(8, 0, 30), time(12))]),
]


@pytest.mark.parametrize(("case", "intervals"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_intervals_are_refused(case: str, intervals: list[tuple[time, time]]) -> None:
    with pytest.raises(ValueError):
        normalize_intervals(intervals)
    with pytest.raises(ValueError):
        BusinessCalendar.weekly({0: intervals})


def test_invalid_weekday_and_yearly_holiday() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar.weekly({7: [(time(8), time(12))]})
    with pytest.raises(ValueError):
        BusinessCalendar.weekly(HOURS, yearly_local_holidays=[(4, 31)])


def test_calendars_are_hashable_values() -> None:
    assert BusinessCalendar.weekly(HOURS) == CAL
    assert hash(BusinessCalendar.weekly(HOURS)) == hash(CAL)


# -- randomized cross-check against a minute-by-minute reference --------------------------


def _reference_minutes(cal: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Open minutes in [start, end) by visiting every minute (slow, obviously correct)."""
    holidays = {date(2026, 2, 16), date(2026, 2, 17), date(2026, 4, 3), date(2026, 4, 21)}
    count = 0
    t = start
    while t < end:
        local = t.astimezone(SP)
        if local.date() not in holidays:
            for lo, hi in HOURS.get(local.weekday(), ()):
                if lo <= local.time() < hi:
                    count += 1
                    break
        t += timedelta(minutes=1)
    return count


def test_random_ranges_match_the_reference_and_add_inverts_between() -> None:
    rng = random.Random(20260216)
    base = sp(2026, 2, 12)  # covers Carnaval
    for _ in range(150):
        start = base + timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        expected = _reference_minutes(CAL, start, end) * M
        assert CAL.business_seconds_between(start, end) == expected, (start, end)
        budget = rng.randrange(1, 30 * 60) * M
        deadline = CAL.add_business_seconds(start, budget)
        assert CAL.business_seconds_between(start, deadline) == budget
        # Minimal: one second earlier the budget is not yet spent.
        assert CAL.business_seconds_between(start, deadline - timedelta(seconds=1)) < budget
