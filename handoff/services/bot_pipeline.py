"""Feed patient messages to the bot, one at a time per conversation, in arrival order.

Guarantees (proven in tests/pipeline):
- a message reaches the bot only after it is persisted; its replies and its "processed"
  mark are committed in one transaction, so a crash in between re-runs the turn instead of
  losing it (Rasa may then see that message twice; the patient still gets one set of replies);
- one conversation is leased by one worker at a time (any hub process), so order holds;
- if the bot stays unreachable past `bot_grace_seconds`, the conversation goes to humans;
- while it is unreachable, a patient whose message waited `bot_holding_seconds` gets one holding
  reply per outage, and a message that describes an emergency (the bot's own red-flag rules,
  `adapters/red_flags.py`) goes to the human queue at once as urgent, with the safety message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handoff.adapters.rasa import BotTurn, BotUnavailable, RasaGateway
from handoff.adapters.sql import store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import Conversation, Message
from handoff.adapters.sql.reminder_context import latest_reminder
from handoff.domain.lifecycle import ConversationState, bot_owns
from handoff.domain.messages import InboundStatus, Sender, retry_delay
from handoff.domain.triage import PRIORITIES, reason_for
from handoff.services.assignment import enqueue_handoff
from handoff.services.handoff_config import HandoffConfig, bot_context_slots, slot_attributes
from handoff.services.notify import notify
from handoff.services.unit_of_work import (
    WORK_TOPIC,
    Events,
    UnitOfWork,
    conversation_topic,
)
from handoff.settings import Settings

log = logging.getLogger(__name__)

BOT_DOWN_TEXT = (
    "Nosso assistente virtual está com instabilidade no momento. Sua mensagem foi registrada "
    "e um atendente da clínica vai continuar seu atendimento por aqui."
)


BOT_HOLDING_TEXT = (
    "Estamos com instabilidade no momento, mas sua mensagem chegou: já te respondemos por aqui."
)
# Same promise as the bot's urgent answer (bot/domain/urgent.yml): SAMU 192 now, the team warned.
SAFETY_TEXT = (
    "Pelo que você descreveu, isso pode ser uma emergência. Ligue agora para o SAMU 192 ou vá ao "
    "pronto-socorro mais próximo. Nossa equipe de saúde já foi avisada e vai falar com você por aqui."
)
SAFETY_SUICIDE_TEXT = " Se você está pensando em se machucar, ligue para o CVV 188 (24 horas, gratuito)."
HOLDING_EVENT = "bot_holding"


# The next message for the bot: id, text, received at, metadata for Rasa, failures so far.
PendingTurn = tuple[int, str, datetime, dict[str, Any], int]


@dataclass(frozen=True)
class BotWork:
    """A leased conversation and its first pending message (None: nothing left for the bot;
    the lease was already given back)."""

    conversation_id: str
    first: PendingTurn | None


class BotPipeline:
    """Claims conversations with pending messages and runs their bot turns."""

    def __init__(
        self,
        uow: UnitOfWork,
        gateway: RasaGateway,
        settings: Settings,
        reason_map: dict[str, str],
        handoff_config: HandoffConfig | None = None,
        red_flags: Callable[[str], list[str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.uow = uow
        self.clock = clock  # "now" for the reminder the bot metadata names
        self.gateway = gateway
        self.settings = settings
        self.reason_map = reason_map
        self.handoff_config = handoff_config or HandoffConfig.build(settings)
        self.red_flags = red_flags  # text -> red-flag categories, used only while the bot is down
        # The lease must outlive the slowest bot call, or a second worker could take over.
        self.lease_seconds = max(settings.lease_seconds, settings.bot_timeout_seconds + 5)

    async def claim(self, owner: str, hint: str | None = None) -> BotWork | None:
        """Lease the next conversation with pending work and take its first pending message, in
        one transaction (None when there is nothing to lease)."""
        async with self.uow() as (session, events):
            conv_id = await store.claim_bot_conversation(session, self.uow.dialect, owner, self.lease_seconds, hint)
            if conv_id is None:
                return None
            return BotWork(conv_id, await self._next(session, events, conv_id, owner))

    async def drain(self, claimed: BotWork, owner: str) -> None:
        """Run bot turns for the conversation's pending messages, oldest first.

        Applying a turn and fetching the next pending message share one transaction.
        """
        conv_id, work = claimed.conversation_id, claimed.first
        topic = conversation_topic(conv_id)
        while work is not None:
            msg_id, text, created_at, metadata, failures = work
            await self.uow.bus.publish(topic, {"type": "typing", "on": True})
            try:
                turn = await self.gateway.turn(conv_id, text, metadata)
            except BotUnavailable as exc:
                await self.uow.bus.publish(topic, {"type": "typing", "on": False})
                await self._bot_failed(conv_id, owner, msg_id, created_at, failures, str(exc), text)
                return
            async with self.uow() as (session, events):
                if not await store.renew_bot_lease(session, conv_id, owner, self.lease_seconds):
                    log.warning("bot lease lost during a turn; another worker resumes the conversation")
                    return
                await self._apply_turn(session, events, conv_id, msg_id, turn)
                work = await self._next(session, events, conv_id, owner)
            await self.uow.bus.publish(topic, {"type": "typing", "on": False})

    async def _next(self, session: Any, events: Events, conv_id: str, owner: str) -> PendingTurn | None:
        """The next pending message to send to the bot, or None (lease released)."""
        item = await store.oldest_pending(session, conv_id)
        while item is not None and _never_answer(item[1]):
            item[1].status, item[1].processed_at = InboundStatus.PROCESSED.value, utcnow()  # kept for staff
            await session.flush()
            item = await store.oldest_pending(session, conv_id)
        if item is None:
            await store.release_bot_lease(session, conv_id, owner)
            return None
        conv, msg = item
        if not bot_owns(ConversationState(conv.state)):
            await store.route_pending_to_humans(session, conv_id, InboundStatus.ROUTED)
            await store.release_bot_lease(session, conv_id, owner)
            notify(events, "patient_message", conv)
            return None
        metadata: dict[str, Any] = {"conversation_id": conv_id, "channel": conv.channel, "patient_id": conv.patient_id}
        # A typed reply hours after a reminder ("confirmo") answers it: name its appointment
        reminder = await latest_reminder(session, conv.patient_id, self.clock())
        if reminder is not None:
            metadata["reminder"] = reminder.as_metadata()
        return msg.id, _bot_text(msg), as_utc(msg.created_at) or utcnow(), metadata, conv.bot_failures

    async def _apply_turn(self, session: Any, events: Events, conv_id: str, msg_id: int, turn: BotTurn) -> None:
        conv = await session.get(Conversation, conv_id)
        msg = await session.get(Message, msg_id)
        if conv is None or msg is None or msg.status != InboundStatus.PENDING.value:
            return  # already handled (e.g. routed by a handoff while the bot was thinking)
        reason = reason_for(turn.intent, self.reason_map)
        msg.intent, msg.confidence, msg.reason = turn.intent, turn.confidence, reason
        msg.status = InboundStatus.PROCESSED.value
        msg.processed_at = utcnow()
        # Urgent sticks to the conversation; otherwise the latest specific reason wins.
        if conv.reason != "urgent" and (reason != "other" or conv.reason is None):
            conv.reason = reason
        conv.bot_failures = 0
        handoff: dict[str, Any] | None = None
        queued = 0
        for reply in turn.replies:
            custom = reply.get("custom")
            if isinstance(custom, dict) and isinstance(custom.get("atende"), dict):
                signal = custom["atende"]
                if isinstance(signal.get("handoff"), dict):
                    handoff = signal["handoff"]
                continue  # control messages are never shown to the patient
            text = reply.get("text") or ""
            payload: dict[str, Any] = {}
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in reply.get("buttons") or []
                if isinstance(b, dict)
            ]
            if buttons:
                payload["buttons"] = buttons
            if reply.get("image"):
                payload["image"] = reply["image"]
            if isinstance(custom, dict):
                payload["custom"] = custom
            if not text and not payload:
                continue
            store.add_outbound(session, conv, Sender.BOT, text, payload)
            queued += 1
        if handoff is not None and conv.state == ConversationState.BOT.value:
            await self._hand_off(session, events, conv, handoff, actor="bot", slots=turn.slots)
        if queued:
            events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})

    async def _hand_off(
        self, session: Any, events: Events, conv: Conversation, handoff: dict[str, Any], actor: str,
        slots: dict[str, Any] | None = None,
    ) -> None:
        """Enter the human queue (services/assignment.py chooses the queue and wakes the assigners)."""
        priority = handoff.get("priority") if handoff.get("priority") in PRIORITIES else "normal"
        reason = str(handoff.get("reason") or "human")[:64]
        context = bot_context_slots(slots or {})
        attributes = list(handoff.get("skills") or []) + slot_attributes(context)
        await enqueue_handoff(
            session, events, conv, self.handoff_config, reason=reason, priority=str(priority),
            note=str(handoff.get("note") or "")[:500], actor=actor, attributes=attributes, slots=context,
            queue=str(handoff["queue"]) if isinstance(handoff.get("queue"), str) else None,
        )
        await store.route_pending_to_humans(session, conv.id, InboundStatus.ROUTED)

    def _urgent_categories(self, text: str) -> list[str]:
        if self.red_flags is None:
            return []
        try:
            return self.red_flags(text)
        except Exception:  # the rules must never make an outage worse: fall back to the normal path
            log.exception("red-flag rules failed while the bot was down")
            return []

    async def _bot_failed(
        self, conv_id: str, owner: str, msg_id: int, created_at: Any, failures: int, error: str, text: str = ""
    ) -> None:
        now = utcnow()
        waited = (now - created_at).total_seconds()
        urgent = self._urgent_categories(text) if failures == 0 else []
        async with self.uow() as (session, events):
            conv = await session.get(Conversation, conv_id)
            if conv is None:
                return
            if urgent and conv.state == ConversationState.BOT.value:
                # Clinical rule: an emergency never waits for the bot to come back.
                log.warning("bot unavailable; red flag found by the hub's rules: urgent handoff now")
                await store.route_pending_to_humans(session, conv_id, InboundStatus.HANDED_OFF)
                await self._hand_off(
                    session, events, conv,
                    {"reason": "urgent", "priority": "urgent",
                     "note": "bot indisponível; sinal de alerta pelas regras clínicas: " + ", ".join(urgent)},
                    actor="system",
                )
                store.add_outbound(session, conv, Sender.SYSTEM,
                                   SAFETY_TEXT + (SAFETY_SUICIDE_TEXT if "suicide" in urgent else ""))
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
                await store.release_bot_lease(session, conv_id, owner)
                return
            if (waited >= self.settings.bot_holding_seconds and conv.state == ConversationState.BOT.value
                    and not await store.has_event_since(session, conv_id, HOLDING_EVENT, created_at)):
                # one holding reply per outage: the patient knows they were heard
                store.add_outbound(session, conv, Sender.SYSTEM, BOT_HOLDING_TEXT)
                await store.add_event(session, conv_id, HOLDING_EVENT, "system", {"message_id": msg_id})
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
            if waited >= self.settings.bot_grace_seconds and conv.state == ConversationState.BOT.value:
                log.warning("bot unavailable past the grace period; handing a conversation to humans")
                # Mark what the bot never answered before the handoff routes the rest.
                await store.route_pending_to_humans(session, conv_id, InboundStatus.HANDED_OFF)
                await self._hand_off(
                    session, events, conv, {"reason": "bot_unavailable", "priority": "high",
                                            "note": error[:200]}, actor="system"
                )
                store.add_outbound(session, conv, Sender.SYSTEM, BOT_DOWN_TEXT)
                events.add(WORK_TOPIC, {"kind": "outbox", "conversation_id": conv.id})
                await store.release_bot_lease(session, conv_id, owner)
                return
            conv.bot_failures = failures + 1
            delay = retry_delay(conv.bot_failures, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
            # Never park past the grace deadline: the handoff must happen on time.
            deadline = created_at + timedelta(seconds=self.settings.bot_grace_seconds)
            retry_at = min(now + timedelta(seconds=delay), max(deadline, now))
            log.info("bot unavailable (%s); retry in %.1fs", error, (retry_at - now).total_seconds())
            await store.release_bot_lease(session, conv_id, owner, retry_at=retry_at)


def _never_answer(msg: Message) -> bool:
    """Mail written by a program (auto-reply, bulk, bounce: `connectors/email.py`) is stored for
    the staff but never reaches the bot, so nothing ever answers it."""
    metadata = (msg.payload or {}).get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("no_reply"))


def _bot_text(msg: Message) -> str:
    """What the bot receives: a button's payload (an intent like `/request_human` or a canned
    sentence like "Quero marcar uma consulta") rather than the button's title, or the text."""
    payload = (msg.payload or {}).get("payload")
    if isinstance(payload, str) and payload.strip():
        return payload
    text = msg.text
    if not text and (msg.payload or {}).get("attachments"):
        text = "/media_received"
    return text
