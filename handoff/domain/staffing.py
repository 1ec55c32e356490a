"""Erlang C staffing: how many attendants an hour needs to meet a service level.

Model (M/M/N queue, blocked contacts wait, nobody abandons):

- arrival rate λ = calls_per_hour / 3600 per second; traffic intensity A = λ · AHT (Erlangs);
- Erlang B by the stable recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)) — no factorials
  or powers, so it works for hundreds of agents without overflow;
- Erlang C (probability a contact waits) C = N·B / (N − A·(1 − B)) for N > A, else 1;
- service level SL(T) = 1 − C · exp(−(N − A) · T / AHT) (share answered within T seconds);
- average speed of answer ASA = C · AHT / (N − A);
- occupancy = A / N.

`agents_needed` is the smallest N with N > A, SL ≥ target and occupancy ≤ the cap. Erlang C
ignores abandonment (so it slightly over-staffs, the safe side for a clinic) and assumes one
contact per agent at a time; for chat with concurrency k, pass AHT / k as an approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# No clinic needs more; it bounds the search when a target is unreachable.
MAX_AGENTS = 10_000


def traffic_erlangs(calls_per_hour: float, aht_seconds: float) -> float:
    """Offered load A = λ · AHT in Erlangs."""
    if calls_per_hour < 0 or aht_seconds <= 0:
        raise ValueError("calls_per_hour must be >= 0 and aht_seconds > 0")
    return calls_per_hour * aht_seconds / 3600.0


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of an Erlang B system with `agents` servers (iterative recursion)."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must be >= 0")
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a contact has to wait; 1.0 when the queue is unstable (N ≤ A)."""
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1.0 - b))


def service_level(agents: int, traffic: float, aht_seconds: float, target_answer_seconds: float) -> float:
    """Share of contacts answered within `target_answer_seconds` (0.0 when unstable)."""
    if agents <= traffic:
        return 0.0
    if traffic == 0:
        return 1.0
    waiting = erlang_c(agents, traffic)
    return 1.0 - waiting * math.exp(-(agents - traffic) * target_answer_seconds / aht_seconds)


def average_speed_of_answer(agents: int, traffic: float, aht_seconds: float) -> float:
    """ASA in seconds over all contacts (inf when unstable)."""
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_seconds / (agents - traffic)


def occupancy(agents: int, traffic: float) -> float:
    """Share of agent time spent handling contacts (capped at 1)."""
    if agents <= 0:
        return 1.0 if traffic > 0 else 0.0
    return min(traffic / agents, 1.0)


@dataclass(frozen=True)
class StaffingReport:
    """Every Erlang C figure for one hour at a given head count."""

    agents: int
    traffic_erlangs: float
    probability_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float


def report(calls_per_hour: float, aht_seconds: float, agents: int, target_answer_seconds: float) -> StaffingReport:
    """Erlang C figures of `agents` attendants facing that volume and handle time."""
    a = traffic_erlangs(calls_per_hour, aht_seconds)
    return StaffingReport(
        agents=agents,
        traffic_erlangs=a,
        probability_wait=erlang_c(agents, a) if a > 0 else 0.0,
        service_level=service_level(agents, a, aht_seconds, target_answer_seconds),
        asa_seconds=average_speed_of_answer(agents, a, aht_seconds) if a > 0 else 0.0,
        occupancy=occupancy(agents, a),
    )


def agents_needed(
    calls_per_hour: float,
    aht_seconds: float,
    target_answer_seconds: float,
    target_service_level: float,
    max_occupancy: float = 1.0,
) -> int:
    """Smallest head count meeting the service level and the occupancy cap (0 with no traffic).

    Example: 100 calls/h, AHT 180 s, 80% in 20 s → A = 5 Erlangs → 8 agents (SL ≈ 0.880;
    7 agents give ≈ 0.740).
    """
    if not 0 < target_service_level < 1:
        raise ValueError("target_service_level must be between 0 and 1 (exclusive)")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    if target_answer_seconds < 0:
        raise ValueError("target_answer_seconds must be >= 0")
    a = traffic_erlangs(calls_per_hour, aht_seconds)
    if a == 0:
        return 0
    # Start at the first stable head count that also respects the occupancy cap, and carry
    # Erlang B forward one agent at a time (O(N) overall, no recomputation per candidate).
    n = max(math.floor(a) + 1, math.ceil(a / max_occupancy - 1e-9))
    b = erlang_b(n, a)
    while n <= MAX_AGENTS:
        waiting = n * b / (n - a * (1.0 - b))
        sl = 1.0 - waiting * math.exp(-(n - a) * target_answer_seconds / aht_seconds)
        if sl >= target_service_level:
            return n
        n += 1
        b = a * b / (n + a * b)
    raise ValueError("target not reachable within MAX_AGENTS")


def scheduled_agents(agents_on_phones: int, shrinkage: float) -> int:
    """Head count to roster so that `agents_on_phones` remain after breaks, training, absence."""
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    return math.ceil(agents_on_phones / (1.0 - shrinkage) - 1e-9)
