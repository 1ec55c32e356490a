"""The inbox's reads: who may see which conversation, the waiting queue, conversation lists, a
conversation's detail and the patient card (every staff read of patient data writes an
`audit_log` row in the same transaction). `InboxQueries` is also the base of the inbox's commands
and staff administration (handoff/services/inbox.py puts them together)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, ConversationEvent, Message, Patient, StaffUser
from handoff.domain import access
from handoff.domain import events as ev
from handoff.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from handoff.domain.lifecycle import ConversationState
from handoff.domain.routing import effective_priority, order_queue
from handoff.services.assignment import waiting_item
from handoff.services.clinic import ClinicError, ClinicService
from handoff.services.handoff_config import HandoffConfig
from handoff.services.inbox_views import (
    actor_of,
    conversation_view,
    event_view,
    iso,
    staff_message_view,
    window_view,
)
from handoff.services.sla_views import conversation_sla, headline_clock, sla_view
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork

HISTORY_LIMIT = 500


class InboxQueries:
    """The inbox's reads, and the access rules its commands share."""

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
            .where(ConversationEvent.conversation_id == conv.id, ConversationEvent.actor == actor_of(row))
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
        """The caller's account row (Unauthenticated when it was deactivated)."""
        return await self._me(session, who)

    async def _me(self, session: AsyncSession, who: StaffIdentity) -> StaffUser:
        row = await session.get(StaffUser, who.id, populate_existing=True)
        if row is None or not row.active:
            raise Unauthenticated("unauthorized", "conta desativada")
        return row

    async def _conversation(
        self, session: AsyncSession, row: StaffUser, conv_id: str, *, lock: bool = True
    ) -> Conversation:
        conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id) if lock else \
            await session.get(Conversation, conv_id)
        if conv is None:
            raise NotFound("not_found", "conversa não encontrada")
        if not await self._can_view(session, row, conv):
            raise Forbidden("forbidden", "esta conversa não é da sua fila")
        return conv

    async def _readable(self, session: AsyncSession, row: StaffUser, conv_id: str,
                        reason: str | None) -> Conversation:
        """A conversation to read: in the caller's own scope (`_can_view`), or, for an attendant
        granted `all_queues`, outside it with a reason (403 `reason_required` without one)."""
        conv = await session.get(Conversation, conv_id)
        if conv is None:
            raise NotFound("not_found", "conversa não encontrada")
        if await self._can_view(session, row, conv):
            return conv
        if not access.sees_all_queues(row):
            raise Forbidden("forbidden", "esta conversa não é da sua fila")
        if access.needs_reason(row, in_own_scope=False) and reason is None:
            raise Forbidden("reason_required", access.REASON_REQUIRED)
        return conv

    def _require_holder(self, row: StaffUser, conv: Conversation) -> None:
        if conv.state == ConversationState.QUEUED.value:
            raise Conflict("not_assigned", "assuma a conversa antes de responder")
        if conv.state not in hs.HELD_STATES:
            raise Conflict("illegal_transition", f"a conversa está em {conv.state}")
        if conv.assigned_agent_id != row.id:
            raise Conflict("not_assigned_to_you", "a conversa está com outro atendente")

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
                    raise Forbidden("forbidden", "somente gestores veem todas as conversas")
                q = q.where(Conversation.state == state) if state else q.where(Conversation.queue.is_not(None))
            else:
                raise Invalid("invalid_scope", "scope deve ser mine, queued ou all")
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
                {"id": c.id, "channel": c.channel, "state": c.state, "updated_at": iso(c.updated_at)}
                for c in siblings if c.id != current
            ],
        }
