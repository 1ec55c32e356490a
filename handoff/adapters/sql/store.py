"""SQL queries of the message pipeline.

Work sharing between workers and hub processes rests on the database, not on a home-made
coordinator: a conversation is leased with a conditional UPDATE (atomic on every engine),
and on PostgreSQL the candidate row is picked with `FOR UPDATE SKIP LOCKED`, so several
hub replicas never pick the same conversation. On SQLite every transaction is
`BEGIN IMMEDIATE` (see database.py), which serializes writers in the single hub process.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from connectors.base import InboundMessage
from handoff.adapters.sql import identity_store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import (
    ChannelIdentity,
    Conversation,
    ConversationEvent,
    CsatResponse,
    Message,
)
from handoff.domain import events
from handoff.domain.events import transition_event_type
from handoff.domain.inbound import decide_inbound
from handoff.domain.lifecycle import ConversationState, Transition, next_state
from handoff.domain.messages import Direction, InboundStatus, OutboundStatus, Sender


@dataclass(frozen=True)
class StoredMessage:
    """A message row as plain data."""

    id: int
    conversation_id: str
    direction: str
    sender: str
    channel: str
    provider_message_id: str | None
    text: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> StoredMessage:
        """Copy an ORM row."""
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            direction=m.direction,
            sender=m.sender,
            channel=m.channel,
            provider_message_id=m.provider_message_id,
            text=m.text,
            payload=dict(m.payload or {}),
            status=m.status,
            attempts=m.attempts,
            created_at=as_utc(m.created_at) or utcnow(),
        )


@dataclass(frozen=True)
class IngestResult:
    """Outcome of persisting one inbound message."""

    message: StoredMessage
    conversation_id: str
    patient_id: int
    duplicate: bool
    to_bot: bool
    csat_score: int | None = None  # the message answered the satisfaction question
    nps_score: int | None = None  # the message answered the NPS question that follows it


def _insert(dialect: str, table: Any) -> Any:
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


async def add_event(
    session: AsyncSession, conversation_id: str, type_: str, actor: str, data: dict[str, Any] | None = None
) -> None:
    """Append one lifecycle event (never updated, never deleted)."""
    session.add(
        ConversationEvent(
            conversation_id=conversation_id, type=type_, actor=actor, data=data or {}, created_at=utcnow()
        )
    )


async def has_event_since(session: AsyncSession, conversation_id: str, type_: str, since: datetime) -> bool:
    """Whether the conversation has an event of this type at or after `since`."""
    row = (await session.execute(
        select(ConversationEvent.id).where(ConversationEvent.conversation_id == conversation_id,
                                           ConversationEvent.type == type_, ConversationEvent.created_at >= since)
        .limit(1))).first()
    return row is not None


async def transition(
    session: AsyncSession,
    conv: Conversation,
    move: Transition,
    actor: str,
    data: dict[str, Any] | None = None,
    *,
    event_type: str | None = None,
) -> None:
    """Apply a lifecycle transition to a loaded conversation and record it as an event.

    The event type is `events.transition_event_type(move)` (e.g. ``assigned``, ``resolved``)
    unless `event_type` names a more specific one (``requeued`` for a system transfer).
    Raises `IllegalTransition` (nothing changed) when the move is not allowed.
    """
    before = ConversationState(conv.state)
    after = next_state(before, move)
    conv.state = after.value
    conv.updated_at = utcnow()
    await add_event(session, conv.id, event_type or transition_event_type(move), actor,
                    {"from": before.value, "to": after.value, **(data or {})})


async def _identity_and_conversation(
    session: AsyncSession, dialect: str, msg: InboundMessage
) -> tuple[ChannelIdentity, Conversation]:
    ident = (
        await session.execute(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == msg.channel, ChannelIdentity.external_id == msg.external_user_id
            )
        )
    ).scalar_one_or_none()
    if ident is None:
        now = utcnow()
        try:
            # Savepoint: two first messages of a new patient may race on PostgreSQL; the
            # loser rolls back to here and reads the winner's rows.
            async with session.begin_nested():
                # A phone number or e-mail already known joins that patient (one patient across channels).
                patient = await identity_store.patient_for_new_identity(
                    session, msg.channel, msg.external_user_id, msg.display_name, now)
                ident = ChannelIdentity(
                    channel=msg.channel, external_id=msg.external_user_id, patient_id=patient.id, created_at=now
                )
                session.add(ident)
                await session.flush()
                conv = Conversation(
                    id=str(uuid.uuid4()),
                    patient_id=patient.id,
                    identity_id=ident.id,
                    channel=msg.channel,
                    state=ConversationState.BOT.value,
                    priority="normal",
                    bot_failures=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(conv)
                await session.flush()
                await add_event(session, conv.id, "created", "patient", {"channel": msg.channel})
            return ident, conv
        except IntegrityError:
            ident = (
                await session.execute(
                    select(ChannelIdentity).where(
                        ChannelIdentity.channel == msg.channel,
                        ChannelIdentity.external_id == msg.external_user_id,
                    )
                )
            ).scalar_one()
    conv_q = select(Conversation).where(Conversation.identity_id == ident.id)
    if dialect == "postgresql":
        conv_q = conv_q.with_for_update()
    conv = (await session.execute(conv_q)).scalar_one()
    return ident, conv


async def ingest(session: AsyncSession, dialect: str, msg: InboundMessage) -> IngestResult:
    """Persist one inbound message exactly once (dedupe on channel + provider id).

    What the message means (bot or humans, survey answer, lifecycle move) is decided by
    `domain.inbound.decide_inbound`; this function only carries the decision out.
    """
    _, conv = await _identity_and_conversation(session, dialect, msg)
    now = utcnow()
    decision = decide_inbound(
        ConversationState(conv.state),
        csat_asked=conv.csat_asked_at is not None,
        nps_asked=conv.nps_asked_at is not None,
        # Mail written by a program (auto-reply, bounce: connectors/email.py).
        automatic=bool((msg.raw_metadata or {}).get("no_reply")),
        text=msg.text,
        payload=msg.payload,
    )
    csat_score, nps_score = decision.csat_score, decision.nps_score
    status = decision.status.value
    payload: dict[str, Any] = {}
    if msg.payload:
        payload["payload"] = msg.payload
    if msg.attachments:
        payload["attachments"] = [
            {"url": a.url, "content_type": a.content_type, "filename": a.filename} for a in msg.attachments
        ]
    if msg.raw_metadata:
        payload["metadata"] = msg.raw_metadata
    stmt = (
        _insert(dialect, Message)
        .values(
            conversation_id=conv.id,
            direction=Direction.IN.value,
            sender=Sender.PATIENT.value,
            channel=msg.channel,
            provider_message_id=msg.provider_message_id,
            text=msg.text,
            payload=payload,
            status=status,
            attempts=0,
            intent=decision.intent,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
        .returning(Message.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    if new_id is None:
        existing = (
            await session.execute(
                select(Message).where(
                    Message.channel == msg.channel, Message.provider_message_id == msg.provider_message_id
                )
            )
        ).scalar_one()
        return IngestResult(StoredMessage.of(existing), conv.id, conv.patient_id, True, False)
    if decision.clear_survey:
        conv.csat_asked_at = None  # only the very next message can answer the question
        conv.nps_asked_at = None
    if csat_score is not None:
        session.add(CsatResponse(conversation_id=conv.id, agent_id=conv.last_agent_id, score=csat_score,
                                 created_at=now))
        await add_event(session, conv.id, events.CSAT, "patient", {"score": csat_score, "message_id": new_id})
    elif nps_score is not None:
        await _record_nps(session, conv.id, nps_score)
        await add_event(session, conv.id, events.NPS, "patient", {"score": nps_score, "message_id": new_id})
    if decision.patient_event:  # humans own it: part of the SLA clocks
        await add_event(session, conv.id, events.PATIENT_MESSAGE, "patient", {"message_id": new_id})
    if decision.transition is not None:
        await transition(session, conv, decision.transition, "patient")
    conv.last_inbound_at = now
    conv.updated_at = now
    stored = StoredMessage(
        id=new_id, conversation_id=conv.id, direction=Direction.IN.value, sender=Sender.PATIENT.value,
        channel=msg.channel, provider_message_id=msg.provider_message_id, text=msg.text, payload=payload,
        status=status, attempts=0, created_at=now,
    )
    return IngestResult(stored, conv.id, conv.patient_id, False, decision.to_bot, csat_score, nps_score)


async def _record_nps(session: AsyncSession, conversation_id: str, score: int) -> None:
    """Complete the conversation's latest satisfaction answer with its NPS score (the question
    is only asked right after that answer, so the row exists)."""
    row = (await session.execute(
        select(CsatResponse).where(CsatResponse.conversation_id == conversation_id)
        .order_by(CsatResponse.created_at.desc(), CsatResponse.id.desc()).limit(1)
    )).scalar_one_or_none()
    if row is not None:
        row.nps = score


# --- bot pipeline -----------------------------------------------------------------------


def _lease_free(until_col: Any, now: datetime) -> Any:
    return or_(until_col.is_(None), until_col < now)


async def _claim_lease(
    session: AsyncSession,
    dialect: str,
    owner: str,
    lease_seconds: float,
    hint: str | None,
    *,
    owner_col: InstrumentedAttribute[str | None],
    until_col: InstrumentedAttribute[datetime | None],
    candidates: Sequence[ColumnElement[bool]],
) -> str | None:
    """Lease (`owner_col`/`until_col`) the conversation holding the oldest message that matches
    `candidates` (the bot's pending inbound, the outbox's unsent replies), if its lease is free.

    With a `hint`, first try that conversation by primary key (the common, cheap case). Else
    pick the candidate, skipping rows other replicas hold (`FOR UPDATE SKIP LOCKED` on
    PostgreSQL), and take it with a conditional UPDATE, so two workers never both win.
    """
    now = utcnow()
    lease = {owner_col: owner, until_col: now + timedelta(seconds=lease_seconds)}
    if hint is not None:
        waiting = select(Message.id).where(Message.conversation_id == hint, *candidates).exists()
        res = await session.execute(
            update(Conversation).where(Conversation.id == hint, _lease_free(until_col, now), waiting).values(lease)
        )
        if res.rowcount == 1:  # type: ignore[attr-defined]
            return hint
    q = (
        select(Conversation.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(*candidates, _lease_free(until_col, now))
        .order_by(Message.id)
        .limit(1)
    )
    if dialect == "postgresql":
        q = q.with_for_update(of=Conversation, skip_locked=True)
    conv_id = (await session.execute(q)).scalar_one_or_none()
    if conv_id is None:
        return None
    res = await session.execute(
        update(Conversation).where(Conversation.id == conv_id, _lease_free(until_col, now)).values(lease)
    )
    return conv_id if res.rowcount == 1 else None  # type: ignore[attr-defined]


async def claim_bot_conversation(
    session: AsyncSession, dialect: str, owner: str, lease_seconds: float, hint: str | None = None
) -> str | None:
    """Lease the conversation holding the oldest pending inbound message, if any is free.

    With a `hint`, first try that conversation by primary key (the common, cheap case).
    """
    return await _claim_lease(
        session, dialect, owner, lease_seconds, hint,
        owner_col=Conversation.bot_lease_owner, until_col=Conversation.bot_lease_until,
        candidates=(Message.status == InboundStatus.PENDING.value,),
    )


async def renew_bot_lease(session: AsyncSession, conv_id: str, owner: str, lease_seconds: float) -> bool:
    """Extend our lease; False when it was lost (expired and taken by another worker)."""
    res = await session.execute(
        update(Conversation)
        .where(Conversation.id == conv_id, Conversation.bot_lease_owner == owner)
        .values(bot_lease_until=utcnow() + timedelta(seconds=lease_seconds))
    )
    return bool(res.rowcount == 1)  # type: ignore[attr-defined]


async def release_bot_lease(session: AsyncSession, conv_id: str, owner: str, retry_at: datetime | None = None) -> None:
    """Give the conversation back; `retry_at` keeps it parked until then (bot backoff)."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conv_id, Conversation.bot_lease_owner == owner)
        .values(bot_lease_owner=None, bot_lease_until=retry_at)
    )


