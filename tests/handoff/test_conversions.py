"""A booking made by the bot is written in its conversation's timeline, only when the
conversation is that patient's (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from handoff.adapters.sql.models import ConversationEvent
from handoff.runtime import HubRuntime
from handoff.services.conversions import record_bot_booking
from handoff.services.ingest import accept_inbound
from tests.conftest import Backend
from tests.support.hub import make_settings, webchat_msg
from tests.support.net import free_port


async def test_bot_booking_lands_in_the_patients_conversation_only(backend: Backend) -> None:
    rt = await HubRuntime.open(make_settings(backend, f"http://127.0.0.1:{free_port()}"))
    try:
        mine = await accept_inbound(rt.uow, webchat_msg(uuid.uuid4().hex * 2, "quero marcar"))
        other = await accept_inbound(rt.uow, webchat_msg(uuid.uuid4().hex * 2, "oi"))
        assert mine.patient_id != other.patient_id

        assert await record_bot_booking(rt.uow, mine.conversation_id, mine.patient_id, 41) is True
        assert await record_bot_booking(rt.uow, mine.conversation_id, other.patient_id, 42) is False
        assert await record_bot_booking(rt.uow, "test", mine.patient_id, 43) is False
        assert await record_bot_booking(rt.uow, str(uuid.uuid4()), mine.patient_id, 44) is False

        async with rt.db.session() as s:
            rows = (await s.execute(select(ConversationEvent).where(ConversationEvent.type == "appointment_booked")
                                    )).scalars().all()
        assert [(e.conversation_id, e.actor, e.data) for e in rows] == [
            (mine.conversation_id, "bot", {"appointment_id": 41})]
    finally:
        await rt.close()
