"""Accept one inbound message from any connector: persist once, then notify."""

from __future__ import annotations

from connectors.base import InboundMessage
from handoff.adapters.sql import store
from handoff.services.unit_of_work import (
    STAFF_TOPIC,
    WORK_TOPIC,
    UnitOfWork,
    conversation_topic,
    message_view,
)


async def accept_inbound(uow: UnitOfWork, msg: InboundMessage) -> store.IngestResult:
    """Persist `msg` exactly once (dedupe on channel + provider id) and wake the workers.

    Callers acknowledge the provider only after this returns: a crash before then means the
    provider retries, a crash after means the message is safe in the database.
    """
    async with uow() as (session, events):
        result = await store.ingest(session, uow.dialect, msg)
        if not result.duplicate:
            events.add(
                conversation_topic(result.conversation_id),
                {"type": "message", "message": message_view(result.message)},
            )
            if result.to_bot:
                events.add(WORK_TOPIC, {"kind": "inbound", "conversation_id": result.conversation_id})
            else:
                events.add(STAFF_TOPIC, {"type": "patient_message", "conversation_id": result.conversation_id})
    return result
