"""The clinic API with the agenda in the clinic's CalDAV server (AGENDA_BACKEND=caldav).

The real hub app (in-process ASGI, SQLite and PostgreSQL) talks to a real Radicale. The
reception is played with plain HTTP on the same server, the way a calendar app writes
(PUT of an iCalendar object with If-Match): nothing of ours is used on its side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import AgendaWriteRow, AppointmentRow
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend
from tests.support.calendar_reception import Reception
from tests.support.radicale_server import RadicaleServer

SPECIALTY = "cardiologia"


@pytest.fixture
def radicale() -> Iterator[RadicaleServer]:
    with RadicaleServer() as server:
        yield server


@pytest.fixture
async def caldav_hub(backend: Backend, radicale: RadicaleServer) -> AsyncIterator[tuple[Hub, dict[int, str]]]:
    """The hub on the CalDAV agenda; every cardiologist gets a calendar (PUT /api/agenda/doctors)."""
    from tests.support.radicale_server import HUB_PASSWORD, HUB_USER

    hub, life = await start_hub(backend, agenda_backend="caldav", caldav_url=radicale.url,
                                caldav_username=HUB_USER, caldav_password=HUB_PASSWORD,
                                agenda_sync_interval_seconds=3600)
    try:
        staff = await hub.staff()
        doctors = (await hub.client.get("/api/clinic/doctors", params={"specialty": SPECIALTY},
                                        headers=hub.service)).json()
        calendars: dict[int, str] = {}
        for d in doctors:
            path = radicale.make_calendar()
            r = await hub.client.put(f"/api/agenda/doctors/{d['id']}", json={"agenda_ref": path}, headers=staff)
            assert r.status_code == 200, r.text
            calendars[d["id"]] = path
        yield hub, calendars
    finally:
        await hub.client.aclose()
        await life.stop()


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _slots(hub: Hub, **params: str) -> list[dict[str, Any]]:
    r = await hub.client.get("/api/clinic/slots", params={"specialty": SPECIALTY, **params}, headers=hub.service)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


async def _row(hub: Hub, appointment_id: int) -> AppointmentRow:
    async with hub.app.ctx.db.session() as s:
        row = await s.get(AppointmentRow, appointment_id)
        assert row is not None
        return row


async def test_book_move_reschedule_and_cancel_live_in_the_doctors_calendar(
    caldav_hub: tuple[Hub, dict[int, str]], radicale: RadicaleServer
) -> None:
    hub, calendars = caldav_hub
    c, h = hub.client, hub.service
    reception = Reception(radicale)
    pid = await hub.new_patient("Maria Teste")

    offered = await _slots(hub, limit="6")
    assert len(offered) == 6 and {s["doctor_id"] for s in offered} <= set(calendars)
    first = offered[0]

    # The reception fills the first offered time in the doctor's calendar: the hub stops offering
    # it, and a patient who picked it a moment ago is told it was taken (the bot offers others).
    await reception.book(calendars[first["doctor_id"]], _t(first["start"]), _t(first["end"]))
    assert first["slot_id"] not in {s["slot_id"] for s in await _slots(hub, limit="6")}
    r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": first["slot_id"]}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken", r.text

    # The patient books another time: the event is in that doctor's calendar, with our reference.
    # Asked of that doctor alone: the cardiologists work on different weekdays, so near the end of
    # one's day the next six times of the specialty can all be the other's.
    chosen = (await _slots(hub, doctor_id=str(first["doctor_id"]), limit="6"))[0]
    assert chosen["doctor_id"] == first["doctor_id"] and chosen["slot_id"] != first["slot_id"]
    r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": chosen["slot_id"]}, headers=h)
    assert r.status_code == 201, r.text
    appt = r.json()
    row = await _row(hub, appt["id"])
    assert row.agenda_system == "caldav" and row.agenda_ref and row.agenda_version
    found = await reception.get(row.agenda_ref)
    assert found is not None
    (event,) = found[0].walk("VEVENT")
    assert event.decoded("dtstart") == _t(chosen["start"])
    assert str(event.get("X-ATENDE-PATIENT")) == str(pid)
    assert chosen["slot_id"] not in {s["slot_id"] for s in await _slots(hub, limit="40")}

    # The reception moves it two hours later in the calendar: the patient's "my appointment" shows
    # the new time at once (the hub re-reads the event), before any sync pass.
    await reception.move(row.agenda_ref, timedelta(hours=2))
    listed = (await c.get(f"/api/clinic/patients/{pid}/appointments", headers=h)).json()
    assert [_t(a["start"]) for a in listed] == [_t(chosen["start"]) + timedelta(hours=2)]

    # The patient reschedules through the bot's API: the same event moves (If-Match on the ETag the
    # hub learned from the reception's change), to the new time.
    target = next(s for s in await _slots(hub, doctor_id=str(first["doctor_id"]), limit="40")
                  if _t(s["start"]) > _t(chosen["start"]) + timedelta(days=1))
    r = await c.post(f"/api/clinic/appointments/{appt['id']}/reschedule", json={"slot_id": target["slot_id"]},
                     headers=h)
    assert r.status_code == 200, r.text
    assert _t(r.json()["start"]) == _t(target["start"])
    row = await _row(hub, appt["id"])
    found = await reception.get(row.agenda_ref or "")
    assert found is not None
    assert found[0].walk("VEVENT")[0].decoded("dtstart") == _t(target["start"])

    # The agenda goes down: the slot list answers 503 agenda_unavailable (the bot hands off), but the
    # patient's cancellation is kept and written once the agenda is back.
    radicale.stop()
    r = await c.get("/api/clinic/slots", params={"specialty": SPECIALTY}, headers=h)
    assert r.status_code == 503 and r.json()["error"]["code"] == "agenda_unavailable"
    r = await c.post(f"/api/clinic/appointments/{appt['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    async with hub.app.ctx.db.session() as s:
        (pending,) = (await s.execute(select(AgendaWriteRow))).scalars().all()
        assert pending.action == "cancel" and pending.done_at is None
    radicale.start()
    staff = await hub.staff()
    r = await c.post("/api/agenda/sync", headers=staff)
    assert r.status_code == 200 and r.json()["writes_done"] == 1, r.text
    assert await reception.get(row.agenda_ref or "") is None
    assert target["slot_id"] in {s["slot_id"] for s in await _slots(hub, doctor_id=str(first["doctor_id"]),
                                                                    limit="40")}


async def test_the_sync_follows_the_reception_and_adopts_nothing_foreign(
    caldav_hub: tuple[Hub, dict[int, str]], radicale: RadicaleServer
) -> None:
    hub, calendars = caldav_hub
    c, h = hub.client, hub.service
    reception = Reception(radicale)
    pid = await hub.new_patient("João Teste")
    a, b = (await _slots(hub, limit="2"))[:2]
    booked = []
    for slot in (a, b):
        r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": slot["slot_id"]}, headers=h)
        assert r.status_code == 201, r.text
        booked.append(r.json()["id"])
    staff = await hub.staff()
    assert (await c.post("/api/agenda/sync", headers=staff)).status_code == 200  # first pass: marks
    first_row, second_row = await _row(hub, booked[0]), await _row(hub, booked[1])
    await reception.move(first_row.agenda_ref or "", timedelta(days=1))
    await reception.delete(second_row.agenda_ref or "")
    await reception.book(calendars[a["doctor_id"]], _t(a["start"]) + timedelta(days=2),
                         _t(a["end"]) + timedelta(days=2))

    r = await c.post("/api/agenda/sync", headers=staff)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["updated"] == 1 and report["cancelled"] == 1 and report["adopted"] == 0, report
    moved, gone = await _row(hub, booked[0]), await _row(hub, booked[1])
    assert as_utc(moved.starts_at) == _t(a["start"]) + timedelta(days=1) and moved.status == "scheduled"
    assert gone.status == "cancelled"
    async with hub.app.ctx.db.session() as s:
        rows = (await s.execute(select(AppointmentRow).where(AppointmentRow.patient_id == pid))).scalars().all()
    assert len(rows) == 2  # the reception's own event made no hub appointment


async def test_concurrent_bookings_of_one_time_leave_one_event(
    caldav_hub: tuple[Hub, dict[int, str]], radicale: RadicaleServer
) -> None:
    """Eight patients pick the same time at once: one booking, one event, seven `slot_taken`."""
    hub, _calendars = caldav_hub
    patients = [await hub.new_patient(f"Paciente {n}") for n in range(8)]
    (slot,) = await _slots(hub, limit="1")

    async def book(pid: int) -> int:
        r = await hub.client.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": slot["slot_id"]},
                                  headers=hub.service)
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "slot_taken"
        return r.status_code

    codes = await asyncio.gather(*(book(pid) for pid in patients))
    assert sorted(codes) == [201] + [409] * 7
    async with hub.app.ctx.db.session() as s:
        rows = (await s.execute(select(AppointmentRow).where(AppointmentRow.status != "cancelled"))).scalars().all()
    (row,) = [r for r in rows if r.agenda_system == "caldav"]
    events = await Reception(radicale).events_between(_calendars[slot["doctor_id"]], _t(slot["start"]),
                                                      _t(slot["end"]))
    assert len(events) == 1 and str(events[0].get("X-ATENDE-PATIENT")) == str(row.patient_id)


async def test_an_event_written_before_a_crash_is_adopted_by_the_sync(
    caldav_hub: tuple[Hub, dict[int, str]], radicale: RadicaleServer
) -> None:
    """The hub wrote the event and died before its own insert: the next sync pass finds our
    patient reference on an event it does not hold and records the appointment."""
    from handoff.adapters.agenda.caldav import CalDavAgenda
    from handoff.domain.clinic.agenda import AgendaDoctor, AgendaPatient
    from handoff.domain.clinic.slots import Slot
    from tests.support.radicale_server import HUB_PASSWORD, HUB_USER

    hub, calendars = caldav_hub
    pid = await hub.new_patient("Paciente Órfão")
    (slot,) = await _slots(hub, limit="1")
    doctor = AgendaDoctor(slot["doctor_id"], slot["doctor_name"], SPECIALTY, calendars[slot["doctor_id"]])
    agenda = CalDavAgenda(radicale.url, HUB_USER, HUB_PASSWORD)
    try:  # the first half of a booking, as the crashed hub left it
        await agenda.book(doctor, Slot(slot["doctor_id"], _t(slot["start"]), _t(slot["end"])),
                          AgendaPatient(pid, "Paciente Órfão", None))
    finally:
        await agenda.aclose()
    r = await hub.client.post("/api/agenda/sync", headers=await hub.staff())
    assert r.status_code == 200 and r.json()["adopted"] == 1, r.text
    listed = (await hub.client.get(f"/api/clinic/patients/{pid}/appointments", headers=hub.service)).json()
    assert [(a["start"], a["doctor_id"]) for a in listed] == [(slot["start"], slot["doctor_id"])]
    r = await hub.client.post("/api/agenda/sync", headers=await hub.staff())
    assert r.json()["adopted"] == 0  # idempotent
