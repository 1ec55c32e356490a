"""Business time: the clinic's opening intervals as a clock that SLA targets are measured on.

A patient who writes at 19:00 on a Friday has not been "waiting 60 hours" for reception on
Monday 08:00; SLA clocks must only count the time the team could have answered. This module
answers four questions on a `BusinessCalendar`:

- `business_seconds_between(start, end)`: open seconds in ``[start, end)``;
- `add_business_seconds(start, seconds)`: the deadline after that much open time;
- `is_open(at)` and `next_open(at)`.

Rules:

- Several intervals per weekday (e.g. 08:00–12:00 and 13:00–18:00: lunch does not count).
  An interval ending at ``time(0)`` ends at midnight (24:00), so ``(time(0), time(0))`` is a
  whole day; 24x7 teams (urgent on-call) use `BusinessCalendar.always_open()`.
- Closed on Brazilian national holidays (taken from `handoff.domain.clinic.calendar`, which
  also closes Carnaval and Corpus Christi) and on configurable local holidays (one-off dates
  and yearly month/day ones such as a city's anniversary). `special_hours` replaces the hours
  of one date (reduced hours on 24 December, opening on a holiday) and wins over holidays.
- Wall times are in the calendar's zone (default ``America/Sao_Paulo``); all arithmetic is on
  UTC instants, so durations stay right even across historical DST changes.
- Inputs must be timezone-aware: the database hands out UTC and a naive value is ambiguous
  (SQLite returns naive datetimes), so guessing would shift clocks by three hours. Results are
  aware datetimes in the calendar's zone.

Everything is pure and loops over days and intervals, never over minutes: a range of N days
costs O(N) small steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from handoff.domain.clinic.calendar import CLINIC_TZ, national_holidays

Interval = tuple[time, time]
WEEKDAYS = 7
_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
# A calendar that stays closed this long is treated as never opening (empty schedule), so a
# deadline search cannot loop forever.
_MAX_CLOSED_DAYS = 800


class NoBusinessTime(ValueError):
    """The calendar never opens (e.g. no hours configured), so no deadline exists."""


def require_aware(moment: datetime, name: str = "datetime") -> datetime:
    """Return `moment` unchanged when it is timezone-aware, else raise ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {moment.isoformat()})")
    return moment


@lru_cache(maxsize=128)
def _national_days(year: int) -> frozenset[date]:
    return frozenset(national_holidays(year))


def _end_minutes(end: time) -> int:
    return 24 * 60 if end == _MIDNIGHT else end.hour * 60 + end.minute


