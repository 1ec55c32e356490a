"""The message pipeline's guarantees, on real SQLite and on real PostgreSQL + Redis, with the
real trained bot behind a real Rasa server (a TCP proxy in front of it simulates outages)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select

from connectors.base import InboundMessage
from handoff.adapters.sql.models import Conversation, ConversationEvent, Message, Patient
from handoff.runtime import HubRuntime
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.fake_twilio import FakeTwilio
from tests.support.hub import count, make_settings, tracker_user_texts, wait_for, webchat_msg
from tests.support.net import TcpProxy
from tests.support.stack import BotStack


async def test_inbound_is_stored_once_even_when_retried_concurrently(backend: Backend, proxy: TcpProxy) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}"))
    try:
        visitor = "v" * 40
        msg = webchat_msg(visitor, "oi", "client-0001")
        results = await asyncio.gather(*(accept_inbound(rt.uow, msg) for _ in range(8)))
        assert sum(not r.duplicate for r in results) == 1
        assert len({r.message.id for r in results}) == 1
        assert await count(rt, Message.provider_message_id == "client-0001") == 1
        # First messages of a brand-new patient racing each other: one patient, one conversation.
        other = "w" * 40
        firsts = await asyncio.gather(*(accept_inbound(rt.uow, webchat_msg(other, f"m{i}")) for i in range(6)))
        assert len({r.conversation_id for r in firsts}) == 1
        assert await count(rt, Conversation.channel == "webchat", model=Conversation) == 2
        assert await count(rt, model=Patient) == 2
        assert await count(rt, Message.conversation_id == firsts[0].conversation_id) == 6
    finally:
        await rt.close()


async def test_bot_gets_each_message_once_in_arrival_order(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack
) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_workers=6))
    await rt.start_workers()
    try:
        texts = ["oi", "bom dia", "quero falar com um atendente"]
        visitors = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(4)]
        convs: dict[str, str] = {}
        tag = uuid.uuid4().hex[:6]
        for i in range(3):  # interleave conversations; each one's messages must stay in order
            for v in visitors:
                r = await accept_inbound(rt.uow, webchat_msg(v, f"{texts[i % len(texts)]} {tag}{i}"))
                convs[v] = r.conversation_id
        await wait_for(lambda: _none_pending(rt), what="all messages processed")
        for v, conv_id in convs.items():
            sent = [f"{texts[i % len(texts)]} {tag}{i}" for i in range(3)]
            got = await tracker_user_texts(bot_stack.rasa_url, conv_id)
            assert got == sent, f"bot saw {got} for {v[:6]}"
        # Every processed message is tagged with the bot's intent and a reason.
        async with rt.db.session() as s:
            rows = (await s.execute(select(Message).where(Message.direction == "in"))).scalars().all()
        assert rows and all(m.status == "processed" and m.intent and m.reason for m in rows)
        assert any(m.intent == "greet" and m.reason == "other" for m in rows)
        # Replies were queued and delivered through the outbox.
        await wait_for(lambda: _all_out_sent(rt), what="replies sent")
    finally:
        await rt.close()


async def _none_pending(rt: HubRuntime) -> bool:
    return await count(rt, Message.status == "pending") == 0


async def _all_out_sent(rt: HubRuntime) -> bool:
    return (await count(rt, Message.direction == "out") > 0
            and await count(rt, Message.direction == "out", Message.status != "sent") == 0)


async def test_bot_outage_shorter_than_grace_loses_nothing(backend: Backend, proxy: TcpProxy) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_grace_seconds=60))
    await rt.start_workers()
    try:
        proxy.down()
        r = await accept_inbound(rt.uow, webchat_msg(uuid.uuid4().hex * 2, "oi"))
        async def failed_once() -> bool:
            async with rt.db.session() as s:
                conv = await s.get(Conversation, r.conversation_id)
                return bool(conv and conv.bot_failures >= 2)
        await wait_for(failed_once, what="bot failures recorded")
        assert await count(rt, Message.id == r.message.id, Message.status == "pending") == 1
        proxy.up()
        await wait_for(lambda: _none_pending(rt), what="processed after the bot came back")
        assert await count(rt, Message.id == r.message.id, Message.status == "processed") == 1
        await wait_for(lambda: _all_out_sent(rt), what="reply sent")
        async with rt.db.session() as s:
            conv = await s.get(Conversation, r.conversation_id)
            assert conv is not None and conv.state == "bot" and conv.bot_failures == 0
    finally:
        await rt.close()


async def test_bot_down_past_grace_hands_conversation_to_humans(backend: Backend, proxy: TcpProxy) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_grace_seconds=1.5))
    await rt.start_workers()
    try:
        proxy.hang()  # the bot accepts connections but never answers (the worst case)
        rt.gateway._client.timeout = httpx.Timeout(0.5)
        visitor = uuid.uuid4().hex * 2
        r = await accept_inbound(rt.uow, webchat_msg(visitor, "preciso de ajuda"))

        async def handed_off() -> bool:
            async with rt.db.session() as s:
                conv = await s.get(Conversation, r.conversation_id)
                return bool(conv and conv.state == "queued")
        await wait_for(handed_off, timeout=30, what="handoff")
        async with rt.db.session() as s:
            conv = await s.get(Conversation, r.conversation_id)
            assert conv is not None and conv.handoff_reason == "bot_unavailable" and conv.priority == "high"
            msg = await s.get(Message, r.message.id)
            assert msg is not None and msg.status == "handed_off"
            events = (await s.execute(select(ConversationEvent.type).where(
                ConversationEvent.conversation_id == r.conversation_id))).scalars().all()
            assert "handoff" in events
        await wait_for(lambda: _all_out_sent(rt), what="patient told a human will answer")
        async with rt.db.session() as s:
            notice = (await s.execute(select(Message).where(Message.direction == "out"))).scalars().one()
            assert notice.sender == "system" and "atendente" in notice.text
        # Later messages go to the human queue, not to the bot.
        later = await accept_inbound(rt.uow, webchat_msg(visitor, "alô?"))
        assert not later.to_bot and later.message.status == "routed"
    finally:
        await rt.close()


async def test_outbox_retries_with_backoff_in_order_and_gives_up_on_permanent_errors(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack
) -> None:
    twilio = FakeTwilio().start()
    settings = make_settings(backend, f"http://127.0.0.1:{proxy.port}", twilio_api_base=twilio.base_url,
                             twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
                             twilio_whatsapp_from="whatsapp:+551140000000", outbox_max_attempts=5)
    rt = await HubRuntime.open(settings)
    await rt.start_workers()
    try:
        twilio.fail_next = [500, 503]  # the provider is flaky for two calls
        phone = "+5511987654321"
        await accept_inbound(rt.uow, InboundMessage(channel="whatsapp", external_user_id=phone,
                                                    provider_message_id="SM" + uuid.uuid4().hex, text="oi"))
        await wait_for(lambda: _all_out_sent(rt), timeout=60, what="reply delivered after retries")
        statuses = [r["_status"] for r in twilio.requests]
        assert statuses[:2] == ["500", "503"] and statuses[2] == "201"
        first_body = twilio.requests[2]["Body"]
        assert twilio.requests[2]["To"] == "whatsapp:" + phone
        async with rt.db.session() as s:
            query = select(Message).where(Message.direction == "out").order_by(Message.id)
            outs = (await s.execute(query)).scalars().all()
        assert outs[0].attempts == 3 and outs[0].provider_message_id.startswith("SM")
        # Order: the first reply is delivered before any later one.
        delivered_bodies = [r["Body"] for r in twilio.requests if r["_status"] == "201"]
        assert delivered_bodies[0] == first_body == outs[0].text or delivered_bodies[0].startswith(outs[0].text)
        # A permanent error (400: invalid number) is not retried.
        twilio.fail_next = [400]
        before = len(twilio.requests)
        await accept_inbound(rt.uow, InboundMessage(channel="whatsapp", external_user_id=phone,
                                                    provider_message_id="SM" + uuid.uuid4().hex, text="tchau"))

        async def failed() -> bool:
            return await count(rt, Message.direction == "out", Message.status == "failed") == 1
        await wait_for(failed, what="permanent failure recorded")
        assert [r["_status"] for r in twilio.requests[before:]][:1] == ["400"]
        assert await count(rt, ConversationEvent.type == "delivery_failed", model=ConversationEvent) == 1
    finally:
        await rt.close()
        twilio.close()


async def test_while_the_bot_is_down_patients_hear_back_and_emergencies_go_to_humans_at_once(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack
) -> None:
    """Every replica down (the proxy refuses): a routine message gets one holding reply after
    BOT_HOLDING_SECONDS and is answered by the bot, in order with what came after, once it is back;
    an emergency told without trigger words goes to the human queue as urgent at once, with the
    safety message, without waiting for the grace period."""
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_grace_seconds=120,
                                             bot_holding_seconds=1.0))
    await rt.start_workers()
    try:
        proxy.down()
        routine_visitor = uuid.uuid4().hex * 2
        first = await accept_inbound(rt.uow, webchat_msg(routine_visitor, "qual o endereço da clínica?"))
        emergency = await accept_inbound(rt.uow, webchat_msg(
            uuid.uuid4().hex * 2, "meu pai tem 70 anos, é diabético e está suando frio, enjoado e com o braço pesado"))

        async def urgent_queued() -> bool:
            async with rt.db.session() as s:
                conv = await s.get(Conversation, emergency.conversation_id)
                return bool(conv and conv.state == "queued" and conv.priority == "urgent")
        await wait_for(urgent_queued, timeout=20, what="urgent handoff while the bot is down")
        async with rt.db.session() as s:
            conv = await s.get(Conversation, emergency.conversation_id)
            assert conv is not None and conv.reason == "urgent" and "sinal de alerta" in (conv.handoff_note or "")
            safety = (await s.execute(select(Message).where(
                Message.conversation_id == emergency.conversation_id, Message.direction == "out"))).scalars().all()
            assert [m.sender for m in safety] == ["system"] and "192" in safety[0].text

        async def holding_sent() -> bool:
            async with rt.db.session() as s:
                outs = (await s.execute(select(Message.text).where(
                    Message.conversation_id == first.conversation_id, Message.direction == "out"))).scalars().all()
                return any("instabilidade" in t for t in outs)
        await wait_for(holding_sent, timeout=30, what="holding reply")
        second = await accept_inbound(rt.uow, webchat_msg(routine_visitor, "vocês aceitam unimed?"))
        assert second.conversation_id == first.conversation_id

        async def failures() -> int:
            async with rt.db.session() as s:
                conv = await s.get(Conversation, first.conversation_id)
                assert conv is not None
                return conv.bot_failures
        seen = await failures()

        async def more_failed_retries() -> bool:
            return await failures() >= seen + 3
        await wait_for(more_failed_retries, timeout=30, what="more failed retries of the bot in this outage")
        # still one holding reply in this outage
        async with rt.db.session() as s:
            outs = (await s.execute(select(Message.text).where(
                Message.conversation_id == first.conversation_id, Message.direction == "out"))).scalars().all()
            assert sum("instabilidade" in t for t in outs) == 1, outs
        assert await count(rt, Message.id.in_([first.message.id, second.message.id]), Message.status == "pending") == 2

        proxy.up()
        await wait_for(lambda: _none_pending(rt), timeout=60, what="answered after the bot came back")
        got = await tracker_user_texts(bot_stack.rasa_url, first.conversation_id)
        assert got == ["qual o endereço da clínica?", "vocês aceitam unimed?"]  # in arrival order
        async with rt.db.session() as s:
            conv = await s.get(Conversation, first.conversation_id)
            assert conv is not None and conv.state == "bot"
    finally:
        await rt.close()


async def test_a_burst_of_50_messages_from_one_patient_is_answered_in_order(
    backend: Backend, proxy: TcpProxy, bot_stack: BotStack
) -> None:
    """50 messages from one patient back to back, eight bot workers racing for the
    conversation: each reaches the bot once, in arrival order, one turn after the other."""
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{proxy.port}", bot_workers=8))
    await rt.start_workers()
    try:
        visitor = uuid.uuid4().hex * 2
        tag = uuid.uuid4().hex[:6]
        texts = [f"{['oi', 'qual o endereço?', 'obrigado', 'vocês aceitam unimed?', 'tchau'][i % 5]} {tag}{i:02d}"
                 for i in range(50)]
        # back to back, as fast as the hub takes them (about a second here), while the workers run
        results = [await accept_inbound(rt.uow, webchat_msg(visitor, text)) for text in texts]
        conv_id = results[0].conversation_id
        assert {r.conversation_id for r in results} == {conv_id}
        await wait_for(lambda: _none_pending(rt), timeout=120, what="the burst processed")
        assert await tracker_user_texts(bot_stack.rasa_url, conv_id) == texts  # once each, in order
        async with rt.db.session() as s:
            processed = (await s.execute(select(Message.processed_at).where(
                Message.conversation_id == conv_id, Message.direction == "in").order_by(Message.id))).scalars().all()
        assert len(processed) == 50 and all(p is not None for p in processed)
        assert processed == sorted(processed)  # turns ran one after the other, in order
    finally:
        await rt.close()
