"""Which appointment the patient's latest reminder was about (issue 15, item 2).

A reply to a reminder often comes hours later, typed ("confirmo", "não vou conseguir ir"), on
another channel or after other conversations. The bot pipeline adds what this module finds to
the metadata it sends to the bot with every message (`reminder`: docs/CONTRACTS.md), and the
bot's confirmation/reschedule flows prefer that appointment when the patient has several.

A reminder counts when it was sent (status `sent`) to any record of the person — the
conversation's patient, the record it is linked to by CPF, and the other channel records linked
to that one (`PatientLink`, as `clinic_store._resolve` follows it) — in the last
`REMINDER_CONTEXT_WINDOW`, for an appointment that is still active and ahead. The latest wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import AppointmentRow, PatientLink
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.domain.clinic.appointments import ACTIVE

# How long after a reminder a typed reply is still read as its answer.
REMINDER_CONTEXT_WINDOW = timedelta(hours=72)
SENT = "sent"


@dataclass(frozen=True)
class ReminderContext:
    """The patient's latest reminder: the appointment it was about, its kind and when it left."""

    appointment_id: int
    kind: str
    sent_at: datetime

    def as_metadata(self) -> dict[str, Any]:
        """The `reminder` entry of the bot metadata (ids and a time only, no personal data)."""
        return {"appointment_id": self.appointment_id, "kind": self.kind, "sent_at": self.sent_at.isoformat()}


def person_ids(patient_id: int) -> Any:
    """Every record of the person behind `patient_id`, as a subquery: itself, the record it is
    linked to by CPF (or a staff merge) and the other channel records linked to that one. One
    statement with the caller's: this runs on every bot turn."""
    canonical = func.coalesce(
        select(PatientLink.linked_to_id).where(PatientLink.patient_id == patient_id).scalar_subquery(),
        patient_id,
    )
    linked = select(PatientLink.patient_id).where(PatientLink.linked_to_id == canonical)
    return union(select(literal(patient_id)), select(canonical), linked)


async def latest_reminder(
    session: AsyncSession, patient_id: int, now: datetime, window: timedelta = REMINDER_CONTEXT_WINDOW
) -> ReminderContext | None:
    """The latest reminder sent to the person within `window` before `now` whose appointment is
    still active (scheduled/confirmed) and starts after `now`; None when there is none."""
    now_utc = now.astimezone(UTC)
    row = (
        await session.execute(
            select(ReminderRow.appointment_id, ReminderRow.kind, ReminderRow.sent_at)
            .join(AppointmentRow, AppointmentRow.id == ReminderRow.appointment_id)
            .where(
                ReminderRow.patient_id.in_(person_ids(patient_id)),
                ReminderRow.status == SENT,
                ReminderRow.sent_at >= now_utc - window,
                ReminderRow.sent_at <= now_utc,
                AppointmentRow.status.in_([s.value for s in ACTIVE]),
                AppointmentRow.starts_at > now_utc,
            )
            .order_by(ReminderRow.sent_at.desc(), ReminderRow.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    appointment_id, kind, sent_at = row
    return ReminderContext(int(appointment_id), str(kind), as_utc(sent_at) or now_utc)
