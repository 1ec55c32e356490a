"""SQL queries of the provider channels: delivery reports and the options last offered.

Delivery reports arrive late, twice or out of order; they only ever move an outbound
message's status forward (`handoff.domain.messages.advance_status`). On PostgreSQL the row is
locked while it is updated, so two reports for one message racing each other cannot undo
one another; on SQLite writers are serialized anyway (see database.py).

A report can also arrive before the outbox has committed the id the provider gave it (the
provider calls our webhook during the send's HTTP round-trip). Such a report is kept in
`pending_status_reports` and applied when the outbox records that id
(`record_provider_id`, in the outbox's transaction). On PostgreSQL both sides take a
transaction-scoped advisory lock on the provider id first, so the webhook either sees the
committed id or leaves a pending report the outbox then sees — never neither. Pending reports
older than `PENDING_REPORT_TTL` (about messages that were never ours) are purged
(`purge_pending_reports`, from the periodic SLA loop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message, PendingStatusReport
from handoff.domain.messages import Direction, OutboundStatus, advance_status

# How long a report that matched no message is kept waiting for its message's id.
PENDING_REPORT_TTL = timedelta(hours=24)
# First key of the two-key pg_advisory_xact_lock space used for provider ids ("st").
_PROVIDER_ID_LOCK_CLASS = 0x7374
# Before migration 0006 ids longer than this were stored as `sha256:<hex>` (connectors/meta.py).
_LEGACY_ID_LIMIT = 128


@dataclass(frozen=True)
class StatusChange:
    """An outbound message whose status a provider report moved forward."""

    message_id: int
    conversation_id: str
    before: str
    after: str


@dataclass(frozen=True)
class AppliedReport:
    """A kept report that moved a message once its provider id was recorded."""

    change: StatusChange
    error_code: str | None


def _error_text(code: str | None) -> str | None:
    """`last_error` of a failure reported with `code` (as the webhooks word it)."""
    return f"provider error {code}" if code else None


def _lookup_keys(provider_message_id: str) -> list[str]:
    """The id as stored now, plus the digest rows stored before migration 0006 carry."""
    if len(provider_message_id) <= _LEGACY_ID_LIMIT:
        return [provider_message_id]
    return [provider_message_id, "sha256:" + hashlib.sha256(provider_message_id.encode("utf-8")).hexdigest()]


async def _lock_provider_id(session: AsyncSession, dialect: str, provider_message_id: str) -> None:
    """Serialize report-vs-outbox on one provider id until the transaction ends (PostgreSQL;
    SQLite transactions are BEGIN IMMEDIATE, serialized already)."""
    if dialect != "postgresql":
        return
    digest = hashlib.sha256(provider_message_id.encode("utf-8")).digest()
    key = int.from_bytes(digest[:4], "big", signed=True)
    with session.no_autoflush:  # the lock comes before this transaction's first row write
        await session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": _PROVIDER_ID_LOCK_CLASS, "k": key})


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
    *,
    error_code: str | None = None,
) -> StatusChange | None:
    """Apply one report to the outbound message the provider knows as `provider_message_id`.

    None when the report does not move the message forward, or when no message has that id
    yet: then the report is kept (once per channel of `channels`, the channels sharing the
    provider's ids) until the outbox records the id or `PENDING_REPORT_TTL` passes, with
    `error_code` (the provider's code, applied later as "provider error <code>").
    """
    await _lock_provider_id(session, dialect, provider_message_id)
    q = select(Message).where(
        Message.direction == Direction.OUT.value,
        Message.channel.in_(list(channels)),
        Message.provider_message_id.in_(_lookup_keys(provider_message_id)),
    )
    if dialect == "postgresql":
        q = q.with_for_update()
    row = (await session.execute(q.limit(1))).scalar_one_or_none()
    if row is not None:
        return _apply(row, status, error)
    if status != OutboundStatus.SENT:  # the outbox marks the message sent itself
        await _keep_pending(session, dialect, channels, provider_message_id, status, error_code)
    return None


async def _keep_pending(
    session: AsyncSession, dialect: str, channels: Sequence[str], provider_message_id: str,
    status: OutboundStatus, error_code: str | None,
) -> None:
    """Store a report that matched no message; a provider's retry of it is stored once."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    for channel in dict.fromkeys(channels):
        await session.execute(
            insert(PendingStatusReport)
            .values(channel=channel, provider_message_id=provider_message_id, status=status.value,
                    error_code=error_code[:32] if error_code else None, received_at=now)
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id", "status"])
        )


async def record_provider_id(
    session: AsyncSession, dialect: str, row: Message, provider_message_id: str
) -> list[AppliedReport]:
    """Store the id the provider gave a just-sent message and apply, in arrival order, the
    reports that came for it before (same forward-only rule as a live report). Run in the
    transaction that marks the message sent."""
    await _lock_provider_id(session, dialect, provider_message_id)
    row.provider_message_id = provider_message_id
    await session.flush()
    pending = (
        await session.execute(
            select(PendingStatusReport)
            .where(PendingStatusReport.channel == row.channel,
                   PendingStatusReport.provider_message_id == provider_message_id)
            .order_by(PendingStatusReport.id)
        )
    ).scalars().all()
    if not pending:
        return []
    applied: list[AppliedReport] = []
    for report in pending:
        try:
            status = OutboundStatus(report.status)
        except ValueError:
            continue
        change = _apply(row, status, _error_text(report.error_code))
        if change is not None:
            applied.append(AppliedReport(change, report.error_code))
    # The id is ours now: the copies kept for sibling channels of the provider go too.
    await session.execute(delete(PendingStatusReport)
                          .where(PendingStatusReport.provider_message_id == provider_message_id))
    return applied


async def purge_pending_reports(session: AsyncSession, now: datetime | None = None) -> int:
    """Drop kept reports older than `PENDING_REPORT_TTL`; returns how many."""
    cutoff = (now or utcnow()) - PENDING_REPORT_TTL
    res = await session.execute(delete(PendingStatusReport).where(PendingStatusReport.received_at < cutoff))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


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
