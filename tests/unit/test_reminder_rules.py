"""Reminder schedule rules (handoff/domain/reminders.py): offsets, same-morning, quiet hours, stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.reminders import (
    DEFAULT_RULE,
    ReminderRule,
    derive_reply,
    in_quiet_hours,
    is_stale,
    owed,
    place,
    schedule,
)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=CLINIC_TZ)


def kinds_at(start: datetime, rule: ReminderRule = DEFAULT_RULE) -> dict[str, datetime]:
    return {p.kind: p.due_at.astimezone(CLINIC_TZ) for p in schedule(start.astimezone(UTC), rule)}


def test_default_schedule_48h_24h_and_morning_for_early_appointments() -> None:
    assert kinds_at(local(2026, 12, 10, 9, 30)) == {
        "48h": local(2026, 12, 8, 9, 30), "24h": local(2026, 12, 9, 9, 30), "morning": local(2026, 12, 10, 8, 0)}
    # 11:00 and later: no same-morning message
    assert set(kinds_at(local(2026, 12, 10, 11, 0))) == {"48h", "24h"}


def test_quiet_hours_move_back_to_20h_the_evening_before() -> None:
    # 07:30 appointment: 24 h before is 07:30 (quiet) -> 20:00 two evenings before the day
    got = kinds_at(local(2026, 12, 10, 7, 30))
    assert got["24h"] == local(2026, 12, 8, 20, 0)
    assert got["48h"] == local(2026, 12, 7, 20, 0)
    assert "morning" not in got  # 08:00 is after the 07:30 start
    # 22:00 due (appointment at 22:00 two days later) -> 20:00 the same evening
    assert place(local(2026, 12, 8, 22, 0).astimezone(UTC), local(2026, 12, 10, 22, 0).astimezone(UTC)) \
        == local(2026, 12, 8, 20, 0).astimezone(UTC)
    for p in schedule(local(2026, 12, 10, 7, 30).astimezone(UTC)):
        assert not in_quiet_hours(p.due_at)


def test_a_reminder_that_cannot_be_placed_before_the_appointment_is_skipped() -> None:
    # 1 h before a 07:00 appointment is 06:00 (quiet) -> 20:00 the evening before: still before
    start = local(2026, 12, 10, 7, 0).astimezone(UTC)
    assert place(start - timedelta(hours=1), start) == local(2026, 12, 9, 20, 0).astimezone(UTC)
    # a due time not before the appointment is dropped (0 h before a 14:00 appointment)
    afternoon = local(2026, 12, 10, 14, 0).astimezone(UTC)
    assert place(afternoon, afternoon) is None
    assert place(afternoon + timedelta(minutes=5), afternoon) is None


def test_rules_per_specialty_offsets_morning_flag_and_disabled() -> None:
    start = local(2026, 12, 10, 9, 0)
    assert set(kinds_at(start, ReminderRule((72,), morning_of=False))) == {"72h"}
    assert kinds_at(start, ReminderRule((48, 24), enabled=False)) == {}


def test_stale_windows_and_owed() -> None:
    due = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    assert not is_stale("24h", due, due + timedelta(hours=6))
    assert is_stale("24h", due, due + timedelta(hours=6, seconds=1))
    assert not is_stale("morning", due, due + timedelta(minutes=59))
    assert is_stale("morning", due, due + timedelta(minutes=61))
    assert owed(due, due - timedelta(days=1)) and not owed(due, due + timedelta(seconds=1))


def test_reply_derived_from_the_appointment_after_the_send() -> None:
    sent = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    start = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
    later = sent + timedelta(hours=1)
    assert derive_reply(sent_at=sent, planned_start=start, status="confirmed", starts_at=start,
                        updated_at=later) == "confirmed"
    assert derive_reply(sent_at=sent, planned_start=start, status="cancelled", starts_at=start,
                        updated_at=later) == "cancelled"
    assert derive_reply(sent_at=sent, planned_start=start, status="scheduled", starts_at=start + timedelta(days=1),
                        updated_at=later) == "reschedule"
    assert derive_reply(sent_at=sent, planned_start=start, status="confirmed", starts_at=start,
                        updated_at=sent - timedelta(hours=1)) is None
