"""Agent presence from the live staff connection.

- A staff WebSocket opening makes the agent ``online`` (unless they chose ``away``) and wakes
  the assigners; the agent may switch between ``online`` and ``away`` (no new conversations)
  while connected (`PUT /api/agents/me/presence`).
- When the agent's last connection (every tab, every replica: `ConnectionCounter`) closes,
  they become ``offline`` after `grace` seconds, so a page reload does not flap. A periodic
  sweep does the same for connections lost with a crashed replica (their Redis entries
  expire) and for a status set without any open connection.
- Requeue of an offline agent's conversations has its own, longer grace
  (`RequeuePolicy.offline_grace_seconds`, counted from `presence_at`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from handoff.adapters.presence import ConnectionCounter
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import StaffUser
from handoff.adapters.tasks import cancel_and_wait
from handoff.domain.routing import Presence
from handoff.services.notify import kick_assignment
from handoff.services.unit_of_work import STAFF_TOPIC, UnitOfWork

log = logging.getLogger(__name__)


class PresenceService:
    """Presence changes, persisted on `staff_users` and published to managers."""

    def __init__(self, uow: UnitOfWork, connections: ConnectionCounter, *, grace: float) -> None:
        self.uow = uow
        self.connections = connections
        self.grace = grace
        self._pending: set[asyncio.Task[Any]] = set()

    async def connected(self, agent_id: int) -> str:
        """A staff socket opened: count it and go online (an ``away`` choice is kept)."""
        conn_id = uuid.uuid4().hex
        await self.connections.add(agent_id, conn_id)
        await self._set(agent_id, Presence.ONLINE, keep=(Presence.AWAY,))
        return conn_id

    async def heartbeat(self, agent_id: int, conn_id: str) -> None:
        """Keep the connection counted (Redis entries expire otherwise)."""
        await self.connections.refresh(agent_id, conn_id)

    async def disconnected(self, agent_id: int, conn_id: str) -> None:
        """A staff socket closed: offline after the grace period if it was the last one."""
        remaining = await self.connections.remove(agent_id, conn_id)
        if remaining == 0:
            task = asyncio.create_task(self._offline_later(agent_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _offline_later(self, agent_id: int) -> None:
        await asyncio.sleep(self.grace)
        try:
            if await self.connections.count(agent_id) == 0:
                await self._set(agent_id, Presence.OFFLINE)
        except Exception as exc:  # noqa: BLE001 - the periodic sweep catches it later
            log.warning("presence update failed: %s", type(exc).__name__)

    async def set_status(self, agent_id: int, status: Presence) -> None:
        """The agent's own choice (online / away / offline)."""
        await self._set(agent_id, status)

    async def sweep(self) -> int:
        """Mark offline the agents with no live connection for longer than the grace period."""
        cutoff = utcnow() - timedelta(seconds=self.grace)
        async with self.uow() as (session, _):
            rows = (
                await session.execute(
                    select(StaffUser.id, StaffUser.presence_at).where(
                        StaffUser.presence != Presence.OFFLINE.value, StaffUser.active
                    )
                )
            ).all()
        changed = 0
        for agent_id, presence_at in rows:
            at = as_utc(presence_at)
            if at is not None and at > cutoff:
                continue
            if await self.connections.count(int(agent_id)) == 0 and await self._set(int(agent_id), Presence.OFFLINE):
                changed += 1
        return changed

    async def _set(self, agent_id: int, status: Presence, keep: tuple[Presence, ...] = ()) -> bool:
        now = utcnow()
        async with self.uow() as (session, events):
            row = await session.get(StaffUser, agent_id)
            if row is None or row.presence == status.value or row.presence in {k.value for k in keep}:
                return False
            row.presence = status.value
            row.presence_at = now
            events.add(STAFF_TOPIC, {"type": "presence", "agent_id": agent_id, "status": status.value,
                                     "at": now.isoformat(), "audience": "managers"})
            if status is Presence.ONLINE:
                kick_assignment(events)
        return True

    async def close(self) -> None:
        """Cancel pending offline timers (the sweep of the next start takes over)."""
        await cancel_and_wait(list(self._pending))
