"""SQL queries of the e-mail channel: threading by Message-ID, never by subject.

Every mail we receive or send is a `messages` row on channel `email` whose provider id is its
Message-ID (`connectors.email.message_key`), so `In-Reply-To`/`References` resolve to rows.
The thread headers of a conversation are those of the patient's latest mail (stored in its
`payload.metadata`), so every reply answers the mail that is actually being answered.
A bounce names the Message-ID of the reply it is about: `sent_reply` finds that reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.email_common import CHANNEL
from connectors.email_replies import ThreadRef
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message
from handoff.domain.messages import Direction

_SCAN = 25  # recent inbound mails looked at for the latest one a person wrote


async def thread_of(session: AsyncSession, conversation_id: str) -> ThreadRef | None:
    """The mail a reply in this conversation answers: the patient's latest non-automatic mail."""
    rows = (
        await session.execute(
            select(Message.payload)
            .where(Message.conversation_id == conversation_id, Message.channel == CHANNEL,
                   Message.direction == Direction.IN.value)
            .order_by(Message.id.desc())
            .limit(_SCAN)
        )
    ).scalars().all()
    fallback: ThreadRef | None = None
    for payload in rows:
        ref = _ref(payload)
        if ref is None:
            continue
        if not (payload.get("metadata") or {}).get("no_reply"):
            return ref
        fallback = fallback or ref
    return fallback


def _ref(payload: dict[str, Any] | None) -> ThreadRef | None:
    meta = (payload or {}).get("metadata") if isinstance(payload, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("message_id"), str):
        return None
    refs = meta.get("references")
    refs = refs if isinstance(refs, list) else []
    return ThreadRef(message_id=meta["message_id"], references=tuple(str(r) for r in refs),
                     subject=str(meta.get("subject") or ""))


async def conversation_of_thread(session: AsyncSession, keys: Sequence[str]) -> tuple[str, str] | None:
    """(conversation id, address) of the conversation a mail replies to, found by its
    `In-Reply-To`/`References` keys (newest first); None when none of them is a stored mail."""
    for key in list(dict.fromkeys(keys))[:50]:
        row = (
            await session.execute(
                select(Conversation.id, ChannelIdentity.external_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.channel == CHANNEL, Message.provider_message_id == key)
                .limit(1)
            )
        ).first()
        if row is not None:
            return str(row[0]), str(row[1])
    return None


@dataclass(frozen=True)
class SentReply:
    """One of our outbound mails, as a bounce refers to it."""

    message_id: int
    conversation_id: str
    provider_id: str  # our Message-ID (stored key)
    address: str  # whom it was sent to: the conversation's address


async def sent_reply(session: AsyncSession, keys: Sequence[str]) -> SentReply | None:
    """Our outbound mail known by the first of these Message-ID keys that is one (None: none is)."""
    for key in list(dict.fromkeys(keys))[:20]:
        row = (
            await session.execute(
                select(Message.id, Message.conversation_id, ChannelIdentity.external_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(Message.channel == CHANNEL, Message.direction == Direction.OUT.value,
                       Message.provider_message_id == key)
                .limit(1)
            )
        ).first()
        if row is not None:
            return SentReply(int(row[0]), str(row[1]), key, str(row[2]))
    return None
