"""What the dashboard's statements (handoff/adapters/sql/metrics_queries.py) return: sums and
counts per range or per (weekday, hour) cell, turned into figures by handoff/services/metrics.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NowFigures:
    """The operation right now."""

    queue_length: int
    oldest_waiting_since: datetime | None
    by_queue: list[tuple[str, int, datetime | None]]
    agents_online: int
    agents_away: int
    capacity_online: int
    open_held_by_online: int


@dataclass(frozen=True)
class EpisodeTotals:
    """Sums and counts over the handoff episodes that started in the range."""

    episodes: int
    assigned: int
    asa_sum: float
    answered: int
    tmr_sum: float
    tmr_p50: float | None
    tmr_p90: float | None
    handled: int
    aht_sum: float
    closed: int
    resolved_ok: int
    outcomes: dict[str, int]
    fcr_eligible: int
    fcr_ok: int
    fcr_pending: int
    fr_met: int
    fr_breached: int
    res_met: int
    res_breached: int
    next_response_breaches: int


@dataclass(frozen=True)
class ContactCell:
    """Contacts whose first message fell in one (weekday, hour) of clinic time."""

    weekday: int
    hour: int
    contacts: int
    contained: int
    booking: int
    converted: int
    by_reason: dict[str, int]


@dataclass(frozen=True)
class HandoffCell:
    """Handoff episodes started in one (weekday, hour) with one reason tag."""

    reason: str
    weekday: int
    hour: int
    count: int


@dataclass(frozen=True)
class CsatTotals:
    """CSAT/NPS answers given in the range."""

    responses: int
    score_sum: int
    satisfied: int
    nps_responses: int
    promoters: int
    detractors: int
