"""Waitlist queries (issue 15): entries, offers and the holds the clinic's booking respects.

Every change that decides who gets a slot is a conditional UPDATE or an INSERT guarded by a
unique key (`waitlist_offers.slot_key`, `.entry_key`, `waitlist_entries.active_key`), run in a
savepoint so the loser of a race gets a clean answer and its transaction stays usable. No lock
in memory: any number of hub processes may run these at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import Database, as_utc
from handoff.adapters.sql.models import AppointmentRow, Conversation
from handoff.adapters.sql.models_waitlist import WaitlistEntry, WaitlistOffer
from handoff.domain.clinic.slots import slot_id
from handoff.domain.waitlist import HOLDING, Candidate, EntryStatus, OfferStatus, active_key

_HOLDING = [s.value for s in HOLDING]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def candidate_of(row: WaitlistEntry) -> Candidate:
    """The rules' view of an entry row."""
    created = as_utc(row.created_at)
    assert created is not None
    return Candidate(row.id, row.patient_id, row.specialty, row.doctor_id, row.before, created)


async def add_entry(
    session: AsyncSession, patient_id: int, specialty: str, doctor_id: int | None, before: date | None,
    conversation_id: str | None, now: datetime,
) -> tuple[WaitlistEntry, bool]:
    """Insert a waiting entry; (entry, created). An active entry for the same patient + specialty
    (+ doctor) is returned instead (`created` False), whoever inserted it first."""
    key = active_key(patient_id, specialty, doctor_id)
    row = WaitlistEntry(patient_id=patient_id, specialty=specialty, doctor_id=doctor_id, before=before,
                        conversation_id=conversation_id, status=EntryStatus.WAITING.value, active_key=key,
                        created_at=_utc(now), updated_at=_utc(now))
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        return row, True
    except IntegrityError:
        existing = (await session.execute(select(WaitlistEntry).where(WaitlistEntry.active_key == key))).scalar_one()
        return existing, False


async def waiting(session: AsyncSession, specialty: str | None = None) -> list[WaitlistEntry]:
    """Waiting entries (of a specialty), oldest first."""
    q = select(WaitlistEntry).where(WaitlistEntry.status == EntryStatus.WAITING.value)
    if specialty is not None:
        q = q.where(WaitlistEntry.specialty == specialty)
    return list((await session.execute(q.order_by(WaitlistEntry.created_at, WaitlistEntry.id))).scalars())


async def entries(session: AsyncSession, status: str | None, limit: int) -> list[WaitlistEntry]:
    """Entries for staff, oldest first (optionally of one status)."""
    q = select(WaitlistEntry)
    if status is not None:
        q = q.where(WaitlistEntry.status == status)
    return list((await session.execute(q.order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(limit))).scalars())


async def leave(session: AsyncSession, entry_id: int, now: datetime) -> bool:
    """Take a waiting entry off the list (False when it was not waiting)."""
    res = await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == EntryStatus.WAITING.value)
        .values(status=EntryStatus.LEFT.value, active_key=None, updated_at=_utc(now))
        .execution_options(synchronize_session=False))
    return int(res.rowcount) == 1  # type: ignore[attr-defined]


async def busy_entries(session: AsyncSession) -> set[int]:
    """Entries that hold a slot right now (they are not offered another one meanwhile)."""
    q = select(WaitlistOffer.entry_id).where(WaitlistOffer.status.in_(_HOLDING))
    return set((await session.execute(q)).scalars())


async def offered_patients(session: AsyncSession, doctor_id: int, start: datetime) -> set[int]:
    """Patients this slot was already offered to (they are not asked twice)."""
    q = select(WaitlistOffer.patient_id).where(WaitlistOffer.doctor_id == doctor_id,
                                               WaitlistOffer.starts_at == _utc(start))
    return set((await session.execute(q)).scalars())


async def slot_is_held(session: AsyncSession, doctor_id: int, start: datetime) -> bool:
    """Whether an offer holds this slot now."""
    q = select(WaitlistOffer.id).where(WaitlistOffer.slot_key == slot_id(doctor_id, start))
    return (await session.execute(q)).first() is not None


async def slot_booked(session: AsyncSession, doctor_id: int, start: datetime, end: datetime) -> bool:
    """Whether a non-cancelled appointment of this doctor overlaps the slot (booked again meanwhile)."""
    q = select(AppointmentRow.id).where(
        AppointmentRow.doctor_id == doctor_id, AppointmentRow.status != "cancelled",
        AppointmentRow.starts_at < _utc(end), AppointmentRow.ends_at > _utc(start))
    return (await session.execute(q.limit(1))).first() is not None


async def insert_offer(
    session: AsyncSession, entry: Candidate, doctor_id: int, specialty: str, start: datetime, end: datetime,
    hold_until: datetime, now: datetime,
) -> WaitlistOffer | None:
    """Hold the slot for this entry; None when a unique key refused it (the slot is already held,
    or the entry already holds another slot)."""
    row = WaitlistOffer(entry_id=entry.entry_id, patient_id=entry.patient_id, doctor_id=doctor_id,
                        specialty=specialty, starts_at=_utc(start), ends_at=_utc(end),
                        status=OfferStatus.HELD.value, hold_until=_utc(hold_until),
                        slot_key=slot_id(doctor_id, start), entry_key=entry.entry_id, created_at=_utc(now))
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    return row


