"""Crash and restart of the real hub process, and several hubs sharing one queue."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from connectors.base import InboundMessage
from handoff.adapters.sql.models import Message
from handoff.runtime import HubRuntime
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.hub import count, make_settings, tracker_user_texts, wait_for
from tests.support.net import TcpProxy, free_port
from tests.support.stack import BotStack, start_hub
from tests.support.wait import eventually


async def _send_and_ack(ws, texts: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Send widget frames and wait for each ack (the hub persisted the message)."""
    ids = {uuid.uuid4().hex: t for t in texts}
    for client_id, text in ids.items():
        await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
    acked: dict[str, int] = {}
    while len(acked) < len(ids):
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "ack":
            acked[frame["client_id"]] = frame["id"]
    return acked


async def test_hub_killed_mid_turn_resumes_without_loss_or_duplicates(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack, tmp_path: Path
) -> None:
    port = free_port()
    env = {"DATABASE_URL": backend.database_url, "REDIS_URL": backend.redis_url or "",
           "RASA_URL": f"http://127.0.0.1:{proxy.port}", "ACTIONS_URL": bot_stack.actions_url,
           "HUB_PORT": str(port), "LEASE_SECONDS": "2", "POLL_INTERVAL_SECONDS": "0.2",
           "BOT_TIMEOUT_SECONDS": "20", "CLINIC_ADMIN_PASSWORD": "test-password-123"}
    if not backend.redis_url:
        env.pop("REDIS_URL")
    hub = start_hub(tmp_path, env)
    visitor = uuid.uuid4().hex * 2
    tag = uuid.uuid4().hex[:6]
    texts = [f"oi {tag}", f"bom dia {tag}", f"obrigado {tag}"]
    try:
        proxy.hang()  # the bot is slow: the first turn is in flight when the hub dies
        async with connect(f"ws://127.0.0.1:{port}/webchat/ws?visitor={visitor}") as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "history" and first["messages"] == []
            acked = await _send_and_ack(ws, texts)
        await eventually(lambda: proxy.held > 0, timeout=30, what="the first turn in flight at the hung bot")
        hub.kill(signal.SIGKILL)  # crash: no shutdown hooks, the lease is left behind
    finally:
        hub.kill()
    proxy.up()
    hub = start_hub(tmp_path, env, name="hub-restarted")
    try:
        rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}"))
        try:
            await wait_for(lambda: _done(rt), timeout=90, what="pending work resumed after the crash")
            async with rt.db.session() as s:
                conv_id = (await s.execute(select(Message.conversation_id).where(
                    Message.id == next(iter(acked.values()))))).scalar_one()
        finally:
            await rt.close()
        # The bot saw each message exactly once, in order.
        assert await tracker_user_texts(bot_stack.rasa_url, conv_id) == texts
        async with connect(f"ws://127.0.0.1:{port}/webchat/ws?visitor={visitor}") as ws:
            history = json.loads(await ws.recv())
        msgs = history["messages"]
        assert [m["text"] for m in msgs if m["direction"] == "in"] == texts
        assert len({m["id"] for m in msgs}) == len(msgs)
        bot_replies = [m for m in msgs if m["sender"] == "bot"]
        assert len(bot_replies) == 3, [m["text"][:20] for m in bot_replies]
    finally:
        hub.kill()


async def _done(rt: HubRuntime) -> bool:
    return (await count(rt, Message.status == "pending") == 0
            and await count(rt, Message.direction == "out") >= 3
            and await count(rt, Message.direction == "out", Message.status != "sent") == 0)


async def test_two_hub_replicas_share_one_queue_safely(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack
) -> None:
    if backend.name != "postgres":
        pytest.skip("several hub processes need PostgreSQL + Redis (SQLite is single-process by design)")
    replicas = [await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_workers=4))
                for _ in range(2)]
    for rt in replicas:
        await rt.start_workers()
    try:
        tag = uuid.uuid4().hex[:6]
        visitors = [uuid.uuid4().hex * 2 for _ in range(6)]
        sent: dict[str, list[str]] = {v: [] for v in visitors}
        conv_of: dict[str, str] = {}
        for i in range(4):
            for j, v in enumerate(visitors):
                text = f"{['oi', 'bom dia', 'obrigado', 'tchau'][i]} {tag}{i}"
                # Messages arrive through either replica, as behind a load balancer.
                r = await accept_inbound(replicas[(i + j) % 2].uow, InboundMessage(
                    channel="webchat", external_user_id=v, provider_message_id=uuid.uuid4().hex, text=text))
                sent[v].append(text)
                conv_of[v] = r.conversation_id
        await wait_for(lambda: _none_pending(replicas[0]), timeout=120, what="all processed")
        for v in visitors:
            assert await tracker_user_texts(bot_stack.rasa_url, conv_of[v]) == sent[v]
        # Both replicas did part of the work (leases are per worker owner id).
        async with replicas[0].db.session() as s:
            outs = (await s.execute(select(Message).where(Message.direction == "out"))).scalars().all()
        assert len(outs) >= len(visitors) * 4
    finally:
        for rt in replicas:
            await rt.close()


async def _none_pending(rt: HubRuntime) -> bool:
    return await count(rt, Message.status == "pending") == 0
