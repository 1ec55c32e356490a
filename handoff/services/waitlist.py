"""Waitlist use cases (issue 15, item 3): freed slots offered first come first served with a hold.

- `join` / `leave`: a patient asks for an earlier date for a specialty (optionally a doctor).
- `slot_freed` (ClinicService's `on_slot_freed` hook): the slot is held for the first waiting
  patient who fits and an offer ("Quero este horário" / "Não, obrigado") is queued in the outbox,
  in one transaction.
- `accept`: books the held slot for that patient (the clinic refuses it to anyone else while the
  hold lasts); `decline` and `sweep(now)` (expired holds) hand the slot to the next patient, each
  in one transaction with the closing of the previous offer.
Who wins a slot is decided by unique keys and conditional updates in the database
(`adapters/sql/waitlist_store.py`), never by a lock in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import store
from handoff.adapters.sql import waitlist_store as ws
from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import Conversation
from handoff.adapters.sql.models_waitlist import WaitlistEntry, WaitlistOffer
from handoff.adapters.tasks import cancel_and_wait, run_every
from handoff.domain import waitlist as rules
from handoff.domain.clinic.calendar import to_clinic
from handoff.domain.clinic.entities import Appointment
from handoff.domain.clinic.slots import slot_id
from handoff.domain.messages import Sender
from handoff.domain.messaging_window import window_state
from handoff.services.clinic import ClinicConflict, ClinicError, ClinicService, not_found
from handoff.services.unit_of_work import WORK_TOPIC, Events, UnitOfWork

log = logging.getLogger(__name__)

OFFER_TEMPLATE_ID = "vaga_lista_espera"  # WHATSAPP_TEMPLATES entry used outside the 24-hour window
SWEEP_BATCH = 100
ACCEPT_GRACE = timedelta(minutes=5)  # an accept still being written this long after its hold is settled by the sweep


class WaitlistService:
    """The waitlist on top of the clinic service and the hub's database."""

    def __init__(
        self,
        uow: UnitOfWork,
        clinic: ClinicService,
        *,
        hold_minutes: int = rules.DEFAULT_HOLD_MINUTES,
        templates: Sequence[dict[str, Any]] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.uow = uow
        self.clinic = clinic
        self.hold_minutes = hold_minutes
        self.templates = {str(t.get("id")): t for t in templates}
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The current time (clinic zone)."""
        return to_clinic(self._clock())

    # -- entries -------------------------------------------------------------------------------

    async def join(self, patient_id: int, specialty: str, doctor_id: int | None = None,
                   before: date | None = None, conversation_id: str | None = None) -> dict[str, Any]:
        """Put a patient on the list: {id, position, created}. Idempotent per patient + specialty
        (+ doctor): asking again answers the existing entry."""
        if specialty not in {s.slug for s in await self.clinic.directory.specialties()}:
            raise not_found("specialty")
        if doctor_id is not None:
            doctor = await self.clinic.directory.doctor(doctor_id)
            if doctor is None:
                raise not_found("doctor")
            if doctor.specialty != specialty:
                raise ClinicConflict("specialty_mismatch", "this doctor is of another specialty")
        if await self.clinic.directory.resolve_patient(patient_id) is None:
            raise not_found("patient")
        async with self.uow() as (session, _):
            row, created = await ws.add_entry(session, patient_id, specialty, doctor_id, before, conversation_id,
                                              self.now())
            line = [ws.candidate_of(r) for r in await ws.waiting(session, specialty)]
            return {"id": row.id, "position": rules.position(ws.candidate_of(row), line), "created": created}

    async def leave(self, entry_id: int, patient_id: int | None = None) -> None:
        """Take an entry off the list (404 when unknown or, with `patient_id`, someone else's)."""
        async with self.uow() as (session, _):
            row = await session.get(WaitlistEntry, entry_id)
            if row is None or (patient_id is not None and row.patient_id != patient_id):
                raise not_found("waitlist_entry")
            if not await ws.leave(session, entry_id, self.now()):
                raise ClinicConflict("not_waiting", "this entry is no longer waiting")

    async def entry_patient(self, entry_id: int) -> int | None:
        """Whose entry this is (None when unknown): for the staff scope check."""
        async with self.uow() as (session, _):
            row = await session.get(WaitlistEntry, entry_id)
            return row.patient_id if row is not None else None

    async def offer_patient(self, offer_id: int) -> int | None:
        """Whose offer this is (None when unknown): for the staff scope check."""
        async with self.uow() as (session, _):
            row = await ws.offer(session, offer_id)
            return row.patient_id if row is not None else None

    async def entries(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Entries for staff (ids, specialty, doctor, dates; no message text)."""
        async with self.uow() as (session, _):
            return [entry_view(r) for r in await ws.entries(session, status, limit)]

    # -- offers --------------------------------------------------------------------------------

    async def slot_freed(self, doctor_id: int, start: datetime, end: datetime) -> int | None:
        """Offer a freed slot to the first waiting patient who fits; the new offer's id or None
        (nobody fits, the slot is already held, or it was booked again meanwhile)."""
        doctor = await self.clinic.directory.doctor(doctor_id)
        if doctor is None:
            return None
        slot = rules.FreedSlot(doctor_id, doctor.specialty, to_clinic(start), to_clinic(end))
        labels = await self._labels(slot)
        async with self.uow() as (session, events):
            row = await self._offer_next(session, events, slot, labels)
            return row.id if row is not None else None

    async def _labels(self, slot: rules.FreedSlot) -> tuple[str, str]:
        """(specialty name, doctor name) for the message; read before a transaction opens (the
        directory uses its own sessions, and SQLite has one writer)."""
        names = {s.slug: s.name for s in await self.clinic.directory.specialties()}
        doctor = await self.clinic.directory.doctor(slot.doctor_id)
        return names.get(slot.specialty, slot.specialty), doctor.name if doctor else ""

    async def _offer_next(self, session: AsyncSession, events: Events, slot: rules.FreedSlot,
                          labels: tuple[str, str]) -> WaitlistOffer | None:
        """In the caller's transaction: hold the slot for the next patient and queue the message."""
        now = self.now()
        if await ws.slot_is_held(session, slot.doctor_id, slot.start) or \
                await ws.slot_booked(session, slot.doctor_id, slot.start, slot.end):
            return None
        excluded = await ws.offered_patients(session, slot.doctor_id, slot.start)
        busy = await ws.busy_entries(session)
        pool = {r.id: r for r in await ws.waiting(session, slot.specialty) if r.id not in busy}
        tried: set[int] = set()
        while True:
            cands = [ws.candidate_of(r) for r in pool.values() if r.id not in tried]
            pick = rules.pick_next(cands, slot, now, excluded)
            if pick is None:
                return None
            tried.add(pick.entry_id)
            entry = pool[pick.entry_id]
            message = await self._message(session, entry, slot, labels, now)
            if message is None:
                continue  # no way to reach this patient now: they keep their place for the next slot
            until = rules.hold_until(now, self.hold_minutes, slot.start)
            row = await ws.insert_offer(session, pick, slot.doctor_id, slot.specialty, slot.start, slot.end,
                                        until, now)
            if row is None:
                if await ws.slot_is_held(session, slot.doctor_id, slot.start):
                    return None  # another process held it first
                continue  # this entry holds another slot right now
            conv, text, payload = message
            payload["buttons"] = [
                {"title": "Quero este horário", "payload": rules.button_payload("waitlist_accept", row.id)},
                {"title": "Não, obrigado", "payload": rules.button_payload("waitlist_decline", row.id)},
            ]
            payload["waitlist_offer_id"] = row.id
            msg = store.add_outbound(session, conv, Sender.SYSTEM, text, payload)
            await session.flush()
            row.message_id = msg.id
            events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
            log.info("waitlist: offer %s holds a slot", row.id)
            return row

    async def _message(self, session: AsyncSession, entry: WaitlistEntry, slot: rules.FreedSlot,
                       labels: tuple[str, str], now: datetime) -> tuple[Conversation, str, dict[str, Any]] | None:
        """(conversation, text, payload) of the offer to this entry's patient, or None when they
        cannot be reached (no conversation; WhatsApp outside the window without an approved template)."""
        conv = await ws.reachable_conversation(session, entry)
        if conv is None:
            return None
        specialty_name, doctor_name = labels
        text = rules.offer_text(specialty_name, doctor_name, slot.start, self.hold_minutes)
        payload: dict[str, Any] = {}
        if window_state(conv.channel, as_utc(conv.last_inbound_at), now).requires_template:
            template = self.templates.get(OFFER_TEMPLATE_ID)
            ref_key = "twilio_content_sid" if conv.channel == "whatsapp" else "meta_name"
            if template is None or not template.get(ref_key):
                return None
            values = [specialty_name, f"{slot.start:%d/%m} às {slot.start:%H:%M}", doctor_name]
            payload["template"] = {"id": template["id"], "name": template.get("name"),
                                   "twilio_content_sid": template.get("twilio_content_sid"),
                                   "meta_name": template.get("meta_name"),
                                   "language": template.get("language") or "pt_BR", "variables": values}
        return conv, text, payload

    async def accept(self, offer_id: int, patient_id: int | None = None) -> Appointment:
        """Book the held slot for the offer's patient. 409 `offer_closed` when the hold ended or the
        offer was answered; 409 `slot_taken` when the slot could not be booked after all."""
        now = self.now()
        async with self.uow() as (session, _):
            row = await ws.offer(session, offer_id)
            if row is None or (patient_id is not None and row.patient_id != patient_id):
                raise not_found("offer")
            if not await ws.transition(session, offer_id, rules.OfferStatus.HELD, rules.OfferStatus.ACCEPTING, now,
                                       live_at=now):
                raise ClinicConflict("offer_closed", "esta oferta não está mais disponível")
            holder, entry_id = row.patient_id, row.entry_id
            start = as_utc(row.starts_at)
            assert start is not None
            doctor_id = row.doctor_id
        try:
            appt = await self.clinic.book(holder, slot_id(doctor_id, start))
        except ClinicError:
            async with self.uow() as (session, _):
                await ws.transition(session, offer_id, rules.OfferStatus.ACCEPTING, rules.OfferStatus.FAILED,
                                    self.now())
            raise
        async with self.uow() as (session, _):
            await ws.transition(session, offer_id, rules.OfferStatus.ACCEPTING, rules.OfferStatus.ACCEPTED,
                                self.now(), appointment_id=appt.id)
            await ws.mark_booked(session, entry_id, appt.id, self.now())
        return appt

    async def decline(self, offer_id: int, patient_id: int | None = None) -> int | None:
        """The patient said no: the slot goes to the next patient (the new offer's id, or None)."""
        now = self.now()
        async with self.uow() as (session, events):
            row = await ws.offer(session, offer_id)
            if row is None or (patient_id is not None and row.patient_id != patient_id):
                raise not_found("offer")
            if not await ws.transition(session, offer_id, rules.OfferStatus.HELD, rules.OfferStatus.DECLINED, now):
                raise ClinicConflict("offer_closed", "esta oferta não está mais disponível")
            slot = _slot_of(row)
        labels = await self._labels(slot)
        async with self.uow() as (session, events):
            nxt = await self._offer_next(session, events, slot, labels)
            return nxt.id if nxt is not None else None

    async def sweep(self, now: datetime | None = None) -> int:
        """Close the holds that ended by `now` and offer each slot to the next patient, and settle
        accepts cut by a crash; the number of offers closed or settled. Safe on any number of
        processes: each is closed by one of them (conditional updates)."""
        now = to_clinic(now) if now is not None else self.now()
        async with self.uow() as (session, _):
            due = [(r.id, _slot_of(r)) for r in await ws.due_offers(session, now, SWEEP_BATCH)]
        closed = 0
        for offer_id, slot in due:
            labels = await self._labels(slot)
            async with self.uow() as (session, events):
                # Closing the hold and offering the slot to the next patient commit together.
                if not await ws.transition(session, offer_id, rules.OfferStatus.HELD, rules.OfferStatus.EXPIRED, now,
                                           due_at=now):
                    continue
                closed += 1
                await self._offer_next(session, events, slot, labels)
        return closed + await self._recover_accepts(now)

    async def _recover_accepts(self, now: datetime) -> int:
        """Settle accepts left `accepting` by a process that died mid-way (ACCEPT_GRACE after the
        hold): `accepted` when the patient's appointment is there, else `failed` and the slot goes on."""
        async with self.uow() as (session, _):
            stale = [(r.id, r.patient_id, r.entry_id, _slot_of(r))
                     for r in await ws.stale_accepting(session, now - ACCEPT_GRACE, SWEEP_BATCH)]
        for offer_id, patient_id, entry_id, slot in stale:
            resolved = await self.clinic.directory.resolve_patient(patient_id)
            labels = await self._labels(slot)
            async with self.uow() as (session, events):
                booking = await ws.booking_at(session, slot.doctor_id, slot.start)
                if booking is not None and booking[1] in (patient_id, resolved):
                    if await ws.transition(session, offer_id, rules.OfferStatus.ACCEPTING, rules.OfferStatus.ACCEPTED,
                                           now, appointment_id=booking[0]):
                        await ws.mark_booked(session, entry_id, booking[0], now)
                elif await ws.transition(session, offer_id, rules.OfferStatus.ACCEPTING, rules.OfferStatus.FAILED, now):
                    await self._offer_next(session, events, slot, labels)
        return len(stale)

    async def stats(self, start: datetime, end: datetime) -> dict[str, int]:
        """{offered, accepted, expired, declined} of the offers made in [start, end)."""
        async with self.uow() as (session, _):
            return await ws.stats(session, start, end)


def _slot_of(row: WaitlistOffer) -> rules.FreedSlot:
    start, end = as_utc(row.starts_at), as_utc(row.ends_at)
    assert start is not None and end is not None
    return rules.FreedSlot(row.doctor_id, row.specialty, to_clinic(start), to_clinic(end))


def entry_view(row: WaitlistEntry) -> dict[str, Any]:
    """An entry as the API shows it."""
    created = as_utc(row.created_at)
    return {"id": row.id, "patient_id": row.patient_id, "specialty": row.specialty, "doctor_id": row.doctor_id,
            "before": row.before.isoformat() if row.before else None, "conversation_id": row.conversation_id,
            "status": row.status, "appointment_id": row.appointment_id,
            "created_at": created.isoformat() if created else None}


class WaitlistSweeper:
    """Runs `WaitlistService.sweep` every `interval` seconds in each hub process (safe on many:
    every hold is closed by one of them)."""

    def __init__(self, service: WaitlistService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        # The sweeper must outlive one bad pass.
        await run_every(self.interval, self.service.sweep, lambda _exc: log.exception("waitlist sweep failed"))

    def start(self) -> None:
        """Start the loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="waitlist-sweep")

    async def stop(self) -> None:
        """Stop the loop."""
        await cancel_and_wait([self._task])
        self._task = None
