"""Erasure / anonymisation of a person (LGPD Art. 18 IV and VI), keeping what the law obliges.

In one transaction, for every record of the person (`privacy_store.person_ids`):

1. conversations humans own are closed first (`resolved`, outcome not_resolved, by
   `privacy_erasure`); pending inbound turns are marked processed and unsent replies failed, so
   no worker sends or feeds a blanked message;
2. message texts and payloads are blanked (`redacted_at` set; provider ids replaced by their
   hash), the conversations' free text (handoff note) cleared and `redacted_at` set, the text
   fields of their events (`note`, `text`, …) dropped, the bot-review labels' texts blanked and
   the requests' free-text details removed;
3. channel identities get an irreversible placeholder external id (`erased:<sha256>`);
4. the patient records lose name, phone, e-mail, CPF and birth date and get `erased_at` —
   except what a legal hold keeps: while the medical record (appointments, exams; Lei
   13.787/2018) or fiscal documents (boletos; CTN) must be kept, those rows stay untouched and
   the canonical record keeps the identification they need (name, CPF, birth date); the holds
   are written as `legal_holds` rows (so disposal skips them too) and listed in the answer.

After the commit, attachment files no other message references are deleted from the
`AttachmentStore` and the bot's dialogue state is deleted from Rasa's tracker store. Metadata
needed for metrics (timestamps, reasons, states, CSAT scores) is kept. A second erasure is a
no-op (it only retries the file and tracker-store cleanup).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.attachments import PREFIX as LOCAL_PREFIX
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql import store
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    BotLabel,
    ChannelIdentity,
    ConversationEvent,
    InteractionDelivery,
    LegalHold,
    Message,
    Patient,
    PrivacyRequest,
)
from handoff.adapters.sql.privacy_store import person_ids
from handoff.adapters.tracker_store import TrackerStore
from handoff.domain import privacy as rules
from handoff.domain.errors import Conflict, NotFound
from handoff.domain.lifecycle import Transition
from handoff.domain.privacy import RequestStatus
from handoff.services.notify import kick_assignment, notify
from handoff.services.privacy_common import audit, conversation_ids, hold_view, iso, legal_holds_of
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Keys of conversation event data that may carry free text (notes, quoted messages, names).
TEXT_KEYS = frozenset({"text", "note", "comment", "comments", "name", "subject", "body", "summary", "message",
                       "display_name", "email", "phone", "cpf", "filename"})
ACTOR = "privacy_erasure"


def _clean_event_data(data: dict[str, Any] | None) -> dict[str, Any]:
    """Event data without free text: ids, states, reasons and numbers stay (metrics)."""
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key in TEXT_KEYS:
            continue
        if isinstance(value, str) and len(value) > 64:
            continue
        if isinstance(value, dict):
            value = _clean_event_data(value)
        out[key] = value
    return out


def _hashed(provider_id: str | None) -> str | None:
    if provider_id is None or provider_id.startswith("erased:"):
        return provider_id
    return "erased:" + hashlib.sha256(provider_id.encode()).hexdigest()


def _references(payload: dict[str, Any] | None) -> set[str]:
    refs: set[str] = set()
    for entry in (payload or {}).get("attachments") or []:
        if isinstance(entry, dict):
            url = entry.get("url")
            if isinstance(url, str) and url.startswith(LOCAL_PREFIX):
                refs.add(url)
    return refs


class PrivacyErasure:
    """The erasure use case."""

    def __init__(self, uow: UnitOfWork, attachments: AttachmentStore, tracker: TrackerStore) -> None:
        self.uow = uow
        self.attachments = attachments
        self.tracker = tracker

    async def erase(self, who: StaffIdentity, request_id: int) -> dict[str, Any]:
        """Erase the request's patient; returns what was done and the legal holds kept."""
        now = utcnow()
        refs: set[str] = set()
        async with self.uow() as (session, events):
            q = select(PrivacyRequest).where(PrivacyRequest.id == request_id)
            if self.uow.dialect == "postgresql":
                q = q.with_for_update()
            row = (await session.execute(q)).scalar_one_or_none()
            if row is None or row.patient_id is None:
                raise NotFound("not_found", "solicitação não encontrada")
            if row.kind != rules.RequestKind.ERASURE:
                raise Conflict("not_an_erasure", "esta solicitação não é de eliminação")
            if row.status == RequestStatus.REJECTED:
                raise Conflict("illegal_transition", "a solicitação foi recusada")
            ids = await person_ids(session, row.patient_id)
            patients = list((await session.execute(select(Patient).where(Patient.id.in_(ids)))).scalars().all())
            convs = await conversation_ids(session, ids)
            if all(p.erased_at is not None for p in patients):
                audit(session, who, "privacy.erasure.repeat", ids[0], row.id)
                result = dict(row.result or {})
                done = {**(result.get("erasure") or {}), "already_erased": True}
            else:
                holds = await legal_holds_of(session, ids, now.date())
                refs = await self._erase_rows(session, events, ids, patients, convs, holds, who, now)
                done = {"already_erased": False, "erased_at": iso(now), "conversations": len(convs),
                        "patients": len(patients), "legal_holds": [hold_view(h) for h in holds],
                        "attachment_files": len(refs)}
                row.status = RequestStatus.ANSWERED.value
                row.answered_at, row.answered_by, row.updated_at = now, who.id, now
                row.result = {**(row.result or {}), "erasure": done, "legal_holds": done["legal_holds"],
                              "assignee_id": (row.result or {}).get("assignee_id") or who.id}
                audit(session, who, "privacy.erasure", ids[0], row.id,
                      {"conversations": len(convs), "holds": [h.category for h in holds]})
        deleted = await self._delete_files(refs)
        tracker_rows = await self._delete_tracker(convs)
        return {**done, "attachment_files_deleted": deleted, "tracker_events_deleted": tracker_rows,
                "request_id": request_id, "status": RequestStatus.ANSWERED.value}

    async def _erase_rows(self, session: AsyncSession, events: Any, ids: list[int], patients: list[Patient],
                          convs: list[str], holds: list[rules.Hold], who: StaffIdentity, now: Any) -> set[str]:
        actor = f"agent:{who.id}"
        # 1. close what humans own, stop pending work
        for conv_id in convs:
            conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id)
            if conv is None:
                continue
            if conv.state in hs.HUMAN_STATES:
                previous = conv.assigned_agent_id
                await store.transition(session, conv, Transition.RESOLVE, actor,
                                       {"outcome": "not_resolved", "by": ACTOR})
                conv.resolved_at, conv.outcome = now, "not_resolved"
                conv.assigned_agent_id, conv.assigned_at = None, None
                notify(events, "queue_changed", conv, agent_id=previous, outcome="not_resolved")
                kick_assignment(events)
            conv.handoff_note = None
            conv.csat_asked_at = conv.nps_asked_at = None
            conv.redacted_at = now
            conv.updated_at = now
        refs: set[str] = set()
        if convs:
            await session.execute(update(Message).where(
                Message.conversation_id.in_(convs), Message.direction == "in", Message.status == "pending")
                .values(status="processed", processed_at=now))
            await session.execute(update(Message).where(
                Message.conversation_id.in_(convs), Message.direction == "out",
                Message.status.in_(["queued", "sending"])).values(status="failed", last_error="erased"))
            # 2. message content (set-based; provider ids become their hash, in batches of ids)
            with_files = await session.execute(select(Message.payload).where(
                Message.conversation_id.in_(convs), cast(Message.payload, String).like(f"%{LOCAL_PREFIX}%")))
            for (payload,) in with_files.all():
                refs |= _references(payload)
            after = 0
            while True:
                batch = (await session.execute(
                    select(Message.id, Message.provider_message_id).where(
                        Message.conversation_id.in_(convs), Message.id > after,
                        Message.provider_message_id.is_not(None))
                    .order_by(Message.id).limit(1000))).all()
                if not batch:
                    break
                changes = [{"id": mid, "provider_message_id": _hashed(pid)} for mid, pid in batch
                           if not str(pid).startswith("erased:")]
                if changes:
                    await session.execute(update(Message), changes)
                after = batch[-1][0]
            await session.execute(update(Message).where(Message.conversation_id.in_(convs)).values(
                text="", payload={}, redacted_at=func.coalesce(Message.redacted_at, now)))
            for event in (await session.execute(
                    select(ConversationEvent).where(ConversationEvent.conversation_id.in_(convs)))).scalars().all():
                cleaned = _clean_event_data(event.data)
                if cleaned != (event.data or {}):
                    event.data = cleaned
            msg_ids = select(Message.id).where(Message.conversation_id.in_(convs))
            await session.execute(update(BotLabel).where(BotLabel.message_id.in_(msg_ids)).values(text=""))
        await session.execute(update(PrivacyRequest).where(PrivacyRequest.patient_id.in_(ids))
                              .values(details=None))
        # Interaction records (issue 14) carry the CPF and the attendant for the clinic's CRM: the
        # local copies go, and one not yet delivered is never sent. What the CRM already received
        # is the clinic's to erase there (the answer to the patient says so).
        await session.execute(delete(InteractionDelivery).where(or_(
            InteractionDelivery.patient_id.in_(ids), InteractionDelivery.conversation_id.in_(convs))))
        # 3. identities
        for ident in (await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.patient_id.in_(ids)))).scalars().all():
            ident.external_id = rules.erased_placeholder()
        # 4. the records (identification kept on the canonical record while a legal hold needs it)
        existing = {(h.category, h.until) for h in (await session.execute(
            select(LegalHold).where(LegalHold.patient_id == ids[0], LegalHold.released_at.is_(None))
        )).scalars().all()}
        for h in holds:
            if (h.category, h.until) not in existing:
                session.add(LegalHold(patient_id=ids[0], category=h.category, basis=h.basis[:200], until=h.until,
                                      created_by=who.id, created_at=now))
        for p in patients:
            keep_identification = bool(holds) and p.id == ids[0]
            p.phone, p.email = None, None
            if not keep_identification:
                p.display_name, p.cpf, p.birth_date = None, None, None
            p.erased_at = now
        await session.flush()
        return refs

    async def _delete_files(self, refs: set[str]) -> int:
        """Delete files no remaining message references (content-addressed: one file may be shared)."""
        deleted = 0
        for ref in sorted(refs):
            async with self.uow() as (session, _):
                others = int((await session.execute(select(func.count()).select_from(Message).where(
                    cast(Message.payload, String).like(f"%{ref}%")))).scalar_one())
            if others:
                continue
            path = self.attachments.path_of(ref)
            if path is not None:
                await asyncio.to_thread(path.unlink, True)
                deleted += 1
        return deleted

    async def _delete_tracker(self, convs: list[str]) -> int | None:
        try:
            return await self.tracker.delete_senders(convs)
        except Exception as exc:  # noqa: BLE001 - reported in the answer; a second erasure retries
            log.warning("tracker store cleanup failed: %s", type(exc).__name__)
            return None
