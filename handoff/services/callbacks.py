"""Phone: a caller's request to be called back, and the attendant's call back.

A call back request is a conversation on channel `phone` (external id = the caller's number,
so the caller joins the patient already known by that number on WhatsApp/SMS) holding one
system message, "Pedido de retorno de ligação", handed to the human queue with reason
`callback`. The message is keyed by the `CallSid`: Twilio's retry of the webhook stores nothing
twice. The attendant's "ligar de volta" places a call through Twilio's Calls API from
`TWILIO_VOICE_FROM` to the patient which, once answered, rings the attendant's own phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from connectors.base import ChannelError, InboundMessage
from connectors.twilio_voice import TwilioCaller, connect_twiml
from handoff.adapters.sql import store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, ChannelIdentity, Conversation, Message, Patient, StaffUser
from handoff.domain import access
from handoff.domain import events as ev
from handoff.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated, Unavailable, UpstreamFailed
from handoff.domain.identity_match import keys_for_identity, normalize_phone
from handoff.domain.lifecycle import ConversationState, Transition
from handoff.domain.messages import Direction, InboundStatus, Sender
from handoff.services.assignment import enqueue_handoff
from handoff.services.handoff_config import HandoffConfig
from handoff.services.notify import notify
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork, conversation_topic, message_view
from handoff.settings import Settings

PHONE = "phone"
CALLBACK_TEXT = "Pedido de retorno de ligação"
CALLBACK_REASON = "callback"
CALL_PLACED = "call_placed"  # conversation event: {agent_id, call_sid, status}
CALL_STATUS = "call_status"  # conversation event: {call_sid, status, duration}


@dataclass(frozen=True)
class CallbackRequest:
    """Outcome of a caller's "call me back"."""

    conversation_id: str
    message_id: int
    duplicate: bool


async def request_callback(uow: UnitOfWork, config: HandoffConfig, caller: str, call_sid: str) -> CallbackRequest:
    """Queue a call back task for `caller` (E.164), once per `call_sid`."""
    msg = InboundMessage(channel=PHONE, external_user_id=caller, provider_message_id=call_sid, text=CALLBACK_TEXT)
    async with uow() as (session, events):
        existing = (await session.execute(select(Message).where(
            Message.channel == PHONE, Message.provider_message_id == call_sid))).scalar_one_or_none()
        if existing is not None:
            return CallbackRequest(existing.conversation_id, existing.id, True)
        _, conv = await store._identity_and_conversation(session, uow.dialect, msg)
        now = utcnow()
        row = Message(conversation_id=conv.id, direction=Direction.IN.value, sender=Sender.SYSTEM.value,
                      channel=PHONE, provider_message_id=call_sid, text=CALLBACK_TEXT,
                      payload={"metadata": {"kind": "callback_request"}}, status=InboundStatus.ROUTED.value,
                      attempts=0, created_at=now, processed_at=now)
        session.add(row)
        await session.flush()
        state = ConversationState(conv.state)
        if state == ConversationState.RESOLVED:
            await store.transition(session, conv, Transition.BACK_TO_BOT, "patient")
            state = ConversationState.BOT
        if state == ConversationState.BOT:
            await enqueue_handoff(session, events, conv, config, reason=CALLBACK_REASON, priority="normal",
                                  note=CALLBACK_TEXT, actor="patient")
        else:  # humans already own it: a new request on the open task
            await store.add_event(session, conv.id, ev.PATIENT_MESSAGE, "patient", {"message_id": row.id})
            if state == ConversationState.WAITING_PATIENT:
                await store.transition(session, conv, Transition.PATIENT_REPLIED, "patient")
        conv.last_inbound_at = now
        conv.updated_at = now
        view = message_view(store.StoredMessage.of(row))
        events.add(conversation_topic(conv.id), {"type": "message", "message": view})
        if state != ConversationState.BOT:
            notify(events, "patient_message", conv, message=view)
        return CallbackRequest(conv.id, row.id, False)