async def oldest_pending(session: AsyncSession, conv_id: str) -> tuple[Conversation, Message] | None:
    """The conversation and its oldest pending inbound message."""
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        return None
    msg = (
        await session.execute(
            select(Message)
            .where(Message.conversation_id == conv_id, Message.status == InboundStatus.PENDING.value)
            .order_by(Message.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return (conv, msg) if msg is not None else None


def add_outbound(
    session: AsyncSession,
    conv: Conversation,
    sender: Sender,
    text: str,
    payload: dict[str, Any] | None = None,
) -> Message:
    """Queue a reply in the outbox (sent by the outbox worker after commit)."""
    now = utcnow()
    row = Message(
        conversation_id=conv.id,
        direction=Direction.OUT.value,
        sender=sender.value,
        channel=conv.channel,
        provider_message_id=None,
        text=text,
        payload=payload or {},
        status=OutboundStatus.QUEUED.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


async def route_pending_to_humans(session: AsyncSession, conv_id: str, status: InboundStatus) -> int:
    """Once humans own the conversation, its still-pending messages are theirs."""
    res = await session.execute(
        update(Message)
        .where(Message.conversation_id == conv_id, Message.status == InboundStatus.PENDING.value)
        .values(status=status.value, processed_at=utcnow())
    )
    return int(res.rowcount)  # type: ignore[attr-defined]


# --- outbox -----------------------------------------------------------------------------

_UNSENT = (OutboundStatus.QUEUED.value, OutboundStatus.SENDING.value)


async def claim_outbox_conversation(
    session: AsyncSession, dialect: str, owner: str, lease_seconds: float, hint: str | None = None
) -> str | None:
    """Lease the conversation with the oldest unsent reply whose outbox is free (hint first)."""
    return await _claim_lease(
        session, dialect, owner, lease_seconds, hint,
        owner_col=Conversation.outbox_lease_owner, until_col=Conversation.outbox_lease_until,
        candidates=(Message.direction == Direction.OUT.value, Message.status.in_(_UNSENT)),
    )


async def release_outbox_lease(
    session: AsyncSession, conv_id: str, owner: str, retry_at: datetime | None = None
) -> None:
    """Give the conversation's outbox back; `retry_at` parks it until the next attempt."""
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conv_id, Conversation.outbox_lease_owner == owner)
        .values(outbox_lease_owner=None, outbox_lease_until=retry_at)
    )


async def oldest_unsent(session: AsyncSession, conv_id: str) -> tuple[Message, ChannelIdentity] | None:
    """The conversation's oldest unsent reply and who it goes to."""
    row = (
        await session.execute(
            select(Message, ChannelIdentity)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(
                Message.conversation_id == conv_id,
                Message.direction == Direction.OUT.value,
                Message.status.in_(_UNSENT),
            )
            .order_by(Message.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def conversation_history(session: AsyncSession, conv_id: str, limit: int = 500) -> list[StoredMessage]:
    """The last `limit` messages of a conversation, oldest first."""
    rows = (
        (
            await session.execute(
                select(Message).where(Message.conversation_id == conv_id).order_by(Message.id.desc()).limit(limit)
            )
        )
        .scalars()
        .all()
    )
    return [StoredMessage.of(m) for m in reversed(rows)]


async def conversation_for_identity(session: AsyncSession, channel: str, external_id: str) -> Conversation | None:
    """The conversation of a channel identity, if the patient ever wrote."""
    return (
        await session.execute(
            select(Conversation)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(and_(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))
        )
    ).scalar_one_or_none()


async def pipeline_counts(session: AsyncSession) -> dict[str, int]:
    """Messages per status (health and benchmarks)."""
    rows = (await session.execute(select(Message.status, func.count()).group_by(Message.status))).all()
    return {status: int(n) for status, n in rows}
