"""SLA clocks of open conversations and the escalation ladder, fired once each.

Every `sla_monitor_interval_seconds` each hub process looks at the conversations humans own,
replays their lifecycle events into clocks (`sla.evaluate_sla`, on the clinic's business
calendar) and fires the levels that came due (`sla.due_escalations`). Firing is idempotent
across processes: per conversation, inside one transaction holding the conversation's row
lock, the escalation row (unique ``(conversation_id, key)``) is inserted *before* acting; a
process that loses the insert does nothing. The actions:

- `notify_agent` → ``sla_warning`` event, pushed to the assigned agent (or the queue);
- `alert_manager` → ``sla_breach`` event, pushed to managers (the dashboard's live alert);
- `reassign` → the conversation goes back to its queue away from that agent (``requeued``);
- `bump_priority` → priority one level up (``priority_changed``); both under ``escalation``.

The event type follows the level's threshold: below 100% ``sla_warning``, exactly 100%
``sla_breach``, beyond ``escalation``.

The same loop also purges, every `PURGE_INTERVAL_SECONDS`, the delivery reports kept for a
provider id no message ever took (`channel_store.PENDING_REPORT_TTL`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql import channel_store, store
from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Conversation
from handoff.adapters.tasks import cancel_and_wait, guarded
from handoff.domain import events as ev
from handoff.domain.routing import Priority
from handoff.domain.sla import DueEscalation, EscalationAction, due_escalations
from handoff.services.assignment import requeue_conversation
from handoff.services.handoff_config import HandoffConfig
from handoff.services.notify import kick_assignment, notify
from handoff.services.sla_views import conversation_sla
from handoff.services.unit_of_work import Events, UnitOfWork

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 600.0


def _event_type(ratio: float) -> str:
    if ratio < 1.0 - 1e-9:
        return ev.SLA_WARNING
    if ratio <= 1.0 + 1e-9:
        return ev.SLA_BREACH
    return ev.ESCALATION


class SlaMonitor:
    """The periodic task; `tick()` is one pass (tests call it directly)."""

    def __init__(self, uow: UnitOfWork, config: HandoffConfig, interval: float) -> None:
        self.uow = uow
        self.config = config
        self.interval = interval
        self._ratios = {lvl.level: lvl.at_ratio for lvl in config.ladder}
        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        """Run `tick` every `interval` seconds until `stop`."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        await cancel_and_wait([self._task])

    async def _loop(self) -> None:
        next_purge = 0.0
        while True:
            # The next tick (purge) retries; never log conversation data.
            await guarded(self.tick, lambda exc: log.warning("SLA monitor pass failed: %s", type(exc).__name__))
            if asyncio.get_running_loop().time() >= next_purge:
                next_purge = asyncio.get_running_loop().time() + PURGE_INTERVAL_SECONDS
                await guarded(self.purge_stale_reports, lambda exc: log.warning(
                    "purge of stale delivery reports failed: %s", type(exc).__name__))
            await asyncio.sleep(self.interval)

    async def purge_stale_reports(self, now: datetime | None = None) -> int:
        """Drop delivery reports that waited longer than `channel_store.PENDING_REPORT_TTL` for
        their message's provider id (reports about messages that were never ours)."""
        async with self.uow() as (session, _):
            purged = await channel_store.purge_pending_reports(session, now)
        if purged:
            log.info("purged %d stale delivery report(s)", purged)
        return purged

    async def tick(self, now: datetime | None = None) -> int:
        """Fire every escalation that is due now. Returns how many this process fired."""
        now = now or utcnow()
        async with self.uow() as (session, _):
            convs = list(
                (await session.execute(select(Conversation).where(Conversation.state.in_(hs.HUMAN_STATES))))
                .scalars()
                .all()
            )
            ids = [c.id for c in convs]
            rows = await hs.sla_event_rows(session, ids)
            fired = await hs.fired_keys(session, ids)
        candidates = [
            c.id for c in convs if due_escalations(conversation_sla(c, rows[c.id], self.config, now), fired[c.id],
                                                   self.config.ladder)
        ]
        total = 0
        for conv_id in candidates:
            total += await self._fire(conv_id, now)
        return total

    async def _fire(self, conv_id: str, now: datetime) -> int:
        """Re-check under the row lock and fire what is still due (insert first, then act)."""
        count = 0
        async with self.uow() as (session, events):
            conv = await hs.conversation_for_update(session, self.uow.dialect, conv_id)
            if conv is None or conv.state not in hs.HUMAN_STATES:
                return 0
            rows = (await hs.sla_event_rows(session, [conv_id]))[conv_id]
            fired = (await hs.fired_keys(session, [conv_id]))[conv_id]
            status = conversation_sla(conv, rows, self.config, now)
            for due in due_escalations(status, fired, self.config.ladder):
                action = ",".join(a.value for a in due.actions)
                inserted = await hs.insert_escalation(session, self.uow.dialect, conv_id, due.key, due.metric.value,
                                                      due.level, action, now)
                if not inserted:
                    continue  # another process fired it
                await self._act(session, events, conv, due, action, now)
                count += 1
        return count

    async def _act(
        self, session: AsyncSession, events: Events, conv: Conversation, due: DueEscalation, action: str,
        now: datetime,
    ) -> None:
        ratio = self._ratios.get(due.level, 1.0)
        type_ = _event_type(ratio)
        data = {"metric": due.metric.value, "level": due.level, "action": action, "cycle": due.cycle, "key": due.key,
                "reached_at": due.reached_at.isoformat() if due.reached_at else None}
        await store.add_event(session, conv.id, type_, "system", data)
        agent_id = conv.assigned_agent_id
        managers = set(due.actions) != {EscalationAction.NOTIFY_AGENT}
        notify(events, type_, conv, metric=due.metric.value, level=due.level, action=action,
               audience="managers" if managers else "agent")
        if EscalationAction.BUMP_PRIORITY in due.actions:
            before = Priority.parse(conv.priority) if conv.priority else Priority.NORMAL
            after = before.bumped()
            if after is not before:
                conv.priority = after.label
                await store.add_event(session, conv.id, ev.PRIORITY_CHANGED, "system",
                                      {"from": before.label, "to": after.label, "by": "sla_escalation"})
        if EscalationAction.REASSIGN in due.actions and agent_id is not None and conv.state in hs.HELD_STATES:
            await requeue_conversation(session, events, conv, "sla_escalation", exclude=True, actor="system")
            kick_assignment(events)
        log.info("SLA %s fired (level %d)", type_, due.level)
