"""Reminder tests: the real hub runtime (no HTTP, no workers started) on SQLite and PostgreSQL,
rows written as the channel pipeline and the clinic service would, and a clock the tests set
(every service call takes `now`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff.adapters.sql.models import (
    AppointmentRow,
    ChannelIdentity,
    ClinicProfile,
    Conversation,
    DoctorRow,
    Patient,
    SpecialtyRow,
)
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.runtime import HubRuntime
from handoff.services.reminders import ReminderService
from tests.conftest import Backend
from tests.support.hub import make_settings

PUBLIC = "https://atende.clinica.example"
# Monday 2026-12-07 12:00 in São Paulo (UTC-3): the tests' "now".
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@dataclass
class World:
    rt: HubRuntime
    service: ReminderService
    doctor_id: int
    specialty_id: int
    backend: Backend


def settings_for(backend: Backend, **overrides: Any) -> Any:
    values: dict[str, Any] = {"public_base_url": PUBLIC, "seed_demo_clinic": False, "reminders_enabled": False,
                              **overrides}
    return make_settings(backend, "http://127.0.0.1:9", **values)


def local(d: int, h: int, mi: int = 0) -> datetime:
    """December 2026, clinic wall time, as UTC."""
    return datetime(2026, 12, d, h, mi, tzinfo=CLINIC_TZ).astimezone(UTC)


@pytest.fixture
async def world(backend: Backend) -> AsyncIterator[World]:
    rt = await HubRuntime.open(settings_for(backend))
    yield await add_clinic(rt, backend)
    await rt.close()


async def add_clinic(rt: HubRuntime, backend: Backend) -> World:
    """The clinic card, a specialty and a doctor on `rt`'s database."""
    async with rt.db.session() as s:
        spec = SpecialtyRow(slug=f"cardio-{uuid.uuid4().hex[:6]}", name="Cardiologia")
        s.add(spec)
        s.add(ClinicProfile(id=1, name="Clínica Exemplo", address="Rua das Flores, 100 - São Paulo",
                            phone="+551130000000", whatsapp="+551130000000", email="contato@clinica.example",
                            parking="", accessibility="", hours=[], created_at=NOW))
        await s.flush()
        doctor = DoctorRow(name="Dra. Helena Prado", specialty_id=spec.id, active=True)
        s.add(doctor)
        await s.flush()
        return World(rt=rt, service=ReminderService(rt.uow, rt.settings), doctor_id=doctor.id,
                     specialty_id=spec.id, backend=backend)


async def seed_patient(w: World, *, channel: str | None = "whatsapp", last_inbound: datetime | None = None,
                       external_id: str | None = None) -> tuple[int, str | None]:
    """A patient and (unless channel is None) their conversation on `channel`."""
    tag = uuid.uuid4().hex[:8]
    async with w.rt.db.session() as s:
        p = Patient(display_name=f"Maria Teste {tag}", phone=f"+5511{tag}", created_at=NOW - timedelta(days=30))
        s.add(p)
        await s.flush()
        if channel is None:
            return p.id, None
        ext = external_id or (f"m{tag}@exemplo.com" if channel == "email" else f"+5511{int(tag, 16) % 10**9:09d}")
        ident = ChannelIdentity(channel=channel, external_id=ext, patient_id=p.id, created_at=NOW - timedelta(days=30))
        s.add(ident)
        await s.flush()
        conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel=channel,
                            state="bot", priority="normal", created_at=NOW - timedelta(days=30),
                            updated_at=NOW - timedelta(days=2), last_inbound_at=last_inbound)
        s.add(conv)
        return p.id, conv.id


_minute = iter(range(10**6))


async def seed_appointment(w: World, patient_id: int, start: datetime, *, created: datetime | None = None,
                           status: str = "scheduled") -> int:
    """An appointment (each at a distinct minute so the doctor's unique slot index holds)."""
    start = start + timedelta(seconds=next(_minute) % 59)
    async with w.rt.db.session() as s:
        a = AppointmentRow(patient_id=patient_id, doctor_id=w.doctor_id, starts_at=start,
                           ends_at=start + timedelta(minutes=30), status=status,
                           created_at=created or NOW - timedelta(days=10),
                           updated_at=created or NOW - timedelta(days=10))
        s.add(a)
        await s.flush()
        return a.id