async def offer(session: AsyncSession, offer_id: int) -> WaitlistOffer | None:
    """One offer."""
    return await session.get(WaitlistOffer, offer_id)


async def transition(
    session: AsyncSession, offer_id: int, expected: OfferStatus, new: OfferStatus, now: datetime,
    *, live_at: datetime | None = None, due_at: datetime | None = None, appointment_id: int | None = None,
) -> bool:
    """Conditional UPDATE of an offer's status (`live_at`: only while the hold lasts at that time;
    `due_at`: only once the hold has ended by then). Leaving the holding statuses frees its keys."""
    conds: list[Any] = [WaitlistOffer.id == offer_id, WaitlistOffer.status == expected.value]
    if live_at is not None:
        conds.append(WaitlistOffer.hold_until > _utc(live_at))
    if due_at is not None:
        conds.append(WaitlistOffer.hold_until <= _utc(due_at))
    values: dict[str, Any] = {"status": new.value}
    if new not in HOLDING:
        values.update(slot_key=None, entry_key=None, decided_at=_utc(now))
    if appointment_id is not None:
        values["appointment_id"] = appointment_id
    res = await session.execute(update(WaitlistOffer).where(and_(*conds)).values(**values)
                                .execution_options(synchronize_session=False))
    return int(res.rowcount) == 1  # type: ignore[attr-defined]


async def mark_booked(session: AsyncSession, entry_id: int, appointment_id: int, now: datetime) -> None:
    """The entry got its earlier appointment: it leaves the list."""
    await session.execute(
        update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
        .values(status=EntryStatus.BOOKED.value, active_key=None, appointment_id=appointment_id,
                updated_at=_utc(now))
        .execution_options(synchronize_session=False))


async def due_offers(session: AsyncSession, now: datetime, limit: int) -> list[WaitlistOffer]:
    """Held offers whose hold has ended, oldest first."""
    q = (select(WaitlistOffer)
         .where(WaitlistOffer.status == OfferStatus.HELD.value, WaitlistOffer.hold_until <= _utc(now))
         .order_by(WaitlistOffer.hold_until, WaitlistOffer.id).limit(limit))
    return list((await session.execute(q)).scalars())


async def stale_accepting(session: AsyncSession, before: datetime, limit: int) -> list[WaitlistOffer]:
    """Accepts whose hold ended before `before` and are still being written (the process that took
    them died between the claim and the outcome)."""
    q = (select(WaitlistOffer)
         .where(WaitlistOffer.status == OfferStatus.ACCEPTING.value, WaitlistOffer.hold_until <= _utc(before))
         .order_by(WaitlistOffer.hold_until, WaitlistOffer.id).limit(limit))
    return list((await session.execute(q)).scalars())


async def booking_at(session: AsyncSession, doctor_id: int, start: datetime) -> tuple[int, int] | None:
    """(appointment id, patient id) of the non-cancelled appointment starting at this slot."""
    q = select(AppointmentRow.id, AppointmentRow.patient_id).where(
        AppointmentRow.doctor_id == doctor_id, AppointmentRow.starts_at == _utc(start),
        AppointmentRow.status != "cancelled")
    row = (await session.execute(q.limit(1))).first()
    return (int(row[0]), int(row[1])) if row is not None else None


async def reachable_conversation(session: AsyncSession, entry: WaitlistEntry) -> Conversation | None:
    """The conversation the entry was made in, else the patient's most recently active one."""
    if entry.conversation_id is not None:
        conv = await session.get(Conversation, entry.conversation_id)
        if conv is not None:
            return conv
    q = (select(Conversation).where(Conversation.patient_id == entry.patient_id)
         .order_by(Conversation.updated_at.desc()).limit(1))
    return (await session.execute(q)).scalar_one_or_none()


async def stats(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    """Offers made in [start, end) by outcome: offered (all), accepted, expired, declined."""
    q = (select(WaitlistOffer.status, func.count())
         .where(WaitlistOffer.created_at >= _utc(start), WaitlistOffer.created_at < _utc(end))
         .group_by(WaitlistOffer.status))
    counts = {status: int(n) for status, n in (await session.execute(q)).all()}
    return {"offered": sum(counts.values()), "accepted": counts.get(OfferStatus.ACCEPTED.value, 0),
            "expired": counts.get(OfferStatus.EXPIRED.value, 0),
            "declined": counts.get(OfferStatus.DECLINED.value, 0)}


class SqlSlotHolds:
    """The holds as the clinic's listing and booking ask for them (`ClinicService(slot_holds=…)`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def holders(self, doctor_ids: Sequence[int], start: datetime, end: datetime) -> dict[str, int]:
        """Slot id -> the patient it is held for, for slots of these doctors starting in [start, end).

        A hold whose time has passed but that the sweep has not closed yet still counts: the
        sweep hands it to the next patient, so it is never free for an outsider in between."""
        if not doctor_ids:
            return {}
        q = (select(WaitlistOffer.slot_key, WaitlistOffer.patient_id)
             .where(WaitlistOffer.slot_key.is_not(None), WaitlistOffer.doctor_id.in_(list(doctor_ids)),
                    WaitlistOffer.starts_at >= _utc(start), WaitlistOffer.starts_at < _utc(end)))
        async with self.db.session() as s:
            return {str(k): int(p) for k, p in (await s.execute(q)).all()}
