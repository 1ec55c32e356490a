"""Two patients never get the same slot: many concurrent freed-slot events, accepts and bot
bookings of one slot end with exactly one booking (unique keys and conditional updates in the
database; on PostgreSQL the tasks really run on separate connections)."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

from sqlalchemy import select

from handoff.adapters.sql.models import AppointmentRow
from handoff.adapters.sql.models_waitlist import WaitlistOffer
from handoff.domain.clinic.appointments import AppointmentStatus
from handoff.domain.clinic.slots import Slot
from handoff.services.clinic import ClinicError
from tests.waitlist.conftest import World

N = 12


async def _active_at(w: World, slot: Slot) -> list[int]:
    async with w.db.session() as s:
        q = select(AppointmentRow.patient_id).where(
            AppointmentRow.doctor_id == slot.doctor_id, AppointmentRow.starts_at == slot.start.astimezone(UTC),
            AppointmentRow.status != AppointmentStatus.CANCELLED.value)
        return list((await s.execute(q)).scalars())


async def _holding(w: World, slot: Slot) -> list[WaitlistOffer]:
    async with w.db.session() as s:
        q = select(WaitlistOffer).where(WaitlistOffer.slot_key == slot.id)
        return list((await s.execute(q)).scalars())


async def _attempt(coro: object) -> object:
    try:
        return await coro  # type: ignore[misc]
    except ClinicError as exc:
        return exc.code


async def test_concurrent_freed_events_hold_the_slot_once(world: World) -> None:
    w = world
    [offered] = await w.clinic.slots(specialty="cardiologia", start=w.clock.now + timedelta(days=1), limit=1)
    slot = offered.slot
    waiting = [(await w.patient())[0] for _ in range(N)]
    for pid in waiting:
        await w.waitlist.join(pid, "cardiologia")
        w.clock.advance(seconds=1)
    results = await asyncio.gather(*(w.waitlist.slot_freed(slot.doctor_id, slot.start, slot.end) for _ in range(N)))
    made = [r for r in results if r is not None]
    assert len(made) == 1
    [held] = await _holding(w, slot)
    assert held.id == made[0] and held.patient_id == waiting[0]  # first come, first served


async def test_concurrent_accepts_and_bot_bookings_of_a_held_slot_book_it_once(world: World) -> None:
    w = world
    [offered] = await w.clinic.slots(specialty="cardiologia", start=w.clock.now + timedelta(days=1), limit=1)
    slot = offered.slot
    winner, _ = await w.patient()
    await w.waitlist.join(winner, "cardiologia")
    outsiders = [(await w.patient())[0] for _ in range(N)]
    offer_id = await w.waitlist.slot_freed(slot.doctor_id, slot.start, slot.end)
    assert offer_id is not None
    tasks = [_attempt(w.waitlist.accept(offer_id)) for _ in range(N)]
    tasks += [_attempt(w.clinic.book(pid, slot.id)) for pid in outsiders]
    tasks += [_attempt(w.waitlist.slot_freed(slot.doctor_id, slot.start, slot.end)) for _ in range(N)]
    results = await asyncio.gather(*tasks)
    accepts, books = results[:N], results[N:2 * N]
    assert sum(1 for r in accepts if not isinstance(r, str)) == 1
    assert all(r == "offer_closed" for r in accepts if isinstance(r, str))
    assert all(r == "slot_taken" for r in books)  # held for `winner`, then booked by them
    assert await _active_at(w, slot) == [winner]
    assert await _holding(w, slot) == []


async def test_a_race_between_freeing_and_booking_never_double_books(world: World) -> None:
    """Outsiders book the slot while freed-slot events and accepts run: whoever is first, one booking."""
    w = world
    slots = await w.clinic.slots(specialty="cardiologia", start=w.clock.now + timedelta(days=1), limit=4)
    for offered in slots:
        slot = offered.slot
        waiting, _ = await w.patient()
        await w.waitlist.join(waiting, "cardiologia")
        outsiders = [(await w.patient())[0] for _ in range(N // 2)]

        async def free_then_accept(s: Slot = slot) -> object:
            offer_id = await w.waitlist.slot_freed(s.doctor_id, s.start, s.end)
            return await _attempt(w.waitlist.accept(offer_id)) if offer_id is not None else None

        tasks = [free_then_accept() for _ in range(N // 2)]
        tasks += [_attempt(w.clinic.book(pid, slot.id)) for pid in outsiders]
        await asyncio.gather(*tasks)
        booked = await _active_at(w, slot)
        assert len(booked) == 1
        assert await _holding(w, slot) == []  # nothing stays held on a booked slot
