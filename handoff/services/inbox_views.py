"""How the inbox shows its conversations, messages and events (JSON views shared by the inbox's
reads and commands, the staff WebSocket notices and the privacy answer)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import Conversation, ConversationEvent, Message, StaffUser
from handoff.domain.csat import SCORES, csat_payload
from handoff.domain.messaging_window import window_state


def iso(moment: datetime | None) -> str | None:
    value = as_utc(moment)
    return value.isoformat() if value is not None else None


def actor_of(row: StaffUser) -> str:
    return f"agent:{row.id}"


def staff_message_view(m: Message) -> dict[str, Any]:
    """A message as the inbox shows it (any channel)."""
    payload = m.payload or {}
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "channel": m.channel,
        "direction": m.direction,
        "sender": m.sender,
        "text": m.text,
        "buttons": list(payload.get("buttons") or []),
        "attachments": list(payload.get("attachments") or []),
        "agent_id": payload.get("agent_id"),
        "template_id": (payload.get("template") or {}).get("id"),
        "status": m.status,
        "intent": m.intent,
        "confidence": m.confidence,
        "created_at": iso(m.created_at),
    }


def window_view(conv: Conversation, now: datetime | None = None) -> dict[str, Any]:
    """The channel's reply window (docs: handoff/domain/messaging_window.py)."""
    state = window_state(conv.channel, as_utc(conv.last_inbound_at), now or utcnow())
    return {"open": state.open, "closes_at": iso(state.closes_at), "requires_template": state.requires_template}


def render_template(body: str, variables: Sequence[str]) -> str:
    """A template's body with `{{1}}`, `{{2}}`, … filled in (what the history shows)."""
    return re.sub(r"\{\{(\d+)\}\}",
                  lambda m: variables[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(variables) else m.group(0),
                  body)


def conversation_view(conv: Conversation, patient_name: str | None = None,
                      sla: dict[str, Any] | None = None) -> dict[str, Any]:
    """A conversation's summary (lists and action responses)."""
    return {
        "id": conv.id,
        "conversation_id": conv.id,
        "patient_id": conv.patient_id,
        "patient_name": patient_name,
        "channel": conv.channel,
        "state": conv.state,
        "queue": conv.queue,
        "reason": conv.reason,
        "handoff_reason": conv.handoff_reason,
        "priority": conv.priority,
        "assigned_agent_id": conv.assigned_agent_id,
        "last_agent_id": conv.last_agent_id,
        "waiting_since": iso(conv.waiting_since),
        "assigned_at": iso(conv.assigned_at),
        "first_response_at": iso(conv.first_response_at),
        "resolved_at": iso(conv.resolved_at),
        "outcome": conv.outcome,
        "tags": list(conv.tags or []),
        "skills": list(conv.skills or []),
        "created_at": iso(conv.created_at),
        "updated_at": iso(conv.updated_at),
        "last_inbound_at": iso(conv.last_inbound_at),
        "window": window_view(conv),
        "sla": sla,
    }


def event_view(e: ConversationEvent) -> dict[str, Any]:
    """A lifecycle event as JSON."""
    return {"id": e.id, "type": e.type, "actor": e.actor, "data": e.data or {}, "created_at": iso(e.created_at)}


def csat_buttons() -> list[dict[str, str]]:
    """The five score buttons of the CSAT question."""
    return [{"title": str(score), "payload": csat_payload(score)} for score in SCORES]
