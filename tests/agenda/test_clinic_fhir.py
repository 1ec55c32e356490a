"""The clinic API with the agenda in the clinic's FHIR R4 server (AGENDA_BACKEND=fhir).

The real hub app (in-process ASGI, SQLite and PostgreSQL) talks to the local FHIR R4 server
(tests/support/fhir_server.py), seeded like a clinic's system: a Practitioner and a Schedule per
cardiologist, 30-minute Slots on weekday mornings for the next two weeks. The reception is a
plain FHIR client on the same server (the contract harness's own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from handoff.domain.clinic.agenda import AgendaDoctor
from handoff.domain.clinic.calendar import CLINIC_TZ
from tests.agenda.test_fhir_agenda import TOKEN, FhirHarness
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend
from tests.e2e.test_bot_flows_webchat import valid_cpf
from tests.support.fhir_server import FhirServer

SPECIALTY = "cardiologia"


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    server = FhirServer(token=TOKEN).start()
    try:
        yield server
    finally:
        server.close()


def _seed_schedule(server: FhirServer, name: str, days: int = 14) -> str:
    practitioner = server.seed({"resourceType": "Practitioner", "name": [{"text": name}]})
    schedule = server.seed({"resourceType": "Schedule", "active": True,
                            "actor": [{"reference": f"Practitioner/{practitioner['id']}"}]})
    today = datetime.now(CLINIC_TZ).date()
    for offset in range(1, days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for k in range(8):
            start = datetime.combine(day, time(8, 0), tzinfo=CLINIC_TZ) + timedelta(minutes=30 * k)
            server.seed({"resourceType": "Slot", "schedule": {"reference": f"Schedule/{schedule['id']}"},
                         "status": "free", "start": start.isoformat(),
                         "end": (start + timedelta(minutes=30)).isoformat()})
    return str(schedule["id"])


@pytest.fixture
async def fhir_hub(backend: Backend, fhir: FhirServer) -> AsyncIterator[tuple[Hub, dict[int, AgendaDoctor]]]:
    hub, life = await start_hub(backend, agenda_backend="fhir", fhir_base_url=fhir.url, fhir_token=TOKEN,
                                agenda_sync_interval_seconds=3600)
    try:
        staff = await hub.staff()
        doctors = (await hub.client.get("/api/clinic/doctors", params={"specialty": SPECIALTY},
                                        headers=hub.service)).json()
        linked: dict[int, AgendaDoctor] = {}
        for d in doctors:
            schedule = _seed_schedule(fhir, d["name"])
            r = await hub.client.put(f"/api/agenda/doctors/{d['id']}", json={"agenda_ref": schedule}, headers=staff)
            assert r.status_code == 200, r.text
            linked[d["id"]] = AgendaDoctor(d["id"], d["name"], SPECIALTY, schedule)
        yield hub, linked
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


def _appointment_of(server: FhirServer, patient_ref: str) -> dict[str, Any]:
    (appointment,) = [a for a in server.all("Appointment")
                      if any(p["actor"]["reference"] == patient_ref for p in a["participant"])]
    return appointment


async def test_book_move_reschedule_cancel_in_the_fhir_agenda(
    fhir_hub: tuple[Hub, dict[int, AgendaDoctor]], fhir: FhirServer
) -> None:
    hub, doctors = fhir_hub
    c, h = hub.client, hub.service
    pid = await hub.new_patient("Maria Teste")
    cpf = valid_cpf()  # a new person (the demo clinic's CPFs belong to its records)
    r = await c.post(f"/api/clinic/patients/{pid}/identify", json={"cpf": cpf}, headers=h)
    assert r.status_code == 200, r.text

    # The offered times are the server's free Slots (weekday mornings), nothing else.
    offered = await _slots(hub, limit="50")
    free = {(s["schedule"]["reference"], _t(s["start"])) for s in fhir.all("Slot") if s["status"] == "free"}
    assert offered and all((f"Schedule/{doctors[o['doctor_id']].agenda_ref}", _t(o["start"])) in free
                           for o in offered)
    chosen = offered[0]

    r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": chosen["slot_id"]}, headers=h)
    assert r.status_code == 201, r.text
    appt = r.json()
    # The Patient is matched/created by the CPF identifier; the Appointment is booked on that Slot.
    (patient,) = [p for p in fhir.all("Patient")
                  if any(i.get("value") == cpf for i in p.get("identifier", []))]
    booked = _appointment_of(fhir, f"Patient/{patient['id']}")
    assert booked["status"] == "booked" and _t(booked["start"]) == _t(chosen["start"])
    (slot_ref,) = [s["reference"] for s in booked["slot"]]
    busy_slot = fhir.resource("Slot", slot_ref.split("/")[1])
    assert busy_slot is not None and busy_slot["status"] == "busy"
    assert chosen["slot_id"] not in {s["slot_id"] for s in await _slots(hub, limit="50")}

    # The reception moves it one day later (same Practitioner): "my appointments" shows it.
    reception = FhirHarness(fhir, list(doctors.values()))
    try:
        later = _t(chosen["start"]) + timedelta(days=1)
        if later.weekday() >= 5:
            later += timedelta(days=7 - later.weekday())
        await reception.reception_move(booked["id"], doctors[chosen["doctor_id"]], later,
                                       later + timedelta(minutes=30))
    finally:
        await reception.http.aclose()
        await reception.fhir.aclose()
    listed = (await c.get(f"/api/clinic/patients/{pid}/appointments", headers=h)).json()
    assert [_t(a["start"]) for a in listed] == [later]

    # The patient reschedules through the API: the same Appointment moves (If-Match on its version).
    target = next(s for s in await _slots(hub, doctor_id=str(chosen["doctor_id"]), limit="50")
                  if _t(s["start"]) > later)
    r = await c.post(f"/api/clinic/appointments/{appt['id']}/reschedule", json={"slot_id": target["slot_id"]},
                     headers=h)
    assert r.status_code == 200, r.text
    moved = fhir.resource("Appointment", booked["id"])
    assert moved is not None and _t(moved["start"]) == _t(target["start"]) and moved["status"] == "booked"

    # Down: 503 for the slot list (the bot hands off); back up, the cancellation frees the Slot.
    fhir.unavailable = True
    r = await c.get("/api/clinic/slots", params={"specialty": SPECIALTY}, headers=h)
    assert r.status_code == 503 and r.json()["error"]["code"] == "agenda_unavailable"
    fhir.unavailable = False
    r = await c.post(f"/api/clinic/appointments/{appt['id']}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    cancelled = fhir.resource("Appointment", booked["id"])
    assert cancelled is not None and cancelled["status"] == "cancelled"
    assert target["slot_id"] in {s["slot_id"] for s in await _slots(hub, doctor_id=str(chosen["doctor_id"]),
                                                                    limit="50")}
