"""Live notifications of the human side (staff topic) and assignment wake-ups.

Every staff event names the conversation's `queue` and its `agent_id` (the agent it concerns,
or None), so the staff WebSocket can show attendants only their queues and their own
conversations; ``audience: "managers"`` marks alerts for managers only (docs/CONTRACTS.md).
"""

from __future__ import annotations

from typing import Any

from handoff.adapters.sql.models import Conversation
from handoff.services.unit_of_work import STAFF_TOPIC, WORK_TOPIC, Events

ASSIGN_KIND = "assign"  # WORK_TOPIC wake-up of the assignment loop on every replica


def staff_event(type_: str, conv: Conversation, **extra: Any) -> dict[str, Any]:
    """A staff-topic event about one conversation."""
    event: dict[str, Any] = {
        "type": type_,
        "conversation_id": conv.id,
        "queue": conv.queue,
        "agent_id": conv.assigned_agent_id,
        "state": conv.state,
        "priority": conv.priority,
        "channel": conv.channel,
    }
    event.update(extra)
    return event


def notify(events: Events, type_: str, conv: Conversation, **extra: Any) -> None:
    """Queue a staff event for publication after commit."""
    events.add(STAFF_TOPIC, staff_event(type_, conv, **extra))


def kick_assignment(events: Events) -> None:
    """Ask every replica's assignment loop to run soon (after commit)."""
    events.add(WORK_TOPIC, {"kind": ASSIGN_KIND})
