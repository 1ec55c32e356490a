"""Two real hub processes on one PostgreSQL + Redis share one queue: agents online on both,
many handoffs at once, capacity freed on either hub — no conversation is ever held twice, no
agent goes over capacity, and presence counts an agent's sockets on every replica."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation, ConversationEvent
from handoff.domain.messages import InboundStatus
from handoff.runtime import HubRuntime
from handoff.services.assignment import enqueue_handoff
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, Feed, LiveHub, eventually, live_hub
from tests.support.hub import webchat_msg

N_AGENTS = 6
CAPACITIES = [2, 3, 2, 3, 2, 3]  # 15 in total
N_HANDOFFS = 30
TAKE = ("assigned", "transfer_agent")
RELEASE = ("requeued", "transfer_queue", "resolved")


async def _handoff(rt: HubRuntime, urgent: bool) -> str:
    result = await accept_inbound(rt.uow, webchat_msg(uuid.uuid4().hex * 2, "preciso de ajuda"))
    await rt.load_handoff()
    assert rt.handoff_config is not None
    async with rt.uow() as (session, events):
        conv = await session.get(Conversation, result.conversation_id)
        assert conv is not None
        await enqueue_handoff(session, events, conv, rt.handoff_config, reason="urgent" if urgent else "human",
                              priority="urgent" if urgent else "normal")
        await store.route_pending_to_humans(session, conv.id, InboundStatus.ROUTED)
    return result.conversation_id


async def _snapshot(hub: LiveHub) -> tuple[list[Conversation], list[ConversationEvent]]:
    convs = await hub.rows(select(Conversation).where(Conversation.queue.is_not(None)))
    events = await hub.rows(select(ConversationEvent).order_by(ConversationEvent.id))
    return convs, events


def _check_invariants(convs: list[Conversation], events: list[ConversationEvent],
                      capacity: dict[int, int]) -> None:
    """Held by at most one agent at a time; nobody over capacity."""
    by_conv: dict[str, list[ConversationEvent]] = {}
    for e in events:
        by_conv.setdefault(e.conversation_id, []).append(e)
    for conv_id, rows in by_conv.items():
        held = False
        for e in rows:
            if e.type in TAKE:
                assert e.type == "transfer_agent" or not held, f"{conv_id[:8]} assigned twice: {[r.type for r in rows]}"
                held = True
            elif e.type in RELEASE:
                held = False
    load = Counter(c.assigned_agent_id for c in convs if c.state in ("assigned", "waiting_patient"))
    for agent_id, n in load.items():
        assert agent_id in capacity and n <= capacity[agent_id], f"agent {agent_id} over capacity: {n}"


async def test_two_hubs_assign_each_conversation_once_within_capacity(backend: Backend, tmp_path: Path) -> None:
    if backend.name != "postgres":
        pytest.skip("several hub processes need PostgreSQL + Redis (SQLite is single-process by design)")
    fast = {"ASSIGNMENT_INTERVAL_SECONDS": "0.5", "PRESENCE_GRACE_SECONDS": "1",
            "REQUEUE_OFFLINE_GRACE_SECONDS": "2", "REQUEUE_NO_ANSWER_SECONDS": "3600"}
    async with live_hub(backend, tmp_path, None, name="hub-a", **fast) as a, \
            live_hub(backend, tmp_path, None, name="hub-b", **fast) as b:
        hubs = (a, b)
        admin = await a.token(ADMIN_EMAIL)
        agents: list[tuple[int, str, str]] = []  # (id, email, password)
        async with a.client(admin) as c:
            for i, cap in enumerate(CAPACITIES):
                email, password = f"agente{i}-{uuid.uuid4().hex[:6]}@clinica.example", f"senha-agente-{i}-xyz"
                r = await c.post("/api/staff", json={"email": email, "name": f"Agente {i}", "role": "attendant",
                                                     "password": password, "max_concurrent": cap})
                assert r.status_code == 201, r.text
                agents.append((r.json()["id"], email, password))
        capacity = {agent_id: cap for (agent_id, _, _), cap in zip(agents, CAPACITIES, strict=True)}
        tokens = [await hubs[i % 2].token(email, pw) for i, (_, email, pw) in enumerate(agents)]

        # Handoffs arrive while agents come online on both replicas (agents 0 and 1 on both).
        first = asyncio.gather(*(_handoff(a.rt, urgent=i % 5 == 0) for i in range(N_HANDOFFS // 2)))
        sockets: list[tuple[int, Feed]] = []
        for i, token in enumerate(tokens):
            sockets.append((i, await hubs[i % 2].staff_socket(token)))
        extra = {0: await b.staff_socket(tokens[0]), 1: await a.staff_socket(tokens[1])}
        created = list(await first)
        created += await asyncio.gather(*(_handoff(b.rt, urgent=i % 5 == 0) for i in range(N_HANDOFFS // 2)))
        assert len(set(created)) == N_HANDOFFS

        async def assigned(n: int) -> bool:
            convs, _ = await _snapshot(a)
            return sum(c.state == "assigned" for c in convs) == n
        await eventually(lambda: assigned(sum(CAPACITIES)), what="every seat filled")
        # Kept on purpose: the claim is that NOTHING changes over more assignment runs (interval 1 s)
        # on both hub processes, which expose no run counter to wait on: this is that span.
        await asyncio.sleep(2)
        convs, events = await _snapshot(a)
        _check_invariants(convs, events, capacity)
        assert sum(c.state == "assigned" for c in convs) == sum(CAPACITIES)
        assert sum(c.state == "queued" for c in convs) == N_HANDOFFS - sum(CAPACITIES)
        assert not [e for e in events if e.type == "requeued"]
        # Every agent got pushes for their own conversations on their socket.
        for i, feed in sockets:
            agent_id = agents[i][0]
            mine = {c.id for c in convs if c.assigned_agent_id == agent_id}
            await feed.wait_for(lambda f, m=mine: f.get("type") == "assigned" and f.get("conversation_id") in m,
                                what=f"assigned push for agent {i}")

        # Capacity frees on both hubs: the waiting ones are taken, still never twice.
        holding = [c for c in convs if c.state == "assigned"][:6]
        token_of = {agent_id: tokens[i] for i, (agent_id, _, _) in enumerate(agents)}
        for j, conv in enumerate(holding):
            async with hubs[j % 2].client(token_of[int(conv.assigned_agent_id or 0)]) as c:
                r = await c.post(f"/api/conversations/{conv.id}/resolve", json={"outcome": "resolved"})
                assert r.status_code == 200, r.text
        await eventually(lambda: assigned(sum(CAPACITIES)), what="freed seats filled again")
        await asyncio.sleep(2)  # kept on purpose, as above: more runs in which nothing may change
        convs, events = await _snapshot(a)
        _check_invariants(convs, events, capacity)
        assert sum(c.state == "queued" for c in convs) == N_HANDOFFS - sum(CAPACITIES) - len(holding)

        # Presence counts sockets on every replica: closing one of two keeps agent 0 online...
        zero = agents[0][0]
        await sockets[0][1].close()
        # Kept on purpose: the presence grace period (1 s) must pass; staying online is the absence
        # of a change, with nothing to wait on.
        await asyncio.sleep(4)
        async with b.client(admin) as c:
            listing = {x["id"]: x for x in (await c.get("/api/agents")).json()}
        assert listing[zero]["presence"] == "online"
        # ...closing the last one makes them offline, and their conversations go back to the queue.
        await extra[0].close()

        async def offline() -> bool:
            async with a.client(admin) as c:
                return bool({x["id"]: x for x in (await c.get("/api/agents")).json()}[zero]["presence"] == "offline")
        await eventually(offline, what="agent 0 offline")

        async def released() -> bool:
            convs, _ = await _snapshot(a)
            return not any(c.assigned_agent_id == zero for c in convs)
        await eventually(released, what="agent 0's conversations requeued")
        convs, events = await _snapshot(a)
        _check_invariants(convs, events, capacity)
        assert {e.data.get("reason") for e in events if e.type == "requeued"} == {"agent_offline"}

        for _, feed in sockets[1:]:
            await feed.close()
        await extra[1].close()
