"""Deliver queued replies through each channel's sender, in order, with retries.

A reply is marked `sending` (committed) before the provider call and `sent` after it. If the
process dies between those two commits, the reply is sent again on resume: that window is
one provider round-trip. The web chat is immune (the widget drops ids it already shows);
provider channels pass our message id where the provider supports idempotency.

The provider's id is recorded in the transaction that marks the reply sent; delivery reports
the provider sent during the send's round-trip (kept by `channel_store`) are applied there too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connectors.base import Button, ChannelError, ChannelSender, OutboundMessage, OutboundTemplate
from handoff.adapters.sql import channel_store, store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import Message
from handoff.domain.messages import OutboundStatus, retry_delay
from handoff.services.unit_of_work import STAFF_TOPIC, Events, UnitOfWork, conversation_topic
from handoff.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxWork:
    """A leased conversation and its oldest unsent reply, already marked `sending`, with the
    attempt number (None: nothing left to send; the lease was already given back)."""

    conversation_id: str
    first: tuple[OutboundMessage, int] | None


class Outbox:
    """Claims conversations with unsent replies and delivers them oldest first."""

    def __init__(self, uow: UnitOfWork, senders: dict[str, ChannelSender], settings: Settings) -> None:
        self.uow = uow
        self.senders = senders
        self.settings = settings
        self.lease_seconds = settings.lease_seconds

    async def claim(self, owner: str, hint: str | None = None) -> OutboxWork | None:
        """Lease the next conversation with unsent replies and mark its oldest one `sending`, in
        one transaction (None when there is nothing to lease)."""
        async with self.uow() as (session, _):
            conv_id = await store.claim_outbox_conversation(session, self.uow.dialect, owner, self.lease_seconds, hint)
            if conv_id is None:
                return None
            return OutboxWork(conv_id, await self._take_next(session, conv_id, owner))

    async def drain(self, claimed: OutboxWork, owner: str) -> None:
        """Send the conversation's unsent replies; stop at the first retryable failure (order).

        Marking one reply sent and taking the next share one transaction.
        """
        conv_id, outbound = claimed.conversation_id, claimed.first
        while outbound is not None:
            message, attempts = outbound
            sender = self.senders.get(message.channel)
            try:
                if sender is None:
                    raise ChannelError(f"no sender for channel {message.channel}", retryable=False)
                provider_id = await sender.send(message)
            except ChannelError as exc:
                if not await self._failed(conv_id, owner, message.message_id, attempts, exc):
                    return
                async with self.uow() as (session, _):
                    outbound = await self._take_next(session, conv_id, owner)
                continue
            async with self.uow() as (session, events):
                msg = await session.get(Message, message.message_id)
                if msg is not None:
                    msg.status = OutboundStatus.SENT.value
                    msg.processed_at = utcnow()
                    msg.last_error = None
                    if provider_id:
                        # Reports the provider sent before this commit are applied now.
                        early = await channel_store.record_provider_id(session, self.uow.dialect, msg, provider_id)
                        for report in early:
                            await record_status_change(session, events, report.change, report.error_code)
                        if early:
                            log.info("%d delivery report(s) that came before the send was recorded applied",
                                     len(early))
                    else:
                        msg.provider_message_id = provider_id
                    await session.flush()
                outbound = await self._take_next(session, conv_id, owner)

    async def _take_next(self, session: Any, conv_id: str, owner: str) -> tuple[OutboundMessage, int] | None:
        """Mark the oldest unsent reply `sending` and return it; None releases the lease."""
        item = await store.oldest_unsent(session, conv_id)
        if item is None:
            await store.release_outbox_lease(session, conv_id, owner)
            return None
        row, ident = item
        row.status = OutboundStatus.SENDING.value
        row.attempts += 1
        return _outbound(row, ident.external_id), row.attempts

    async def _failed(self, conv_id: str, owner: str, message_id: int, attempts: int, exc: ChannelError) -> bool:
        """Record a failed send. True when the drain may go on to the next reply."""
        give_up = not exc.retryable or attempts >= self.settings.outbox_max_attempts
        async with self.uow() as (session, events):
            msg = await session.get(Message, message_id)
            if msg is None:
                return True
            msg.last_error = str(exc)[:200]
            if give_up:
                msg.status = OutboundStatus.FAILED.value
                await store.add_event(session, conv_id, "delivery_failed", "system", {"message_id": message_id})
                events.add(STAFF_TOPIC, {"type": "delivery_failed", "conversation_id": conv_id})
                log.warning("reply delivery failed for good after %d attempts", attempts)
                return True
            delay = retry_delay(attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
            retry_at = utcnow() + timedelta(seconds=delay)
            msg.status = OutboundStatus.QUEUED.value
            msg.next_attempt_at = retry_at
            await store.release_outbox_lease(session, conv_id, owner, retry_at=retry_at)
            log.info("reply delivery failed (attempt %d); retry in %.1fs", attempts, delay)
            return False


async def record_status_change(
    session: Any, events: Events, change: channel_store.StatusChange, code: str | None
) -> None:
    """Tell the inbox that a provider report moved a message; a reported failure is also a
    `delivery_failed` lifecycle event (actor `provider`). The same as a live report gets in
    `api/channels.py`."""
    events.add(conversation_topic(change.conversation_id),
               {"type": "message_status", "message_id": change.message_id, "status": change.after})
    if change.after == OutboundStatus.FAILED.value:
        data = {"message_id": change.message_id, "error_code": code}
        await store.add_event(session, change.conversation_id, "delivery_failed", "provider", data)
        events.add(STAFF_TOPIC, {"type": "delivery_failed", "conversation_id": change.conversation_id, **data})


def _outbound(row: Message, external_id: str) -> OutboundMessage:
    payload = row.payload or {}
    created = as_utc(row.created_at) or utcnow()
    return OutboundMessage(
        message_id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        external_user_id=external_id,
        sender=row.sender,
        text=row.text,
        buttons=tuple(Button(b["title"], b["payload"]) for b in payload.get("buttons") or []),
        image=payload.get("image"),
        created_at=created.isoformat(),
        template=_template(payload.get("template")),
    )


def _template(raw: Any) -> OutboundTemplate | None:
    """The approved template a row asks for (`payload.template`, set by the inbox), if any."""
    if not isinstance(raw, dict) or not raw.get("id"):
        return None
    return OutboundTemplate(
        id=str(raw["id"]),
        variables=tuple(str(v) for v in raw.get("variables") or ()),
        twilio_content_sid=raw.get("twilio_content_sid") or None,
        meta_name=raw.get("meta_name") or None,
        language=raw.get("language") or "pt_BR",
        button_payloads=tuple(str(p) for p in raw.get("button_payloads") or ()),
    )
