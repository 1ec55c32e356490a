"""The local FHIR R4 test server keeps the semantics the adapters rely on (it stands in for a real one)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.fhir_server import FhirServer


@pytest.fixture
def server() -> Iterator[FhirServer]:
    srv = FhirServer().start()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def http(server: FhirServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/", timeout=10) as client:
        yield client


def _slot(schedule: str, start: str, end: str, status: str = "free") -> dict[str, Any]:
    return {"resourceType": "Slot", "schedule": {"reference": f"Schedule/{schedule}"}, "status": status,
            "start": start, "end": end}


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def _appointment(patient: str, practitioner: str, start: str, end: str, status: str = "booked") -> dict[str, Any]:
    return {"resourceType": "Appointment", "status": status, "start": start, "end": end, "participant": [
        {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
        {"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"}]}


def test_create_read_update_versions(http: httpx.Client) -> None:
    created = http.post("Patient", json={"resourceType": "Patient", "name": [{"text": "Ana"}]})
    assert created.status_code == 201 and created.headers["etag"] == 'W/"1"'
    body = created.json()
    assert created.headers["location"].endswith(f"/Patient/{body['id']}/_history/1")
    assert body["meta"]["versionId"] == "1"
    read = http.get(f"Patient/{body['id']}")
    assert read.status_code == 200 and read.json() == body

    changed = {**body, "birthDate": "1980-05-17"}
    ok = http.put(f"Patient/{body['id']}", json=changed, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    assert ok.json()["meta"]["lastUpdated"] > body["meta"]["lastUpdated"]
    stale = http.put(f"Patient/{body['id']}", json=changed, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412 and stale.json()["resourceType"] == "OperationOutcome"
    assert http.get(f"Patient/{body['id']}").json()["meta"]["versionId"] == "2"
    assert http.put("Patient/999", json={**changed, "id": "1"}).status_code == 400  # id must match the URL

    assert http.delete(f"Patient/{body['id']}").status_code == 204
    assert http.get(f"Patient/{body['id']}").status_code == 410
    assert http.get("Patient/424242").status_code == 404


def test_invalid_resources_are_refused(http: httpx.Client) -> None:
    missing = http.post("Slot", json={"resourceType": "Slot", "status": "free"})  # no schedule, start, end
    assert missing.status_code == 400 and missing.json()["issue"][0]["severity"] == "error"
    bad_code = http.post("Slot", json=_slot("1", "2027-03-01T08:00:00-03:00", "2027-03-01T08:30:00-03:00",
                                            status="livre"))
    assert bad_code.status_code == 400
    wrong_type = http.post("Slot", json={"resourceType": "Patient"})
    assert wrong_type.status_code == 400
    assert http.post("Observation", json={"resourceType": "Observation"}).status_code == 404
    assert http.get("Slot", params={"colour": "blue"}).status_code == 400  # strict: unknown parameter


def test_slot_search_prefixes_sort_and_paging(server: FhirServer, http: httpx.Client) -> None:
    for hour in (11, 8, 10, 9):  # stored out of order
        server.seed(_slot("s1", f"2027-03-01T{hour:02d}:00:00-03:00", f"2027-03-01T{hour:02d}:30:00-03:00",
                          status="busy" if hour == 10 else "free"))
    server.seed(_slot("s2", "2027-03-01T08:00:00-03:00", "2027-03-01T08:30:00-03:00"))
    server.seed(_slot("s1", "2027-03-02T08:00:00-03:00", "2027-03-02T08:30:00-03:00"))

    def starts(*params: tuple[str, str]) -> list[str]:
        answer = http.get("Slot", params=[("schedule", "Schedule/s1"), ("_sort", "start"), *params])
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        assert bundle["type"] == "searchset"
        return [e["resource"]["start"][11:16] + e["resource"]["start"][8:10] for e in bundle["entry"]]

    assert starts() == ["08:0001", "09:0001", "10:0001", "11:0001", "08:0002"]
    assert starts(("status", "free")) == ["08:0001", "09:0001", "11:0001", "08:0002"]
    assert starts(("status", "free,busy"), ("start", "ge2027-03-01T09:00:00-03:00"),
                  ("start", "lt2027-03-01T11:00:00-03:00")) == ["09:0001", "10:0001"]
    assert starts(("start", "gt2027-03-01T09:00:00-03:00"), ("start", "le2027-03-01T10:00:00-03:00")) == ["10:0001"]
    # Day precision: 2027-03-01 in UTC is [-03:00 21:00 of Feb 28, 21:00 of Mar 1).
    assert starts(("start", "eq2027-03-01")) == ["08:0001", "09:0001", "10:0001", "11:0001"]
    assert starts(("start", "2027-03-02T08:00:00-03:00")) == ["08:0002"]
    assert starts(("start", "ge2027-03")) == starts()  # month precision
    assert [s for s in reversed(starts())] == [
        e["resource"]["start"][11:16] + e["resource"]["start"][8:10]
        for e in http.get("Slot", params={"schedule": "s1", "_sort": "-start"}).json()["entry"]]
    # by bare id or absolute URL as well
    assert len(http.get("Slot", params={"schedule": f"{server.url}/Schedule/s2"}).json()["entry"]) == 1

    page = http.get("Slot", params={"schedule": "Schedule/s1", "_sort": "start", "_count": "2"}).json()
    assert page["total"] == 5 and len(page["entry"]) == 2
    seen = _ids(page)
    while nxt := next((link["url"] for link in page["link"] if link["relation"] == "next"), None):
        page = http.get(nxt).json()
        seen += _ids(page)
    assert len(seen) == len(set(seen)) == 5


def test_appointment_search(server: FhirServer, http: httpx.Client) -> None:
    a1 = server.seed(_appointment("p1", "dr1", "2027-03-01T08:00:00-03:00", "2027-03-01T08:30:00-03:00"))
    a2 = server.seed(_appointment("p2", "dr1", "2027-03-02T08:00:00-03:00", "2027-03-02T08:30:00-03:00",
                                  status="cancelled"))
    a3 = server.seed(_appointment("p1", "dr2", "2027-03-03T08:00:00-03:00", "2027-03-03T08:30:00-03:00"))

    def ids(**params: str) -> list[str]:
        answer = http.get("Appointment", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(_ids(answer.json()))

    assert ids(actor="Practitioner/dr1") == sorted([a1["id"], a2["id"]])
    assert ids(patient="Patient/p1") == sorted([a1["id"], a3["id"]])
    assert ids(practitioner="dr2") == [a3["id"]]
    assert ids(status="booked", actor="Practitioner/dr1") == [a1["id"]]
    assert ids(date="ge2027-03-02") == sorted([a2["id"], a3["id"]])
    mark = a2["meta"]["lastUpdated"]
    assert ids(_lastUpdated=f"gt{mark}") == [a3["id"]]
    changed = {**a1, "status": "cancelled"}
    assert http.put(f"Appointment/{a1['id']}", json=changed).status_code == 200
    assert ids(_lastUpdated=f"gt{mark}") == sorted([a1["id"], a3["id"]])


def test_patient_and_communication_search(server: FhirServer, http: httpx.Client) -> None:
    cpf = "https://saude.gov.br/fhir/sid/cpf"
    p = server.seed({"resourceType": "Patient", "identifier": [{"system": cpf, "value": "52998224725"}]})
    server.seed({"resourceType": "Patient", "identifier": [{"system": "urn:other", "value": "52998224725"}]})

    def ids(rtype: str, **params: str) -> list[str]:
        return sorted(_ids(http.get(rtype, params=params).json()))

    assert ids("Patient", identifier=f"{cpf}|52998224725") == [p["id"]]
    assert len(ids("Patient", identifier="52998224725")) == 2
    assert ids("Patient", identifier=f"{cpf}|") == [p["id"]]
    assert ids("Patient", identifier=f"{cpf}|00000000000") == []

    enc = server.seed({"resourceType": "Encounter", "status": "finished",
                       "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
                       "subject": {"reference": f"Patient/{p['id']}"}})
    made = http.post("Communication", json={
        "resourceType": "Communication", "status": "completed",
        "subject": {"reference": f"Patient/{p['id']}"}, "encounter": {"reference": f"Encounter/{enc['id']}"},
        "payload": [{"contentString": "Resumo da conversa"}]})
    assert made.status_code == 201
    assert ids("Communication", subject=f"Patient/{p['id']}") == [made.json()["id"]]
    assert ids("Communication", encounter=f"Encounter/{enc['id']}") == [made.json()["id"]]
    assert ids("Communication", encounter="Encounter/0") == []


def test_conditional_create(http: httpx.Client) -> None:
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:atende:patient", "value": "7"}]}
    cond = {"If-None-Exist": "identifier=urn:atende:patient|7"}
    first = http.post("Patient", json=body, headers=cond)
    again = http.post("Patient", json=body, headers=cond)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def _booking_bundle(slot: dict[str, Any], version: str, patient: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**slot, "status": "busy"}, "request": {"method": "PUT", "url": f"Slot/{slot['id']}",
                                                             "ifMatch": f'W/"{version}"'}},
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "name": [{"text": patient}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:a", "request": {"method": "POST", "url": "Appointment"}, "resource": {
            "resourceType": "Appointment", "status": "booked", "start": slot["start"], "end": slot["end"],
            "slot": [{"reference": f"Slot/{slot['id']}"}],
            "participant": [{"actor": {"reference": "urn:uuid:p"}, "status": "accepted"}]}},
    ]}


def test_transaction_resolves_references_and_is_all_or_nothing(server: FhirServer, http: httpx.Client) -> None:
    slot = server.seed(_slot("s1", "2027-03-01T08:00:00-03:00", "2027-03-01T08:30:00-03:00"))
    done = http.post("", json=_booking_bundle(slot, "1", "Ana"))
    assert done.status_code == 200 and done.json()["type"] == "transaction-response"
    answers = [e["response"] for e in done.json()["entry"]]
    assert [a["status"] for a in answers] == ["200 OK", "201 Created", "201 Created"]
    appointment_id = answers[2]["location"].split("/")[1]
    patient_id = answers[1]["location"].split("/")[1]
    appointment = http.get(f"Appointment/{appointment_id}").json()
    assert appointment["participant"][0]["actor"]["reference"] == f"Patient/{patient_id}"
    assert http.get(f"Slot/{slot['id']}").json()["status"] == "busy"

    # Same If-Match again: the Slot is at version 2 now -> 412 and nothing of it is written.
    patients_before = len(server.all("Patient"))
    refused = http.post("", json=_booking_bundle(slot, "1", "Bia"))
    assert refused.status_code == 412 and refused.json()["resourceType"] == "OperationOutcome"
    assert len(server.all("Patient")) == patients_before and len(server.all("Appointment")) == 1

    # An invalid last entry rolls back the valid first one.
    other = server.seed(_slot("s1", "2027-03-01T09:00:00-03:00", "2027-03-01T09:30:00-03:00"))
    broken = _booking_bundle(other, "1", "Caio")
    del broken["entry"][2]["resource"]["participant"]
    assert http.post("", json=broken).status_code == 400
    assert http.get(f"Slot/{other['id']}").json()["status"] == "free"
    assert len(server.all("Appointment")) == 1


async def test_concurrent_transactions_on_one_slot(server: FhirServer) -> None:
    slot = server.seed(_slot("s1", "2027-03-01T08:00:00-03:00", "2027-03-01T08:30:00-03:00"))
    async with httpx.AsyncClient(base_url=server.url + "/", timeout=10) as client:
        answers = await asyncio.gather(*(client.post("", json=_booking_bundle(slot, "1", f"P{i}"))
                                         for i in range(10)))
    assert sorted(a.status_code for a in answers) == [200] + [412] * 9
    assert len(server.all("Appointment")) == 1 and len(server.all("Patient")) == 1


def test_knobs_503_stop_start_and_token() -> None:
    with FhirServer(token="t") as srv:
        auth = {"Authorization": "Bearer t"}
        with httpx.Client(base_url=srv.url + "/", timeout=5) as http:
            assert http.get("Patient").status_code == 401
            made = http.post("Patient", json={"resourceType": "Patient"}, headers=auth).json()
            srv.unavailable = True
            assert http.get(f"Patient/{made['id']}", headers=auth).status_code == 503
            srv.unavailable = False
            srv.stop()
            with pytest.raises(httpx.ConnectError):
                http.get(f"Patient/{made['id']}", headers=auth)
            srv.start()
            assert http.get(f"Patient/{made['id']}", headers=auth).json()["id"] == made["id"]
            assert http.get("metadata", headers=auth).json()["fhirVersion"] == "4.0.1"
