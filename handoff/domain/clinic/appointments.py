"""Appointment lifecycle rules: scheduled -> confirmed -> done; cancel or move before start."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class AppointmentStatus(StrEnum):
    """Where an appointment is in its life."""

    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"


ACTIVE = frozenset({AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED})


class SlotTakenError(Exception):
    """The slot was booked by someone else first (the store or the external agenda refused it)."""


class AppointmentRuleError(Exception):
    """A move the rules forbid; `code` is the API's error code (HTTP 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _started(start: datetime, now: datetime) -> bool:
    return now >= start


def _refuse_started(status: AppointmentStatus, start: datetime, now: datetime, message: str) -> None:
    """A done appointment, or one whose start time has come, can no longer change."""
    if status is AppointmentStatus.DONE or _started(start, now):
        raise AppointmentRuleError("appointment_started", message)


def confirm(status: AppointmentStatus, start: datetime, now: datetime) -> AppointmentStatus:
    """Confirm attendance. Idempotent on an already confirmed appointment."""
    if status is AppointmentStatus.CANCELLED:
        raise AppointmentRuleError("appointment_cancelled", "a consulta foi cancelada")
    _refuse_started(status, start, now, "a consulta já começou ou já aconteceu")
    return AppointmentStatus.CONFIRMED


def cancel(status: AppointmentStatus, start: datetime, now: datetime) -> AppointmentStatus:
    """Cancel before the start time. Idempotent on an already cancelled appointment."""
    if status is AppointmentStatus.CANCELLED:
        return status
    _refuse_started(status, start, now, "só é possível cancelar antes do horário da consulta")
    return AppointmentStatus.CANCELLED


def check_reschedule(status: AppointmentStatus, start: datetime, now: datetime) -> AppointmentStatus:
    """May this appointment move? Returns the status after the move (it needs a new confirmation)."""
    if status is AppointmentStatus.CANCELLED:
        raise AppointmentRuleError("appointment_cancelled", "a consulta foi cancelada; marque uma nova")
    _refuse_started(status, start, now, "só é possível remarcar antes do horário da consulta")
    return AppointmentStatus.SCHEDULED


def complete(status: AppointmentStatus, start: datetime, now: datetime) -> AppointmentStatus:
    """Mark as done: only a confirmed appointment whose start time has passed."""
    if status is AppointmentStatus.DONE:
        return status
    if status is not AppointmentStatus.CONFIRMED:
        raise AppointmentRuleError("appointment_not_confirmed", "só consultas confirmadas podem ser concluídas")
    if not _started(start, now):
        raise AppointmentRuleError("appointment_not_started", "a consulta ainda não começou")
    return AppointmentStatus.DONE


def is_upcoming(status: AppointmentStatus, start: datetime, now: datetime) -> bool:
    """Still ahead and not cancelled (what "minhas próximas consultas" lists)."""
    return status in ACTIVE and start > now
