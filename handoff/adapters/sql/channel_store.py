"""SQL queries of the provider channels: delivery reports and the options last offered.

Delivery reports arrive late, twice or out of order; they only ever move an outbound
message's status forward (`handoff.domain.messages.advance_status`). On PostgreSQL the row is
locked while it is updated, so two reports for one message racing each other cannot undo
one another; on SQLite writers are serialized anyway (see database.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message
from handoff.domain.messages import Direction, OutboundStatus, advance_status


@dataclass(frozen=True)
class StatusChange:
    """An outbound message whose status a provider report moved forward."""

    message_id: int
    conversation_id: str
    before: str
    after: str


def _apply(row: Message, status: OutboundStatus, error: str | None) -> StatusChange | None:
    try:
        before = OutboundStatus(row.status)
    except ValueError:
        return None
    after = advance_status(before, status)
    if after == before:
        return None
    row.status = after.value
    if after == OutboundStatus.FAILED:
        row.last_error = (error or "provider reported failure")[:200]
    return StatusChange(row.id, row.conversation_id, before.value, after.value)


async def apply_provider_status(
    session: AsyncSession,
    dialect: str,
    channels: Sequence[str],
    provider_message_id: str,
    status: OutboundStatus,
    error: str | None = None,
) -> StatusChange | None:
    """Apply one report to the outbound message the provider knows as `provider_message_id`.

    None when no such message exists (yet) or the report does not move it forward.
    """
    q = select(Message).where(
        Message.direction == Direction.OUT.value,
        Message.channel.in_(list(channels)),
        Message.provider_message_id == provider_message_id,
    )
    if dialect == "postgresql":
        q = q.with_for_update()
    row = (await session.execute(q.limit(1))).scalar_one_or_none()
    return _apply(row, status, error) if row is not None else None


async def apply_status_until(
    session: AsyncSession,
    dialect: str,
    channel: str,
    external_id: str,
    status: OutboundStatus,
    until: datetime,
) -> list[StatusChange]:
    """Messenger's watermark: every message sent to the person by `until` reached `status`."""
    q = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.external_id == external_id,
            Message.direction == Direction.OUT.value,
            Message.status.in_([OutboundStatus.SENT.value, OutboundStatus.DELIVERED.value]),
            Message.processed_at.is_not(None),
            Message.processed_at <= until,
        )
        .order_by(Message.id)
    )
    if dialect == "postgresql":
        q = q.with_for_update(of=Message)
    rows = (await session.execute(q)).scalars().all()
    return [c for c in (_apply(r, status, None) for r in rows) if c is not None]


async def last_offered_buttons(session: AsyncSession, channel: str, external_id: str) -> list[dict[str, Any]]:
    """The buttons of the latest reply to this person, if that reply offered any.

    Channels that render buttons as numbered options map a reply like "2" back through this.
    """
    row = (
        await session.execute(
            select(Message.payload)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(
                ChannelIdentity.channel == channel,
                ChannelIdentity.external_id == external_id,
                Message.direction == Direction.OUT.value,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    buttons = (row or {}).get("buttons") if isinstance(row, dict) else None
    return [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []
