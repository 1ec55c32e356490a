"""Reminder rows (issue 15): planning inserts, the lease claim, and the reads the sender needs.

The claim follows interaction_store.claim_delivery: on Postgres `FOR UPDATE SKIP LOCKED` picks a
row no other replica is looking at, then a conditional UPDATE (the only guard on SQLite) takes
the lease; a worker that died leaves a `sending` row whose lease expires and is claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc, to_utc
from handoff.adapters.sql.leases import lease_due
from handoff.adapters.sql.models import (
    AppointmentRow,
    ClinicProfile,
    ConsentRow,
    Conversation,
    DoctorRow,
    Message,
    Patient,
    SpecialtyRow,
)
from handoff.adapters.sql.models_reminders import ReminderOptOutRow, ReminderRow, ReminderRuleRow
from handoff.adapters.sql.store import _insert
from handoff.domain.interactions import consent_allows
from handoff.domain.reminders import DEFAULT_RULE, ReminderRule, ReminderStatus

ACTIVE_STATUSES = ("scheduled", "confirmed")
# Channels a reminder can reach the patient on without them being online (not the web chat,
# not a phone call).
REMINDER_CHANNELS = ("whatsapp", "whatsapp_meta", "sms", "email", "telegram", "messenger", "instagram")


async def rules(session: AsyncSession) -> dict[int | None, ReminderRule]:
    """The configured rules by specialty id (None = default; the built-in default when unset)."""
    out: dict[int | None, ReminderRule] = {None: DEFAULT_RULE}
    for r in (await session.execute(select(ReminderRuleRow))).scalars():
        out[r.specialty_id] = ReminderRule(tuple(int(h) for h in r.offsets_hours or ()), bool(r.morning_of),
                                           bool(r.enabled))
    return out


async def upcoming(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[AppointmentRow, int]]:
    """Active appointments starting in [start, end) with their doctor's specialty id."""
    q = (select(AppointmentRow, DoctorRow.specialty_id)
         .join(DoctorRow, DoctorRow.id == AppointmentRow.doctor_id)
         .where(AppointmentRow.starts_at >= start, AppointmentRow.starts_at < end,
                AppointmentRow.status.in_(ACTIVE_STATUSES)))
    return [(a, int(s)) for a, s in (await session.execute(q)).all()]


async def existing(session: AsyncSession, appointment_ids: Sequence[int]) -> list[ReminderRow]:
    """Every reminder row of these appointments."""
    if not appointment_ids:
        return []
    q = select(ReminderRow).where(ReminderRow.appointment_id.in_(list(appointment_ids)))
    return list((await session.execute(q)).scalars().all())


INSERT_CHUNK = 500


