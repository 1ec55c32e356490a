"""One transaction plus the events it produced, published only after it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.bus import Bus
from handoff.adapters.sql.database import Database
from handoff.adapters.sql.store import StoredMessage


class Events(list[tuple[str, dict[str, Any]]]):
    """Events collected during a transaction: (topic, event)."""

    def add(self, topic: str, event: dict[str, Any]) -> None:
        """Queue an event for publication after commit."""
        self.append((topic, event))


class UnitOfWork:
    """`async with uow() as (session, events)`: commit, then publish."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self.db = db
        self.bus = bus

    @property
    def dialect(self) -> str:
        """The database dialect name."""
        return self.db.dialect

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[tuple[AsyncSession, Events]]:
        events = Events()
        async with self.db.session() as session:
            yield session, events
        # Only reached when the transaction committed.
        for topic, event in events:
            await self.bus.publish(topic, event)


def conversation_topic(conversation_id: str) -> str:
    """Bus topic carrying live frames for one conversation (patient widget, inbox)."""
    return f"conversation:{conversation_id}"


WORK_TOPIC = "work"  # wake-ups for pipeline workers on every replica
STAFF_TOPIC = "staff"  # inbox-wide notifications (new handoffs, new messages for humans)


def message_view(m: StoredMessage) -> dict[str, Any]:
    """Channel-neutral view of a message, as carried on the bus and shown in chat UIs."""
    return {
        "id": m.id,
        "client_id": m.provider_message_id if m.direction == "in" else None,
        "direction": m.direction,
        "sender": m.sender,
        "text": m.text,
        "buttons": list(m.payload.get("buttons") or []),
        "created_at": m.created_at.isoformat(),
    }
