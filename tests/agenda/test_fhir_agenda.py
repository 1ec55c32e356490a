"""The FHIR R4 agenda adapter against the local FHIR server: the shared contract plus FHIR specifics.

The harness seeds what a clinic's FHIR system would hold: two Practitioners, one Schedule each
and their 30-minute Slots Mon-Fri 08:00-12:00 (-03:00) for the week of Monday 2027-03-01 and
the next. The reception writes straight to the server over HTTP (its own system's client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from handoff.adapters.agenda.fhir import CPF_SYSTEM, HUB_PATIENT_SYSTEM, FhirAgenda
from handoff.adapters.fhir_client import FhirConflictError, FhirRequestError
from handoff.domain.clinic.agenda import (
    AgendaDoctor,
    ExternalAgenda,
    SlotRules,
)
from handoff.domain.clinic.appointments import SlotTakenError
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.errors import AgendaConflictError, AgendaUnavailableError
from tests.agenda.contract import (
    CHECKS,
    MONDAY,
    NOW,
    PATIENT,
    SPECIALTY,
    Check,
    at,
    check_id,
    day_window,
    slot_of,
    standard_rules,
)
from tests.support.fhir_server import FhirServer
from tests.support.net import TcpProxy

TOKEN = "agenda-token"


def seed_clinic(server: FhirServer, doctors: int = 2, weeks: int = 2, first: date = MONDAY) -> list[AgendaDoctor]:
    """Practitioners, Schedules and Slots Mon-Fri 08:00-12:00 (30 min) for `weeks` weeks."""
    found: list[AgendaDoctor] = []
    for n in range(doctors):
        practitioner = server.seed({"resourceType": "Practitioner", "name": [{"text": f"Dra. Médica {n + 1}"}],
                                    "identifier": [{"system": "urn:test:crm", "value": f"CRM-SP {1000 + n}"}]})
        schedule = server.seed({"resourceType": "Schedule", "active": True,
                                "actor": [{"reference": f"Practitioner/{practitioner['id']}"}]})
        for day in range(7 * weeks):
            current = first + timedelta(days=day)
            if current.weekday() >= 5:
                continue
            for k in range(8):
                start = datetime.combine(current, time(8, 0), tzinfo=CLINIC_TZ) + timedelta(minutes=30 * k)
                server.seed({"resourceType": "Slot", "schedule": {"reference": f"Schedule/{schedule['id']}"},
                             "status": "free", "start": start.isoformat(),
                             "end": (start + timedelta(minutes=30)).isoformat()})
        found.append(AgendaDoctor(id=10 + n, name=f"Dra. Médica {n + 1}", specialty=SPECIALTY,
                                  agenda_ref=str(schedule["id"])))
    return found


class FhirHarness:
    """The contract's AgendaHarness for FHIR: a fresh server per check."""

    def __init__(self, server: FhirServer, doctors: list[AgendaDoctor]) -> None:
        self.server = server
        self.doctors = doctors
        self.fhir = FhirAgenda(server.url, TOKEN, timeout=5)
        self.agenda: ExternalAgenda = self.fhir  # typed as the port: mypy checks FhirAgenda implements it
        self.http = httpx.AsyncClient(base_url=server.url + "/", headers={"Authorization": f"Bearer {TOKEN}"})

    def rules(self, now: datetime) -> SlotRules:
        return standard_rules(self.doctors, now)

    def new_agenda(self) -> ExternalAgenda:
        return FhirAgenda(self.server.url, TOKEN, timeout=5)

    async def aclose(self) -> None:
        await self.agenda.aclose()
        await self.http.aclose()

    # -- the reception's own client -------------------------------------------------------------

    async def _json(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json()

    async def _schedule_slots(self, doctor: AgendaDoctor, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Slots of the doctor overlapping [start, end)."""
        bundle = await self._json(await self.http.get("Slot", params=[
            ("schedule", f"Schedule/{doctor.agenda_ref}"), ("start", f"lt{end.isoformat()}"),
            ("start", f"ge{(start - timedelta(hours=4)).isoformat()}"),
        ]))
        slots = [e["resource"] for e in bundle.get("entry", [])]
        return [s for s in slots if datetime.fromisoformat(s["end"]) > start]

    async def _practitioner(self, doctor: AgendaDoctor) -> str:
        schedule = await self._json(await self.http.get(f"Schedule/{doctor.agenda_ref}"))
        return str(schedule["actor"][0]["reference"])

    async def reception_book(self, doctor: AgendaDoctor, start: datetime, end: datetime) -> str:
        patient = await self._json(await self.http.post("Patient", json={
            "resourceType": "Patient", "name": [{"text": "Paciente do balcão"}]}))
        slots = await self._schedule_slots(doctor, start, end)
        entries: list[dict[str, Any]] = [
            {"resource": {**s, "status": "busy"}, "request": {"method": "PUT", "url": f"Slot/{s['id']}"}}
            for s in slots]
        entries.append({"fullUrl": "urn:uuid:reception", "request": {"method": "POST", "url": "Appointment"},
                        "resource": {
                            "resourceType": "Appointment", "status": "booked",
                            "start": start.isoformat(), "end": end.isoformat(),
                            "slot": [{"reference": f"Slot/{s['id']}"} for s in slots],
                            "participant": [
                                {"actor": {"reference": f"Patient/{patient['id']}"}, "status": "accepted"},
                                {"actor": {"reference": await self._practitioner(doctor)}, "status": "accepted"},
                            ]}})
        result = await self._json(await self.http.post("", json={"resourceType": "Bundle", "type": "transaction",
                                                                 "entry": entries}))
        return str(result["entry"][-1]["response"]["location"].split("/")[1])

    async def _rewrite(self, ref: str, doctor: AgendaDoctor, change: dict[str, Any],
                       new_slots: list[dict[str, Any]]) -> None:
        appointment = await self._json(await self.http.get(f"Appointment/{ref}"))
        entries: list[dict[str, Any]] = []
        for item in appointment.get("slot", []):
            sid = item["reference"].split("/")[1]
            if sid not in {s["id"] for s in new_slots}:
                old = await self._json(await self.http.get(f"Slot/{sid}"))
                entries.append({"resource": {**old, "status": "free"}, "request": {"method": "PUT",
                                                                                   "url": f"Slot/{sid}"}})
        for s in new_slots:
            entries.append({"resource": {**s, "status": "busy"},
                            "request": {"method": "PUT", "url": f"Slot/{s['id']}"}})
        entries.append({"resource": {**appointment, **change},
                        "request": {"method": "PUT", "url": f"Appointment/{ref}"}})
        await self._json(await self.http.post("", json={"resourceType": "Bundle", "type": "transaction",
                                                        "entry": entries}))

    async def reception_move(self, ref: str, doctor: AgendaDoctor, start: datetime, end: datetime) -> None:
        slots = await self._schedule_slots(doctor, start, end)
        await self._rewrite(ref, doctor, {"start": start.isoformat(), "end": end.isoformat(),
                                          "slot": [{"reference": f"Slot/{s['id']}"} for s in slots]}, slots)

    async def reception_delete(self, ref: str, doctor: AgendaDoctor) -> None:
        # A FHIR agenda keeps what the reception "deletes" as a cancelled Appointment (and frees
        # its Slots); a hard DELETE is covered by test_hard_delete_reads_as_gone below.
        await self._rewrite(ref, doctor, {"status": "cancelled"}, [])

    async def stop_server(self) -> None:
        self.server.stop()

    async def start_server(self) -> None:
        self.server.start()


@pytest.fixture
async def harness() -> AsyncIterator[FhirHarness]:
    server = FhirServer(token=TOKEN).start()
    h = FhirHarness(server, seed_clinic(server))
    try:
        yield h
    finally:
        await h.aclose()
        server.close()


@pytest.mark.parametrize("check", CHECKS, ids=check_id)
async def test_contract(harness: FhirHarness, check: Check) -> None:
    await check(harness)


# --- FHIR specifics -----------------------------------------------------------------------------


async def test_booking_writes_r4_resources(harness: FhirHarness) -> None:
    """The Appointment and Patient are what a clinic's FHIR system expects to read."""
    d0 = harness.doctors[0]
    ref = await harness.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    appointment = harness.server.resource("Appointment", ref.ref)
    assert appointment is not None and appointment["status"] == "booked"
    assert appointment["meta"]["versionId"] == ref.version == "1"
    slot_id = appointment["slot"][0]["reference"].split("/")[1]
    slot = harness.server.resource("Slot", slot_id)
    assert slot is not None and slot["status"] == "busy" and slot["start"] == appointment["start"]
    refs = {p["actor"]["reference"].split("/")[0]: p["actor"]["reference"] for p in appointment["participant"]}
    schedule = harness.server.resource("Schedule", d0.agenda_ref)
    assert schedule is not None and refs["Practitioner"] == schedule["actor"][0]["reference"]
    patient = harness.server.resource("Patient", refs["Patient"].split("/")[1])
    assert patient is not None
    idents = {i["system"]: i["value"] for i in patient["identifier"]}
    assert idents == {CPF_SYSTEM: PATIENT.cpf, HUB_PATIENT_SYSTEM: str(PATIENT.id)}
    assert patient["birthDate"] == "1980-05-17"


async def test_patient_matched_by_cpf(harness: FhirHarness) -> None:
    """A Patient the clinic already has (same CPF) is reused and linked to the hub, not duplicated."""
    existing = harness.server.seed({"resourceType": "Patient", "name": [{"text": "Maria S."}],
                                    "identifier": [{"system": CPF_SYSTEM, "value": PATIENT.cpf}]})
    d0 = harness.doctors[0]
    first = await harness.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    second = await harness.agenda.book(d0, slot_of(d0, at(1, 9)), PATIENT)
    patients = harness.server.all("Patient")
    assert len(patients) == 1 and patients[0]["id"] == existing["id"]
    assert {"system": HUB_PATIENT_SYSTEM, "value": str(PATIENT.id)} in patients[0]["identifier"]
    for ref in (first, second):
        got = await harness.agenda.read(d0, ref)
        assert got is not None and got.patient_id == PATIENT.id


async def test_slot_taken_between_read_and_write(harness: FhirHarness) -> None:
    """Another system takes the Slot after the adapter read it free: the If-Match on the Slot
    refuses the whole transaction (no Appointment is left behind) -> SlotTakenError."""
    d0 = harness.doctors[0]
    target = next(s for s in harness.server.all("Slot")
                  if s["schedule"]["reference"] == f"Schedule/{d0.agenda_ref}" and s["start"] == at(0, 10).isoformat())

    def other_system_takes_it() -> None:
        harness.server.update({**target, "status": "busy"})

    harness.server.before_transaction = other_system_takes_it
    with pytest.raises(SlotTakenError):
        await harness.agenda.book(d0, slot_of(d0, at(0, 10)), PATIENT)
    assert harness.server.before_transaction is None  # the write really came between read and write
    assert harness.server.all("Appointment") == []
    slot = harness.server.resource("Slot", target["id"])
    assert slot is not None and slot["meta"]["versionId"] == "2"  # only the other system's write


async def test_hard_delete_reads_as_gone(harness: FhirHarness) -> None:
    d0 = harness.doctors[0]
    ref = await harness.agenda.book(d0, slot_of(d0, at(0, 9)), PATIENT)
    assert (await harness.http.delete(f"Appointment/{ref.ref}")).status_code == 204
    assert await harness.agenda.read(d0, ref) is None
    await harness.agenda.cancel(d0, ref)  # idempotent on a deleted one


async def test_agenda_answering_503_is_unavailable(harness: FhirHarness) -> None:
    harness.server.unavailable = True
    with pytest.raises(AgendaUnavailableError):
        await harness.agenda.free_slots(harness.doctors, *day_window(0), harness.rules(NOW), 5)
    harness.server.unavailable = False
    assert len(await harness.agenda.free_slots(harness.doctors, *day_window(0), harness.rules(NOW), 5)) == 5


async def test_wrong_token_is_unavailable(harness: FhirHarness) -> None:
    wrong = FhirAgenda(harness.server.url, "not-the-token", timeout=5)
    try:
        with pytest.raises(AgendaUnavailableError):
            await wrong.free_slots(harness.doctors, *day_window(0), harness.rules(NOW), 5)
    finally:
        await wrong.aclose()


async def test_free_slots_two_weeks_and_paged_search(harness: FhirHarness) -> None:
    """Two weeks, two doctors: 160 slots soonest first; the client follows the server's pages."""
    start, end = at(0, 0), at(14, 0)
    slots = await harness.agenda.free_slots(harness.doctors, start, end, harness.rules(NOW), 1000)
    assert len(slots) == 2 * 10 * 8
    assert slots == sorted(slots, key=lambda s: (s.start, s.doctor_id))
    assert slots[-1].start == at(11, 11, 30)
    before = len(harness.server.requests)
    paged = await harness.fhir.client.search("Slot", [("status", "free"), ("_count", "7"), ("_sort", "start")])
    assert len(paged) == 160 and len(harness.server.requests) - before == 23  # ceil(160 / 7) pages
    assert len({s["id"] for s in paged}) == 160


async def test_hanging_server_times_out_as_unavailable(harness: FhirHarness) -> None:
    """A server that accepts and never answers: the timeout turns into AgendaUnavailableError."""
    proxy = TcpProxy(harness.server.port).start()
    slow = FhirAgenda(f"http://127.0.0.1:{proxy.port}/fhir", TOKEN, timeout=0.5)
    try:
        assert await slow.offered(harness.doctors[0], at(0, 9), harness.rules(NOW)) is not None
        proxy.hang()
        with pytest.raises(AgendaUnavailableError):
            await slow.book(harness.doctors[0], slot_of(harness.doctors[0], at(0, 9)), PATIENT)
    finally:
        proxy.up()
        await slow.aclose()
        proxy.close()


async def test_client_errors_map_to_the_port(harness: FhirHarness) -> None:
    client = harness.fhir.client
    assert await client.read("Appointment", "999999") is None
    made = await client.create({"resourceType": "Patient", "name": [{"text": "Teste"}]})
    assert made["meta"]["versionId"] == "1"
    updated = await client.update({**made, "birthDate": "1990-01-01"}, version="1")
    assert updated["meta"]["versionId"] == "2"
    with pytest.raises(FhirConflictError) as stale:
        await client.update({**made, "birthDate": "1991-01-01"}, version="1")
    assert isinstance(stale.value, AgendaConflictError) and stale.value.status == 412
    with pytest.raises(FhirRequestError):
        await client.search("Patient", [("nome", "x")])  # the server refuses an unknown parameter
    with pytest.raises(ValueError):
        await client.create({"resourceType": "Patient", "birthDate": "ontem"})  # never sent
