"""A delivery report that arrives before the outbox has recorded the provider's id is kept and
applied when the id is recorded (SQLite and PostgreSQL + Redis).

End to end: a Twilio stand-in that, like a fast real Twilio, calls our status webhook while the
send request is still open (before answering 201), against the real hub process. Then the store
parts directly: pending reports kept once, applied in order with the `delivery_failed` event,
legacy digest ids still matched, the two sides serialized, and stale reports purged.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from connectors import meta
from connectors.base import InboundMessage
from handoff.adapters.sql import channel_store, store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Conversation, ConversationEvent, Message, PendingStatusReport
from handoff.domain.messages import OutboundStatus, Sender
from handoff.runtime import HubRuntime
from handoff.services.outbox import record_status_change
from handoff.services.sla_monitor import SlaMonitor
from handoff.services.unit_of_work import STAFF_TOPIC, Events, conversation_topic
from tests.channels.conftest import TWILIO_WHATSAPP_FROM, Providers, running_hub
from tests.conftest import Backend
from tests.support.fake_meta import FakeMeta
from tests.support.fake_twilio import FakeTwilio
from tests.support.hub import make_settings, wait_for
from tests.support.net import free_port

TWILIO = ("whatsapp", "sms")  # the channels sharing Twilio's message ids (connectors.twilio.CHANNELS)


class EagerTwilio(FakeTwilio):
    """FakeTwilio whose Messages resource posts the signed status callback for the new message
    to `status_url` before it answers the send with 201 (Twilio may be that fast)."""

    def __init__(self, report: str, error_code: str | None = None) -> None:
        super().__init__()
        self.report, self.error_code = report, error_code
        self.status_url: str | None = None
        self.callbacks: list[tuple[str, httpx.Response]] = []  # (sid, the hub's answer)
        outer = self
        handler: Any = self._server.RequestHandlerClass

        class Eager(handler):  # type: ignore[misc, valid-type]
            def _json(self, status: int, data: dict[str, object]) -> None:
                sid = str(data.get("sid") or "")
                if status == 201 and sid.startswith("SM") and outer.status_url:
                    form = outer.status_form(sid=sid, status=outer.report, to=str(data["to"]),
                                             from_=str(data["from"]), error_code=outer.error_code)
                    outer.callbacks.append((sid, outer.post_webhook(outer.status_url, form)))
                super()._json(status, data)

        self._server.RequestHandlerClass = Eager


def _phone() -> str:
    return "+55119" + str(uuid.uuid4().int)[:8]


@pytest.mark.parametrize(("report", "error_code", "expected"), [
    ("delivered", None, "delivered"),
    ("undelivered", "30003", "failed"),
])
async def test_status_callback_before_the_send_is_recorded_is_applied(
    backend: Backend, tmp_path: Path, report: str, error_code: str | None, expected: str
) -> None:
    twilio = EagerTwilio(report, error_code).start()
    providers = Providers(twilio, FakeMeta().start())
    try:
        async with running_hub(backend, tmp_path, providers) as hub:
            twilio.status_url = hub.url("/channels/twilio/status")
            phone = _phone()
            form = twilio.inbound_form(sid="SM" + uuid.uuid4().hex, from_="whatsapp:" + phone,
                                       to=TWILIO_WHATSAPP_FROM, body="Oi, quero confirmar a consulta")
            assert twilio.post_webhook(hub.url("/channels/twilio/messages"), form).status_code == 200
            conv = await hub.conversation_of("whatsapp", phone)
            assert conv is not None
            async with hub.rt.db.session() as s:
                row = store.add_outbound(s, await s.get(Conversation, conv.id), Sender.AGENT,
                                         "Sua consulta está confirmada para amanhã às 9h.")
            message_id = row.id

            async def settled() -> Message | None:
                (msg,) = await hub.messages(Message.id == message_id)
                return msg if msg.status == expected else None
            msg = await wait_for(settled, timeout=30, what=f"reply {expected}")

            # The report really came first: the hub answered it before it knew the id.
            (sid, answer) = twilio.callbacks[0]
            assert answer.status_code == 200 and answer.json() == {"status": "ok", "applied": 0}
            assert msg.provider_message_id == sid
            assert [r["_status"] for r in twilio.requests if r.get("To") == "whatsapp:" + phone] == ["201"]
            async with hub.rt.db.session() as s:
                failures = (await s.execute(select(ConversationEvent).where(
                    ConversationEvent.conversation_id == conv.id,
                    ConversationEvent.type == "delivery_failed"))).scalars().all()
                kept = (await s.execute(select(func.count()).select_from(PendingStatusReport))).scalar_one()
            assert kept == 0
            if expected == "failed":
                assert msg.last_error == "provider error 30003"
                assert [(e.actor, e.data) for e in failures] == [
                    ("provider", {"message_id": message_id, "error_code": "30003"})]
            else:
                assert msg.last_error is None and failures == []

            # A later report is applied live, as before.
            late = twilio.status_form(sid=sid, status="read", to="whatsapp:" + phone, from_=TWILIO_WHATSAPP_FROM)
            assert twilio.post_webhook(twilio.status_url, late).json() == {"status": "ok", "applied": 1}
            (msg,) = await hub.messages(Message.id == message_id)
            assert msg.status == "read"
    finally:
        twilio.close()
        providers.meta.close()


# --- the store parts, on the test's own runtime -----------------------------------------


async def _runtime(backend: Backend) -> HubRuntime:
    return await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{free_port()}"))


async def _sent_reply(rt: HubRuntime, channel: str = "whatsapp") -> Message:
    """A patient's conversation with one reply marked sent but without its provider id yet
    (the moment between the provider's answer and the outbox's commit)."""
    msg = InboundMessage(channel=channel, external_user_id=_phone(), provider_message_id="SM" + uuid.uuid4().hex,
                         text="Oi")
    async with rt.db.session() as s:
        result = await store.ingest(s, rt.uow.dialect, msg)
        conv = await s.get(Conversation, result.conversation_id)
        assert conv is not None
        row = store.add_outbound(s, conv, Sender.BOT, "Olá! Como posso ajudar?")
        row.status = OutboundStatus.SENT.value
    return row


async def _report(rt: HubRuntime, channels: tuple[str, ...], provider_id: str, status: str,
                  code: str | None = None) -> channel_store.StatusChange | None:
    """What the status webhooks do with one report."""
    async with rt.db.session() as s:
        return await channel_store.apply_provider_status(
            s, rt.uow.dialect, channels, provider_id, OutboundStatus(status),
            f"provider error {code}" if code else None, error_code=code)


async def _record(rt: HubRuntime, message_id: int, provider_id: str) -> tuple[list[channel_store.AppliedReport],
                                                                               Events]:
    """What the outbox does once the provider answered: record the id, apply what waited."""
    async with rt.uow() as (session, events):
        row = await session.get(Message, message_id)
        assert row is not None
        applied = await channel_store.record_provider_id(session, rt.uow.dialect, row, provider_id)
        for report in applied:
            await record_status_change(session, events, report.change, report.error_code)
    return applied, events


async def _pending(rt: HubRuntime) -> list[tuple[str, str, str, str | None]]:
    async with rt.db.session() as s:
        rows = (await s.execute(select(PendingStatusReport).order_by(PendingStatusReport.id))).scalars().all()
    return [(r.channel, r.provider_message_id, r.status, r.error_code) for r in rows]


async def _message(rt: HubRuntime, message_id: int) -> Message:
    async with rt.db.session() as s:
        row = await s.get(Message, message_id)
    assert row is not None
    return row


async def test_early_reports_are_kept_once_applied_in_order_and_purged(backend: Backend) -> None:
    rt = await _runtime(backend)
    try:
        # Reports for an id no message has yet: kept once per Twilio channel, retries deduped;
        # a bare "sent" is not kept (the outbox marks the message sent itself).
        reply = await _sent_reply(rt, "sms")
        sid = "SM" + uuid.uuid4().hex
        for status, code in (("delivered", None), ("failed", "30003"), ("delivered", None), ("sent", None)):
            assert await _report(rt, TWILIO, sid, status, code) is None
        assert sorted(await _pending(rt)) == sorted([
            ("whatsapp", sid, "delivered", None), ("sms", sid, "delivered", None),
            ("whatsapp", sid, "failed", "30003"), ("sms", sid, "failed", "30003")])

        # The outbox records the id: both reports apply in arrival order through the
        # forward-only rule (delivered, then a failure), with the same events as a live report.
        applied, events = await _record(rt, reply.id, sid)
        assert [(a.change.before, a.change.after, a.error_code) for a in applied] == [
            ("sent", "delivered", None), ("delivered", "failed", "30003")]
        row = await _message(rt, reply.id)
        assert (row.provider_message_id, row.status, row.last_error) == (sid, "failed", "provider error 30003")
        topic = conversation_topic(reply.conversation_id)
        assert list(events) == [
            (topic, {"type": "message_status", "message_id": reply.id, "status": "delivered"}),
            (topic, {"type": "message_status", "message_id": reply.id, "status": "failed"}),
            (STAFF_TOPIC, {"type": "delivery_failed", "conversation_id": reply.conversation_id,
                           "message_id": reply.id, "error_code": "30003"})]
        async with rt.db.session() as s:
            failed = (await s.execute(select(ConversationEvent).where(
                ConversationEvent.conversation_id == reply.conversation_id,
                ConversationEvent.type == "delivery_failed"))).scalars().all()
        assert [(e.actor, e.data) for e in failed] == [("provider", {"message_id": reply.id, "error_code": "30003"})]
        assert await _pending(rt) == []  # the sibling channel's copies went too

        # Nothing waiting: recording the id changes nothing else; later reports apply live.
        other = await _sent_reply(rt)
        other_sid = "SM" + uuid.uuid4().hex
        assert (await _record(rt, other.id, other_sid))[0] == []
        change = await _report(rt, TWILIO, other_sid, "read")
        assert change is not None and (change.before, change.after) == ("sent", "read")
        assert await _pending(rt) == []

        # A report for another channel's message with that id is not applied to this one.
        meta_reply = await _sent_reply(rt, "whatsapp_meta")
        wamid = "wamid." + uuid.uuid4().hex
        assert await _report(rt, ("instagram",), wamid, "read") is None
        assert (await _record(rt, meta_reply.id, wamid))[0] == []
        assert (await _message(rt, meta_reply.id)).status == "sent"
        assert await _pending(rt) == [("instagram", wamid, "read", None)]  # not ours: waits for the purge

        # Leftovers (reports about messages that were never ours) are purged after 24 hours by
        # the periodic SLA loop's housekeeping.
        stale, fresh = "SM" + uuid.uuid4().hex, "SM" + uuid.uuid4().hex
        await _report(rt, ("whatsapp_meta",), stale, "delivered")
        await _report(rt, ("whatsapp_meta",), fresh, "delivered")
        async with rt.db.session() as s:
            await s.execute(update(PendingStatusReport).where(PendingStatusReport.provider_message_id == stale)
                            .values(received_at=utcnow() - channel_store.PENDING_REPORT_TTL - timedelta(minutes=1)))
        monitor = SlaMonitor(rt.uow, await rt.load_handoff(), interval=60)
        assert await monitor.purge_stale_reports() == 1
        assert [p[1] for p in await _pending(rt)] == [wamid, fresh]
        assert await monitor.purge_stale_reports(utcnow() + channel_store.PENDING_REPORT_TTL + timedelta(1)) == 2
        assert await _pending(rt) == []
    finally:
        await rt.close()


async def test_report_and_recording_of_one_id_are_serialized(backend: Backend) -> None:
    """Whichever transaction comes second sees the first one's commit: a report racing the
    outbox's commit is applied either live or from the pending table, never lost."""
    rt = await _runtime(backend)
    try:
        # The outbox's transaction is open (id recorded, not committed) when the report comes:
        # the report waits for it and then applies live.
        reply = await _sent_reply(rt)
        sid = "SM" + uuid.uuid4().hex
        outbox_session = rt.db.session()
        session = await outbox_session.__aenter__()
        try:
            row = await session.get(Message, reply.id)
            assert row is not None
            assert await channel_store.record_provider_id(session, rt.uow.dialect, row, sid) == []
            webhook = asyncio.create_task(_report(rt, TWILIO, sid, "delivered"))
            # Kept on purpose: the claim is "it does NOT finish while the other transaction is
            # open", an absence with no event to wait for; this is the window it has to (wrongly) finish.
            await asyncio.sleep(1.0)
            assert not webhook.done()
        finally:
            await outbox_session.__aexit__(None, None, None)
        change = await asyncio.wait_for(webhook, 30)
        assert change is not None and change.after == "delivered"
        assert await _pending(rt) == []

        # The webhook's transaction is open (report kept, not committed) when the outbox records
        # the id: the outbox waits for it and then applies the kept report.
        reply = await _sent_reply(rt)
        sid = "SM" + uuid.uuid4().hex
        webhook_session = rt.db.session()
        session = await webhook_session.__aenter__()
        try:
            assert await channel_store.apply_provider_status(
                session, rt.uow.dialect, TWILIO, sid, OutboundStatus.FAILED, "provider error 63016",
                error_code="63016") is None
            outbox = asyncio.create_task(_record(rt, reply.id, sid))
            await asyncio.sleep(1.0)  # kept on purpose, as above: the window in which it must not finish
            assert not outbox.done()
        finally:
            await webhook_session.__aexit__(None, None, None)
        applied, _ = await asyncio.wait_for(outbox, 30)
        assert [(a.change.after, a.error_code) for a in applied] == [("failed", "63016")]
        assert (await _message(rt, reply.id)).last_error == "provider error 63016"
    finally:
        await rt.close()


