"""`bot/actions/clinic_api.py` against a real hub (bot environment: `make test-bot`).

Shares the session's live hub with the action tests, so it only leaves state they cannot see:
the appointment it books for demo patient 3 is cancelled again, consent is not recorded.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actions.clinic_api import ClinicApi, ClinicApiError, patient_id
from live_hub import Hub

ANA = 3  # demo patient on a fresh database (see live_hub.py)
SAO_PAULO = timezone(timedelta(hours=-3))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_catalog_endpoints(hub: Hub) -> None:
    api = ClinicApi()  # HUB_URL / CLINIC_API_TOKEN from the environment
    info = run(api.info())
    assert info["name"] == "Clínica Exemplo" and isinstance(info["is_open_now"], bool)
    assert "cardiologia" in {s["slug"] for s in run(api.specialties())}
    assert all(d["specialty"] == "pediatria" for d in run(api.doctors("pediatria")))
    glicemia = run(api.exam("glicemia"))
    assert glicemia["fasting_hours"] == 8 and glicemia in run(api.exams())
    assert [p["slug"] for p in run(api.prices(specialty="cardiologia"))] == ["cardiologia"]
    assert [p["kind"] for p in run(api.prices(exam="tsh"))] == ["exam"]
    assert len(run(api.insurers())) == 6
    with pytest.raises(ClinicApiError) as exc:
        run(api.exam("nao-existe"))
    assert (exc.value.status, exc.value.code) == (404, "exam_not_found")


def test_booking_round_trip(hub: Hub) -> None:
    api = ClinicApi()
    start = datetime.now(SAO_PAULO) + timedelta(hours=2)
    slots = run(api.slots(specialty="ortopedia", start=start, limit=2))
    assert len(slots) == 2 and all(datetime.fromisoformat(s["start"]) >= start for s in slots)
    doctor_slots = run(api.slots(doctor_id=slots[0]["doctor_id"], start=start.isoformat(), limit=3))
    assert [s["slot_id"] for s in doctor_slots][:1] == [slots[0]["slot_id"]]

    appt = run(api.book(ANA, slots[0]["slot_id"]))
    try:
        assert appt["status"] == "scheduled" and appt["start"] == slots[0]["start"]
        with pytest.raises(ClinicApiError) as exc:
            run(api.book(ANA, slots[0]["slot_id"]))
        assert (exc.value.status, exc.value.code) == (409, "slot_taken")
        assert run(api.confirm(appt["id"]))["status"] == "confirmed"
        with pytest.raises(ClinicApiError) as exc:
            run(api.cancel(appt["id"], pid=1))  # not Maria's appointment
        assert (exc.value.status, exc.value.code) == (404, "appointment_not_found")
        assert run(api.confirm(appt["id"], pid=ANA))["status"] == "confirmed"
        second = doctor_slots[1]["slot_id"]
        moved = run(api.reschedule(appt["id"], second, pid=ANA))
        assert moved["start"] == doctor_slots[1]["start"] and moved["status"] == "scheduled"
        assert appt["id"] in [a["id"] for a in run(api.appointments(ANA))]
    finally:
        assert run(api.cancel(appt["id"]))["status"] == "cancelled"
    assert appt["id"] not in [a["id"] for a in run(api.appointments(ANA))]
    assert appt["id"] in [a["id"] for a in run(api.appointments(ANA, scope="all"))]


def test_patient_endpoints(hub: Hub) -> None:
    api = ClinicApi()
    maria = run(api.patient(1))
    assert maria["cpf_known"] and maria["birth_date_known"]
    assert {b["status"] for b in run(api.boletos(1))} == {"open", "overdue"}
    assert {r["status"] for r in run(api.exam_results(1))} >= {"ready", "processing"}
    for call, status, code in [
        (api.identify(ANA, cpf="123.456.789-00"), 400, "invalid_cpf"),
        (api.identify(999999, name="x"), 404, "patient_not_found"),
        (api.record_consent(999999, True, "privacidade-v1"), 404, "patient_not_found"),
    ]:
        with pytest.raises(ClinicApiError) as exc:
            run(call)
        assert (exc.value.status, exc.value.code) == (status, code)


def test_auth_and_transport_errors(hub: Hub) -> None:
    with pytest.raises(ClinicApiError) as exc:
        run(ClinicApi(hub.url, "wrong-token").info())
    assert (exc.value.status, exc.value.code) == (401, "unauthorized")
    with pytest.raises(ClinicApiError) as exc:
        run(ClinicApi("http://127.0.0.1:9", hub.token, timeout=2).info())
    assert (exc.value.status, exc.value.code) == (0, "unavailable")


class _Tracker:
    def __init__(self, latest: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.latest_message = latest
        self.events = events


def test_patient_id_from_metadata() -> None:
    assert patient_id(_Tracker({"metadata": {"patient_id": 7}}, [])) == 7
    assert patient_id(_Tracker({"metadata": {"patient_id": "12"}}, [])) == 12
    older = [{"event": "user", "metadata": {"patient_id": 5}}, {"event": "user", "metadata": {"patient_id": 6}},
             {"event": "bot", "metadata": {"patient_id": 99}}]
    assert patient_id(_Tracker({"text": "/consent_accept"}, older)) == 6
    assert patient_id(_Tracker({"metadata": {"patient_id": None}}, [{"event": "user", "metadata": {}}])) is None
    assert patient_id(_Tracker({"metadata": {"patient_id": True}}, [])) is None