def normalize_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort a day's intervals and check them: start < end (end 00:00 = midnight), no overlaps.

    Seconds are not supported in opening hours (clinics publish HH:MM); they are rejected so
    that a typo cannot silently shift a deadline.
    """
    out = sorted(intervals)
    previous_end = -1
    for start, end in out:
        if start.second or start.microsecond or end.second or end.microsecond:
            raise ValueError(f"opening hours are HH:MM: {start}–{end}")
        begin = start.hour * 60 + start.minute
        finish = _end_minutes(end)
        if begin >= finish:
            raise ValueError(f"interval must start before it ends: {start}–{end}")
        if begin < previous_end:
            raise ValueError(f"overlapping intervals at {start}")
        previous_end = finish
    return tuple(out)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday) plus holidays, in one time zone.

    Build it with `BusinessCalendar.weekly(...)` or `BusinessCalendar.always_open()`.
    """

    week: tuple[tuple[Interval, ...], ...]
    local_holidays: frozenset[date] = frozenset()
    yearly_local_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    special_hours: tuple[tuple[date, tuple[Interval, ...]], ...] = ()
    include_national_holidays: bool = True
    tz: ZoneInfo = CLINIC_TZ
    always: bool = False
    _special: dict[date, tuple[Interval, ...]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if len(self.week) != WEEKDAYS:
            raise ValueError("week must have 7 entries (0 = Monday)")
        object.__setattr__(self, "week", tuple(normalize_intervals(day) for day in self.week))
        special = {day: normalize_intervals(ivs) for day, ivs in self.special_hours}
        object.__setattr__(self, "special_hours", tuple(sorted(special.items())))
        object.__setattr__(self, "_special", special)
        for month, day in self.yearly_local_holidays:
            date(2024, month, day)  # leap year: accepts 29 Feb, rejects 31 Apr

    @classmethod
    def weekly(
        cls,
        hours: Mapping[int, Iterable[Interval]],
        *,
        local_holidays: Iterable[date] = (),
        yearly_local_holidays: Iterable[tuple[int, int]] = (),
        special_hours: Mapping[date, Iterable[Interval]] | None = None,
        include_national_holidays: bool = True,
        tz: ZoneInfo = CLINIC_TZ,
    ) -> BusinessCalendar:
        """A calendar from ``{weekday: [(start, end), ...]}`` (the clinic module's `WeeklyHours`)."""
        for weekday in hours:
            if not 0 <= weekday < WEEKDAYS:
                raise ValueError(f"weekday must be 0..6, got {weekday}")
        return cls(
            week=tuple(tuple(hours.get(wd, ())) for wd in range(WEEKDAYS)),
            local_holidays=frozenset(local_holidays),
            yearly_local_holidays=frozenset(yearly_local_holidays),
            special_hours=tuple((day, tuple(ivs)) for day, ivs in (special_hours or {}).items()),
            include_national_holidays=include_national_holidays,
            tz=tz,
        )

    @classmethod
    def always_open(cls, tz: ZoneInfo = CLINIC_TZ) -> BusinessCalendar:
        """24x7, holidays included: business time equals elapsed time (urgent, on-call)."""
        whole_day = ((_MIDNIGHT, _MIDNIGHT),)
        return cls(week=(whole_day,) * WEEKDAYS, include_national_holidays=False, tz=tz, always=True)

    # -- days ---------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        """True when `day` is a national (if enabled) or local holiday."""
        if day in self.local_holidays or (day.month, day.day) in self.yearly_local_holidays:
            return True
        return self.include_national_holidays and day in _national_days(day.year)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Wall-clock opening intervals of a calendar day (special hours > holidays > weekday)."""
        if self.always:
            return self.week[0]
        if day in self._special:
            return self._special[day]
        if self.is_holiday(day):
            return ()
        return self.week[day.weekday()]

    def _spans_on(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's open intervals as UTC instants [start, end)."""
        for start, end in self.intervals_on(day):
            begin = datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC)
            end_day = day + _ONE_DAY if end == _MIDNIGHT else day
            finish = datetime.combine(end_day, end, tzinfo=self.tz).astimezone(UTC)
            if finish > begin:  # a wall interval swallowed by a DST gap has no length
                yield begin, finish

    def _local_day(self, moment_utc: datetime) -> date:
        return moment_utc.astimezone(self.tz).date()

    def _spans_from(self, moment_utc: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans ending after `moment_utc`, clipped to start no earlier than it, in order.

        Infinite for a calendar that opens; raises NoBusinessTime after a long closed run.
        """
        # Start one day early: an interval of the previous day may end at/after midnight.
        day = self._local_day(moment_utc) - _ONE_DAY
        closed_run = 0
        while True:
            opened = False
            for begin, finish in self._spans_on(day):
                opened = True
                if finish > moment_utc:
                    yield max(begin, moment_utc), finish
            closed_run = 0 if opened else closed_run + 1
            if closed_run > _MAX_CLOSED_DAYS:
                raise NoBusinessTime("the calendar has no opening hours")
            day += _ONE_DAY

    # -- the four questions -------------------------------------------------------------

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Open seconds in ``[start, end)``; negative when `end` is before `start`."""
        start_utc = require_aware(start, "start").astimezone(UTC)
        end_utc = require_aware(end, "end").astimezone(UTC)
        if end_utc < start_utc:
            return -self.business_seconds_between(end, start)
        if self.always:
            return (end_utc - start_utc).total_seconds()
        total = timedelta(0)
        day = self._local_day(start_utc) - _ONE_DAY
        last_day = self._local_day(end_utc)
        while day <= last_day:  # bounded by the range, so an empty calendar just gives 0
            for begin, finish in self._spans_on(day):
                lo, hi = max(begin, start_utc), min(finish, end_utc)
                if hi > lo:
                    total += hi - lo
            day += _ONE_DAY
        return total.total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The earliest moment at which `seconds` of open time have passed since `start`.

        Time before the next opening does not count; a budget that runs out exactly at an
        interval's end returns that end (12:00, not 13:00 after lunch). `seconds` == 0 returns
        `start`. Raises NoBusinessTime when the calendar never opens.
        """
        start_utc = require_aware(start, "start").astimezone(UTC)
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        remaining = timedelta(seconds=seconds)
        if self.always or not remaining:
            return (start_utc + remaining).astimezone(self.tz)
        for begin, finish in self._spans_from(start_utc):
            span = finish - begin
            if remaining <= span:
                return (begin + remaining).astimezone(self.tz)
            remaining -= span
        raise AssertionError("unreachable: _spans_from is infinite or raises")  # pragma: no cover

    def is_open(self, at: datetime) -> bool:
        """True when `at` lies inside an opening interval (start inclusive, end exclusive)."""
        at_utc = require_aware(at, "at").astimezone(UTC)
        if self.always:
            return True
        day = self._local_day(at_utc)
        for candidate in (day - _ONE_DAY, day):
            for begin, finish in self._spans_on(candidate):
                if begin <= at_utc < finish:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the start of the next opening interval.

        Raises NoBusinessTime when the calendar never opens.
        """
        at_utc = require_aware(at, "at").astimezone(UTC)
        for begin, _finish in self._spans_from(at_utc):
            return begin.astimezone(self.tz)
        raise AssertionError("unreachable: _spans_from is infinite or raises")  # pragma: no cover


def weekday_hours(intervals: Iterable[Interval], weekdays: Iterable[int] = range(5)) -> dict[int, tuple[Interval, ...]]:
    """Same intervals on several weekdays: ``weekday_hours([(8h, 12h), (13h, 18h)])`` = Mon–Fri."""
    ivs = tuple(intervals)
    return {wd: ivs for wd in weekdays}