async def test_long_instagram_ids_are_stored_verbatim_and_old_digests_still_match(backend: Backend) -> None:
    """Migration 0006 widened the column: a 300-character id fits as is (and stays unique); a row
    stored before, under the digest of its long id, still takes that id's reports."""
    rt = await _runtime(backend)
    try:
        long_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw" + uuid.uuid4().hex * 8
        assert len(long_mid) > 300
        assert meta.provider_key(long_mid) == long_mid  # the connector no longer digests it
        reply = await _sent_reply(rt, "instagram")
        assert await _record(rt, reply.id, long_mid) == ([], [])
        assert (await _message(rt, reply.id)).provider_message_id == long_mid
        change = await _report(rt, ("instagram",), long_mid, "read")
        assert change is not None and change.after == "read"

        legacy_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw" + uuid.uuid4().hex * 3
        assert len(legacy_mid) > 128
        old = await _sent_reply(rt, "instagram")
        async with rt.db.session() as s:
            await s.execute(update(Message).where(Message.id == old.id).values(
                provider_message_id="sha256:" + hashlib.sha256(legacy_mid.encode()).hexdigest()))
        change = await _report(rt, ("instagram",), legacy_mid, "delivered")
        assert change is not None and (change.message_id, change.after) == (old.id, "delivered")
        assert await _pending(rt) == []

        # The (channel, provider id) key still refuses a second row with the same long id.
        inbound_mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw" + uuid.uuid4().hex * 8
        dup = InboundMessage(channel="instagram", external_user_id=_phone(), provider_message_id=inbound_mid,
                             text="oi")
        async with rt.db.session() as s:
            result = await store.ingest(s, rt.uow.dialect, dup)
        async with rt.db.session() as s:
            again = await store.ingest(s, rt.uow.dialect, dup)
        assert not result.duplicate and again.duplicate and again.message.id == result.message.id
        assert result.message.provider_message_id == inbound_mid
    finally:
        await rt.close()
