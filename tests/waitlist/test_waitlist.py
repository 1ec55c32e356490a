"""The waitlist on SQLite and PostgreSQL: a freed slot is held for the first waiting patient who
fits, offered through the outbox, booked on accept, handed to the next on decline or when the
hold ends; nobody else may list or book it meanwhile; outcomes are counted."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import select

from handoff.adapters.sql.models import AppointmentRow, Message
from handoff.adapters.sql.models_waitlist import WaitlistEntry, WaitlistOffer
from handoff.services.clinic import ClinicError, OfferedSlot
from tests.waitlist.conftest import World


async def _cardio_slot(w: World, skip: int = 0) -> OfferedSlot:
    slots = await w.clinic.slots(specialty="cardiologia", start=w.clock.now + timedelta(days=1), limit=skip + 1)
    return slots[skip]


async def _offers(w: World) -> list[WaitlistOffer]:
    async with w.db.session() as s:
        return list((await s.execute(select(WaitlistOffer).order_by(WaitlistOffer.id))).scalars())


async def _offer_messages(w: World, conversation_id: str) -> list[Message]:
    async with w.db.session() as s:
        q = select(Message).where(Message.conversation_id == conversation_id, Message.direction == "out")
        return list((await s.execute(q.order_by(Message.id))).scalars())


async def _booked_then_cancelled(w: World, slot: OfferedSlot) -> int:
    """Someone books the slot and cancels it: the hook hands it to the waitlist."""
    owner, _ = await w.patient()
    appt = await w.clinic.book(owner, slot.slot.id)
    await w.clinic.cancel(appt.id)
    return appt.id


async def test_join_is_one_entry_per_patient_and_specialty_with_a_place_in_line(world: World) -> None:
    w = world
    first, conv = await w.patient()
    second, _ = await w.patient()
    a = await w.waitlist.join(first, "cardiologia", conversation_id=conv)
    w.clock.advance(minutes=1)
    b = await w.waitlist.join(second, "cardiologia", before=date(2027, 4, 1))
    assert (a["position"], a["created"], b["position"], b["created"]) == (1, True, 2, True)
    again = await w.waitlist.join(first, "cardiologia")
    assert again == {"id": a["id"], "position": 1, "created": False}
    with pytest.raises(ClinicError) as exc:
        await w.waitlist.join(first, "nao_existe")
    assert exc.value.code == "specialty_not_found"
    await w.waitlist.leave(a["id"])
    assert (await w.waitlist.join(second, "cardiologia"))["position"] == 1  # the first one left
    with pytest.raises(ClinicError) as exc:
        await w.waitlist.leave(a["id"])
    assert exc.value.code == "not_waiting"
    listed = await w.waitlist.entries("waiting")
    assert [e["id"] for e in listed] == [b["id"]]


async def test_a_cancelled_slot_is_held_for_the_first_who_fits_and_booked_on_accept(world: World) -> None:
    w = world
    slot = await _cardio_slot(w)
    other_doctor, _ = await w.patient()
    too_late, _ = await w.patient()
    first, first_conv = await w.patient()
    second, _ = await w.patient()
    # Waiting for another doctor, or only for dates before the slot's day: they do not fit.
    other_id = next(d.id for d in await w.clinic.doctors("cardiologia") if d.id != slot.slot.doctor_id)
    await w.waitlist.join(other_doctor, "cardiologia", doctor_id=other_id)
    w.clock.advance(seconds=1)
    await w.waitlist.join(too_late, "cardiologia", before=slot.slot.start.date())
    w.clock.advance(seconds=1)
    first_entry = await w.waitlist.join(first, "cardiologia", conversation_id=first_conv)
    w.clock.advance(seconds=1)
    await w.waitlist.join(second, "cardiologia")

    await _booked_then_cancelled(w, slot)
    [offer] = await _offers(w)
    assert (offer.patient_id, offer.status, offer.slot_key) == (first, "held", slot.slot.id)
    [msg] = await _offer_messages(w, first_conv)
    assert msg.id == offer.message_id and msg.status == "queued" and "30 minutos" in (msg.text or "")
    assert [b["title"] for b in msg.payload["buttons"]] == ["Quero este horário", "Não, obrigado"]
    assert msg.payload["buttons"][0]["payload"] == f'/waitlist_accept{{"offer_id":"{offer.id}"}}'
    assert msg.payload["buttons"][1]["payload"] == f'/waitlist_decline{{"offer_id":"{offer.id}"}}'

    # While held: not listed, and nobody else may book it (the bot, or a reschedule).
    listed = await w.clinic.slots(specialty="cardiologia", start=slot.slot.start, end=slot.slot.end)
    assert slot.slot.id not in {o.slot.id for o in listed}
    with pytest.raises(ClinicError) as exc:
        await w.clinic.book(second, slot.slot.id)
    assert exc.value.code == "slot_taken"
    with pytest.raises(ClinicError):
        await w.waitlist.accept(offer.id, patient_id=second)  # not their offer

    appt = await w.waitlist.accept(offer.id)
    assert appt.patient_id == first and appt.start == slot.slot.start
    [offer] = await _offers(w)
    assert (offer.status, offer.appointment_id, offer.slot_key) == ("accepted", appt.id, None)
    async with w.db.session() as s:
        entry = await s.get(WaitlistEntry, first_entry["id"])
        assert entry is not None and (entry.status, entry.appointment_id, entry.active_key) == ("booked", appt.id, None)
    with pytest.raises(ClinicError) as exc:
        await w.waitlist.accept(offer.id)
    assert exc.value.code == "offer_closed"
    stats = await w.waitlist.stats(w.clock.now - timedelta(days=1), w.clock.now + timedelta(days=1))
    assert stats == {"offered": 1, "accepted": 1, "expired": 0, "declined": 0}


async def test_decline_and_expiry_hand_the_slot_to_the_next_then_free_it(world: World) -> None:
    w = world
    slot = await _cardio_slot(w)
    first, _ = await w.patient()
    second, second_conv = await w.patient()
    await w.waitlist.join(first, "cardiologia")
    w.clock.advance(seconds=1)
    await w.waitlist.join(second, "cardiologia")
    await _booked_then_cancelled(w, slot)
    [offer] = await _offers(w)
    assert offer.patient_id == first

    nxt = await w.waitlist.decline(offer.id)
    offers = await _offers(w)
    assert [(o.patient_id, o.status) for o in offers] == [(first, "declined"), (second, "held")]
    assert nxt == offers[1].id
    assert len(await _offer_messages(w, second_conv)) == 1

    # The hold runs out: the sweep closes it once, at the end instant and not before.
    w.clock.advance(minutes=29, seconds=59)
    assert await w.waitlist.sweep(w.clock.now) == 0
    with pytest.raises(ClinicError):
        await w.clinic.book(first, slot.slot.id)  # still held for `second`
    w.clock.advance(seconds=1)
    with pytest.raises(ClinicError) as exc:
        await w.waitlist.accept(offers[1].id)  # too late
    assert exc.value.code == "offer_closed"
    assert await w.waitlist.sweep(w.clock.now) == 1
    assert await w.waitlist.sweep(w.clock.now) == 0
    offers = await _offers(w)
    assert [o.status for o in offers] == ["declined", "expired"]  # both were asked: nobody is left
    # Free again: listed and bookable by anyone.
    listed = await w.clinic.slots(specialty="cardiologia", start=slot.slot.start, end=slot.slot.end)
    assert slot.slot.id in {o.slot.id for o in listed}
    appt = await w.clinic.book(first, slot.slot.id)
    assert appt.start == slot.slot.start
    stats = await w.waitlist.stats(w.clock.now - timedelta(days=1), w.clock.now + timedelta(days=1))
    assert stats == {"offered": 2, "accepted": 0, "expired": 1, "declined": 1}


async def test_a_rescheduled_appointment_frees_its_old_slot_for_the_waitlist(world: World) -> None:
    w = world
    old, new = await _cardio_slot(w, 0), await _cardio_slot(w, 1)
    waiting, _ = await w.patient()
    await w.waitlist.join(waiting, "cardiologia")
    owner, _ = await w.patient()
    appt = await w.clinic.book(owner, old.slot.id)
    await w.clinic.reschedule(appt.id, new.slot.id)
    [offer] = await _offers(w)
    assert (offer.patient_id, offer.slot_key) == (waiting, old.slot.id)
    assert w.freed == [(old.slot.doctor_id, old.slot.start)]


async def test_whatsapp_outside_the_window_needs_the_approved_template(world: World) -> None:
    from tests.waitlist.conftest import build

    w = world
    slot = await _cardio_slot(w)
    stale = w.clock.now - timedelta(days=3)
    unreachable, _ = await w.patient("whatsapp", last_inbound=stale)
    await w.waitlist.join(unreachable, "cardiologia")
    await _booked_then_cancelled(w, slot)
    assert await _offers(w) == []  # no template configured: they keep their place, no offer
    template = {"id": "vaga_lista_espera", "name": "Vaga", "body": "{{1}} {{2}} {{3}}",
                "twilio_content_sid": "HX" + "0" * 32, "meta_name": "vaga_lista_espera", "variables": ["a", "b", "c"]}
    w2 = build(w.db, w.clock, templates=[template])
    slot2 = await _cardio_slot(w2, 1)
    await _booked_then_cancelled(w2, slot2)
    [offer] = await _offers(w2)
    assert offer.patient_id == unreachable
    async with w.db.session() as s:
        msg = await s.get(Message, offer.message_id)
        assert msg is not None and msg.payload["template"]["twilio_content_sid"] == template["twilio_content_sid"]
        assert len(msg.payload["template"]["variables"]) == 3


async def test_a_slot_booked_again_before_the_hook_is_not_offered(world: World) -> None:
    w = world
    slot = await _cardio_slot(w)
    waiting, _ = await w.patient()
    await w.waitlist.join(waiting, "cardiologia")
    someone, _ = await w.patient()
    await w.clinic.book(someone, slot.slot.id)
    assert await w.waitlist.slot_freed(slot.slot.doctor_id, slot.slot.start, slot.slot.end) is None
    async with w.db.session() as s:
        q = select(AppointmentRow.id).where(AppointmentRow.starts_at == slot.slot.start.astimezone(UTC))
        n = len((await s.execute(q)).all())
    assert n == 1 and await _offers(w) == []


async def test_the_sweep_settles_an_accept_cut_by_a_crash(world: World) -> None:
    """A process claimed an accept (`accepting`) and died: after the hold and a grace the sweep records
    the booking it made, or fails the offer and hands the slot to the next patient."""
    from handoff.adapters.sql import waitlist_store as ws
    from handoff.domain.waitlist import OfferStatus

    w = world
    booked_slot, lost_slot = await _cardio_slot(w, 0), await _cardio_slot(w, 1)
    first, _ = await w.patient()
    second, _ = await w.patient()
    third, _ = await w.patient()
    for pid in (first, second, third):
        await w.waitlist.join(pid, "cardiologia")
        w.clock.advance(seconds=1)
    await _booked_then_cancelled(w, booked_slot)
    await _booked_then_cancelled(w, lost_slot)
    held = {o.patient_id: o for o in await _offers(w)}
    assert set(held) == {first, second}
    for offer in held.values():  # both claimed; only `first`'s booking got written before the crash
        async with w.db.session() as s:
            assert await ws.transition(s, offer.id, OfferStatus.HELD, OfferStatus.ACCEPTING, w.clock.now,
                                       live_at=w.clock.now)
    appt = await w.clinic.book(first, booked_slot.slot.id)  # allowed: the slot is held for `first`
    w.clock.advance(minutes=34)
    assert await w.waitlist.sweep(w.clock.now) == 0  # within the grace: left alone
    w.clock.advance(minutes=2)
    assert await w.waitlist.sweep(w.clock.now) == 2
    by_patient = {o.patient_id: o for o in await _offers(w)}
    assert (by_patient[first].status, by_patient[first].appointment_id) == ("accepted", appt.id)
    assert by_patient[second].status == "failed" and by_patient[second].slot_key is None
    assert (by_patient[third].status, by_patient[third].slot_key) == ("held", lost_slot.slot.id)
