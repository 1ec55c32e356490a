"""SQL queries of the human side: queues, agents' load, SLA inputs, escalations, cursors.

Safety across hub processes (docs/routing.md): every change that *adds* work to an agent
(automatic assignment, a manual pick, a transfer to an agent) runs inside
`lock_assignment`, a transaction-scoped PostgreSQL advisory lock, so two processes never plan
against the same loads; waiting rows are read `FOR UPDATE SKIP LOCKED` (a row another
transaction is changing is simply served on the next run) and state changes are conditional
on the state read. On SQLite every write transaction is `BEGIN IMMEDIATE` (database.py), which
already serializes the single hub process.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import (
    Conversation,
    ConversationEvent,
    RoundRobinCursor,
    SlaEscalation,
    StaffUser,
)
from handoff.domain.events import SLA_EVENT_TYPES
from handoff.domain.lifecycle import ConversationState

# pg_advisory_xact_lock key of the assignment critical section ("atende" + 1).
ASSIGNMENT_LOCK_KEY = 0x617465_6E6465_01
HUMAN_STATES = (
    ConversationState.QUEUED.value,
    ConversationState.ASSIGNED.value,
    ConversationState.WAITING_PATIENT.value,
)
HELD_STATES = (ConversationState.ASSIGNED.value, ConversationState.WAITING_PATIENT.value)


async def lock_assignment(session: AsyncSession, dialect: str) -> None:
    """Enter the assignment critical section until the transaction ends (PostgreSQL)."""
    if dialect == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ASSIGNMENT_LOCK_KEY})


async def conversation_for_update(session: AsyncSession, dialect: str, conv_id: str) -> Conversation | None:
    """Load one conversation, row-locked on PostgreSQL (fresh from the database)."""
    q = select(Conversation).where(Conversation.id == conv_id).execution_options(populate_existing=True)
    if dialect == "postgresql":
        q = q.with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


async def waiting_conversations(session: AsyncSession, dialect: str) -> list[Conversation]:
    """Queued conversations (rows being changed elsewhere are skipped on PostgreSQL)."""
    q = (
        select(Conversation)
        .where(Conversation.state == ConversationState.QUEUED.value)
        .order_by(Conversation.waiting_since)
        .execution_options(populate_existing=True)
    )
    if dialect == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list((await session.execute(q)).scalars().all())


async def held_conversations(session: AsyncSession, dialect: str) -> list[Conversation]:
    """Conversations an agent holds (assigned or waiting on the patient)."""
    q = (
        select(Conversation)
        .where(Conversation.state.in_(HELD_STATES), Conversation.assigned_agent_id.is_not(None))
        .execution_options(populate_existing=True)
    )
    if dialect == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list((await session.execute(q)).scalars().all())


async def active_staff(session: AsyncSession, dialect: str, *, lock: bool = False) -> list[StaffUser]:
    """Every active staff account (attendants are auto-assigned; managers may hold picks)."""
    q = select(StaffUser).where(StaffUser.active).order_by(StaffUser.id).execution_options(populate_existing=True)
    if lock and dialect == "postgresql":
        q = q.with_for_update()
    return list((await session.execute(q)).scalars().all())


async def open_loads(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Open conversations per agent and channel (assigned or waiting on the patient)."""
    rows = (
        await session.execute(
            select(Conversation.assigned_agent_id, Conversation.channel, func.count())
            .where(Conversation.state.in_(HELD_STATES), Conversation.assigned_agent_id.is_not(None))
            .group_by(Conversation.assigned_agent_id, Conversation.channel)
        )
    ).all()
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    for agent_id, channel, n in rows:
        if agent_id is not None:
            loads[int(agent_id)][str(channel)] = int(n)
    return dict(loads)


async def sla_event_rows(session: AsyncSession, conv_ids: Sequence[str]) -> dict[str, list[tuple[str, datetime]]]:
    """The SLA-relevant events of each conversation, oldest first, as (type, aware time)."""
    out: dict[str, list[tuple[str, datetime]]] = {cid: [] for cid in conv_ids}
    if not conv_ids:
        return out
    for chunk in _chunks(conv_ids, 500):
        rows = (
            await session.execute(
                select(ConversationEvent.conversation_id, ConversationEvent.type, ConversationEvent.created_at)
                .where(ConversationEvent.conversation_id.in_(chunk), ConversationEvent.type.in_(SLA_EVENT_TYPES))
                .order_by(ConversationEvent.id)
            )
        ).all()
        for conv_id, type_, at in rows:
            moment = as_utc(at)
            assert moment is not None
            out[conv_id].append((type_, moment))
    return out


async def fired_keys(session: AsyncSession, conv_ids: Sequence[str]) -> dict[str, set[str]]:
    """Escalation keys already fired, per conversation."""
    out: dict[str, set[str]] = {cid: set() for cid in conv_ids}
    for chunk in _chunks(conv_ids, 500):
        rows = (
            await session.execute(
                select(SlaEscalation.conversation_id, SlaEscalation.key).where(SlaEscalation.conversation_id.in_(chunk))
            )
        ).all()
        for conv_id, key in rows:
            out[conv_id].add(key)
    return out


async def insert_escalation(
    session: AsyncSession, dialect: str, conv_id: str, key: str, metric: str, level: int, action: str, at: datetime
) -> bool:
    """Record an escalation before acting on it. False when it was already fired (anywhere)."""
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        ins(SlaEscalation)
        .values(conversation_id=conv_id, key=key, metric=metric, level=level, action=action, fired_at=at)
        .on_conflict_do_nothing(index_elements=["conversation_id", "key"])
        .returning(SlaEscalation.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def cursors(session: AsyncSession) -> dict[str, int]:
    """Round-robin cursors: queue -> last agent id."""
    rows = (await session.execute(select(RoundRobinCursor.queue, RoundRobinCursor.last_agent_id))).all()
    return {str(q): int(a) for q, a in rows}


async def save_cursors(session: AsyncSession, dialect: str, changed: dict[str, int]) -> None:
    """Upsert the cursors that moved."""
    ins: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    for queue, agent_id in changed.items():
        stmt = ins(RoundRobinCursor).values(queue=queue, last_agent_id=agent_id)
        stmt = stmt.on_conflict_do_update(index_elements=["queue"], set_={"last_agent_id": agent_id})
        await session.execute(stmt)


async def last_agent_of_patient(
    session: AsyncSession, patient_id: int, since: datetime
) -> tuple[int, datetime] | None:
    """The agent who most recently handled any conversation of the patient, if after `since`."""
    row = (
        await session.execute(
            select(Conversation.last_agent_id, Conversation.last_agent_at)
            .where(
                Conversation.patient_id == patient_id,
                Conversation.last_agent_id.is_not(None),
                Conversation.last_agent_at >= since,
            )
            .order_by(Conversation.last_agent_at.desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    at = as_utc(row[1])
    assert at is not None
    return int(row[0]), at


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
