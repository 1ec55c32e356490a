"""The reminder a typed reply answers (issue 15 item 2): `reminder_context.latest_reminder` on
SQLite and PostgreSQL with a clock the test sets, and the bot pipeline sending it to the bot in
the metadata of every message (the local fake Rasa records what it received).

A reply binds across the person's records: the reminder went to the clinic record (the
appointment's patient), the reply comes from a channel record linked to it by CPF."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AppointmentRow, DoctorRow, Patient, PatientLink, SpecialtyRow
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.adapters.sql.reminder_context import latest_reminder
from handoff.runtime import HubRuntime
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.fake_rasa import FakeRasa
from tests.support.hub import make_settings, wait_for, webchat_msg

# Monday 2026-12-07 12:00 in São Paulo: the clock of the query tests.
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@dataclass
class Clinic:
    rt: HubRuntime
    doctor_id: int


@pytest.fixture
async def clinic(backend: Backend, fake_rasa: FakeRasa) -> AsyncIterator[Clinic]:
    rt = await HubRuntime.open(make_settings(backend, fake_rasa.url, seed_demo_clinic=False))
    async with rt.db.session() as s:
        spec = SpecialtyRow(slug=f"cardio-{uuid.uuid4().hex[:6]}", name="Cardiologia")
        s.add(spec)
        await s.flush()
        doctor = DoctorRow(name="Dra. Helena Prado", specialty_id=spec.id, active=True)
        s.add(doctor)
        await s.flush()
        doctor_id = doctor.id
    yield Clinic(rt, doctor_id)
    await rt.close()


async def patient(c: Clinic, linked_to: int | None = None) -> int:
    async with c.rt.db.session() as s:
        p = Patient(display_name="Paciente Teste", created_at=NOW - timedelta(days=30))
        s.add(p)
        await s.flush()
        if linked_to is not None:
            s.add(PatientLink(patient_id=p.id, linked_to_id=linked_to, created_at=NOW - timedelta(days=1)))
        return p.id


_minute = iter(range(1, 10**6))


async def appointment(c: Clinic, patient_id: int, start: datetime, status: str = "scheduled") -> int:
    start = start + timedelta(minutes=next(_minute))  # the doctor's (doctor, start) index is unique
    async with c.rt.db.session() as s:
        row = AppointmentRow(patient_id=patient_id, doctor_id=c.doctor_id, starts_at=start,
                             ends_at=start + timedelta(minutes=30), status=status,
                             created_at=NOW - timedelta(days=10), updated_at=NOW - timedelta(days=10))
        s.add(row)
        await s.flush()
        return row.id


async def reminder(c: Clinic, appointment_id: int, patient_id: int, sent_at: datetime | None, kind: str = "24h",
                   status: str = "sent") -> None:
    async with c.rt.db.session() as s:
        s.add(ReminderRow(appointment_id=appointment_id, patient_id=patient_id, kind=kind,
                          appointment_start=NOW + timedelta(days=1), due_at=sent_at or NOW, status=status,
                          sent_at=sent_at, details={}, created_at=NOW - timedelta(days=3),
                          updated_at=NOW - timedelta(days=3)))


async def latest(c: Clinic, patient_id: int, now: datetime = NOW) -> Any:
    async with c.rt.db.session() as s:
        found = await latest_reminder(s, patient_id, now)
    return None if found is None else (found.appointment_id, found.kind)


async def test_the_latest_reminder_of_an_upcoming_appointment_binds_across_linked_records(clinic: Clinic) -> None:
    record = await patient(clinic)
    whatsapp = await patient(clinic, linked_to=record)
    webchat = await patient(clinic, linked_to=record)
    first = await appointment(clinic, record, NOW + timedelta(days=2))
    second = await appointment(clinic, record, NOW + timedelta(hours=20))
    await reminder(clinic, first, record, NOW - timedelta(hours=30), kind="48h")
    await reminder(clinic, second, record, NOW - timedelta(hours=2), kind="24h")
    for asker in (record, whatsapp, webchat):  # any of the person's records, any channel
        assert await latest(clinic, asker) == (second, "24h")
    stranger = await patient(clinic)
    assert await latest(clinic, stranger) is None


async def test_cancelled_passed_old_unsent_and_future_reminders_do_not_count(clinic: Clinic) -> None:
    record = await patient(clinic)
    kept = await appointment(clinic, record, NOW + timedelta(days=2))
    await reminder(clinic, kept, record, NOW - timedelta(hours=40), kind="48h")
    cancelled = await appointment(clinic, record, NOW + timedelta(hours=22), status="cancelled")
    await reminder(clinic, cancelled, record, NOW - timedelta(hours=1))
    passed = await appointment(clinic, record, NOW - timedelta(hours=3))
    await reminder(clinic, passed, record, NOW - timedelta(hours=20))
    unsent = await appointment(clinic, record, NOW + timedelta(hours=30))
    await reminder(clinic, unsent, record, None, status="skipped_opt_out")
    await reminder(clinic, unsent, record, NOW - timedelta(minutes=5), kind="morning", status="failed")
    future = await appointment(clinic, record, NOW + timedelta(days=3))
    await reminder(clinic, future, record, NOW + timedelta(hours=1))  # after the clock: not yet sent
    assert await latest(clinic, record) == (kept, "48h")
    # the window is 72 h: 33 h later the 48h reminder is 73 h old; the next one sent counts
    assert await latest(clinic, record, NOW + timedelta(hours=33)) == (future, "24h")
    old = await patient(clinic)
    far = await appointment(clinic, old, NOW + timedelta(days=6))
    await reminder(clinic, far, old, NOW - timedelta(hours=73), kind="48h")
    assert await latest(clinic, old) is None
    assert await latest(clinic, old, NOW - timedelta(hours=2)) == (far, "48h")


async def test_the_bot_gets_the_reminder_in_the_metadata_of_every_message(clinic: Clinic, fake_rasa: FakeRasa) -> None:
    rt = clinic.rt
    visitor, other = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    hello = await accept_inbound(rt.uow, webchat_msg(visitor, "oi"))
    stranger = await accept_inbound(rt.uow, webchat_msg(other, "oi"))
    record = await patient(clinic)
    async with rt.db.session() as s:  # the web chat visitor identified by CPF as the clinic record
        s.add(PatientLink(patient_id=hello.patient_id, linked_to_id=record, created_at=utcnow()))
    appt = await appointment(clinic, record, utcnow() + timedelta(hours=20))
    await reminder(clinic, appt, record, utcnow() - timedelta(hours=3))
    await rt.start_workers()
    await accept_inbound(rt.uow, webchat_msg(visitor, "confirmo"))
    await accept_inbound(rt.uow, webchat_msg(other, "confirmo"))

    async def received() -> list[dict[str, Any]]:
        return [m for m in fake_rasa.received if m.get("message") == "confirmo"]

    got = await wait_for(lambda: _two(received), what="both replies reached the bot")
    by_conv = {m["sender"]: m["metadata"] for m in got}
    mine = by_conv[hello.conversation_id]
    assert mine["reminder"]["appointment_id"] == appt and mine["reminder"]["kind"] == "24h"
    assert datetime.fromisoformat(mine["reminder"]["sent_at"]) < utcnow()
    assert mine["patient_id"] and mine["channel"] == "webchat"
    assert "reminder" not in by_conv[stranger.conversation_id]


async def _two(received: Any) -> list[dict[str, Any]] | None:
    got: list[dict[str, Any]] = await received()
    return got if len(got) >= 2 else None
