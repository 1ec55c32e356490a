"""Mail written by a program (auto-replies, bounces: stored with `metadata.no_reply`) is kept for
the staff but is nobody's turn: in a resolved conversation it neither answers the satisfaction
question nor sends the conversation back to the bot, and while an attendant waits for the
patient it does not count as the patient's reply (no SLA clock, no state change)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from connectors.base import InboundMessage
from handoff.adapters.sql.models import Conversation, ConversationEvent, CsatResponse
from handoff.runtime import HubRuntime
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.hub import count, make_settings
from tests.support.net import free_port


def _mail(address: str, text: str, *, automatic: bool) -> InboundMessage:
    metadata = {"no_reply": "auto-submitted"} if automatic else {}
    return InboundMessage(channel="email", external_user_id=address, provider_message_id=uuid.uuid4().hex,
                          text=text, raw_metadata=metadata)


async def _set_state(rt: HubRuntime, conv_id: str, state: str, **fields: object) -> None:
    async with rt.db.session() as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        conv.state = state
        for name, value in fields.items():
            setattr(conv, name, value)


async def _conv(rt: HubRuntime, conv_id: str) -> Conversation:
    async with rt.db.session() as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def _event_types(rt: HubRuntime, conv_id: str) -> list[str]:
    async with rt.db.session() as s:
        rows = await s.execute(select(ConversationEvent.type).where(ConversationEvent.conversation_id == conv_id)
                               .order_by(ConversationEvent.id))
        return list(rows.scalars().all())


async def test_automatic_mail_is_nobodys_turn(backend: Backend) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{free_port()}"))
    try:
        address = f"paciente.{uuid.uuid4().hex[:8]}@exemplo.com.br"
        first = await accept_inbound(rt.uow, _mail(address, "oi", automatic=False))
        conv_id = first.conversation_id

        # Resolved, the CSAT question pending: an out-of-office reply ("5 dias fora") is stored only.
        await _set_state(rt, conv_id, "resolved", csat_asked_at=datetime.now(UTC), resolved_at=datetime.now(UTC))
        await accept_inbound(rt.uow, _mail(address, "5", automatic=True))
        conv = await _conv(rt, conv_id)
        assert conv.state == "resolved" and conv.csat_asked_at is not None
        assert await count(rt, CsatResponse.conversation_id == conv_id, model=CsatResponse) == 0
        # The patient's own answer still counts.
        await accept_inbound(rt.uow, _mail(address, "4", automatic=False))
        assert await count(rt, CsatResponse.conversation_id == conv_id, model=CsatResponse) == 1

        # Waiting for the patient: an auto-reply neither wakes the attendant nor starts a clock.
        await _set_state(rt, conv_id, "waiting_patient", csat_asked_at=None, nps_asked_at=None)
        before = await _event_types(rt, conv_id)
        await accept_inbound(rt.uow, _mail(address, "Estou fora do escritório", automatic=True))
        assert (await _conv(rt, conv_id)).state == "waiting_patient"
        assert await _event_types(rt, conv_id) == before
        await accept_inbound(rt.uow, _mail(address, "Voltei, pode me ligar?", automatic=False))
        assert (await _conv(rt, conv_id)).state == "assigned"
        assert (await _event_types(rt, conv_id))[-2:] == ["patient_message", "patient_replied"]
    finally:
        await rt.close()
