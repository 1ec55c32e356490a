"""Free appointment slots from doctors' weekly schedules.

A doctor's schedule row says "on this weekday, from start to end, consultations of N
minutes". Slots are cut from the intersection of that row with the clinic's opening
intervals, so the clinic's lunch break and holidays are never offered even when a row spans
them. Slots are deterministic (aligned to the start of each intersected interval), which lets
a slot be named by `doctor_id` + local start time (`slot_id`) and re-validated at booking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from handoff.domain.clinic.calendar import WeeklyHours, at, intervals_on, to_clinic

# Patients must not be offered a slot that starts in less than this (travel, reception).
MIN_LEAD = timedelta(hours=1)
MAX_WINDOW = timedelta(days=92)
_SLOT_ID = re.compile(r"^(\d{1,12})-(\d{12})$")


@dataclass(frozen=True)
class DoctorSchedule:
    """One weekly working block of a doctor (weekday 0 = Monday, end exclusive)."""

    doctor_id: int
    weekday: int
    start: time
    end: time
    slot_minutes: int


@dataclass(frozen=True)
class Slot:
    """A bookable consultation time of one doctor (aware datetimes in the clinic zone)."""

    doctor_id: int
    start: datetime
    end: datetime

    @property
    def id(self) -> str:
        """Stable name of this slot (see `slot_id`)."""
        return slot_id(self.doctor_id, self.start)


def slot_id(doctor_id: int, start: datetime) -> str:
    """`<doctor_id>-<YYYYMMDDHHMM>` with the start in clinic wall time."""
    return f"{doctor_id}-{to_clinic(start):%Y%m%d%H%M}"


def parse_slot_id(value: str) -> tuple[int, datetime]:
    """Inverse of `slot_id`: (doctor_id, aware start). Raises ValueError when malformed."""
    match = _SLOT_ID.match(value.strip())
    if not match:
        raise ValueError("malformed slot id")
    start = datetime.strptime(match.group(2), "%Y%m%d%H%M")  # clinic wall time; zone added next
    return int(match.group(1)), to_clinic(start)


def _intersect(a: tuple[time, time], b: tuple[time, time]) -> tuple[time, time] | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def day_slots(schedules: Iterable[DoctorSchedule], hours: WeeklyHours, day: date) -> list[Slot]:
    """Every slot of `day` from these schedule rows, ignoring bookings and the clock."""
    opening = intervals_on(hours, day)
    slots: list[Slot] = []
    for row in schedules:
        if row.weekday != day.weekday() or row.slot_minutes <= 0:
            continue
        length = timedelta(minutes=row.slot_minutes)
        for interval in opening:
            common = _intersect((row.start, row.end), interval)
            if common is None:
                continue
            cursor, limit = at(day, common[0]), at(day, common[1])
            while cursor + length <= limit:
                slots.append(Slot(row.doctor_id, cursor, cursor + length))
                cursor += length
    return slots


def _overlaps(slot: Slot, busy: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(slot.start < b_end and b_start < slot.end for b_start, b_end in busy)


def free_slots(
    schedules: Iterable[DoctorSchedule],
    hours: WeeklyHours,
    busy: Mapping[int, Sequence[tuple[datetime, datetime]]],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    *,
    lead: timedelta = MIN_LEAD,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots starting in [max(window_start, now + lead), window_end), soonest first.

    `busy` maps doctor id -> (start, end) of its booked (non-cancelled) appointments; any
    overlap removes a slot, so a changed slot length never lets two bookings overlap.
    Ties on start are ordered by doctor id so the answer is deterministic.
    """
    earliest = max(to_clinic(window_start), to_clinic(now) + lead)
    latest = min(to_clinic(window_end), earliest + MAX_WINDOW)
    rows = list(schedules)
    found: list[Slot] = []
    day = earliest.date()
    while day <= latest.date():
        for slot in sorted(day_slots(rows, hours, day), key=lambda s: (s.start, s.doctor_id)):
            if earliest <= slot.start < latest and not _overlaps(slot, busy.get(slot.doctor_id, ())):
                found.append(slot)
                if limit is not None and len(found) >= limit:
                    return found
        day += timedelta(days=1)
    return found


def offered_slot(
    schedules: Iterable[DoctorSchedule],
    hours: WeeklyHours,
    doctor_id: int,
    start: datetime,
    now: datetime,
    *,
    lead: timedelta = MIN_LEAD,
) -> Slot | None:
    """The slot of this doctor starting exactly at `start` if the rules would offer it now.

    Bookings are not checked here (the database's unique index is the final word on that);
    this rejects made-up times, holidays, lunch breaks, the past and the next `lead`.
    """
    local = to_clinic(start)
    if local < to_clinic(now) + lead:
        return None
    own = [r for r in schedules if r.doctor_id == doctor_id]
    for slot in day_slots(own, hours, local.date()):
        if slot.start == local:
            return slot
    return None