async def insert_missing(session: AsyncSession, dialect: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert planned rows; a row another replica inserted first is left alone (unique key)."""
    inserted = 0
    # In chunks: one multi-row INSERT binds ~10 parameters per row, and PostgreSQL (and SQLite)
    # refuse a statement with more than 32,767 of them — a first pass over a busy clinic's 72 h
    # plans thousands of rows (found by bench/reminders.py: 7,997 rows failed the whole pass).
    for at in range(0, len(rows), INSERT_CHUNK):
        stmt = _insert(dialect, ReminderRow.__table__).values(list(rows[at:at + INSERT_CHUNK]))
        stmt = stmt.on_conflict_do_nothing(index_elements=["appointment_id", "kind", "appointment_start"])
        res = await session.execute(stmt)
        inserted += int(res.rowcount or 0)  # type: ignore[attr-defined]
    return inserted


async def scheduled_with_appointments(session: AsyncSession) -> list[tuple[ReminderRow, AppointmentRow | None]]:
    """Reminders still waiting to go, with their appointment (None when it no longer exists)."""
    q = (select(ReminderRow, AppointmentRow)
         .outerjoin(AppointmentRow, AppointmentRow.id == ReminderRow.appointment_id)
         .where(ReminderRow.status == ReminderStatus.SCHEDULED.value))
    return [(r, a) for r, a in (await session.execute(q)).all()]


async def sent_open(session: AsyncSession, since: datetime) -> list[tuple[ReminderRow, AppointmentRow | None,
                                                                          Message | None]]:
    """Reminders sent since `since` with news: no reply yet and the appointment changed after the
    send, or the message was delivered/read and the row does not say so yet."""
    r, m = ReminderRow, Message
    news = or_(and_(r.reply.is_(None), AppointmentRow.updated_at >= r.sent_at),
               and_(r.delivered_at.is_(None), m.status.in_(("delivered", "read"))),
               and_(r.read_at.is_(None), m.status == "read"))
    q = (select(r, AppointmentRow, m)
         .outerjoin(AppointmentRow, AppointmentRow.id == r.appointment_id)
         .outerjoin(m, m.id == r.message_id)
         .where(r.status == ReminderStatus.SENT.value, r.sent_at >= since, news))
    return [(r, a, m) for r, a, m in (await session.execute(q)).all()]


def _due(now: datetime) -> Any:
    r = ReminderRow
    return or_(and_(r.status == ReminderStatus.SCHEDULED.value, r.due_at <= now),
               and_(r.status == ReminderStatus.SENDING.value, r.lease_until < now))


async def claim(session: AsyncSession, dialect: str, owner: str, lease_seconds: float,
                now: datetime) -> ReminderRow | None:
    """Lease the most overdue reminder and count the attempt; None when nothing is due."""
    r = ReminderRow
    return await lease_due(session, dialect, r, _due(now), (r.due_at, r.id),
                           sending=ReminderStatus.SENDING.value, owner=owner, lease_seconds=lease_seconds, now=now)


async def owned(session: AsyncSession, reminder_id: int, owner: str, now: datetime) -> ReminderRow | None:
    """The reminder, locked, if this worker still holds an unexpired lease on it."""
    row = await session.get(ReminderRow, reminder_id, with_for_update=True, populate_existing=True)
    if row is None or row.lease_owner != owner or row.status != ReminderStatus.SENDING.value:
        return None
    until = as_utc(row.lease_until)
    if until is None or until <= now:
        return None
    return row


async def opted_out(session: AsyncSession, patient_id: int) -> bool:
    """Whether the patient asked for no reminders or revoked their consent."""
    if await session.get(ReminderOptOutRow, patient_id) is not None:
        return True
    latest = (await session.execute(
        select(ConsentRow.granted, ConsentRow.version).where(ConsentRow.patient_id == patient_id)
        .order_by(ConsentRow.id.desc()).limit(1))).first()
    return latest is not None and not consent_allows((bool(latest[0]), str(latest[1])))


async def contact_conversation(session: AsyncSession, patient_id: int) -> Conversation | None:
    """The patient's most recently used conversation on a channel a reminder can go out on."""
    c = Conversation
    q = (select(c).where(c.patient_id == patient_id, c.channel.in_(REMINDER_CHANNELS), c.redacted_at.is_(None))
         .order_by(func.coalesce(c.last_inbound_at, c.updated_at).desc(), c.id).limit(1))
    return (await session.execute(q)).scalars().first()


async def appointment_card(session: AsyncSession, appointment: AppointmentRow) -> dict[str, Any]:
    """Doctor, specialty, clinic name/address and the patient's name for the message."""
    doctor = await session.get(DoctorRow, appointment.doctor_id)
    specialty = await session.get(SpecialtyRow, doctor.specialty_id) if doctor is not None else None
    clinic = (await session.execute(select(ClinicProfile).limit(1))).scalars().first()
    patient = await session.get(Patient, appointment.patient_id)
    return {
        "doctor": doctor.name if doctor else "",
        "doctor_id": appointment.doctor_id,
        "specialty": specialty.name if specialty else "",
        "specialty_slug": specialty.slug if specialty else "",
        "specialty_id": specialty.id if specialty else None,
        "clinic": clinic.name if clinic else "",
        "address": clinic.address if clinic else "",
        "patient_name": (patient.display_name or "") if patient and patient.erased_at is None else "",
        "patient_erased": patient is None or patient.erased_at is not None,
    }


async def history(session: AsyncSession, appointment_id: int) -> list[tuple[ReminderRow, str | None]]:
    """An appointment's reminders, oldest first, with their message's delivery status."""
    q = (select(ReminderRow, Message.status).outerjoin(Message, Message.id == ReminderRow.message_id)
         .where(ReminderRow.appointment_id == appointment_id).order_by(ReminderRow.due_at, ReminderRow.id))
    return [(r, s) for r, s in (await session.execute(q)).all()]


async def by_token(session: AsyncSession, digest: str) -> ReminderRow | None:
    """The reminder whose e-mail confirm token has this SHA-256."""
    return (await session.execute(select(ReminderRow).where(ReminderRow.token_hash == digest))).scalars().first()


async def in_range(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[ReminderRow, str | None]]:
    """Reminders sent in [start, end) with their message's delivery status (stats)."""
    start, end = to_utc(start), to_utc(end)  # clinic-zone bounds from the API (see to_utc)
    q = (select(ReminderRow, Message.status).outerjoin(Message, Message.id == ReminderRow.message_id)
         .where(ReminderRow.sent_at >= start, ReminderRow.sent_at < end))
    return [(r, s) for r, s in (await session.execute(q)).all()]


async def appointments_starting(session: AsyncSession, start: datetime,
                                end: datetime) -> list[tuple[int, int, int, datetime, datetime, str]]:
    """(id, doctor_id, specialty_id, starts_at, ends_at, status) of every appointment starting in
    [start, end), whatever its status (the no-show figures)."""
    start, end = to_utc(start), to_utc(end)  # clinic-zone bounds from the API (see to_utc)
    a = AppointmentRow
    q = (select(a.id, a.doctor_id, DoctorRow.specialty_id, a.starts_at, a.ends_at, a.status)
         .join(DoctorRow, DoctorRow.id == a.doctor_id)
         .where(a.starts_at >= start, a.starts_at < end))
    out: list[tuple[int, int, int, datetime, datetime, str]] = []
    for aid, doctor_id, specialty_id, starts, ends, status in (await session.execute(q)).all():
        s, e = as_utc(starts), as_utc(ends)
        assert s is not None and e is not None
        out.append((int(aid), int(doctor_id), int(specialty_id), s, e, str(status)))
    return out


async def names(session: AsyncSession) -> dict[str, dict[str, str]]:
    """Display names of specialties and doctors by id (as strings, the stats' group keys)."""
    specialties = {str(i): str(n) for i, n in (await session.execute(select(SpecialtyRow.id, SpecialtyRow.name))).all()}
    doctors = {str(i): str(n) for i, n in (await session.execute(select(DoctorRow.id, DoctorRow.name))).all()}
    return {"specialty": specialties, "doctor": doctors}
