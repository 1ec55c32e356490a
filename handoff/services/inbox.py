"""The attendant inbox: what staff see and do with conversations humans own.

Every state change goes through the lifecycle (`store.transition`; an illegal move raises
`IllegalTransition`, which the API turns into 409) and is an append-only event with the staff
member as actor (``agent:<id>``). Replies are ordinary outbound messages (sender ``agent``)
delivered by the outbox to the channel the patient wrote from; internal notes are events only
and never reach the patient. Every staff read of patient data (conversation detail, patient
card) writes an `audit_log` row in the same transaction as the read.

Who may do what (the API checks the role first):
- attendants see the queues they belong to (`staff_users.queues`, empty = every queue) and
  the conversations they hold or held; they claim from their queues and act on what they hold;
- managers and admins see and act on everything, and may transfer anyone's conversation.
- attendants granted `all_queues` may also read (detail, patient card, attachments) conversations
  outside that scope, each time with a reason written to the audit log (docs/access-matrix.md).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql import store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, ConversationEvent, Message, Patient, StaffUser
from handoff.adapters.sql.privacy_store import consent_revoked
from handoff.domain import access
from handoff.domain import events as ev
from handoff.domain.csat import SCORES, csat_payload
from handoff.domain.lifecycle import ConversationState, Transition, next_state
from handoff.domain.messages import Sender
from handoff.domain.messaging_window import WHATSAPP_CHANNELS, window_state
from handoff.domain.routing import Presence, effective_priority, ineligibility, order_queue
from handoff.domain.triage import REASONS
from handoff.services.assignment import agent_state, assign_conversation, requeue_conversation, waiting_item
from handoff.services.clinic import ClinicError, ClinicService
from handoff.services.handoff_config import HandoffConfig
from handoff.services.notify import kick_assignment, notify
from handoff.services.sla_views import conversation_sla, headline_clock, sla_view
from handoff.services.staff import StaffChanges, StaffIdentity, hash_password, revoke_all
from handoff.services.unit_of_work import STAFF_TOPIC, WORK_TOPIC, Events, UnitOfWork

OUTCOMES = ("resolved", "booked", "not_resolved")
SUPERVISORS = ("manager", "admin")
MAX_TEXT = 4000
MAX_TAGS = 20
_TAG = re.compile(r"^[\w][\w \-]{0,31}$")
CSAT_TEXT = (
    "Seu atendimento foi encerrado. Como você avalia o atendimento que recebeu? "
    "Escolha uma nota de 1 (muito insatisfeito) a 5 (muito satisfeito)."
)
HISTORY_LIMIT = 500
WINDOW_CLOSED_TEMPLATE = ("A janela de 24 horas do WhatsApp fechou: só é possível enviar um modelo aprovado.")
WINDOW_CLOSED = ("O prazo para responder nesta conversa terminou: aguarde uma nova mensagem do paciente.")


# A phone callback has no text channel to ask the satisfaction question on (the outbox would
# only record a failed send).
CHANNELS_WITHOUT_TEXT = frozenset({"phone"})


class InboxError(Exception):
    """A refused request: HTTP status, stable code, pt-BR message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _iso(moment: datetime | None) -> str | None:
    value = as_utc(moment)
    return value.isoformat() if value is not None else None


def _actor(row: StaffUser) -> str:
    return f"agent:{row.id}"


def staff_message_view(m: Message) -> dict[str, Any]:
    """A message as the inbox shows it (any channel)."""
    payload = m.payload or {}
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "channel": m.channel,
        "direction": m.direction,
        "sender": m.sender,
        "text": m.text,
        "buttons": list(payload.get("buttons") or []),
        "attachments": list(payload.get("attachments") or []),
        "agent_id": payload.get("agent_id"),
        "template_id": (payload.get("template") or {}).get("id"),
        "status": m.status,
        "intent": m.intent,
        "confidence": m.confidence,
        "created_at": _iso(m.created_at),
    }


