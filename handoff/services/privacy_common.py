"""Shared parts of the data-subject request use cases: the error, the views, the queries over a
person's records (what is held, legal holds) and the audit row every privacy action writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import (
    AppointmentRow,
    AuditLog,
    BoletoRow,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    CsatResponse,
    ExamResultRow,
    LegalHold,
    Message,
    Patient,
    PrivacyRequest,
)
from handoff.domain import privacy as rules
from handoff.domain.privacy import Hold, RequestKind
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import STAFF_TOPIC, Events


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (as_utc(value) or value).isoformat()
    return value.isoformat()


def request_view(row: PrivacyRequest, now: datetime, warn_days: float,
                 patient: Patient | None = None) -> dict[str, Any]:
    """A request as the staff API shows it (the clock included)."""
    due = as_utc(row.due_at) or row.due_at
    c = rules.clock(due, now, row.status, warn_days)
    view: dict[str, Any] = {
        "id": row.id, "patient_id": row.patient_id, "conversation_id": row.conversation_id,
        "channel": row.channel, "kind": row.kind, "kind_label": rules.KIND_LABELS.get(RequestKind(row.kind), row.kind),
        "status": row.status, "verified_by": row.verified_by, "details": row.details, "result": row.result,
        "created_at": iso(row.created_at), "due_at": iso(row.due_at),
        "simplified_answer_at": iso(row.simplified_answer_at), "escalated_at": iso(row.escalated_at),
        "answered_at": iso(row.answered_at), "answered_by": row.answered_by, "updated_at": iso(row.updated_at),
        "clock": {"days_left": round(c.days_left, 2), "overdue": c.overdue, "escalate": c.escalate},
        "assignee_id": (row.result or {}).get("assignee_id"),
    }
    if patient is not None:
        view["patient_name"] = patient.display_name
        view["patient_erased"] = patient.erased_at is not None
    return view


def hold_view(h: Hold) -> dict[str, Any]:
    """A legal hold as listed to staff and in the answer to the patient."""
    category = rules.HoldCategory(h.category) if h.category in rules.HoldCategory._value2member_map_ else None
    return {"category": h.category, "label": rules.HOLD_LABELS.get(category, h.category) if category else h.category,
            "basis": h.basis, "until": iso(h.until), "items": h.items}


# -- queries shared by the privacy modules -----------------------------------------------------------


async def conversation_ids(session: AsyncSession, ids: Sequence[int]) -> list[str]:
    """The person's conversations, oldest first."""
    return list((await session.execute(
        select(Conversation.id).where(Conversation.patient_id.in_(ids)).order_by(Conversation.created_at)
    )).scalars().all())


async def summary(session: AsyncSession, ids: Sequence[int]) -> dict[str, Any]:
    """What the clinic holds about the person: kinds of data and counts (the simplified answer)."""
    async def count(model: Any, *where: Any) -> int:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    convs = select(Conversation.id).where(Conversation.patient_id.in_(ids))
    live = Message.redacted_at.is_(None)
    channels = sorted(set((await session.execute(
        select(ChannelIdentity.channel).where(ChannelIdentity.patient_id.in_(ids)))).scalars().all()))
    return {
        "identities": await count(ChannelIdentity, ChannelIdentity.patient_id.in_(ids)),
        "channels": channels,
        "conversations": await count(Conversation, Conversation.patient_id.in_(ids)),
        "messages": await count(Message, Message.conversation_id.in_(convs), live),
        "messages_with_attachments": await count(
            Message, Message.conversation_id.in_(convs), live, cast(Message.payload, String).like('%"attachments"%')),
        "appointments": await count(AppointmentRow, AppointmentRow.patient_id.in_(ids)),
        "exam_results": await count(ExamResultRow, ExamResultRow.patient_id.in_(ids)),
        "boletos": await count(BoletoRow, BoletoRow.patient_id.in_(ids)),
        "consents": await count(ConsentRow, ConsentRow.patient_id.in_(ids)),
        "csat_responses": await count(CsatResponse, CsatResponse.conversation_id.in_(convs)),
        "privacy_requests": await count(PrivacyRequest, PrivacyRequest.patient_id.in_(ids)),
        "staff_accesses": await count(AuditLog, AuditLog.patient_id.in_(ids)),
    }


async def legal_holds_of(session: AsyncSession, ids: Sequence[int], today: date) -> list[Hold]:
    """The person's data under a legal hold today (domain rule + holds recorded by staff)."""
    medical: list[datetime | date] = list((await session.execute(
        select(AppointmentRow.starts_at).where(AppointmentRow.patient_id.in_(ids),
                                               AppointmentRow.status != "cancelled"))).scalars().all())
    medical += list((await session.execute(
        select(ExamResultRow.collected_at).where(ExamResultRow.patient_id.in_(ids)))).scalars().all())
    fiscal: list[datetime | date] = []
    for due, paid in (await session.execute(
            select(BoletoRow.due_date, BoletoRow.paid_at).where(BoletoRow.patient_id.in_(ids)))).all():
        fiscal.append(max(due, paid.date()) if paid is not None else due)
    explicit = [Hold(h.category, h.basis, h.until) for h in (await session.execute(
        select(LegalHold).where(LegalHold.patient_id.in_(ids), LegalHold.released_at.is_(None)))).scalars().all()]
    return rules.legal_holds(medical_entries=medical, fiscal_documents=fiscal, today=today, explicit=explicit)


def audit(session: AsyncSession, who: StaffIdentity | None, action: str, patient_id: int | None,
          request_id: int | None, data: dict[str, Any] | None = None) -> None:
    """One audit row: who, what, whose data, why (the request) — ids and counts only."""
    session.add(AuditLog(staff_id=who.id if who is not None else None, action=action,
                         subject=f"privacy_request:{request_id}" if request_id is not None else None,
                         patient_id=patient_id, reason=f"privacy_request:{request_id}" if request_id else None,
                         data=data, created_at=utcnow()))


def staff_event(events: Events, type_: str, row: PrivacyRequest, **extra: Any) -> None:
    """A managers-only staff event (the privacy officer's live list)."""
    events.add(STAFF_TOPIC, {"type": type_, "audience": "managers", "queue": None, "agent_id": None,
                             "request_id": row.id, "kind": row.kind, "status": row.status,
                             "due_at": iso(row.due_at), **extra})
