"""Accept one inbound message from any connector: persist once, then notify."""

from __future__ import annotations

from connectors.base import InboundMessage
from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation
from handoff.domain import events as ev
from handoff.domain.messages import Sender
from handoff.services.notify import notify
from handoff.services.unit_of_work import (
    WORK_TOPIC,
    UnitOfWork,
    conversation_topic,
    message_view,
)

CSAT_THANKS = "Obrigado pela sua avaliação! Se precisar de algo mais, é só escrever por aqui."
# Plain text on purpose: see handoff.domain.csat (no buttons for 0–10).
NPS_QUESTION = (
    "Obrigado! Só mais uma pergunta: de 0 a 10, o quanto você recomendaria a nossa clínica a um amigo "
    "ou familiar? Responda só com o número."
)


async def accept_inbound(uow: UnitOfWork, msg: InboundMessage) -> store.IngestResult:
    """Persist `msg` exactly once (dedupe on channel + provider id) and wake the workers.

    Callers acknowledge the provider only after this returns: a crash before then means the
    provider retries, a crash after means the message is safe in the database. An answer to
    the satisfaction question (and to the NPS question asked right after it) is recorded here
    and never reaches the bot.
    """
    async with uow() as (session, events):
        result = await store.ingest(session, uow.dialect, msg)
        if not result.duplicate:
            events.add(
                conversation_topic(result.conversation_id),
                {"type": "message", "message": message_view(result.message)},
            )
            conv = await session.get(Conversation, result.conversation_id)
            if result.to_bot:
                events.add(WORK_TOPIC, {"kind": "inbound", "conversation_id": result.conversation_id})
            elif conv is not None and result.csat_score is not None:
                question = store.add_outbound(session, conv, Sender.SYSTEM, NPS_QUESTION)
                await session.flush()
                conv.nps_asked_at = result.message.created_at
                await store.add_event(session, conv.id, ev.NPS_REQUESTED, "system", {"message_id": question.id})
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
                notify(events, "csat", conv, agent_id=conv.last_agent_id, score=result.csat_score)
            elif conv is not None and result.nps_score is not None:
                store.add_outbound(session, conv, Sender.SYSTEM, CSAT_THANKS)
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
                notify(events, "nps", conv, agent_id=conv.last_agent_id, score=result.nps_score)
            elif conv is not None:
                notify(events, "patient_message", conv, message=message_view(result.message))
    return result
