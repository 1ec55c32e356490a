"""A waitlist on the real database (SQLite file or PostgreSQL), the seeded demo clinic and a clock
the tests move (injected into the clinic and the waitlist services, never patched)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from handoff.adapters.bus import InProcessBus
from handoff.adapters.sql.clinic_store import SqlClinicDirectory
from handoff.adapters.sql.database import Database
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Patient
from handoff.adapters.sql.waitlist_store import SqlSlotHolds
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.sandbox.demo_clinic import seed_demo_clinic
from handoff.services.clinic import ClinicService
from handoff.services.unit_of_work import UnitOfWork
from handoff.services.waitlist import WaitlistService
from tests.conftest import Backend

START = datetime(2027, 3, 1, 8, 0, tzinfo=CLINIC_TZ)  # a Monday morning


@dataclass
class Clock:
    """The time every service reads; tests move it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    db: Database
    clock: Clock
    clinic: ClinicService
    waitlist: WaitlistService
    freed: list[tuple[int, datetime]] = field(default_factory=list)

    async def patient(self, channel: str = "webchat", *, last_inbound: datetime | None = None) -> tuple[int, str]:
        """A patient with one conversation on `channel` (as the channel pipeline creates them)."""
        now = self.clock.now
        async with self.db.session() as s:
            p = Patient(display_name="Paciente", created_at=now)
            s.add(p)
            await s.flush()
            ident = ChannelIdentity(channel=channel, external_id=uuid.uuid4().hex, patient_id=p.id, created_at=now)
            s.add(ident)
            await s.flush()
            conv = Conversation(id=str(uuid.uuid4()), patient_id=p.id, identity_id=ident.id, channel=channel,
                                state="bot", created_at=now, updated_at=now,
                                last_inbound_at=last_inbound if last_inbound is not None else now)
            s.add(conv)
            await s.flush()
            return p.id, conv.id


def build(db: Database, clock: Clock, *, hold_minutes: int = 30, templates: list[dict[str, object]] | None = None,
          ) -> World:
    """Clinic and waitlist wired as `create_app` wires them, with the test clock."""
    holder: dict[str, WaitlistService] = {}
    world_freed: list[tuple[int, datetime]] = []

    async def slot_freed(doctor_id: int, start: datetime, end: datetime) -> None:
        world_freed.append((doctor_id, start))
        await holder["w"].slot_freed(doctor_id, start, end)

    clinic = ClinicService(SqlClinicDirectory(db), clock, on_slot_freed=slot_freed,
                           slot_holds=SqlSlotHolds(db))
    waitlist = WaitlistService(UnitOfWork(db, InProcessBus()), clinic, hold_minutes=hold_minutes,
                               templates=templates or [], clock=clock)
    holder["w"] = waitlist
    return World(db, clock, clinic, waitlist, world_freed)


@pytest.fixture
async def world(backend: Backend) -> AsyncIterator[World]:
    db = Database(backend.database_url)
    db.connect()
    clock = Clock()
    await seed_demo_clinic(db, clock.now)
    try:
        yield build(db, clock)
    finally:
        await db.close()
