"""The clinic API end to end on the real app, on SQLite and on PostgreSQL (+ Redis)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from handoff.adapters.sql.clinic_store import SqlClinicDirectory
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AppointmentRow, AuditLog, ConsentRow, Patient
from handoff.domain.clinic.billing import barcode_from_linha, crc16_ccitt
from handoff.domain.clinic.calendar import CLINIC_TZ, hours_from_json, is_open
from handoff.sandbox.demo_clinic import DEMO_PATIENTS
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend

CONTRACT_SPECIALTIES = {"cardiologia", "dermatologia", "pediatria", "ginecologia", "ortopedia", "clinica_geral",
                        "oftalmologia", "endocrinologia"}
CONTRACT_EXAMS = {"hemograma", "glicemia", "colesterol", "ultrassom_abdominal", "raio_x", "eletrocardiograma",
                  "mamografia", "urina", "tsh", "ecocardiograma"}
CONTRACT_INSURERS = {"unimed", "bradesco_saude", "sulamerica", "amil", "hapvida", "porto_seguro"}
MARIA = next(p for p in DEMO_PATIENTS if p.key == "maria")
LINHA = re.compile(r"^\d{5}\.\d{5} \d{5}\.\d{6} \d{5}\.\d{6} \d \d{14}$")


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _patient_id_by_cpf(hub: Hub, cpf: str) -> int:
    async with hub.app.ctx.db.session() as s:
        return int((await s.execute(select(Patient.id).where(Patient.cpf == cpf))).scalar_one())


async def _audit_rows(hub: Hub) -> list[tuple[str, str | None]]:
    async with hub.app.ctx.db.session() as s:
        rows = (await s.execute(select(AuditLog.action, AuditLog.subject).order_by(AuditLog.id))).all()
    return [(a, b) for a, b in rows]


async def _slots(hub: Hub, **params: str) -> list[dict[str, object]]:
    # Two hours ahead: a slot listed now is still bookable a moment later (the 1-hour lead rule).
    params.setdefault("start", (datetime.now(CLINIC_TZ) + timedelta(hours=2)).isoformat())
    r = await hub.client.get("/api/clinic/slots", params=params, headers=hub.service)
    assert r.status_code == 200, r.text
    return list(r.json())


# --- auth ------------------------------------------------------------------------------------


async def test_auth_is_required(hub: Hub) -> None:
    c = hub.client
    for path in ("/api/clinic/info", "/api/clinic/slots", "/api/clinic/patients/1"):
        r = await c.get(path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = await c.get(path, headers={"Authorization": "Bearer not-the-token"})
        assert r.status_code == 401
        r = await c.get(path, headers={"Authorization": "Basic " + (hub.service_token or "")})
        assert r.status_code == 401
    r = await c.post("/api/clinic/appointments", json={"patient_id": 1, "slot_id": "1-202701041000"})
    assert r.status_code == 401
    assert (await c.get("/api/clinic/info", headers=hub.service)).status_code == 200
    assert (await c.get("/api/clinic/info", headers=await hub.staff())).status_code == 200


async def test_without_a_configured_service_token_only_staff_get_in(backend: Backend) -> None:
    hub, life = await start_hub(backend, clinic_api_token=None, seed_demo_clinic=False)
    try:
        for token in ("", "None", "null"):
            r = await hub.client.get("/api/clinic/specialties", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401
        r = await hub.client.get("/api/clinic/specialties", headers=await hub.staff())
        assert r.status_code == 200 and r.json() == []  # not seeded
        r = await hub.client.get("/api/clinic/info", headers=await hub.staff())
        assert r.status_code == 404 and r.json()["error"]["code"] == "clinic_not_found"
    finally:
        await hub.client.aclose()
        await life.stop()


# --- clinic data ---------------------------------------------------------------------------


async def test_demo_clinic_is_seeded_once_with_realistic_data(hub: Hub, backend: Backend) -> None:
    c, h = hub.client, hub.service
    info = (await c.get("/api/clinic/info", headers=h)).json()
    assert info["name"] == "Clínica Exemplo" and "São Paulo" in info["address"]
    assert info["hours"][0] == {"weekday": 0, "intervals": [["08:00", "12:00"], ["13:00", "18:00"]]}
    assert info["hours"][5] == {"weekday": 5, "intervals": [["08:00", "12:00"]]}
    assert info["hours"][6] == {"weekday": 6, "intervals": []}
    assert info["is_open_now"] == is_open(hours_from_json(info["hours"]), datetime.now(CLINIC_TZ))
    assert (info["next_opening"] is None) == info["is_open_now"]
    assert info["parking"] and info["accessibility"] and "feriados" in info["hours_text"]

    specialties = (await c.get("/api/clinic/specialties", headers=h)).json()
    assert {s["slug"] for s in specialties} >= CONTRACT_SPECIALTIES
    doctors = (await c.get("/api/clinic/doctors", headers=h)).json()
    assert len(doctors) >= 12 and {d["specialty"] for d in doctors} >= CONTRACT_SPECIALTIES
    cardio = (await c.get("/api/clinic/doctors", params={"specialty": "cardiologia"}, headers=h)).json()
    assert cardio and all(d["specialty"] == "cardiologia" and d["specialty_name"] == "Cardiologia" for d in cardio)
    r = await c.get("/api/clinic/doctors", params={"specialty": "astrologia"}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "specialty_not_found"

    exams = {e["slug"]: e for e in (await c.get("/api/clinic/exams", headers=h)).json()}
    assert set(exams) >= CONTRACT_EXAMS
    assert exams["glicemia"]["fasting_hours"] == 8 and "8 horas" in exams["glicemia"]["preparation"]
    assert exams["colesterol"]["fasting_hours"] == 12 and "12 horas" in exams["colesterol"]["preparation"]
    assert "Bexiga cheia" in exams["ultrassom_pelvico"]["preparation"]
    one = await c.get("/api/clinic/exams/mamografia", headers=h)
    assert one.status_code == 200 and one.json()["requires_appointment"] is True
    assert (await c.get("/api/clinic/exams/tomografia", headers=h)).status_code == 404

    prices = (await c.get("/api/clinic/prices", params={"specialty": "dermatologia"}, headers=h)).json()
    assert prices == [{"item": "Consulta de Dermatologia", "kind": "consultation", "slug": "dermatologia",
                       "price": 320.0, "price_text": "R$ 320,00"}]
    exam_price = (await c.get("/api/clinic/prices", params={"exam": "glicemia"}, headers=h)).json()
    assert [p["slug"] for p in exam_price] == ["glicemia"] and exam_price[0]["kind"] == "exam"
    all_prices = (await c.get("/api/clinic/prices", headers=h)).json()
    assert {p["slug"] for p in all_prices if p["kind"] == "consultation"} >= CONTRACT_SPECIALTIES

    insurers = (await c.get("/api/clinic/insurers", headers=h)).json()
    assert {i["slug"] for i in insurers} == CONTRACT_INSURERS and all(i["plans"] for i in insurers)

    # Starting the hub again on the same database does not seed twice.
    again, life = await start_hub(backend)
    try:
        assert len((await again.client.get("/api/clinic/doctors", headers=again.service)).json()) == len(doctors)
    finally:
        await again.client.aclose()
        await life.stop()


# --- agenda --------------------------------------------------------------------------------


async def test_slots_are_free_future_and_inside_opening_hours(hub: Hub) -> None:
    slots = await _slots(hub, specialty="cardiologia", limit="40")
    assert len(slots) == 40
    starts = [_t(str(s["start"])) for s in slots]
    assert starts == sorted(starts)
    assert all(s > datetime.now(CLINIC_TZ) + timedelta(hours=1) for s in starts)
    assert all(s.utcoffset() == timedelta(hours=-3) for s in starts)
    assert all(s.weekday() != 6 and not (12 <= s.hour < 13) and 8 <= s.hour < 18 for s in starts)
    assert all(s["specialty"] == "cardiologia" for s in slots)
    doctor_id = slots[0]["doctor_id"]
    mine = await _slots(hub, doctor_id=str(doctor_id), limit="5")
    assert mine and all(s["doctor_id"] == doctor_id for s in mine)
    end = (datetime.now(CLINIC_TZ) + timedelta(days=3)).isoformat()
    bounded = await _slots(hub, specialty="pediatria", end=end, limit="200")
    assert bounded and all(_t(str(s["start"])) < _t(end) for s in bounded)
    r = await hub.client.get("/api/clinic/slots", params={"start": "amanhã"}, headers=hub.service)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_query"
    r = await hub.client.get("/api/clinic/slots", params={"doctor_id": "99999"}, headers=hub.service)
    assert r.status_code == 404


async def test_book_confirm_reschedule_cancel(hub: Hub) -> None:
    c, h = hub.client, hub.service
    pid, other = await hub.new_patient(), await hub.new_patient("Outra pessoa")
    first, second = (await _slots(hub, specialty="dermatologia", limit="2"))[:2]
    if first["doctor_id"] != second["doctor_id"]:
        second = (await _slots(hub, doctor_id=str(first["doctor_id"]), limit="2"))[1]

    r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": first["slot_id"]}, headers=h)
    assert r.status_code == 201, r.text
    appt = r.json()
    assert appt["status"] == "scheduled" and appt["start"] == first["start"] and "Domingos de Morais" in appt["address"]
    assert appt["doctor_name"] == first["doctor_name"] and appt["specialty_name"] == "Dermatologia"
    assert first["slot_id"] not in {s["slot_id"] for s in await _slots(hub, doctor_id=str(first["doctor_id"]))}

    r = await c.post("/api/clinic/appointments", json={"patient_id": other, "slot_id": first["slot_id"]}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken"

    aid = appt["id"]
    r = await c.post(f"/api/clinic/appointments/{aid}/confirm", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = await c.post(f"/api/clinic/appointments/{aid}/confirm", json={"patient_id": pid}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"  # idempotent
    r = await c.post(f"/api/clinic/appointments/{aid}/cancel", json={"patient_id": other}, headers=h)
    assert r.status_code == 404  # not this patient's appointment

    r = await c.post(f"/api/clinic/appointments/{aid}/reschedule", json={"slot_id": second["slot_id"]}, headers=h)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["id"] == aid and moved["start"] == second["start"] and moved["status"] == "scheduled"
    free_now = {s["slot_id"] for s in await _slots(hub, doctor_id=str(first["doctor_id"]), limit="50")}
    assert first["slot_id"] in free_now and second["slot_id"] not in free_now

    listed = (await c.get(f"/api/clinic/patients/{pid}/appointments", headers=h)).json()
    assert [a["id"] for a in listed] == [aid]

    r = await c.post(f"/api/clinic/appointments/{aid}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert second["slot_id"] in {s["slot_id"] for s in await _slots(hub, doctor_id=str(first["doctor_id"]), limit="50")}
    assert (await c.get(f"/api/clinic/patients/{pid}/appointments", headers=h)).json() == []
    everything = (await c.get(f"/api/clinic/patients/{pid}/appointments", params={"scope": "all"}, headers=h)).json()
    assert [a["status"] for a in everything] == ["cancelled"]
    r = await c.post(f"/api/clinic/appointments/{aid}/confirm", headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "appointment_cancelled"
    r = await c.post(f"/api/clinic/appointments/{aid}/reschedule", json={"slot_id": first["slot_id"]}, headers=h)
    assert r.status_code == 409

    # The freed slot can be booked again (the unique index only counts non-cancelled rows).
    r = await c.post("/api/clinic/appointments", json={"patient_id": other, "slot_id": second["slot_id"]}, headers=h)
    assert r.status_code == 201


async def test_booking_errors(hub: Hub) -> None:
    c, h = hub.client, hub.service
    pid = await hub.new_patient()
    slot = (await _slots(hub, specialty="ortopedia", limit="1"))[0]
    cases = [
        ({"patient_id": pid, "slot_id": "amanhã cedo"}, 400, "invalid_slot_id"),
        ({"patient_id": pid}, 400, "invalid_body"),
        ({"patient_id": "1", "slot_id": slot["slot_id"]}, 400, "invalid_body"),
        ({"patient_id": 999999, "slot_id": slot["slot_id"]}, 404, "patient_not_found"),
        ({"patient_id": pid, "slot_id": "999999-202701041000"}, 404, "doctor_not_found"),
        # 03:00 is not in anyone's agenda; a past time is never offered.
        ({"patient_id": pid, "slot_id": f"{slot['doctor_id']}-{_t(str(slot['start'])):%Y%m%d}0300"}, 409,
         "slot_unavailable"),
        ({"patient_id": pid, "slot_id": f"{slot['doctor_id']}-202001061000"}, 409, "slot_unavailable"),
    ]
    for body, status, code in cases:
        r = await c.post("/api/clinic/appointments", json=body, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
    r = await c.post("/api/clinic/appointments", content=b"{not json", headers=h)
    assert r.status_code == 400
    assert (await c.post("/api/clinic/appointments/999999/confirm", headers=h)).status_code == 404
    r = await c.get(f"/api/clinic/patients/{pid}/appointments", params={"scope": "ontem"}, headers=h)
    assert r.status_code == 400

    # A past appointment of a demo patient cannot be cancelled; another specialty is not a reschedule.
    maria = await _patient_id_by_cpf(hub, MARIA.cpf)
    appts = (await c.get(f"/api/clinic/patients/{maria}/appointments", params={"scope": "all"}, headers=h)).json()
    done = next(a for a in appts if a["status"] == "done")
    r = await c.post(f"/api/clinic/appointments/{done['id']}/cancel", headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "appointment_started"
    upcoming = next(a for a in appts if a["status"] == "scheduled")
    r = await c.post(f"/api/clinic/appointments/{upcoming['id']}/reschedule", json={"slot_id": slot["slot_id"]},
                     headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "specialty_mismatch"


@pytest.mark.parametrize("precheck", [True, False], ids=["with-precheck", "index-only"])
async def test_concurrent_bookings_of_one_slot_exactly_one_wins(
    hub: Hub, precheck: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not precheck:
        # Without the store's friendly early check, only the database's unique index stands in the way.
        async def never_overlapping(*_args: object, **_kwargs: object) -> bool:
            return False

        monkeypatch.setattr(SqlClinicDirectory, "_overlapping", staticmethod(never_overlapping))
    patients = [await hub.new_patient(f"p{i}") for i in range(6)]
    slot = (await _slots(hub, specialty="clinica_geral", limit="1"))[0]

    async def book(pid: int) -> int:
        r = await hub.client.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": slot["slot_id"]},
                                  headers=hub.service)
        return r.status_code

    statuses = await asyncio.gather(*(book(p) for p in patients))
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    async with hub.app.ctx.db.session() as s:
        n = (await s.execute(select(func.count()).select_from(AppointmentRow)
                             .where(AppointmentRow.doctor_id == slot["doctor_id"],
                                    AppointmentRow.starts_at == _t(str(slot["start"])).astimezone(UTC),
                                    AppointmentRow.status != "cancelled"))).scalar_one()
    assert n == 1


async def test_database_itself_refuses_a_double_booking(hub: Hub) -> None:
    """Bypass the service: two transactions insert the same doctor+start; the index refuses one."""
    pid = await hub.new_patient()
    slot = (await _slots(hub, specialty="oftalmologia", limit="1"))[0]
    start = _t(str(slot["start"])).astimezone(UTC)  # stored in UTC, as the store does (SQLite keeps no offset)

    def row(status: str = "scheduled") -> AppointmentRow:
        return AppointmentRow(patient_id=pid, doctor_id=slot["doctor_id"], starts_at=start,
                              ends_at=start + timedelta(minutes=30), status=status, created_at=utcnow(),
                              updated_at=utcnow())

    async with hub.app.ctx.db.session() as s:
        s.add(row("cancelled"))  # cancelled rows never block a slot
    async with hub.app.ctx.db.session() as s:
        s.add(row())

    async def insert_again() -> str:
        try:
            async with hub.app.ctx.db.session() as s:
                s.add(row())
        except IntegrityError:
            return "refused"
        return "inserted"

    assert await asyncio.gather(insert_again(), insert_again()) == ["refused", "refused"]


# --- patients -------------------------------------------------------------------------------


async def test_identify_by_cpf_links_the_clinic_record(hub: Hub) -> None:
    c, h = hub.client, hub.service
    pid = await hub.new_patient("maria do whatsapp")
    maria_id = await _patient_id_by_cpf(hub, MARIA.cpf)
    patient = (await c.get(f"/api/clinic/patients/{pid}", headers=h)).json()
    assert patient == {"id": pid, "name": "maria do whatsapp", "cpf_known": False, "birth_date_known": False,
                       "consent": None}

    url = f"/api/clinic/patients/{pid}/identify"
    r = await c.post(url, json={"cpf": "529.982.247-24"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cpf"
    r = await c.post(url, json={"cpf": "111.111.111-11"}, headers=h)
    assert r.status_code == 400
    r = await c.post(url, json={"birth_date": "14/03/1968"}, headers=h)
    assert r.status_code == 400
    r = await c.post(url, json={}, headers=h)
    assert r.status_code == 400
    # A CPF alone does not open someone's record: the birth date on file must match too.
    r = await c.post(url, json={"cpf": "529.982.247-25"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "birth_date_required"
    r = await c.post(url, json={"cpf": "52998224725", "birth_date": "1968-03-15"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "identity_mismatch"
    assert (await c.get(f"/api/clinic/patients/{pid}/boletos", headers=h)).json() == []

    r = await c.post(url, json={"cpf": "529.982.247-25", "birth_date": MARIA.birth_date.isoformat(),
                                "name": "Maria"}, headers=h)
    assert r.status_code == 200, r.text
    linked = r.json()
    assert linked["id"] == maria_id and linked["cpf_known"] and linked["birth_date_known"]
    assert linked["name"] == MARIA.name  # the registered name is kept
    r = await c.post(url, json={"name": "Mariazinha"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == MARIA.name  # a chat nickname never renames the record
    # Every call with the channel's patient id now reaches the clinic record.
    assert (await c.get(f"/api/clinic/patients/{pid}", headers=h)).json()["id"] == maria_id
    appts = (await c.get(f"/api/clinic/patients/{pid}/appointments", headers=h)).json()
    assert appts and all(a["status"] in ("scheduled", "confirmed") for a in appts)
    assert len((await c.get(f"/api/clinic/patients/{pid}/boletos", headers=h)).json()) == 2
    results = (await c.get(f"/api/clinic/patients/{pid}/exam-results", headers=h)).json()
    assert {r["exam"]: r["status"] for r in results} == {"glicemia": "ready", "colesterol": "ready",
                                                         "hemograma": "processing"}
    ready = next(r for r in results if r["exam"] == "glicemia")
    assert ready["report_url"] and next(r for r in results if r["exam"] == "hemograma")["report_url"] is None
    report = await c.get(ready["report_url"].removeprefix("http://hub.test"))
    assert report.status_code == 200 and report.content.startswith(b"%PDF-")
    # Booking with the channel id books for the clinic record.
    slot = (await _slots(hub, specialty="pediatria", limit="1"))[0]
    r = await c.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": slot["slot_id"]}, headers=h)
    assert r.status_code == 201 and r.json()["patient_id"] == maria_id

    # A new CPF nobody holds is stored on the channel patient itself; a second, different CPF is refused.
    fresh = await hub.new_patient()
    r = await c.post(f"/api/clinic/patients/{fresh}/identify", json={"cpf": "390.533.447-05"}, headers=h)
    if r.status_code == 409:  # that CPF belongs to a demo patient: use one nobody has
        r = await c.post(f"/api/clinic/patients/{fresh}/identify", json={"cpf": "935.411.347-80"}, headers=h)
    assert r.status_code == 200 and r.json()["id"] == fresh and r.json()["cpf_known"]
    r = await c.post(f"/api/clinic/patients/{fresh}/identify", json={"cpf": "111.444.777-35"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "cpf_mismatch"
    assert (await c.post("/api/clinic/patients/999999/identify", json={"name": "x"}, headers=h)).status_code == 404


async def test_consent_is_stored_with_version_and_time_append_only(hub: Hub, backend: Backend) -> None:
    c, h = hub.client, hub.service
    pid = await hub.new_patient()
    url = f"/api/clinic/patients/{pid}/consent"
    before = datetime.now(CLINIC_TZ)
    r = await c.post(url, json={"granted": True, "version": "privacidade-v1"}, headers=h)
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["granted"] is True and stored["version"] == "privacidade-v1"
    at = _t(stored["at"])
    assert at.utcoffset() == timedelta(hours=-3) and before - timedelta(seconds=5) <= at <= datetime.now(CLINIC_TZ)
    assert (await c.get(f"/api/clinic/patients/{pid}", headers=h)).json()["consent"] == stored

    r = await c.post(url, json={"granted": False, "version": "privacidade-v2"}, headers=h)
    assert r.status_code == 201
    assert (await c.get(f"/api/clinic/patients/{pid}", headers=h)).json()["consent"]["granted"] is False
    for bad in ({"granted": "sim", "version": "privacidade-v1"}, {"granted": True}, {"granted": True, "version": "Ç"}):
        assert (await c.post(url, json=bad, headers=h)).status_code == 400
    assert (await c.post("/api/clinic/patients/999999/consent", json={"granted": True, "version": "v1"},
                         headers=h)).status_code == 404

    async with hub.app.ctx.db.session() as s:
        rows = (await s.execute(select(ConsentRow.granted, ConsentRow.version)
                                .where(ConsentRow.patient_id == pid).order_by(ConsentRow.id))).all()
    assert [tuple(r) for r in rows] == [(True, "privacidade-v1"), (False, "privacidade-v2")]
    # The database refuses to rewrite or erase consent history.
    for stmt in (update(ConsentRow).where(ConsentRow.patient_id == pid).values(granted=True),
                 text("DELETE FROM consents")):
        with pytest.raises(DBAPIError, match="append-only"):
            async with hub.app.ctx.db.session() as s:
                await s.execute(stmt)


# --- billing --------------------------------------------------------------------------------


async def test_boletos_with_linha_digitavel_pix_and_pdf(hub: Hub) -> None:
    c = hub.client
    staff = await hub.staff()
    maria = await _patient_id_by_cpf(hub, MARIA.cpf)
    boletos = (await c.get(f"/api/clinic/patients/{maria}/boletos", headers=staff)).json()
    assert sorted(b["status"] for b in boletos) == ["open", "overdue"]
    for b in boletos:
        assert LINHA.match(b["barcode"]), b["barcode"]
        assert barcode_from_linha(b["barcode"]) == b["barcode_digits"]
        assert b["barcode_digits"][9:19] == f"{round(b['amount'] * 100):010d}"
        assert b["pix_code"].startswith("000201") and b["pix_code"][-4:] == crc16_ccitt(b["pix_code"][:-4].encode())
        assert b["amount_text"].startswith("R$ ")
        assert b["pdf_url"].startswith("http://hub.test/api/clinic/boletos/")

    r = await c.get(boletos[0]["pdf_url"].removeprefix("http://hub.test"))  # no auth: the link is the credential
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    pdf = r.content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[startxref:startxref + 4] == b"xref"
    assert boletos[0]["barcode"].encode() in pdf and b"2\xaa via" in pdf  # "2ª via" in WinAnsi
    assert (await c.get("/api/clinic/boletos/" + "x" * 32 + "/segunda-via.pdf")).status_code == 404
    assert (await c.get("/api/clinic/boletos/../segunda-via.pdf")).status_code == 404


# --- LGPD audit -----------------------------------------------------------------------------


async def test_staff_access_to_patient_data_is_audited_without_personal_data(hub: Hub) -> None:
    c = hub.client
    maria = await _patient_id_by_cpf(hub, MARIA.cpf)
    staff = await hub.staff()
    before = await _audit_rows(hub)
    for path in (f"/api/clinic/patients/{maria}", f"/api/clinic/patients/{maria}/appointments",
                 f"/api/clinic/patients/{maria}/exam-results", f"/api/clinic/patients/{maria}/boletos"):
        assert (await c.get(path, headers=staff)).status_code == 200
    rows = (await _audit_rows(hub))[len(before):]
    assert rows == [
        ("clinic.patient.read", f"patient:{maria}"),
        ("clinic.appointments.read", f"patient:{maria}"),
        ("clinic.exam_results.read", f"patient:{maria}"),
        ("clinic.boletos.read", f"patient:{maria}"),
    ]
    # The bot's service token acts in the patient's own conversation: no per-call audit rows.
    assert (await c.get(f"/api/clinic/patients/{maria}/boletos", headers=hub.service)).status_code == 200
    assert len(await _audit_rows(hub)) == len(before) + 4
    # Catalog reads are not patient data.
    assert (await c.get("/api/clinic/exams", headers=staff)).status_code == 200
    assert len(await _audit_rows(hub)) == len(before) + 4
    everything = " ".join(f"{a} {s}" for a, s in await _audit_rows(hub))
    assert MARIA.cpf not in everything and "Maria" not in everything
