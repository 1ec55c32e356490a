"""SQL side of interaction records (issue 14): which conversations ended, what happened in them,
and the durable delivery rows (claimed with a lease by any number of hub replicas).

A conversation's activity is cut into spans; `interaction_marks.closed_until` is where the last
closed span ended. A span ends when staff resolve the conversation (a `resolved` event) or, for
a conversation the bot kept, after `idle` without a contact message (the dashboard's contact and
containment definitions: docs/metrics.md). Closing a span is a conditional write on the mark,
so of several replicas exactly one records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.leases import lease_due
from handoff.adapters.sql.metrics_queries import contact_message
from handoff.adapters.sql.models import (
    AppointmentRow,
    ConsentRow,
    Conversation,
    ConversationEvent,
    DoctorRow,
    InteractionDelivery,
    InteractionMark,
    Message,
    Patient,
    StaffUser,
)
from handoff.adapters.sql.privacy_store import person_ids
from handoff.domain import events as ev
from handoff.domain.interactions import (
    DeliveryStatus,
    InteractionFacts,
    TouchedAppointment,
    appointment_action,
)

BOT_STATES = ("bot", "resolved")


def _contact(m: Any) -> Any:
    """A patient message that forms a contact (the dashboard's `contact_message`, so PostgreSQL
    uses the partial indexes of migration 0005) and is not the answer to the NPS question."""
    return and_(contact_message(m), or_(m.c.intent.is_(None), m.c.intent != literal_column("'nps'")))


def _insert(dialect: str) -> Any:
    return pg_insert if dialect == "postgresql" else sqlite_insert


# -- which conversations ended ---------------------------------------------------------------


async def resolved_candidates(session: AsyncSession, since: datetime, limit: int = 200) -> list[tuple[str, int]]:
    """`resolved` events after `since` not yet summarised (after their conversation's mark),
    oldest first: (conversation id, event id)."""
    e = ConversationEvent.__table__.alias("e")
    mk = InteractionMark.__table__.alias("mk")
    rows = await session.execute(
        select(e.c.conversation_id, e.c.id)
        .select_from(e.outerjoin(mk, mk.c.conversation_id == e.c.conversation_id))
        .where(e.c.type == ev.RESOLVED, e.c.created_at >= since,
               or_(mk.c.closed_until.is_(None), e.c.created_at > mk.c.closed_until))
        .order_by(e.c.created_at, e.c.id).limit(limit))
    return [(str(c), int(i)) for c, i in rows.all()]


async def idle_candidates(session: AsyncSession, since: datetime, idle_before: datetime,
                          limit: int = 200) -> list[tuple[str, datetime]]:
    """Conversations the bot owns whose last contact message (after `since`) is older than
    `idle_before` and newer than their mark: (conversation id, that message's time)."""
    m = Message.__table__.alias("m")
    cv = Conversation.__table__.alias("cv")
    mk = InteractionMark.__table__.alias("mk")
    last = func.max(m.c.created_at)
    rows = await session.execute(
        select(m.c.conversation_id, last)
        .select_from(m.join(cv, cv.c.id == m.c.conversation_id)
                     .outerjoin(mk, mk.c.conversation_id == m.c.conversation_id))
        .where(_contact(m), m.c.created_at >= since, cv.c.state.in_(BOT_STATES),
               or_(mk.c.closed_until.is_(None), m.c.created_at > mk.c.closed_until))
        .group_by(m.c.conversation_id)
        .having(last <= idle_before)
        .order_by(last).limit(limit))
    out: list[tuple[str, datetime]] = []
    for conv_id, at in rows.all():
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        out.append((str(conv_id), as_utc(moment) or moment))
    return out


async def mark_of(session: AsyncSession, conv_id: str) -> datetime | None:
    """Where the conversation's last summarised span ended (None: never)."""
    mark = await session.get(InteractionMark, conv_id)
    return as_utc(mark.closed_until) if mark is not None else None


async def close_span(session: AsyncSession, dialect: str, conv_id: str, previous: datetime | None,
                     until: datetime) -> bool:
    """Move the mark from `previous` to `until`; True for the one caller that moved it (a
    replica that lost the race gets False and records nothing)."""
    now = utcnow()
    if previous is None:
        stmt = (_insert(dialect)(InteractionMark)
                .values(conversation_id=conv_id, closed_until=until, updated_at=now)
                .on_conflict_do_nothing(index_elements=["conversation_id"]))
        res = await session.execute(stmt)
    else:
        res = await session.execute(
            update(InteractionMark)
            .where(InteractionMark.conversation_id == conv_id, InteractionMark.closed_until == previous)
            .values(closed_until=until, updated_at=now))
    return int(res.rowcount or 0) == 1  # type: ignore[attr-defined]


async def last_resolved_before(session: AsyncSession, conv_id: str, until: datetime) -> datetime | None:
    """The latest `resolved` event of the conversation at or before `until`."""
    at = (await session.execute(
        select(func.max(ConversationEvent.created_at))
        .where(ConversationEvent.conversation_id == conv_id, ConversationEvent.type == ev.RESOLVED,
               ConversationEvent.created_at <= until))).scalar_one_or_none()
    return as_utc(at) if at is not None else None


async def handoff_between(session: AsyncSession, conv_id: str, start: datetime, end: datetime) -> bool:
    """Whether the conversation was handed to humans in (start, end]."""
    found = (await session.execute(
        select(ConversationEvent.id).where(ConversationEvent.conversation_id == conv_id,
                                           ConversationEvent.type == ev.HANDOFF,
                                           ConversationEvent.created_at > start,
                                           ConversationEvent.created_at <= end).limit(1))).first()
    return found is not None


# -- what happened in a span -------------------------------------------------------------------


async def latest_consent(session: AsyncSession, patient_id: int) -> tuple[bool, str] | None:
    """The person's latest consent decision (any linked record): (granted, version)."""
    ids = await person_ids(session, patient_id)
    row = (await session.execute(
        select(ConsentRow.granted, ConsentRow.version).where(ConsentRow.patient_id.in_(ids))
        .order_by(ConsentRow.created_at.desc(), ConsentRow.id.desc()).limit(1))).first()
    return (bool(row[0]), str(row[1])) if row is not None else None


async def _first(session: AsyncSession, stmt: Any) -> datetime | None:
    value = (await session.execute(stmt)).scalar_one_or_none()
    if value is None:
        return None
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


async def span_facts(session: AsyncSession, conv: Conversation, *, key: str, start: datetime | None,
                     end: datetime, appointments_until: datetime, resolve_event: ConversationEvent | None
                     ) -> InteractionFacts:
    """The facts of the conversation's span (start, end]: times, handoff, attendant and the
    appointments of the person created or changed in [opened, appointments_until]. Never text."""
    floor = start or datetime(1970, 1, 1, tzinfo=end.tzinfo)
    m = Message.__table__.alias("m")
    opened = await _first(session, select(func.min(m.c.created_at)).where(
        m.c.conversation_id == conv.id, _contact(m), m.c.created_at > floor, m.c.created_at <= end))
    ev_in_span = and_(ConversationEvent.conversation_id == conv.id, ConversationEvent.created_at > floor,
                      ConversationEvent.created_at <= end)
    handoff_at = await _first(session, select(func.min(ConversationEvent.created_at))
                              .where(ev_in_span, ConversationEvent.type == ev.HANDOFF))
    opened = opened or handoff_at or end
    handed_off = handoff_at is not None or resolve_event is not None
    if handed_off:
        first_response = await _first(session, select(func.min(ConversationEvent.created_at))
                                      .where(ev_in_span, ConversationEvent.type == ev.AGENT_REPLY))
    else:
        first_response = await _first(session, select(func.min(Message.created_at)).where(
            Message.conversation_id == conv.id, Message.direction == "out", Message.sender == "bot",
            Message.created_at >= opened, Message.created_at <= appointments_until))
    data = (resolve_event.data or {}) if resolve_event is not None else {}
    attendant_id = data.get("agent_id") if isinstance(data.get("agent_id"), int) else None
    attendant_name = None
    if attendant_id is not None:
        staff = await session.get(StaffUser, attendant_id)
        attendant_name = staff.name if staff is not None else None
    patient = await session.get(Patient, conv.patient_id)
    ids = await person_ids(session, conv.patient_id)
    cpf = None
    for pid in ids:
        p = patient if patient is not None and pid == patient.id else await session.get(Patient, pid)
        if p is not None and p.cpf and p.erased_at is None:
            cpf = p.cpf
            break
    touched = await _touched(session, ids, opened, appointments_until)
    return InteractionFacts(
        key=key, conversation_id=conv.id, channel=conv.channel, reason=conv.reason, patient_id=conv.patient_id,
        patient_cpf=cpf, opened_at=opened, closed_at=end, handed_off=handed_off,
        staff_outcome=data.get("outcome") if isinstance(data.get("outcome"), str) else None,
        handoff_reason=conv.handoff_reason if handed_off else None, first_response_at=first_response,
        handoff_at=handoff_at, attendant_id=attendant_id, attendant_name=attendant_name, appointments=touched)


async def _touched(session: AsyncSession, patient_ids: Sequence[int], start: datetime,
                   end: datetime) -> list[TouchedAppointment]:
    rows = (await session.execute(
        select(AppointmentRow, DoctorRow.name).join(DoctorRow, DoctorRow.id == AppointmentRow.doctor_id)
        .where(AppointmentRow.patient_id.in_(list(patient_ids)),
               or_(and_(AppointmentRow.created_at >= start, AppointmentRow.created_at <= end),
                   and_(AppointmentRow.updated_at >= start, AppointmentRow.updated_at <= end)))
        .order_by(AppointmentRow.id))).all()
    out: list[TouchedAppointment] = []
    for appt, doctor in rows:
        created, updated, starts = as_utc(appt.created_at), as_utc(appt.updated_at), as_utc(appt.starts_at)
        assert created is not None and updated is not None and starts is not None
        action = appointment_action(created, updated, appt.status, start, end)
        if action is None:
            continue
        out.append(TouchedAppointment(id=appt.id, action=action, status=appt.status, starts_at=starts,
                                      doctor_id=appt.doctor_id, doctor_name=doctor,
                                      agenda_system=appt.agenda_system, agenda_ref=appt.agenda_ref))
    return out


# -- delivery rows -------------------------------------------------------------------------------


async def add_delivery(session: AsyncSession, dialect: str, *, key: str, target: str, conversation_id: str,
                       patient_id: int, summary: dict[str, Any], now: datetime) -> bool:
    """Queue one record for one target; False when it is already queued (unique key)."""
    stmt = (_insert(dialect)(InteractionDelivery)
            .values(interaction_key=key, target=target, conversation_id=conversation_id, patient_id=patient_id,
                    summary=summary, status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now,
                    replays=0, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["target", "interaction_key"]))
    res = await session.execute(stmt)
    return int(res.rowcount or 0) == 1  # type: ignore[attr-defined]


def _due(now: datetime) -> Any:
    """Pending and due, or `sending` with an expired lease (its worker died mid-send)."""
    d = InteractionDelivery
    return or_(and_(d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now),
               and_(d.status == DeliveryStatus.SENDING.value, or_(d.lease_until.is_(None), d.lease_until < now)))


async def claim_delivery(session: AsyncSession, dialect: str, owner: str, lease_seconds: float,
                         now: datetime | None = None) -> InteractionDelivery | None:
    """Lease the most overdue delivery (Postgres: `FOR UPDATE SKIP LOCKED`, then a conditional
    update as on SQLite) and count the attempt; None when nothing is due."""
    now = now or utcnow()
    d = InteractionDelivery
    return await lease_due(session, dialect, d, _due(now), (d.next_attempt_at, d.id),
                           sending=DeliveryStatus.SENDING.value, owner=owner, lease_seconds=lease_seconds, now=now)


async def owned(session: AsyncSession, delivery_id: int, owner: str) -> InteractionDelivery | None:
    """The delivery if this worker still holds its lease (a replay or an expired lease took it)."""
    row = await session.get(InteractionDelivery, delivery_id, with_for_update=True, populate_existing=True)
    if row is None or row.lease_owner != owner or row.status != DeliveryStatus.SENDING.value:
        return None
    return row


async def list_deliveries(session: AsyncSession, *, status: str | None = None, limit: int = 100,
                          before_id: int | None = None) -> list[InteractionDelivery]:
    """The newest deliveries first (optionally one status, paged by id)."""
    q = select(InteractionDelivery)
    if status:
        q = q.where(InteractionDelivery.status == status)
    if before_id is not None:
        q = q.where(InteractionDelivery.id < before_id)
    return list((await session.execute(q.order_by(InteractionDelivery.id.desc()).limit(limit))).scalars().all())


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    """How many deliveries are in each status."""
    rows = await session.execute(select(InteractionDelivery.status, func.count()).group_by(InteractionDelivery.status))
    return {str(s): int(n) for s, n in rows.all()}