def window_view(conv: Conversation, now: datetime | None = None) -> dict[str, Any]:
    """The channel's reply window (docs: handoff/domain/messaging_window.py)."""
    state = window_state(conv.channel, as_utc(conv.last_inbound_at), now or utcnow())
    return {"open": state.open, "closes_at": _iso(state.closes_at), "requires_template": state.requires_template}


def render_template(body: str, variables: Sequence[str]) -> str:
    """A template's body with `{{1}}`, `{{2}}`, … filled in (what the history shows)."""
    return re.sub(r"\{\{(\d+)\}\}",
                  lambda m: variables[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(variables) else m.group(0),
                  body)


def conversation_view(conv: Conversation, patient_name: str | None = None,
                      sla: dict[str, Any] | None = None) -> dict[str, Any]:
    """A conversation's summary (lists and action responses)."""
    return {
        "id": conv.id,
        "conversation_id": conv.id,
        "patient_id": conv.patient_id,
        "patient_name": patient_name,
        "channel": conv.channel,
        "state": conv.state,
        "queue": conv.queue,
        "reason": conv.reason,
        "handoff_reason": conv.handoff_reason,
        "priority": conv.priority,
        "assigned_agent_id": conv.assigned_agent_id,
        "last_agent_id": conv.last_agent_id,
        "waiting_since": _iso(conv.waiting_since),
        "assigned_at": _iso(conv.assigned_at),
        "first_response_at": _iso(conv.first_response_at),
        "resolved_at": _iso(conv.resolved_at),
        "outcome": conv.outcome,
        "tags": list(conv.tags or []),
        "skills": list(conv.skills or []),
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(conv.updated_at),
        "last_inbound_at": _iso(conv.last_inbound_at),
        "window": window_view(conv),
        "sla": sla,
    }


def event_view(e: ConversationEvent) -> dict[str, Any]:
    """A lifecycle event as JSON."""
    return {"id": e.id, "type": e.type, "actor": e.actor, "data": e.data or {}, "created_at": _iso(e.created_at)}


def csat_buttons() -> list[dict[str, str]]:
    """The five score buttons of the CSAT question."""
    return [{"title": str(score), "payload": csat_payload(score)} for score in SCORES]


class Inbox:
    """Use cases of the staff API."""

    def __init__(self, uow: UnitOfWork, config: HandoffConfig, reason_map: Mapping[str, str] | None = None) -> None:
        self.uow = uow
        self.config = config
        # the live intent -> reason map (bot/reasons.yml + the deployed model's taught intents), so
        # a reason tag the clinic created can be chosen when correcting a conversation
        self.reason_map: Mapping[str, str] = reason_map if reason_map is not None else {}

    # -- helpers ----------------------------------------------------------------------------

    def queues_of(self, row: StaffUser) -> frozenset[str]:
        """The queues an agent belongs to (empty list = every queue)."""
        return frozenset(row.queues) if row.queues else frozenset(self.config.queue_names)

    def _supervisor(self, row: StaffUser) -> bool:
        return access.is_supervisor(row)

    async def _can_view(self, session: AsyncSession, row: StaffUser, conv: Conversation) -> bool:
        """Supervisors; the holder and the last agent; members of its queue; anyone who acted on it."""
        if self._supervisor(row) or row.id in (conv.assigned_agent_id, conv.last_agent_id):
            return True
        if conv.queue is not None and conv.queue in self.queues_of(row):
            return True
        acted = await session.execute(
            select(ConversationEvent.id)
            .where(ConversationEvent.conversation_id == conv.id, ConversationEvent.actor == _actor(row))
            .limit(1)
        )
        return acted.first() is not None

    async def can_view_history_of(self, session: AsyncSession, row: StaffUser, conv: Conversation) -> bool:
        """Whether `row` sees `conv`'s messages: the conversation view (`detail`) shows the
        patient's whole history, so seeing any conversation of the patient is enough."""
        if await self._can_view(session, row, conv):
            return True
        siblings = (await session.execute(
            select(Conversation).where(Conversation.patient_id == conv.patient_id, Conversation.id != conv.id)
        )).scalars().all()
        for sibling in siblings:
            if await self._can_view(session, row, sibling):
                return True
        return False

    async def can_view_patient(self, who: StaffIdentity, patient_id: int) -> bool:
        """Whether `who` sees this patient's data in their own scope: supervisors always;
        attendants when they see one of the patient's conversations (`_can_view`)."""
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            if self._supervisor(row):
                return True
            convs = (await session.execute(
                select(Conversation).where(Conversation.patient_id == patient_id))).scalars().all()
            for conv in convs:
                if await self._can_view(session, row, conv):
                    return True
            return False

    async def active_staff_row(self, session: AsyncSession, who: StaffIdentity) -> StaffUser:
        """The caller's account row (InboxError 401 when it was deactivated)."""
        return await self._me(session, who)

    async def _me(self, session: AsyncSession, who: StaffIdentity) -> StaffUser:
        row = await session.get(StaffUser, who.id, populate_existing=True)
        if row is None or not row.active:
            raise InboxError(401, "unauthorized", "conta desativada")
        return row

    async def _conversation(
        self, session: AsyncSession, row: StaffUser, conv_id: str, *, lock: bool = True
    ) -> Conversation:
        conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id) if lock else \
            await session.get(Conversation, conv_id)
        if conv is None:
            raise InboxError(404, "not_found", "conversa não encontrada")
        if not await self._can_view(session, row, conv):
            raise InboxError(403, "forbidden", "esta conversa não é da sua fila")
        return conv

    async def _readable(self, session: AsyncSession, row: StaffUser, conv_id: str,
                        reason: str | None) -> Conversation:
        """A conversation to read: in the caller's own scope (`_can_view`), or, for an attendant
        granted `all_queues`, outside it with a reason (403 `reason_required` without one)."""
        conv = await session.get(Conversation, conv_id)
        if conv is None:
            raise InboxError(404, "not_found", "conversa não encontrada")
        if await self._can_view(session, row, conv):
            return conv
        if not access.sees_all_queues(row):
            raise InboxError(403, "forbidden", "esta conversa não é da sua fila")
        if access.needs_reason(row, in_own_scope=False) and reason is None:
            raise InboxError(403, "reason_required", access.REASON_REQUIRED)
        return conv

    def _require_holder(self, row: StaffUser, conv: Conversation) -> None:
        if conv.state == ConversationState.QUEUED.value:
            raise InboxError(409, "not_assigned", "assuma a conversa antes de responder")
        if conv.state not in hs.HELD_STATES:
            raise InboxError(409, "illegal_transition", f"a conversa está em {conv.state}")
        if conv.assigned_agent_id != row.id:
            raise InboxError(409, "not_assigned_to_you", "a conversa está com outro atendente")

    async def _patient_name(self, session: AsyncSession, conv: Conversation) -> str | None:
        patient = await session.get(Patient, conv.patient_id)
        return patient.display_name if patient else None

    async def _view(self, session: AsyncSession, conv: Conversation) -> dict[str, Any]:
        await session.flush()
        rows = (await hs.sla_event_rows(session, [conv.id]))[conv.id]
        now = utcnow()  # after the read: an event newer than `now` would be ignored by the clocks
        sla = headline_clock(conversation_sla(conv, rows, self.config, now)) if conv.state in hs.HUMAN_STATES \
            else None
        return conversation_view(conv, await self._patient_name(session, conv), sla)

    # -- reads ------------------------------------------------------------------------------

    async def me(self, who: StaffIdentity) -> dict[str, Any]:
        """The signed-in staff member's profile."""
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            loads = await hs.open_loads(session)
            return self._agent_view(row, loads)

    def _agent_view(self, row: StaffUser, loads: dict[int, dict[str, int]]) -> dict[str, Any]:
        open_by_channel = loads.get(row.id, {})
        total = sum(open_by_channel.values())
        return {
            "id": row.id, "email": row.email, "name": row.name, "role": row.role,
            "skills": list(row.skills or []), "queues": sorted(self.queues_of(row)),
            "queues_configured": list(row.queues or []),
            "max_concurrent": row.max_concurrent, "max_per_channel": dict(row.max_per_channel or {}),
            "presence": row.presence, "presence_at": _iso(row.presence_at),
            "open": total, "open_by_channel": open_by_channel,
            "occupancy": round(total / row.max_concurrent, 3) if row.max_concurrent else None,
            "last_assigned_at": _iso(row.last_assigned_at), "active": row.active,
            "grants": list(row.grants or []),
        }

    async def agents(self) -> list[dict[str, Any]]:
        """Every active staff member with presence and occupancy (managers)."""
        async with self.uow() as (session, _):
            rows = await hs.active_staff(session, self.uow.dialect)
            loads = await hs.open_loads(session)
            return [self._agent_view(r, loads) for r in rows]

    async def staff_accounts(self) -> list[dict[str, Any]]:
        """Every account, deactivated ones included (admins manage them)."""
        async with self.uow() as (session, _):
            rows = (await session.execute(select(StaffUser).order_by(StaffUser.id))).scalars().all()
            loads = await hs.open_loads(session)
            return [self._agent_view(r, loads) for r in rows]

    async def update_staff(self, who: StaffIdentity, staff_id: int, changes: StaffChanges) -> dict[str, Any]:
        """Change an account (admins). Deactivating one ends its sessions and takes its
        conversations back to their queues at once (including those waiting on the patient),
        so nothing stays with someone who can no longer log in. The clinic always keeps one
        active admin, and an admin cannot lock themself out."""
        async with self.uow() as (session, events):
            me = await self._me(session, who)
            row = await session.get(StaffUser, staff_id, populate_existing=True)
            if row is None:
                raise InboxError(404, "not_found", "conta não encontrada")
            loses_admin = row.role == "admin" and row.active and (
                changes.active is False or changes.role not in (None, "admin"))
            if loses_admin and row.id == me.id:
                raise InboxError(409, "self_lockout", "você não pode remover o seu próprio acesso de administrador")
            if loses_admin:
                admins = (await session.execute(select(StaffUser.id).where(
                    StaffUser.role == "admin", StaffUser.active, StaffUser.id != row.id))).scalars().all()
                if not admins:
                    raise InboxError(409, "last_admin", "a clínica precisa de pelo menos um administrador ativo")
            now = utcnow()
            for name in ("name", "role", "max_concurrent"):
                value = getattr(changes, name)
                if value is not None:
                    setattr(row, name, value)
            if changes.skills is not None:
                row.skills = sorted(set(changes.skills))
            if changes.queues is not None:
                row.queues = list(dict.fromkeys(changes.queues))
            if changes.grants is not None:
                row.grants = sorted(set(changes.grants))
            if changes.max_per_channel is not None:
                row.max_per_channel = dict(changes.max_per_channel)
            if changes.password is not None:
                row.password_hash = hash_password(changes.password)
                await revoke_all(session, row.id)
            if changes.active is not None:
                row.active = changes.active
            if changes.active is False:
                await revoke_all(session, row.id)
                row.presence, row.presence_at = Presence.OFFLINE.value, now
                held = (await session.execute(select(Conversation.id).where(
                    Conversation.assigned_agent_id == row.id, Conversation.state.in_(hs.HELD_STATES)))).scalars().all()
                for conv_id in held:
                    conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id)
                    if conv is not None and conv.assigned_agent_id == row.id and conv.state in hs.HELD_STATES:
                        await requeue_conversation(session, events, conv, "agent_deactivated", exclude=False,
                                                   actor=_actor(me))
                # An assignment run that read the account as active just before this commit may
                # still give it a conversation: its next run requeues it (the account is no longer
                # an active agent), so nothing is lost.
            kick_assignment(events)  # queues, skills or capacity may have changed
            # Open staff sockets of this account re-read its queues, or close when deactivated.
            events.add(STAFF_TOPIC, {"type": "account_changed", "agent_id": row.id, "active": row.active})
            session.add(AuditLog(staff_id=me.id, action="update_staff", subject=f"staff:{row.id}", created_at=now))
            loads = await hs.open_loads(session)
            return self._agent_view(row, loads)

    async def queue(self, who: StaffIdentity, queue: str | None = None) -> list[dict[str, Any]]:
        """Waiting conversations, most urgent first (`routing.order_queue`), as `GET /api/queue`."""
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            result = (
                await session.execute(
                    select(Conversation, Patient.display_name)
                    .join(Patient, Patient.id == Conversation.patient_id)
                    .where(Conversation.state == ConversationState.QUEUED.value)
                )
            ).all()
            convs = {c.id: (c, name) for c, name in result}
            rows = await hs.sla_event_rows(session, list(convs))
        now = utcnow()  # after the read (see `_view`)
        visible = None if self._supervisor(row) else self.queues_of(row)
        statuses = {cid: conversation_sla(c, rows[cid], self.config, now) for cid, (c, _) in convs.items()}
        items = [waiting_item(c, self.config, now, statuses[cid].next_deadline) for cid, (c, _) in convs.items()]
        out: list[dict[str, Any]] = []
        for item in order_queue(items, now, self.config.routing.aging):
            if visible is not None and item.queue not in visible:
                continue
            if queue is not None and item.queue != queue:
                continue
            conv, name = convs[item.conversation_id]
            out.append({
                "conversation_id": conv.id,
                "reason": conv.reason or "other",
                "priority": item.priority.label,
                "effective_priority": effective_priority(item, now, self.config.routing.aging).label,
                "channel": conv.channel,
                "waiting_since": item.waiting_since.isoformat(),
                "queue": item.queue,
                "sla": headline_clock(statuses[conv.id]),
                "patient_name": name,
                "handoff_reason": conv.handoff_reason,
                "preview": None,
            })
        return out

    async def conversations(self, who: StaffIdentity, scope: str, state: str | None) -> list[dict[str, Any]]:
        """`mine` (held by me), `queued` (my queues) or `all` (supervisors), newest activity first."""
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            q = select(Conversation, Patient.display_name).join(Patient, Patient.id == Conversation.patient_id)
            if scope == "mine":
                q = q.where(Conversation.assigned_agent_id == row.id)
                q = q.where(Conversation.state == state) if state else q.where(Conversation.state.in_(hs.HELD_STATES))
            elif scope == "queued":
                q = q.where(Conversation.state == ConversationState.QUEUED.value)
                if not self._supervisor(row):
                    q = q.where(Conversation.queue.in_(sorted(self.queues_of(row))))
            elif scope == "all":
                if not access.sees_all_queues(row):
                    raise InboxError(403, "forbidden", "somente gestores veem todas as conversas")
                q = q.where(Conversation.state == state) if state else q.where(Conversation.queue.is_not(None))
            else:
                raise InboxError(400, "invalid_scope", "scope deve ser mine, queued ou all")
            result = (await session.execute(q.order_by(Conversation.updated_at.desc()).limit(200))).all()
            ids = [c.id for c, _ in result]
            rows = await hs.sla_event_rows(session, ids)
        now = utcnow()
        out = []
        for conv, name in result:
            sla = headline_clock(conversation_sla(conv, rows[conv.id], self.config, now)) \
                if conv.state in hs.HUMAN_STATES else None
            out.append(conversation_view(conv, name, sla))
        return out

    async def detail(self, who: StaffIdentity, conv_id: str, clinic: ClinicService | None,
                     reason: str | None = None) -> dict[str, Any]:
        """Everything about one conversation, with the patient's whole history across their
        conversations (audited: ``view_conversation`` + ``view_patient``, with the patient and
        the reason given; a reason is required outside the caller's scope, see `_readable`)."""
        now = utcnow()
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            conv = await self._readable(session, row, conv_id, reason)
            patient = await session.get(Patient, conv.patient_id)
            siblings = list((await session.execute(
                select(Conversation).where(Conversation.patient_id == conv.patient_id)
                .order_by(Conversation.created_at))).scalars().all())
            sibling_ids = [c.id for c in siblings]
            messages = list((await session.execute(
                select(Message).where(Message.conversation_id.in_(sibling_ids))
                .order_by(Message.id.desc()).limit(HISTORY_LIMIT))).scalars().all())
            messages.reverse()
            event_rows = list((await session.execute(
                select(ConversationEvent).where(ConversationEvent.conversation_id == conv.id)
                .order_by(ConversationEvent.id))).scalars().all())
            last_read = (await session.execute(
                select(Message).where(Message.conversation_id == conv.id, Message.direction == "in",
                                      Message.intent.is_not(None), Message.intent != "csat")
                .order_by(Message.id.desc()).limit(1))).scalar_one_or_none()
            session.add(AuditLog(staff_id=row.id, action="view_conversation", subject=f"conversation:{conv.id}",
                                 created_at=now, patient_id=conv.patient_id, reason=reason,
                                 data={"conversations": len(sibling_ids), "messages": len(messages)}))
            session.add(AuditLog(staff_id=row.id, action="view_patient", subject=f"patient:{conv.patient_id}",
                                 created_at=now, patient_id=conv.patient_id, reason=reason))
        now = utcnow()
        sla_rows = [(e.type, as_utc(e.created_at) or now) for e in event_rows if e.type in ev.SLA_EVENT_TYPES]
        status = conversation_sla(conv, sla_rows, self.config, now)
        handoffs = [e for e in event_rows if e.type == ev.HANDOFF]
        slots = dict((handoffs[-1].data or {}).get("slots") or {}) if handoffs else {}
        card = await self._card(patient, siblings, conv.id, clinic)
        return {
            "conversation": conversation_view(conv, card["name"],
                                              headline_clock(status) if conv.state in hs.HUMAN_STATES else None),
            "messages": [staff_message_view(m) for m in messages],
            "bot_context": {
                "reason": conv.reason,
                "intent": last_read.intent if last_read else None,
                "confidence": last_read.confidence if last_read else None,
                "handoff_reason": conv.handoff_reason,
                "note": conv.handoff_note,
                "slots": slots,
            },
            "patient": card,
            "events": [event_view(e) for e in event_rows],
            "sla": sla_view(status),
            "window": window_view(conv, now),
        }

    async def patient_card(self, who: StaffIdentity, conv_id: str, clinic: ClinicService | None,
                           reason: str | None = None) -> dict[str, Any]:
        """The patient card of a conversation (audited: ``view_patient``)."""
        now = utcnow()
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            conv = await self._readable(session, row, conv_id, reason)
            patient = await session.get(Patient, conv.patient_id)
            siblings = list((await session.execute(
                select(Conversation).where(Conversation.patient_id == conv.patient_id))).scalars().all())
            session.add(AuditLog(staff_id=row.id, action="view_patient", subject=f"patient:{conv.patient_id}",
                                 created_at=now, patient_id=conv.patient_id, reason=reason))
        return await self._card(patient, siblings, conv.id, clinic)

    async def _card(self, patient: Patient | None, siblings: Sequence[Conversation], current: str,
                    clinic: ClinicService | None) -> dict[str, Any]:
        """Patient data plus consent and appointments from the clinic seam (outside any transaction)."""
        if patient is None:
            return {"id": None, "name": None, "phone": None, "email": None, "consent": None, "appointments": [],
                    "other_conversations": []}
        consent: dict[str, Any] | None = None
        appointments: list[dict[str, Any]] = []
        name = patient.display_name
        if clinic is not None:
            try:
                record = await clinic.patient(patient.id)
                name = record.name or name
                if record.consent is not None:
                    consent = {"granted": record.consent.granted, "version": record.consent.version,
                               "at": record.consent.at.isoformat()}
                for a in await clinic.appointments(patient.id, scope="all"):
                    appointments.append({"id": a.id, "status": str(a.status), "start": a.start.isoformat(),
                                         "doctor_name": a.doctor_name, "specialty": a.specialty,
                                         "specialty_name": a.specialty_name})
            except ClinicError:
                pass
        return {
            "id": patient.id,
            "name": name,
            "phone": patient.phone,
            "email": patient.email,
            "consent": consent,
            "appointments": appointments,
            "other_conversations": [
                {"id": c.id, "channel": c.channel, "state": c.state, "updated_at": _iso(c.updated_at)}
                for c in siblings if c.id != current
            ],
        }

    # -- actions ----------------------------------------------------------------------------

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
                    raise InboxError(409, f"not_eligible_{why.value}", "você não pode assumir esta conversa agora")
            await assign_conversation(session, events, conv, row, by="manual", actor=_actor(row))
            return await self._view(session, conv)

    async def reply(self, who: StaffIdentity, conv_id: str, text: str,
                    buttons: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
        """A public reply: queued in the outbox to the patient's channel."""
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise InboxError(400, "invalid_text", f"a mensagem deve ter de 1 a {MAX_TEXT} caracteres")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            self._require_holder(row, conv)
            window = window_view(conv)
            if window["requires_template"]:
                raise InboxError(409, "window_closed", WINDOW_CLOSED_TEMPLATE)
            if not window["open"]:
                raise InboxError(409, "window_closed", WINDOW_CLOSED)
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
            raise InboxError(400, "invalid_variables", f"preencha as {len(names)} variáveis do modelo")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            self._require_holder(row, conv)
            if conv.channel not in WHATSAPP_CHANNELS:
                raise InboxError(409, "templates_unsupported", "modelos só podem ser enviados pelo WhatsApp")
            ref_key = "twilio_content_sid" if conv.channel == "whatsapp" else "meta_name"
            if not template.get(ref_key):
                raise InboxError(409, "template_unavailable", "este modelo não está aprovado neste canal")
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
        await store.add_event(session, conv.id, ev.AGENT_REPLY, _actor(row),
                              {"agent_id": row.id, "message_id": msg.id})
        events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
        notify(events, "message", conv, message=staff_message_view(msg))
        return {"message": staff_message_view(msg), "conversation": await self._view(session, conv)}

    async def note(self, who: StaffIdentity, conv_id: str, text: str) -> dict[str, Any]:
        """An internal note (an event; never sent to the patient)."""
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise InboxError(400, "invalid_text", f"a nota deve ter de 1 a {MAX_TEXT} caracteres")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id, lock=False)
            data = {"agent_id": row.id, "agent_name": row.name, "text": text}
            await store.add_event(session, conv.id, ev.NOTE, _actor(row), data)
            await session.flush()
            notify(events, "note", conv, note=data)
            return {"note": data, "conversation": await self._view(session, conv)}

    async def set_tags(self, who: StaffIdentity, conv_id: str, tags: Sequence[str]) -> dict[str, Any]:
        """Replace the conversation's tags (lowercase, deduplicated)."""
        clean = sorted({t.strip().lower() for t in tags if t.strip()})
        if len(clean) > MAX_TAGS or any(not _TAG.match(t) for t in clean):
            raise InboxError(400, "invalid_tags", f"até {MAX_TAGS} etiquetas de até 32 letras, números, - ou espaço")
        async with self.uow() as (session, _):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            conv.tags = clean
            await store.add_event(session, conv.id, ev.TAGGED, _actor(row), {"agent_id": row.id, "tags": clean})
            return await self._view(session, conv)

    async def correct_reason(self, who: StaffIdentity, conv_id: str, reason: str) -> dict[str, Any]:
        """Fix the reason tag the bot gave a conversation (attendants on conversations they may
        see, supervisors on any). Appends `reason_corrected` {from, to, agent_id} (the bot review
        inbox reads it) and an `audit_log` row (`correct_reason`)."""
        known = list(dict.fromkeys([*REASONS, *sorted(set(self.reason_map.values()))]))
        if reason not in known:
            raise InboxError(400, "unknown_reason", f"motivo desconhecido; use um de {', '.join(known)}")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            previous = conv.reason
            if previous == reason:
                raise InboxError(409, "same_reason", "a conversa já tem este motivo")
            conv.reason = reason
            await store.add_event(session, conv.id, ev.REASON_CORRECTED, _actor(row),
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
            raise InboxError(400, "invalid_body", "informe queue ou agent_id")
        if queue is not None and queue not in self.config.queue_names:
            raise InboxError(400, "unknown_queue", "fila desconhecida")
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
                    raise InboxError(404, "agent_not_found", "atendente não encontrado")
                if target.id == previous:
                    raise InboxError(409, "already_assigned", "a conversa já está com este atendente")
                self._check_target(target, conv, await hs.open_loads(session))
                await assign_conversation(session, events, conv, target, by="transfer", actor=_actor(row))
            if previous is not None or queue is not None:
                kick_assignment(events)
            return await self._view(session, conv)

    async def _to_queue(self, session: AsyncSession, events: Events, row: StaffUser, conv: Conversation,
                        queue: str) -> None:
        previous, from_queue = conv.assigned_agent_id, conv.queue
        data = {"queue": queue, "from_queue": from_queue, "agent_id": previous}
        if conv.state == ConversationState.QUEUED.value:  # re-route while waiting: no lifecycle move
            await store.add_event(session, conv.id, ev.TRANSFER_QUEUE, _actor(row), data)
        else:
            await store.transition(session, conv, Transition.TRANSFER_QUEUE, _actor(row), data)
        conv.queue = queue
        conv.assigned_agent_id = None
        conv.assigned_at = None
        conv.last_agent_at = None  # a transfer means "someone else": no stickiness back
        notify(events, "queue_changed", conv, agent_id=previous, from_queue=from_queue)
        notify(events, "queue_changed", conv, from_queue=from_queue)

    def _check_target(self, target: StaffUser, conv: Conversation, loads: dict[int, dict[str, int]]) -> None:
        agent = agent_state(target, loads, self.config)
        if agent.presence is not Presence.ONLINE:
            raise InboxError(409, "agent_not_online", "o atendente não está disponível")
        if agent.open_total >= agent.max_concurrent:
            raise InboxError(409, "agent_at_capacity", "o atendente está no limite de conversas")
        cap = agent.channel_capacity.get(conv.channel)
        if cap is not None and agent.open_by_channel.get(conv.channel, 0) >= cap:
            raise InboxError(409, "agent_channel_full", "o atendente está no limite deste canal")

    async def wait(self, who: StaffIdentity, conv_id: str) -> dict[str, Any]:
        """Waiting on the patient (pauses the next-response and resolution clocks)."""
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            if conv.state in hs.HELD_STATES and conv.assigned_agent_id != row.id and not self._supervisor(row):
                raise InboxError(409, "not_assigned_to_you", "a conversa está com outro atendente")
            await store.transition(session, conv, Transition.WAIT_PATIENT, _actor(row), {"agent_id": row.id})
            notify(events, "queue_changed", conv)
            return await self._view(session, conv)

    async def resolve(self, who: StaffIdentity, conv_id: str, outcome: str) -> dict[str, Any]:
        """Resolve with an outcome; the bot owns the next contact; the patient is asked CSAT 1–5."""
        if outcome not in OUTCOMES:
            raise InboxError(400, "invalid_outcome", "outcome deve ser resolved, booked ou not_resolved")
        async with self.uow() as (session, events):
            row = await self._me(session, who)
            conv = await self._conversation(session, row, conv_id)
            if conv.state in hs.HELD_STATES and conv.assigned_agent_id != row.id and not self._supervisor(row):
                raise InboxError(409, "not_assigned_to_you", "a conversa está com outro atendente")
            previous = conv.assigned_agent_id
            await store.transition(session, conv, Transition.RESOLVE, _actor(row),
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
            await store.transition(session, conv, Transition.REOPEN, _actor(row), {"agent_id": row.id})
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

