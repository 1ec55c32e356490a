"""The inbox's commands: what staff do with the conversations humans own (claim, reply, send a
template, notes, tags, reason correction, transfer, wait, resolve, reopen).

Every state change goes through the lifecycle (`store.transition`; an illegal move raises
`IllegalTransition`) and is an append-only event with the staff member as actor
(``agent:<id>``). Replies are ordinary outbound messages (sender ``agent``) delivered by the
outbox to the channel the patient wrote from; internal notes are events only and never reach the
patient."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql import store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, StaffUser
from handoff.adapters.sql.privacy_store import consent_revoked
from handoff.domain import events as ev
from handoff.domain.errors import Conflict, Invalid, NotFound
from handoff.domain.lifecycle import ConversationState, Transition, next_state
from handoff.domain.messages import Sender
from handoff.domain.messaging_window import WHATSAPP_CHANNELS
from handoff.domain.routing import Presence, ineligibility
from handoff.domain.triage import REASONS
from handoff.services.assignment import agent_state, assign_conversation, waiting_item
from handoff.services.inbox_queries import InboxQueries
from handoff.services.inbox_views import actor_of, csat_buttons, render_template, staff_message_view, window_view
from handoff.services.notify import kick_assignment, notify
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import WORK_TOPIC, Events

OUTCOMES = ("resolved", "booked", "not_resolved")
MAX_TEXT = 4000
MAX_TAGS = 20
_TAG = re.compile(r"^[\w][\w \-]{0,31}$")
CSAT_TEXT = (
    "Seu atendimento foi encerrado. Como você avalia o atendimento que recebeu? "
    "Escolha uma nota de 1 (muito insatisfeito) a 5 (muito satisfeito)."
)
WINDOW_CLOSED_TEMPLATE = ("A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.")
WINDOW_CLOSED = ("O prazo para responder nesta conversa terminou: aguarde uma nova mensagem do paciente.")


# A phone callback has no text channel to ask the satisfaction question on (the outbox would
# only record a failed send).
CHANNELS_WITHOUT_TEXT = frozenset({"phone"})


class InboxCommands(InboxQueries):
    """State changes on conversations, by staff."""

    async def claim(self, who: StaffIdentity, conv_id: str) -> dict[str, Any]:
        """Manual pick from the queue (QUEUED→ASSIGNED to me)."""
        async with self.uow() as (session, events):
            await hs.lock_assignment(session, self.uow.dialect)
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            next_state(ConversationState(conv.state), Transition.ASSIGN)  # IllegalTransition -> 409
            if not self._supervisor(row):
                now = utcnow()
                loads = await hs.open_loads(session)
                agent = agent_state(row, loads, self.config)
                agent = dataclasses.replace(agent, presence=Presence.ONLINE)  # they are here, picking it
                why = ineligibility(agent, waiting_item(conv, self.config, now), manual=True)
                if why is not None:
                    raise Conflict(f"not_eligible_{why.value}", "você não pode assumir esta conversa agora")
            await assign_conversation(session, events, conv, row, by="manual", actor=actor_of(row))
            return await self._view(session, conv)

    async def reply(self, who: StaffIdentity, conv_id: str, text: str,
                    buttons: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
        """A public reply: queued in the outbox to the patient's channel."""
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise Invalid("invalid_text", f"a mensagem deve ter de 1 a {MAX_TEXT} caracteres")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            self._require_holder(row, conv)
            window = window_view(conv)
            if window["requires_template"]:
                raise Conflict("window_closed", WINDOW_CLOSED_TEMPLATE)
            if not window["open"]:
                raise Conflict("window_closed", WINDOW_CLOSED)
            payload: dict[str, Any] = {"agent_id": row.id, "agent_name": row.name}
            if buttons:
                payload["buttons"] = [{"title": b["title"], "payload": b["payload"]} for b in buttons]
            return await self._queue_reply(session, events, row, conv, text, payload)

    async def send_template(self, who: StaffIdentity, conv_id: str, template: dict[str, Any],
                            variables: Sequence[str]) -> dict[str, Any]:
        """An approved WhatsApp template (`template` as configured in WHATSAPP_TEMPLATES), queued
        in the outbox with `payload.template`; the channel's sender sends it as a template."""
        names = list(template.get("variables") or [])
        values = [v.strip() for v in variables]
        if len(values) != len(names) or any(not v or len(v) > 1024 for v in values):
            raise Invalid("invalid_variables", f"preencha as {len(names)} variáveis do modelo")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            self._require_holder(row, conv)
            if conv.channel not in WHATSAPP_CHANNELS:
                raise Conflict("templates_unsupported", "modelos só podem ser enviados pelo WhatsApp")
            ref_key = "twilio_content_sid" if conv.channel == "whatsapp" else "meta_name"
            if not template.get(ref_key):
                raise Conflict("template_unavailable", "este modelo não está aprovado neste canal")
            payload: dict[str, Any] = {
                "agent_id": row.id, "agent_name": row.name,
                "template": {"id": template["id"], "name": template.get("name"),
                             "twilio_content_sid": template.get("twilio_content_sid"),
                             "meta_name": template.get("meta_name"), "language": template.get("language") or "pt_BR",
                             "variables": values},
            }
            text = render_template(str(template["body"]), values)
            return await self._queue_reply(session, events, row, conv, text, payload)

    async def _queue_reply(self, session: AsyncSession, events: Events, row: StaffUser, conv: Conversation,
                           text: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an agent's outbound message and record it as the agent's reply."""
        msg = store.add_outbound(session, conv, Sender.AGENT, text, payload)
        await session.flush()
        now = utcnow()
        if conv.first_response_at is None:
            conv.first_response_at = now
        conv.last_agent_reply_at = now
        conv.updated_at = now
        await store.add_event(session, conv.id, ev.AGENT_REPLY, actor_of(row),
                              {"agent_id": row.id, "message_id": msg.id})
        events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
        notify(events, "message", conv, message=staff_message_view(msg))
        return {"message": staff_message_view(msg), "conversation": await self._view(session, conv)}

    async def note(self, who: StaffIdentity, conv_id: str, text: str) -> dict[str, Any]:
        """An internal note (an event; never sent to the patient)."""
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise Invalid("invalid_text", f"a nota deve ter de 1 a {MAX_TEXT} caracteres")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id, lock=False)
            data = {"agent_id": row.id, "agent_name": row.name, "text": text}
            await store.add_event(session, conv.id, ev.NOTE, actor_of(row), data)
            await session.flush()
            notify(events, "note", conv, note=data)
            return {"note": data, "conversation": await self._view(session, conv)}

    async def set_tags(self, who: StaffIdentity, conv_id: str, tags: Sequence[str]) -> dict[str, Any]:
        """Replace the conversation's tags (lowercase, deduplicated)."""
        clean = sorted({t.strip().lower() for t in tags if t.strip()})
        if len(clean) > MAX_TAGS or any(not _TAG.match(t) for t in clean):
            raise Invalid("invalid_tags", f"até {MAX_TAGS} etiquetas de até 32 letras, números, - ou espaço")
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            conv.tags = clean
            await store.add_event(session, conv.id, ev.TAGGED, actor_of(row), {"agent_id": row.id, "tags": clean})
            return await self._view(session, conv)

    async def correct_reason(self, who: StaffIdentity, conv_id: str, reason: str) -> dict[str, Any]:
        """Fix the reason tag the bot gave a conversation (attendants on conversations they may
        see, supervisors on any). Appends `reason_corrected` {from, to, agent_id} (the bot review
        inbox reads it) and an `audit_log` row (`correct_reason`)."""
        known = list(dict.fromkeys([*REASONS, *sorted(set(self.reason_map.values()))]))
        if reason not in known:
            raise Invalid("unknown_reason", f"motivo desconhecido; use um de {', '.join(known)}")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            previous = conv.reason
            if previous == reason:
                raise Conflict("same_reason", "a conversa já tem este motivo")
            conv.reason = reason
            await store.add_event(session, conv.id, ev.REASON_CORRECTED, actor_of(row),
                                  {"from": previous, "to": reason, "agent_id": row.id})
            session.add(AuditLog(staff_id=row.id, action="correct_reason", subject=f"conversation:{conv.id}",
                                 created_at=utcnow(), patient_id=conv.patient_id))
            view = await self._view(session, conv)
            notify(events, "reason_corrected", conv, reason=reason, previous_reason=previous)
            return view

    async def transfer(self, who: StaffIdentity, conv_id: str, *, queue: str | None = None,
                       agent_id: int | None = None) -> dict[str, Any]:
        """To another queue (back to waiting) or straight to an online agent."""
        if (queue is None) == (agent_id is None):
            raise Invalid("invalid_body", "informe queue ou agent_id")
        if queue is not None and queue not in self.config.queue_names:
            raise Invalid("unknown_queue", "fila desconhecida")
        async with self.uow() as (session, events):
            await hs.lock_assignment(session, self.uow.dialect)
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            if not self._supervisor(row):
                self._require_holder(row, conv)
            previous = conv.assigned_agent_id
            if queue is not None:
                await self._to_queue(session, events, row, conv, queue)
            else:
                assert agent_id is not None
                target = await session.get(StaffUser, agent_id)
                if target is None or not target.active:
                    raise NotFound("agent_not_found", "atendente não encontrado")
                if target.id == previous:
                    raise Conflict("already_assigned", "a conversa já está com este atendente")
                self._check_target(target, conv, await hs.open_loads(session))
                await assign_conversation(session, events, conv, target, by="transfer", actor=actor_of(row))
            if previous is not None or queue is not None:
                kick_assignment(events)
            return await self._view(session, conv)

    async def _to_queue(self, session: AsyncSession, events: Events, row: StaffUser, conv: Conversation,
                        queue: str) -> None:
        previous, from_queue = conv.assigned_agent_id, conv.queue
        data = {"queue": queue, "from_queue": from_queue, "agent_id": previous}
        if conv.state == ConversationState.QUEUED.value:  # re-route while waiting: no lifecycle move
            await store.add_event(session, conv.id, ev.TRANSFER_QUEUE, actor_of(row), data)
        else:
            await store.transition(session, conv, Transition.TRANSFER_QUEUE, actor_of(row), data)
        conv.queue = queue
        conv.assigned_agent_id = None
        conv.assigned_at = None
        conv.last_agent_at = None  # a transfer means "someone else": no stickiness back
        notify(events, "queue_changed", conv, agent_id=previous, from_queue=from_queue)
        notify(events, "queue_changed", conv, from_queue=from_queue)

    def _check_target(self, target: StaffUser, conv: Conversation, loads: dict[int, dict[str, int]]) -> None:
        agent = agent_state(target, loads, self.config)
        if agent.presence is not Presence.ONLINE:
            raise Conflict("agent_not_online", "o atendente não está disponível")
        if agent.open_total >= agent.max_concurrent:
            raise Conflict("agent_at_capacity", "o atendente está no limite de conversas")
        cap = agent.channel_capacity.get(conv.channel)
        if cap is not None and agent.open_by_channel.get(conv.channel, 0) >= cap:
            raise Conflict("agent_channel_full", "o atendente está no limite deste canal")

    async def wait(self, who: StaffIdentity, conv_id: str) -> dict[str, Any]:
        """Waiting on the patient (pauses the next-response and resolution clocks)."""
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            if conv.state in hs.HELD_STATES and conv.assigned_agent_id != row.id and not self._supervisor(row):
                raise Conflict("not_assigned_to_you", "a conversa está com outro atendente")
            await store.transition(session, conv, Transition.WAIT_PATIENT, actor_of(row), {"agent_id": row.id})
            notify(events, "queue_changed", conv)
            return await self._view(session, conv)

    async def resolve(self, who: StaffIdentity, conv_id: str, outcome: str) -> dict[str, Any]:
        """Resolve with an outcome; the bot owns the next contact; the patient is asked CSAT 1–5."""
        if outcome not in OUTCOMES:
            raise Invalid("invalid_outcome", "outcome deve ser resolved, booked ou not_resolved")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            if conv.state in hs.HELD_STATES and conv.assigned_agent_id != row.id and not self._supervisor(row):
                raise Conflict("not_assigned_to_you", "a conversa está com outro atendente")
            previous = conv.assigned_agent_id
            await store.transition(session, conv, Transition.RESOLVE, actor_of(row),
                                   {"outcome": outcome, "agent_id": previous or row.id})
            now = utcnow()
            conv.resolved_at = now
            conv.outcome = outcome
            conv.last_agent_id = previous or row.id
            conv.last_agent_at = now
            conv.assigned_agent_id = None
            conv.assigned_at = None
            notify(events, "queue_changed", conv, agent_id=previous, outcome=outcome)
            # No satisfaction survey once the patient refused or revoked consent (LGPD: non-essential).
            if conv.channel not in CHANNELS_WITHOUT_TEXT and not await consent_revoked(session, conv.patient_id):
                question = store.add_outbound(session, conv, Sender.SYSTEM, CSAT_TEXT, {"buttons": csat_buttons()})
                await session.flush()
                conv.csat_asked_at = now
                await store.add_event(session, conv.id, ev.CSAT_REQUESTED, "system", {"message_id": question.id})
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
                notify(events, "message", conv, agent_id=previous, message=staff_message_view(question))
            kick_assignment(events)  # capacity freed
            return await self._view(session, conv)

    async def reopen(self, who: StaffIdentity, conv_id: str) -> dict[str, Any]:
        """A resolved conversation back to its queue (the resolution clock continues)."""
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            await store.transition(session, conv, Transition.REOPEN, actor_of(row), {"agent_id": row.id})
            now = utcnow()
            conv.waiting_since = now
            conv.resolved_at = None
            conv.outcome = None
            conv.csat_asked_at = None
            conv.nps_asked_at = None
            conv.assigned_agent_id = None
            conv.assigned_at = None
            notify(events, "handoff", conv, reason=conv.reason, handoff_reason=conv.handoff_reason,
                   waiting_since=now.isoformat(), reopened=True)
            kick_assignment(events)
            return await self._view(session, conv)
