"""SLA clocks of one conversation as the inbox, the queue and the monitor see them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Conversation
from handoff.domain import events as ev
from handoff.domain.business_time import BusinessCalendar, NoBusinessTime
from handoff.domain.sla import ClockStatus, SlaClock, SlaStatus, evaluate_sla
from handoff.services.handoff_config import HandoffConfig


def conversation_sla(
    conv: Conversation, rows: Sequence[tuple[str, datetime]], config: HandoffConfig, now: datetime
) -> SlaStatus:
    """The conversation's clocks at `now` from its events, under its queue/priority policy."""
    policy = config.policy(conv.queue, conv.priority)
    facts = ev.sla_events(rows)
    try:
        return evaluate_sla(facts, policy, config.calendar, now)
    except NoBusinessTime:  # a clinic without opening hours: measure calendar time instead
        return evaluate_sla(facts, policy, BusinessCalendar.always_open(config.calendar.tz), now)


def clock_view(clock: SlaClock) -> dict[str, Any]:
    """One clock as JSON."""
    percent = clock.percent_used
    deadline = clock.deadline
    return {
        "metric": clock.metric.value,
        "state": clock.state.value,
        "status": clock.status.value,
        "percent": None if percent is None else round(percent, 1),
        "deadline": deadline.isoformat() if deadline is not None else None,
        "elapsed_seconds": round(clock.elapsed_seconds, 1),
        "target_seconds": clock.target_seconds,
    }


def headline_clock(status: SlaStatus) -> dict[str, Any] | None:
    """The most pressing clock: running with the nearest deadline, else the most used live one.

    The queue shows this as ``sla: {metric, state, percent, deadline}``.
    """
    running = [c for c in status.clocks() if c.status is ClockStatus.RUNNING and c.deadline is not None]
    if running:
        best = min(running, key=lambda c: c.deadline or status.episode_started_at or utcnow())
    else:
        live = [c for c in status.clocks() if c.status is not ClockStatus.STOPPED and c.percent_used is not None]
        if not live:
            return None
        best = max(live, key=lambda c: c.percent_used or 0.0)
    view = clock_view(best)
    return {k: view[k] for k in ("metric", "state", "percent", "deadline")}


def sla_view(status: SlaStatus) -> dict[str, Any]:
    """Every clock of the episode (conversation detail)."""
    deadline = status.next_deadline
    return {
        "state": status.worst_state.value,
        "next_deadline": deadline.isoformat() if deadline is not None else None,
        "waiting_patient": status.waiting_patient,
        "clocks": [clock_view(c) for c in status.clocks()],
    }
