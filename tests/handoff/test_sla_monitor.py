"""SLA monitor on real SQLite and PostgreSQL + Redis: with tiny targets, the warning, the breach
and the escalation of a clock fire once each — with two monitors (two hub runtimes) racing,
and through the real periodic loop — and a level-3 escalation takes the conversation away
from an agent who does not answer, while an answered conversation does not escalate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from handoff.adapters.sql import store
from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import Conversation, ConversationEvent, SlaEscalation, StaffUser
from handoff.domain.messages import InboundStatus
from handoff.runtime import HubRuntime
from handoff.services import staff
from handoff.services.assignment import Assigner, enqueue_handoff
from handoff.services.ingest import accept_inbound
from handoff.services.sla_monitor import SlaMonitor
from handoff.services.unit_of_work import STAFF_TOPIC
from tests.conftest import Backend
from tests.support.hub import count, make_settings, wait_for, webchat_msg
from tests.support.wait import eventually

# Tiny 24x7 targets for "normal": first response 10 s, next response 10 s, resolution 100 s.
TINY = json.dumps({"normal": {"first_response": 10, "next_response": 10, "resolution": 100,
                              "business_hours": False}})
SLA_TYPES = ("sla_warning", "sla_breach", "escalation")
PROBE = "test_probe"  # markers `_listen` publishes to itself


async def _runtime(backend: Backend, **overrides: Any) -> HubRuntime:
    values: dict[str, Any] = {"sla_policies": TINY, "presence_grace_seconds": 3600, **overrides}
    settings = make_settings(backend, "http://127.0.0.1:9", **values)
    rt = await HubRuntime.open(settings)
    await rt.load_handoff()
    return rt


async def _handoff(rt: HubRuntime, text: str = "quero falar com alguém") -> tuple[str, datetime]:
    """A patient message, then the handoff exactly as the bot pipeline applies it."""
    result = await accept_inbound(rt.uow, webchat_msg(uuid.uuid4().hex * 2, text))
    assert rt.handoff_config is not None
    async with rt.uow() as (session, events):
        conv = await session.get(Conversation, result.conversation_id)
        assert conv is not None
        await enqueue_handoff(session, events, conv, rt.handoff_config, reason="human", priority="normal",
                              note="teste")
        await store.route_pending_to_humans(session, conv.id, InboundStatus.ROUTED)
        since = conv.waiting_since
    assert since is not None
    return result.conversation_id, since


async def _types(rt: HubRuntime, conv_id: str) -> list[str]:
    async with rt.db.session() as s:
        rows = (await s.execute(select(ConversationEvent.type).where(ConversationEvent.conversation_id == conv_id)
                                .order_by(ConversationEvent.id))).scalars().all()
    return list(rows)


@contextlib.asynccontextmanager
async def _listen(rt: HubRuntime) -> AsyncIterator[list[dict[str, Any]]]:
    """Collect staff-topic events published on a runtime's bus.

    Markers of our own, published on the same bus, tell when the subscription is live and when
    everything published before the end of the block has arrived (a bus delivers in order)."""
    got: list[dict[str, Any]] = []
    markers: set[str] = set()

    async def marker_back() -> Callable[[], bool]:
        marker = uuid.uuid4().hex
        await rt.bus.publish(STAFF_TOPIC, {"type": PROBE, "marker": marker})
        return lambda: marker in markers

    async with rt.bus.subscribe(STAFF_TOPIC) as sub:
        async def pump() -> None:
            async for event in sub:
                if event.get("type") == PROBE:
                    markers.add(event["marker"])
                else:
                    got.append(event)
        task = asyncio.create_task(pump())

        async def subscribed() -> bool:  # markers published before the subscription is live are lost
            await marker_back()
            return bool(markers)
        await eventually(subscribed, timeout=30, what="the bus subscription live")
        try:
            yield got
        finally:
            await eventually(await marker_back(), timeout=30, what="the last publications arrived")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_warning_breach_escalation_fire_once_with_two_monitors(backend: Backend) -> None:
    a, b = await _runtime(backend), await _runtime(backend)
    try:
        assert a.handoff_config is not None and b.handoff_config is not None
        monitors = [SlaMonitor(a.uow, a.handoff_config, 1), SlaMonitor(b.uow, b.handoff_config, 1)]
        buses = [a] if backend.redis_url else [a, b]  # Redis: every replica sees every event
        async with contextlib.AsyncExitStack() as stack:
            feeds = [await stack.enter_async_context(_listen(rt)) for rt in buses]
            conv_id, t0 = await _handoff(a)
            t0 = as_utc(t0) or t0

            async def race(seconds: float) -> int:
                at = t0 + timedelta(seconds=seconds)
                fired = await asyncio.gather(*(m.tick(at) for m in monitors for _ in range(3)))
                return sum(fired)

            assert await race(5) == 0  # 50%
            assert await race(8.5) == 1  # 85%: warning
            assert await race(10.5) == 1  # 105%: breach
            assert await race(15.5) == 1  # 155%: escalation (reassign + bump)
            assert await race(60) == 0  # nothing fires twice
            types = await _types(a, conv_id)
            assert [t for t in types if t in SLA_TYPES] == ["sla_warning", "sla_breach", "escalation"]
            assert types.count("priority_changed") == 1
            assert await count(a, SlaEscalation.conversation_id == conv_id, model=SlaEscalation) == 3
            async with a.db.session() as s:
                conv = await s.get(Conversation, conv_id)
                assert conv is not None and conv.priority == "high" and conv.state == "queued"
                keys = (await s.execute(select(SlaEscalation.key, SlaEscalation.level, SlaEscalation.metric)
                                        .where(SlaEscalation.conversation_id == conv_id))).all()
            assert sorted((lvl, metric) for _, lvl, metric in keys) == [
                (1, "first_response"), (2, "first_response"), (3, "first_response")]
        live = [e for feed in feeds for e in feed if e.get("conversation_id") == conv_id and e["type"] in SLA_TYPES]
        assert sorted(e["type"] for e in live) == sorted(SLA_TYPES)  # published once each
        breach = next(e for e in live if e["type"] == "sla_breach")
        assert breach["audience"] == "managers" and breach["metric"] == "first_response"
    finally:
        await a.close()
        await b.close()


async def test_level_three_takes_the_conversation_from_a_silent_agent(backend: Backend) -> None:
    rt = await _runtime(backend)
    try:
        assert rt.handoff_config is not None and rt.inbox is not None
        agent_id = await staff.create_staff(rt.uow, f"{uuid.uuid4().hex[:8]}@clinica.example", "Agente", "attendant",
                                            "senha-" + "z" * 10, queues=["reception"])
        async with rt.db.session() as s:
            await s.execute(update(StaffUser).where(StaffUser.id == agent_id)
                            .values(presence="online", presence_at=datetime.now().astimezone()))
        silent, t0 = await _handoff(rt)
        answered, _ = await _handoff(rt)
        assigner = Assigner(rt.uow, rt.handoff_config, interval=60)
        assert (await assigner.run_once()).assigned == 2
        who = staff.StaffIdentity(agent_id, "a@clinica.example", "Agente", "attendant")
        await rt.inbox.reply(who, answered, "Olá! Já vou verificar.")
        monitor = SlaMonitor(rt.uow, rt.handoff_config, 1)
        t0 = as_utc(t0) or t0
        async with _listen(rt) as feed:
            for seconds in (8.5, 10.5, 15.5, 30):
                await monitor.tick(t0 + timedelta(seconds=seconds))
        silent_types = await _types(rt, silent)
        assert [t for t in silent_types if t in SLA_TYPES] == ["sla_warning", "sla_breach", "escalation"]
        assert "requeued" in silent_types
        assert not [t for t in await _types(rt, answered) if t in SLA_TYPES]  # a reply stops the clock
        async with rt.db.session() as s:
            conv = await s.get(Conversation, silent)
            assert conv is not None and conv.state == "queued" and conv.assigned_agent_id is None
            assert conv.excluded_agents == [agent_id] and conv.priority == "high"
            requeued = (await s.execute(select(ConversationEvent).where(
                ConversationEvent.conversation_id == silent, ConversationEvent.type == "requeued"))).scalar_one()
            assert requeued.data["reason"] == "sla_escalation" and requeued.data["agent_id"] == agent_id
        warning = next(e for e in feed if e["type"] == "sla_warning" and e["conversation_id"] == silent)
        assert warning["audience"] == "agent" and warning["agent_id"] == agent_id
        # The agent who let it time out is not offered it again.
        await assigner.run_once()
        async with rt.db.session() as s:
            conv = await s.get(Conversation, silent)
            assert conv is not None and conv.state == "queued"
    finally:
        await rt.close()


async def test_the_periodic_monitor_fires_each_level_once(backend: Backend) -> None:
    tiny = json.dumps({"normal": {"first_response": 2, "next_response": 2, "resolution": 60,
                                  "business_hours": False}})
    replicas = [await _runtime(backend, sla_policies=tiny, sla_monitor_interval_seconds=0.3,
                               assignment_interval_seconds=0.5) for _ in range(2)]
    for rt in replicas:
        await rt.start_workers()
    ticks = [0 for _ in replicas]  # finished passes of each replica's periodic monitor
    for i, rt in enumerate(replicas):
        assert rt.sla_monitor is not None
        tick = rt.sla_monitor.tick

        async def counted(*args: Any, _tick: Callable[..., Awaitable[Any]] = tick, _i: int = i, **kw: Any) -> Any:
            try:
                return await _tick(*args, **kw)
            finally:
                ticks[_i] += 1
        rt.sla_monitor.tick = counted  # type: ignore[method-assign]
    try:
        conv_id, _ = await _handoff(replicas[0])

        async def all_fired() -> bool:
            types = await _types(replicas[0], conv_id)
            return all(t in types for t in SLA_TYPES)
        await wait_for(all_fired, timeout=90, what="warning, breach and escalation")
        seen = list(ticks)
        await eventually(lambda: all(now >= then + 3 for now, then in zip(ticks, seen, strict=True)),
                         timeout=60, what="more ticks on both replicas")
        types = await _types(replicas[0], conv_id)
        assert [t for t in types if t in SLA_TYPES] == ["sla_warning", "sla_breach", "escalation"]
    finally:
        for rt in replicas:
            await rt.close()