def _can_call(row: StaffUser, conv: Conversation, queues: frozenset[str] | None) -> bool:
    """Supervisors always; attendants on what they hold, held, or is waiting in their queues —
    never on a conversation another attendant holds."""
    if access.is_supervisor(row):
        return True
    if conv.assigned_agent_id is not None and conv.assigned_agent_id != row.id:
        return False
    if row.id in (conv.assigned_agent_id, conv.last_agent_id):
        return True
    return conv.queue is not None and (queues is None or conv.queue in queues)


async def _patient_number(session: Any, conv: Conversation) -> str | None:
    ident = await session.get(ChannelIdentity, conv.identity_id)
    if ident is not None:
        phone = keys_for_identity(ident.channel, ident.external_id).phone
        if phone:
            return phone
    patient = await session.get(Patient, conv.patient_id)
    return normalize_phone(patient.phone) if patient is not None and patient.phone else None


async def place_call(
    uow: UnitOfWork, settings: Settings, who: StaffIdentity, conv_id: str, agent_phone: str,
    *, queues_of: Any = None, clinic_name: str = "a clínica",
) -> dict[str, Any]:
    """Call the patient of `conv_id` and connect them to `agent_phone` once they answer.

    `queues_of(StaffUser) -> frozenset[str]` says which queues an attendant works (the inbox's
    rule); without it every queue counts. Raises a DomainError.
    """
    sid, token, from_number = settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_voice_from
    if not (sid and token and from_number):
        raise Unavailable("not_configured", "as ligações pelo Twilio não estão configuradas")
    agent = normalize_phone(agent_phone)
    if agent is None:
        raise Invalid("invalid_agent_phone", "informe o seu telefone com DDD")
    async with uow() as (session, _):
        row = await session.get(StaffUser, who.id)
        if row is None or not row.active:
            raise Unauthenticated("unauthorized", "conta desativada")
        conv = await session.get(Conversation, conv_id)
        if conv is None:
            raise NotFound("not_found", "conversa não encontrada")
        if not _can_call(row, conv, queues_of(row) if queues_of is not None else None):
            raise Forbidden("forbidden", "esta conversa não está com você")
        patient_number = await _patient_number(session, conv)
    if patient_number is None:
        raise Conflict("no_phone", "não há telefone conhecido para este paciente")
    callback_url = (f"{settings.public_base_url.rstrip('/')}/channels/twilio/voice/status"
                    f"?conversation={conv_id}")
    caller = TwilioCaller(api_base=settings.twilio_api_base, account_sid=sid, auth_token=token,
                          from_number=from_number)
    try:
        placed = await caller.call(patient_number, connect_twiml(clinic_name=clinic_name, agent_phone=agent,
                                                                 caller_id=from_number), callback_url)
    except ChannelError as exc:
        raise UpstreamFailed("provider_error", f"o Twilio recusou a ligação ({exc})") from exc
    finally:
        await caller.close()
    async with uow() as (session, events):
        now = utcnow()
        await store.add_event(session, conv_id, CALL_PLACED, f"agent:{who.id}",
                              {"agent_id": who.id, "call_sid": placed.sid, "status": placed.status})
        session.add(AuditLog(staff_id=who.id, action="call_patient", subject=f"conversation:{conv_id}",
                             created_at=now))
        conv = await session.get(Conversation, conv_id)
        if conv is not None:
            notify(events, CALL_PLACED, conv, by=who.id, call_sid=placed.sid)
    return {"conversation_id": conv_id, "call_sid": placed.sid, "status": placed.status}


async def record_call_status(uow: UnitOfWork, conv_id: str, call_sid: str, status: str,
                             duration: str | None) -> bool:
    """A placed call's final status (Twilio's StatusCallback) as a conversation event."""
    async with uow() as (session, events):
        conv = await session.get(Conversation, conv_id)
        if conv is None:
            return False
        data: dict[str, Any] = {"call_sid": call_sid, "status": status}
        if duration and duration.isdigit():
            data["duration"] = int(duration)
        await store.add_event(session, conv_id, CALL_STATUS, "provider", data)
        notify(events, CALL_STATUS, conv, call_sid=call_sid, status=status)
        return True
