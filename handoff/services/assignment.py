"""Handoffs entering the queue, automatic assignment and requeue (docs/routing.md).

- `enqueue_handoff` (inside the bot pipeline's transaction): choose the queue from the reason
  and the conversation's attributes (`routing.choose_queue`), start the wait, record the
  ``handoff`` event, notify staff and wake the assigners.
- `Assigner.run_once`: inside one transaction holding the assignment lock
  (`handoff_store.lock_assignment`: a PostgreSQL advisory lock, so several hub processes take
  turns; SQLite's single process is serialized by BEGIN IMMEDIATE) it requeues what
  `routing.requeue_decisions` says (agent offline past the grace period, no answer in time),
  moves urgent items of closed teams to on-call, and applies `routing.assign`'s plan
  (QUEUED→ASSIGNED through the lifecycle), persisting round-robin cursors. It runs on every
  wake-up (new handoff, an agent coming online, capacity freed) and on a periodic tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.bus import Bus, follow
from handoff.adapters.sql import handoff_store as hs
from handoff.adapters.sql import store
from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import Conversation, StaffUser
from handoff.adapters.tasks import cancel_and_wait
from handoff.domain import events as ev
from handoff.domain.lifecycle import ConversationState, Transition
from handoff.domain.routing import (
    ActiveAssignment,
    AgentState,
    AssignmentPlan,
    Presence,
    Priority,
    QueueDecision,
    WaitingItem,
    assign,
    choose_queue,
    on_call_reroutes,
    requeue_decisions,
    required_skills,
)
from handoff.services.handoff_config import HandoffConfig, clean_attributes
from handoff.services.notify import ASSIGN_KIND, kick_assignment, notify
from handoff.services.sla_views import conversation_sla
from handoff.services.unit_of_work import WORK_TOPIC, Events, UnitOfWork

log = logging.getLogger(__name__)

ATTENDANT = "attendant"


def _priority(value: str | None) -> Priority:
    try:
        return Priority.parse(value or "normal")
    except ValueError:
        return Priority.NORMAL


# -- entering the queue ---------------------------------------------------------------------


async def enqueue_handoff(
    session: AsyncSession,
    events: Events,
    conv: Conversation,
    config: HandoffConfig,
    *,
    reason: str,
    priority: str,
    note: str = "",
    actor: str = "bot",
    attributes: Sequence[str] = (),
    slots: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    queue: str | None = None,
) -> QueueDecision:
    """Move a bot conversation to a human queue (BOT→QUEUED) in the caller's transaction.

    `reason` is the handoff cause the bot gave (``human``, ``urgent``, ``misunderstood``…);
    the queue is chosen from the conversation's reason tag (`conv.reason`), which is
    ``urgent`` whenever the cause or the priority is urgent, unless the hand-off names a
    `queue` the clinic has (a staff-taught intent's hand-off; never for urgent ones).
    """
    now = now or utcnow()
    prio = _priority(priority)
    if reason == "urgent" or prio is Priority.URGENT:
        conv.reason = "urgent"
        prio = Priority.URGENT
    attrs = clean_attributes(list(attributes))
    decision = choose_queue(conv.reason or "other", attrs, prio, now, config.routing, preferred=queue)
    conv.priority = prio.label
    conv.handoff_reason = reason[:64]
    conv.handoff_note = note[:500] or None
    conv.queue = decision.queue
    conv.skills = attrs
    conv.waiting_since = now
    conv.assigned_agent_id = None
    conv.assigned_at = None
    conv.first_response_at = None
    conv.resolved_at = None
    conv.outcome = None
    conv.excluded_agents = []
    conv.csat_asked_at = None
    conv.nps_asked_at = None
    # Sticky: the patient's last agent (on any channel) within the window gets it when available.
    sticky = await hs.last_agent_of_patient(session, conv.patient_id, now - timedelta(seconds=config.sticky_seconds))
    if sticky is not None:
        conv.last_agent_id, conv.last_agent_at = sticky
    data: dict[str, Any] = {"reason": conv.handoff_reason, "reason_tag": conv.reason or "other",
                            "priority": prio.label, "queue": decision.queue, "note": conv.handoff_note or "",
                            "on_call": decision.on_call, "skills": attrs}
    if slots:
        data["slots"] = dict(slots)
    await store.transition(session, conv, Transition.HANDOFF, actor, data)
    notify(events, "handoff", conv, reason=conv.reason, handoff_reason=conv.handoff_reason,
           waiting_since=now.isoformat())
    kick_assignment(events)
    return decision


# -- building the domain's view ------------------------------------------------------------


def agent_state(row: StaffUser, loads: Mapping[int, Mapping[str, int]], config: HandoffConfig) -> AgentState:
    """An agent row and their open conversations as routing sees them."""
    try:
        presence = Presence(row.presence)
    except ValueError:
        presence = Presence.OFFLINE
    capacity = {str(k): int(v) for k, v in (row.max_per_channel or {}).items()}
    return AgentState(
        agent_id=row.id,
        presence=presence,
        queues=frozenset(row.queues) if row.queues else frozenset(config.queue_names),
        skills=frozenset(row.skills or ()),
        max_concurrent=row.max_concurrent,
        channel_capacity=capacity,
        open_by_channel=dict(loads.get(row.id, {})),
        idle_since=as_utc(row.last_assigned_at),
        presence_since=as_utc(row.presence_at),
    )


def waiting_item(
    conv: Conversation, config: HandoffConfig, now: datetime, sla_deadline: datetime | None = None
) -> WaitingItem:
    """A queued conversation as routing sees it."""
    queue = conv.queue or config.routing.default_queue
    try:
        needed = required_skills(config.routing.queue(queue), conv.skills or ())
    except KeyError:
        needed = frozenset()
    last_at = as_utc(conv.last_agent_at)
    sticky = conv.last_agent_id if last_at is not None and (now - last_at).total_seconds() <= config.sticky_seconds \
        else None
    return WaitingItem(
        conversation_id=conv.id,
        queue=queue,
        priority=_priority(conv.priority),
        channel=conv.channel,
        waiting_since=as_utc(conv.waiting_since) or as_utc(conv.updated_at) or now,
        required_skills=needed,
        sla_deadline=sla_deadline,
        last_agent_id=sticky,
        excluded_agents=frozenset(int(a) for a in conv.excluded_agents or ()),
        reason=conv.reason or "other",
    )


def _reply_since_assignment(conv: Conversation) -> datetime | None:
    replied, assigned = as_utc(conv.last_agent_reply_at), as_utc(conv.assigned_at)
    if replied is None or assigned is None or replied < assigned:
        return None
    return replied


# -- state changes (caller's transaction) ----------------------------------------------------


async def assign_conversation(
    session: AsyncSession,
    events: Events,
    conv: Conversation,
    agent: StaffUser,
    *,
    by: str,
    actor: str,
    now: datetime | None = None,
) -> None:
    """QUEUED→ASSIGNED (or a transfer to `agent` when someone holds it). Lock held by the caller."""
    now = now or utcnow()
    previous = conv.assigned_agent_id
    if conv.state == ConversationState.QUEUED.value:
        await store.transition(session, conv, Transition.ASSIGN, actor, {"agent_id": agent.id, "by": by})
    else:
        await store.transition(session, conv, Transition.TRANSFER_AGENT, actor,
                               {"agent_id": agent.id, "from_agent_id": previous, "by": by})
    conv.assigned_agent_id = agent.id
    conv.assigned_at = now
    conv.last_agent_id = agent.id
    conv.last_agent_at = now
    agent.last_assigned_at = now
    notify(events, "assigned", conv, by=by, agent_name=agent.name)
    notify(events, "queue_changed", conv, agent_id=previous)  # it left the queue / the previous agent


async def requeue_conversation(
    session: AsyncSession, events: Events, conv: Conversation, reason: str, *, exclude: bool, actor: str
) -> None:
    """Take a held conversation back to its queue (keeps `waiting_since` and the SLA clocks)."""
    agent = conv.assigned_agent_id
    await store.transition(session, conv, Transition.TRANSFER_QUEUE, actor,
                           {"reason": reason, "agent_id": agent, "queue": conv.queue}, event_type=ev.REQUEUED)
    if exclude and agent is not None and agent not in (conv.excluded_agents or []):
        conv.excluded_agents = [*(conv.excluded_agents or []), agent]
        conv.last_agent_at = None  # not sticky back to the agent who let it time out
    conv.assigned_agent_id = None
    conv.assigned_at = None
    notify(events, "requeued", conv, agent_id=agent, reason=reason)
    notify(events, "queue_changed", conv, reason=reason)


# -- the assignment run --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What one assignment run did."""

    assigned: int
    requeued: int
    plan: AssignmentPlan | None


class Assigner:
    """Runs assignment + requeue on wake-ups and on a timer (one loop per hub process)."""

    def __init__(
        self,
        uow: UnitOfWork,
        config: HandoffConfig,
        *,
        interval: float,
        before_run: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.uow = uow
        self.config = config
        self.interval = interval
        self.before_run = before_run  # presence sweep
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    def wake(self) -> None:
        """Run soon (coalesces bursts)."""
        self._wake.set()

    async def start(self, bus: Bus) -> None:
        """Start the loop and the wake-up listener."""
        self._tasks = [asyncio.create_task(self._loop()), asyncio.create_task(self._listen(bus))]

    async def stop(self) -> None:
        """Stop both tasks."""
        await cancel_and_wait(self._tasks)

    async def _listen(self, bus: Bus) -> None:
        def on_event(event: dict[str, Any]) -> None:
            if event.get("kind") == ASSIGN_KIND:
                self.wake()

        # The timer keeps assignment going while the listener is down.
        await follow(bus, WORK_TOPIC, on_event, lambda exc: log.warning(
            "assignment wake listener failed (%s); retrying", type(exc).__name__))

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            await asyncio.sleep(0.05)  # let a burst of wake-ups coalesce into one run
            self._wake.clear()
            try:
                if self.before_run is not None:
                    await self.before_run()
                result = await self.run_once()
                if result.assigned or result.requeued:
                    log.info("assignment run: %d assigned, %d requeued", result.assigned, result.requeued)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried on the next wake-up or tick
                log.warning("assignment run failed: %s", type(exc).__name__)

    async def run_once(self, now: datetime | None = None) -> RunResult:
        """Requeue, reroute and assign in one transaction under the assignment lock."""
        cfg = self.config
        dialect = self.uow.dialect
        async with self.uow() as (session, events):
            await hs.lock_assignment(session, dialect)
            now = now or utcnow()  # after the lock: what the previous holder committed is in the past
            staff_rows = {r.id: r for r in await hs.active_staff(session, dialect, lock=True)}
            loads = await hs.open_loads(session)
            agents = {i: agent_state(r, loads, cfg) for i, r in staff_rows.items()}

            held = await hs.held_conversations(session, dialect)
            active = [
                ActiveAssignment(
                    conversation_id=c.id,
                    agent_id=int(c.assigned_agent_id or 0),
                    assigned_at=as_utc(c.assigned_at) or as_utc(c.updated_at) or now,
                    first_reply_at=_reply_since_assignment(c),
                    waiting_patient=c.state == ConversationState.WAITING_PATIENT.value,
                )
                for c in held
            ]
            decisions = requeue_decisions(active, agents.values(), now, cfg.requeue)
            held_by_id = {c.id: c for c in held}
            for d in decisions:
                await requeue_conversation(session, events, held_by_id[d.conversation_id], d.reason.value,
                                           exclude=d.exclude_agent, actor="system")
            if decisions:
                loads = await hs.open_loads(session)
                agents = {i: agent_state(r, loads, cfg) for i, r in staff_rows.items()}

            waiting = await hs.waiting_conversations(session, dialect)
            if not waiting:
                return RunResult(0, len(decisions), None)
            by_id = {c.id: c for c in waiting}
            rows = await hs.sla_event_rows(session, list(by_id))
            items = [waiting_item(c, cfg, now, conversation_sla(c, rows[c.id], cfg, now).next_deadline)
                     for c in waiting]
            moves = on_call_reroutes(items, now, cfg.routing)
            if moves:
                for i, item in enumerate(items):
                    target = moves.get(item.conversation_id)
                    if target is None:
                        continue
                    conv = by_id[item.conversation_id]
                    await store.add_event(session, conv.id, ev.TRANSFER_QUEUE, "system",
                                          {"queue": target, "from_queue": conv.queue, "reason": "on_call"})
                    conv.queue = target
                    notify(events, "queue_changed", conv, reason="on_call")
                    items[i] = waiting_item(conv, cfg, now, item.sla_deadline)
            attendants = [a for i, a in agents.items() if staff_rows[i].role == ATTENDANT]
            cursors = await hs.cursors(session)
            plan = assign(items, attendants, now, cfg.routing, cursors)
            for a in plan.assignments:
                await assign_conversation(session, events, by_id[a.conversation_id], staff_rows[a.agent_id],
                                          by=a.by.value, actor="system", now=now)
            moved = {q: agent for q, agent in plan.cursors.items() if cursors.get(q) != agent}
            if moved:
                await hs.save_cursors(session, dialect, moved)
            return RunResult(len(plan.assignments), len(decisions), plan)


__all__ = [
    "Assigner",
    "RunResult",
    "agent_state",
    "assign_conversation",
    "enqueue_handoff",
    "kick_assignment",
    "requeue_conversation",
    "waiting_item",
]
