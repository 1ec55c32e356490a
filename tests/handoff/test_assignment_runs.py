"""Assignment runs on real SQLite and PostgreSQL: round-robin cursors survive a restart, a
returning patient goes back to their last agent, a silent agent loses the conversation to
the next one, and an offline agent's conversations go back to the queue after the grace."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from handoff.adapters.sql import store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Conversation, ConversationEvent, RoundRobinCursor, StaffUser
from handoff.domain.messages import InboundStatus
from handoff.runtime import HubRuntime
from handoff.services import staff
from handoff.services.assignment import Assigner, enqueue_handoff
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.hub import make_settings, webchat_msg


async def _runtime(backend: Backend) -> HubRuntime:
    rt = await HubRuntime.open(make_settings(backend, "http://127.0.0.1:9", queue_strategies="reception=round_robin",
                                             requeue_no_answer_seconds=60, requeue_offline_grace_seconds=30))
    await rt.load_handoff()
    return rt


async def _agents(rt: HubRuntime, n: int) -> list[int]:
    ids = []
    for i in range(n):
        ids.append(await staff.create_staff(rt.uow, f"rr{i}-{uuid.uuid4().hex[:6]}@clinica.example", f"A{i}",
                                            "attendant", "senha-" + "q" * 10, queues=["reception"]))
    async with rt.db.session() as s:
        await s.execute(update(StaffUser).where(StaffUser.id.in_(ids)).values(presence="online", presence_at=utcnow()))
    return sorted(ids)


async def _handoff(rt: HubRuntime, visitor: str) -> str:
    result = await accept_inbound(rt.uow, webchat_msg(visitor, "quero um atendente"))
    assert rt.handoff_config is not None
    async with rt.uow() as (session, events):
        conv = await session.get(Conversation, result.conversation_id)
        assert conv is not None
        await enqueue_handoff(session, events, conv, rt.handoff_config, reason="human", priority="normal")
        await store.route_pending_to_humans(session, conv.id, InboundStatus.ROUTED)
    return result.conversation_id


async def _holder(rt: HubRuntime, conv_id: str) -> int | None:
    async with rt.db.session() as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        return conv.assigned_agent_id


async def _last_assigned_by(rt: HubRuntime, conv_id: str) -> str:
    async with rt.db.session() as s:
        rows = (await s.execute(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conv_id, ConversationEvent.type == "assigned")
            .order_by(ConversationEvent.id))).scalars().all()
    return str(rows[-1].data["by"])


async def test_round_robin_stickiness_and_requeue(backend: Backend) -> None:
    rt = await _runtime(backend)
    try:
        assert rt.handoff_config is not None and rt.inbox is not None
        a1, a2, a3 = await _agents(rt, 3)
        visitors = [uuid.uuid4().hex * 2 for _ in range(4)]
        convs = []
        for v in visitors[:3]:
            convs.append(await _handoff(rt, v))
            await Assigner(rt.uow, rt.handoff_config, interval=60).run_once()
        assert [await _holder(rt, c) for c in convs] == [a1, a2, a3]
        async with rt.db.session() as s:
            assert (await s.get(RoundRobinCursor, "reception")) is not None
        # A new assigner (another process, or a restart) continues after the persisted cursor.
        convs.append(await _handoff(rt, visitors[3]))
        await Assigner(rt.uow, rt.handoff_config, interval=60).run_once()
        assert await _holder(rt, convs[3]) == a1

        # Everyone answers; a3 resolves; the patient comes back: sticky to a3 (round-robin says a2).
        for conv_id, agent in zip(convs, (a1, a2, a3, a1), strict=True):
            who = staff.StaffIdentity(agent, "x@clinica.example", "A", "attendant")
            await rt.inbox.reply(who, conv_id, "Olá!")
        await rt.inbox.resolve(staff.StaffIdentity(a3, "x@clinica.example", "A", "attendant"), convs[2], "resolved")
        await _handoff(rt, visitors[2])  # back to the bot, then a new handoff of the same conversation
        await Assigner(rt.uow, rt.handoff_config, interval=60).run_once()
        assert await _holder(rt, convs[2]) == a3
        assert await _last_assigned_by(rt, convs[2]) == "sticky"
        await rt.inbox.reply(staff.StaffIdentity(a3, "x@clinica.example", "A", "attendant"), convs[2], "De novo!")

        # No answer within the limit: back to the queue, excluded, and handed to someone else.
        fresh = await _handoff(rt, uuid.uuid4().hex * 2)
        assigner = Assigner(rt.uow, rt.handoff_config, interval=60)
        await assigner.run_once()
        first = await _holder(rt, fresh)
        assert first is not None
        result = await assigner.run_once(utcnow() + timedelta(seconds=61))
        assert result.requeued == 1
        second = await _holder(rt, fresh)
        assert second is not None and second != first
        async with rt.db.session() as s:
            conv = await s.get(Conversation, fresh)
            assert conv is not None and conv.excluded_agents == [first]

        # An agent offline past the grace period loses what they hold (answered or not).
        async with rt.db.session() as s:
            await s.execute(update(StaffUser).where(StaffUser.id == a1)
                            .values(presence="offline", presence_at=utcnow()))
        assert (await assigner.run_once()).requeued == 0  # within the grace: a reconnect keeps them
        result = await assigner.run_once(utcnow() + timedelta(seconds=31))
        assert result.requeued >= 2  # convs[0] and convs[3]
        async with rt.db.session() as s:
            held = (await s.execute(select(Conversation.id).where(Conversation.assigned_agent_id == a1))).all()
            reasons = (await s.execute(select(ConversationEvent.data).where(
                ConversationEvent.type == "requeued"))).scalars().all()
        assert not held
        assert sorted(r["reason"] for r in reasons) == ["agent_offline"] * result.requeued + ["no_answer"]
    finally:
        await rt.close()
