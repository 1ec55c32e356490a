"""Appointment reminders (issue 15): when each reminder is due, and whether it may still go.

Pure rules: no I/O, `now` is passed in. Times in and out are aware datetimes (UTC by convention);
quiet hours and the same-morning reminder are judged on the clinic's wall clock.

- Default schedule: 48 h and 24 h before the appointment, plus a same-morning message at 08:00
  for appointments starting before 11:00. Per specialty a rule may change the offsets, drop the
  morning message or disable reminders.
- Quiet hours: nothing is sent from 21:00 to 08:00 clinic time. A due time inside them moves back
  to 20:00 of the evening before (never later, so never after the appointment); a reminder that
  would then not be before the appointment is not planned.
- Stale: a reminder whose due time passed by more than its window (6 h for the offset ones, 1 h
  for the same-morning one) is skipped and recorded, never sent late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from handoff.domain.clinic.calendar import at, to_clinic

QUIET_START = time(21, 0)
QUIET_END = time(8, 0)
LAST_BEFORE_QUIET = time(20, 0)
MORNING_AT = time(8, 0)
MORNING_BEFORE = time(11, 0)
MORNING_KIND = "morning"
OFFSET_WINDOW = timedelta(hours=6)
MORNING_WINDOW = timedelta(hours=1)
MAX_OFFSET_HOURS = 24 * 7


class ReminderStatus(StrEnum):
    """Where a reminder is (the `reminders.status` column)."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED_STALE = "skipped_stale"
    SKIPPED_OPT_OUT = "skipped_opt_out"
    SKIPPED_NO_CONTACT = "skipped_no_contact"
    SKIPPED_INACTIVE = "skipped_inactive"  # appointment cancelled, done or moved
    FAILED = "failed"


class Reply(StrEnum):
    """What the patient did after a reminder (derived from the appointment)."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE = "reschedule"
    OTHER = "other"


@dataclass(frozen=True)
class ReminderRule:
    """A clinic's (or one specialty's) schedule."""

    offsets_hours: tuple[int, ...] = (48, 24)
    morning_of: bool = True
    enabled: bool = True


DEFAULT_RULE = ReminderRule()


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder to record: its kind (`48h`, `24h`, `morning`) and when it is due (UTC)."""

    kind: str
    due_at: datetime


def offset_kind(hours: int) -> str:
    """The kind of an offset reminder: `48h`."""
    return f"{hours}h"


def in_quiet_hours(moment: datetime) -> bool:
    """Whether `moment` falls in 21:00–08:00 clinic time."""
    clock = to_clinic(moment).timetz().replace(tzinfo=None)
    return clock >= QUIET_START or clock < QUIET_END


def place(due_at: datetime, appointment_start: datetime) -> datetime | None:
    """The send time for a wanted `due_at`: moved back to 20:00 the evening before when it falls
    in quiet hours; None when the result is not before the appointment."""
    local = to_clinic(due_at)
    if in_quiet_hours(local):
        day = local.date() if local.timetz().replace(tzinfo=None) >= QUIET_START else local.date() - timedelta(days=1)
        local = at(day, LAST_BEFORE_QUIET)
    placed = local.astimezone(UTC)
    return placed if placed < appointment_start else None


def schedule(appointment_start: datetime, rule: ReminderRule = DEFAULT_RULE) -> list[PlannedReminder]:
    """The reminders of an appointment starting at `appointment_start`, earliest first (two
    kinds landing on the same moment are sent once, as the earlier-listed kind)."""
    if not rule.enabled:
        return []
    planned: list[PlannedReminder] = []
    seen: set[datetime] = set()
    for hours in sorted({h for h in rule.offsets_hours if 0 < h <= MAX_OFFSET_HOURS}, reverse=True):
        placed = place(appointment_start - timedelta(hours=hours), appointment_start)
        if placed is not None and placed not in seen:
            seen.add(placed)
            planned.append(PlannedReminder(offset_kind(hours), placed))
    local_start = to_clinic(appointment_start)
    if rule.morning_of and local_start.timetz().replace(tzinfo=None) < MORNING_BEFORE:
        morning = at(local_start.date(), MORNING_AT).astimezone(UTC)
        if morning < appointment_start and morning not in seen:
            planned.append(PlannedReminder(MORNING_KIND, morning))
    return sorted(planned, key=lambda p: p.due_at)


def stale_window(kind: str) -> timedelta:
    """How late a reminder of `kind` may still go out."""
    return MORNING_WINDOW if kind == MORNING_KIND else OFFSET_WINDOW


def is_stale(kind: str, due_at: datetime, now: datetime) -> bool:
    """Whether the reminder's moment passed by more than its window."""
    return now - due_at > stale_window(kind)


def owed(due_at: datetime, appointment_created_at: datetime) -> bool:
    """Whether a reminder belongs to the appointment at all: one due before the booking was made
    was never owed (a booking for tomorrow gets no 48 h reminder)."""
    return due_at >= appointment_created_at


def derive_reply(*, sent_at: datetime, planned_start: datetime, status: str, starts_at: datetime,
                 updated_at: datetime) -> Reply | None:
    """What the patient did after the reminder, judged from the appointment row: cancelled or
    confirmed after `sent_at`, or moved away from the start the reminder was about."""
    if updated_at < sent_at:
        return None
    if status == "cancelled":
        return Reply.CANCELLED
    if starts_at != planned_start:
        return Reply.RESCHEDULE
    if status == "confirmed":
        return Reply.CONFIRMED
    return None
