"""Use cases run against a throwaway unit of work: fast, no database server, no hub process.

The unit of work here is the production one (`services.unit_of_work.UnitOfWork`) over a SQLite
file in memory-backed storage (/dev/shm when present) with the schema made from the models, and
the in-process bus: the same transaction-then-publish semantics as the hub, in milliseconds. The
integration tests on PostgreSQL and Redis (tests/handoff, tests/pipeline...) stay the proof on
real parts; these pin the use cases' own rules: persist once, publish only after commit, refuse
with a domain error, ask the satisfaction questions in order.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import InboundMessage
from handoff.adapters.bus import InProcessBus
from handoff.adapters.sql import models
from handoff.adapters.sql.database import Database, utcnow
from handoff.adapters.sql.models import Conversation, CsatResponse, Message, StaffUser
from handoff.domain.errors import Conflict, DomainError
from handoff.services.assignment import enqueue_handoff
from handoff.services.handoff_config import HandoffConfig
from handoff.services.inbox import Inbox
from handoff.services.ingest import NPS_QUESTION, accept_inbound
from handoff.services.staff import StaffIdentity, create_staff
from handoff.services.unit_of_work import WORK_TOPIC, UnitOfWork
from handoff.settings import Settings


@dataclass
class Recorder:
    """Every event the bus published, in order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.events]


class RecordingBus(InProcessBus):
    """The in-process bus, also remembering what was published (published = after commit)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.recorder.events.append((topic, event))
        await super().publish(topic, event)


@pytest.fixture
async def uow() -> AsyncIterator[tuple[UnitOfWork, Recorder]]:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=base, prefix="atende-uow-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'hub.db'}")
        db.connect()
        async with db.engine.begin() as conn:
            await conn.run_sync(models.Base.metadata.create_all)
        recorder = Recorder()
        bus = RecordingBus(recorder)
        await bus.start()
        try:
            yield UnitOfWork(db, bus), recorder
        finally:
            await bus.close()
            await db.engine.dispose()


def inbound(provider_id: str, text: str = "oi, quero marcar uma consulta",
            who: str = "5511999990001") -> InboundMessage:
    return InboundMessage(channel="whatsapp", external_user_id=who, provider_message_id=provider_id, text=text)


async def count(unit: UnitOfWork, model: Any) -> int:
    async with unit() as (session, _):
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_an_inbound_message_is_stored_once_and_wakes_the_bot_after_commit(
    uow: tuple[UnitOfWork, Recorder],
) -> None:
    unit, rec = uow
    first = await accept_inbound(unit, inbound("wamid.1"))
    assert not first.duplicate and first.to_bot
    assert await count(unit, Message) == 1
    assert WORK_TOPIC in rec.topics()
    published = len(rec.events)

    again = await accept_inbound(unit, inbound("wamid.1"))  # the provider retried the webhook
    assert again.duplicate and again.message.id == first.message.id
    assert await count(unit, Message) == 1
    assert len(rec.events) == published, "a duplicate must not wake anyone"


async def test_nothing_is_published_when_the_transaction_fails(uow: tuple[UnitOfWork, Recorder]) -> None:
    unit, rec = uow
    with pytest.raises(RuntimeError):
        async with unit() as (session, events):
            session.add(StaffUser(email="x@clinica.example", name="X", role="attendant", password_hash="-",
                                  active=True, created_at=utcnow()))
            await session.flush()
            events.add(WORK_TOPIC, {"kind": "inbound", "conversation_id": "c-rolled-back"})
            raise RuntimeError("crash inside the use case")
    assert rec.events == []
    assert await count(unit, StaffUser) == 0


async def queued_conversation(unit: UnitOfWork, config: HandoffConfig, provider_id: str) -> str:
    result = await accept_inbound(unit, inbound(provider_id, "quero falar com um atendente",
                                                who="55119" + provider_id[-7:].rjust(7, "0")))
    async with unit() as (session, events):
        conv = await session.get(Conversation, result.conversation_id)
        assert conv is not None
        await enqueue_handoff(session, events, conv, config, reason="human", priority="normal")
    return result.conversation_id


async def test_two_attendants_claiming_one_conversation_one_wins_the_other_gets_a_conflict(
    uow: tuple[UnitOfWork, Recorder],
) -> None:
    unit, _ = uow
    config = HandoffConfig.build(Settings())
    conv_id = await queued_conversation(unit, config, "wamid.2000001")
    ids = [await create_staff(unit, f"{n}@clinica.example", n.title(), "attendant", "senha-" + "x" * 12)
           for n in ("ana", "bruno")]
    inbox = Inbox(unit, config)
    ana, bruno = (StaffIdentity(i, f"{n}@clinica.example", n.title(), "attendant") for i, n in
                  zip(ids, ("ana", "bruno"), strict=True))
    outcomes = await asyncio.gather(inbox.claim(ana, conv_id), inbox.claim(bruno, conv_id),
                                    return_exceptions=True)
    wins = [o for o in outcomes if isinstance(o, dict)]
    refusals = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(wins) == 1 and len(refusals) == 1, outcomes
    assert isinstance(refusals[0], Conflict) and refusals[0].code == "illegal_transition"
    async with unit() as (session, _):
        conv = await session.get(Conversation, conv_id)
        assert conv is not None and conv.state == "assigned"


async def test_resolving_asks_csat_then_nps_and_the_answers_never_reach_the_bot(
    uow: tuple[UnitOfWork, Recorder],
) -> None:
    unit, rec = uow
    config = HandoffConfig.build(Settings())
    conv_id = await queued_conversation(unit, config, "wamid.3000001")
    staff_id = await create_staff(unit, "carla@clinica.example", "Carla", "attendant", "senha-" + "y" * 12)
    carla = StaffIdentity(staff_id, "carla@clinica.example", "Carla", "attendant")
    inbox = Inbox(unit, config)
    await inbox.claim(carla, conv_id)
    await inbox.resolve(carla, conv_id, "resolved")

    who = "55119" + "3000001"
    csat = await accept_inbound(unit, inbound("wamid.3000002", "5", who=who))
    assert csat.csat_score == 5 and not csat.to_bot
    async with unit() as (session, _):
        texts = [m.text for m in (await session.execute(
            select(Message).where(Message.conversation_id == conv_id, Message.direction == "out")
            .order_by(Message.id))).scalars()]
    assert texts[-1] == NPS_QUESTION

    nps = await accept_inbound(unit, inbound("wamid.3000003", "9", who=who))
    assert nps.nps_score == 9 and not nps.to_bot
    async with unit() as (session, _):
        row = (await session.execute(select(CsatResponse).where(CsatResponse.conversation_id == conv_id))).scalar_one()
    assert (row.score, row.nps, row.agent_id) == (5, 9, staff_id)
    bot_wakeups = [e for t, e in rec.events if t == WORK_TOPIC and e.get("kind") == "inbound"
                   and e.get("conversation_id") == conv_id]
    assert len(bot_wakeups) == 1, "only the first message (before the handoff) was the bot's"
