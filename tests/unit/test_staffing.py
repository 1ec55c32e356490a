"""Erlang C: checked against exact rational arithmetic and the classic worked figures."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from handoff.domain.staffing import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    occupancy,
    report,
    scheduled_agents,
    service_level,
    traffic_erlangs,
)


def exact_erlang_b(n: int, a: Fraction) -> Fraction:
    """B = (A^N/N!) / Σ_{k=0..N} A^k/k!  — the textbook closed form, in exact fractions."""
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A))."""
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


CASES = (
    [(Fraction(5), n) for n in range(6, 12)]
    + [(Fraction(10), n) for n in range(11, 17)]
    + [
        (Fraction(1, 2), 1),
        (Fraction(37, 4), 12),
    ]
)


@pytest.mark.parametrize(("a", "n"), CASES)
def test_recursion_matches_the_exact_closed_forms(a: Fraction, n: int) -> None:
    assert erlang_b(n, float(a)) == pytest.approx(float(exact_erlang_b(n, a)), rel=1e-12)
    assert erlang_c(n, float(a)) == pytest.approx(float(exact_erlang_c(n, a)), rel=1e-12)


def test_erlang_b_table_value() -> None:
    # Erlang B tables: 5 Erlangs on 10 lines block 1.84% of calls.
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)


# 100 calls per half hour (200/h), AHT 3 min -> 10 Erlangs: the classic worked example.
CLASSIC = [
    # agents, P(wait), SL(20 s), ASA (s)
    (11, 0.6821, 0.3896, 122.8),
    (12, 0.4494, 0.6402, 40.4),
    (13, 0.2853, 0.7956, 17.1),
    (14, 0.1741, 0.8884, 7.8),
    (15, 0.1020, 0.9415, 3.7),
]


@pytest.mark.parametrize(("n", "p_wait", "sl", "asa"), CLASSIC)
def test_classic_ten_erlang_figures(n: int, p_wait: float, sl: float, asa: float) -> None:
    r = report(200, 180, n, 20)
    assert r.traffic_erlangs == 10
    assert r.probability_wait == pytest.approx(p_wait, abs=5e-5)
    assert r.service_level == pytest.approx(sl, abs=5e-5)
    assert r.asa_seconds == pytest.approx(asa, abs=0.05)
    assert r.occupancy == pytest.approx(10 / n)


def test_classic_ten_erlangs_needs_fourteen_agents() -> None:
    # 13 agents give 79.6% (just short of 80/20); 14 give 88.8%.
    assert agents_needed(200, 180, 20, 0.80) == 14


def test_hundred_calls_an_hour() -> None:
    # 100 calls/h, AHT 180 s -> A = 5 Erlangs; 80% in 20 s needs 8 agents.
    assert traffic_erlangs(100, 180) == 5
    assert agents_needed(100, 180, 20, 0.80) == 8
    seven, eight = report(100, 180, 7, 20), report(100, 180, 8, 20)
    assert seven.service_level == pytest.approx(0.7404, abs=5e-5)
    assert eight.service_level == pytest.approx(0.8801, abs=5e-5)
    assert eight.asa_seconds == pytest.approx(10.04, abs=0.01)
    assert eight.occupancy == pytest.approx(0.625)
    # Independent check of SL(8) with exact C: 1 − C·e^{−(N−A)T/AHT}.
    exact = 1 - float(exact_erlang_c(8, Fraction(5))) * math.exp(-(8 - 5) * 20 / 180)
    assert eight.service_level == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize(
    ("calls", "aht", "target", "sl"),
    [(100, 180, 20, 0.8), (200, 180, 20, 0.8), (30, 300, 60, 0.9), (12, 420, 30, 0.7), (900, 240, 15, 0.95)],
)
def test_agents_needed_is_minimal(calls: float, aht: float, target: float, sl: float) -> None:
    n = agents_needed(calls, aht, target, sl)
    a = traffic_erlangs(calls, aht)
    assert service_level(n, a, aht, target) >= sl
    assert n - 1 <= a or service_level(n - 1, a, aht, target) < sl


def test_occupancy_cap_can_drive_the_head_count() -> None:
    assert agents_needed(100, 180, 20, 0.80, max_occupancy=0.5) == 10  # 5 / 10 = 50%
    assert agents_needed(100, 180, 20, 0.80, max_occupancy=0.85) == 8  # SL binds first


def test_large_traffic_is_numerically_stable() -> None:
    # 1000 Erlangs: factorials of that size overflow a float; the recursion does not.
    a = 1000.0
    c = erlang_c(1050, a)
    assert 0 < c < 1
    n = agents_needed(a * 3600 / 180, 180, 20, 0.8)
    assert a < n < 1100
    assert service_level(n, a, 180, 20) >= 0.8


def test_service_level_increases_with_agents() -> None:
    levels = [service_level(n, 10.0, 180, 20) for n in range(11, 30)]
    assert levels == sorted(levels)
    assert levels[-1] == pytest.approx(1.0, abs=1e-6)


def test_unstable_and_empty_systems() -> None:
    assert erlang_c(5, 5.0) == 1.0
    assert service_level(4, 5.0, 180, 20) == 0.0
    assert average_speed_of_answer(5, 5.0, 180) == math.inf
    assert occupancy(4, 5.0) == 1.0
    assert agents_needed(0, 180, 20, 0.8) == 0
    empty = report(0, 180, 0, 20)
    assert (empty.probability_wait, empty.asa_seconds, empty.occupancy) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "args",
    [(-1, 180, 20, 0.8), (100, 0, 20, 0.8), (100, 180, -1, 0.8), (100, 180, 20, 1.0), (100, 180, 20, 0.0)],
)
def test_invalid_inputs(args: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError):
        agents_needed(*args)


def test_invalid_occupancy_and_erlang_arguments() -> None:
    with pytest.raises(ValueError):
        agents_needed(100, 180, 20, 0.8, max_occupancy=0)
    with pytest.raises(ValueError):
        erlang_b(-1, 5.0)


SHRINKAGE = [(8, 0.0, 8), (8, 0.3, 12), (7, 0.3, 10), (10, 0.5, 20)]


@pytest.mark.parametrize(("on_phones", "shrinkage", "rostered"), SHRINKAGE)
def test_scheduled_agents_with_shrinkage(on_phones: int, shrinkage: float, rostered: int) -> None:
    assert scheduled_agents(on_phones, shrinkage) == rostered
