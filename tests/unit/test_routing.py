"""Routing: queue choice, ordering with aging, eligibility, strategies, capacity, requeue.

`hypothesis` is not installed in the hub env, so the capacity/uniqueness properties run over
many seeded random scenarios (reproducible, no new dependency).
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.domain.business_time import BusinessCalendar, weekday_hours
from handoff.domain.routing import (
    ActiveAssignment,
    AgentState,
    AgingPolicy,
    AssignedBy,
    Ineligible,
    Presence,
    Priority,
    QueueConfig,
    QueueRule,
    RequeuePolicy,
    RequeueReason,
    RoutingConfig,
    Strategy,
    WaitingItem,
    assign,
    choose_queue,
    default_routing,
    effective_priority,
    ineligibility,
    on_call_reroutes,
    order_queue,
    requeue_decisions,
)

SP = ZoneInfo("America/Sao_Paulo")
CAL = BusinessCalendar.weekly(weekday_hours(((time(8), time(12)), (time(13), time(18)))))
CONFIG = default_routing(CAL)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SP)  # Monday, open
NIGHT = datetime(2026, 3, 2, 22, 0, tzinfo=SP)
ALL_QUEUES = frozenset({"reception", "clinical", "billing", "exams", "on_call"})


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def item(
    cid: str,
    *,
    queue: str = "reception",
    priority: Priority = Priority.NORMAL,
    channel: str = "webchat",
    waited: float = 0,
    deadline_in: float | None = None,
    skills: frozenset[str] = frozenset(),
    last_agent: int | None = None,
    excluded: frozenset[int] = frozenset(),
) -> WaitingItem:
    return WaitingItem(
        conversation_id=cid,
        queue=queue,
        priority=priority,
        channel=channel,
        waiting_since=ago(waited),
        required_skills=skills,
        sla_deadline=None if deadline_in is None else NOW + timedelta(minutes=deadline_in),
        last_agent_id=last_agent,
        excluded_agents=excluded,
    )


def agent(
    aid: int,
    *,
    presence: Presence = Presence.ONLINE,
    queues: frozenset[str] = ALL_QUEUES,
    skills: frozenset[str] = frozenset(),
    max_concurrent: int = 3,
    caps: dict[str, int] | None = None,
    load: dict[str, int] | None = None,
    idle_min: float | None = None,
    presence_min: float | None = None,
) -> AgentState:
    return AgentState(
        agent_id=aid,
        presence=presence,
        queues=queues,
        skills=skills,
        max_concurrent=max_concurrent,
        channel_capacity=caps or {},
        open_by_channel=load or {},
        idle_since=None if idle_min is None else ago(idle_min),
        presence_since=None if presence_min is None else ago(presence_min),
    )


# -- queue choice ---------------------------------------------------------------------------

CHOICE = [
    ("booking", set(), Priority.NORMAL, NOW, "reception", set(), False),
    ("confirmation", {"unit:centro"}, Priority.LOW, NOW, "reception", {"unit:centro"}, False),
    ("exams", {"unit:sul", "insurer:unimed"}, Priority.NORMAL, NOW, "exams", {"unit:sul"}, False),
    ("billing", {"insurer:unimed", "unit:sul"}, Priority.HIGH, NOW, "billing", {"insurer:unimed"}, False),
    (
        "urgent",
        {"specialty:cardiologia", "unit:centro", "insurer:amil"},
        Priority.URGENT,
        NOW,
        "clinical",
        {"specialty:cardiologia", "unit:centro"},
        False,
    ),
    ("urgent", {"specialty:cardiologia"}, Priority.URGENT, NIGHT, "on_call", set(), True),
    ("human", set(), Priority.URGENT, NIGHT, "on_call", set(), True),  # any urgent bypasses hours
    ("billing", set(), Priority.HIGH, NIGHT, "billing", set(), False),  # non-urgent waits for opening
    ("other", set(), Priority.NORMAL, NOW, "reception", set(), False),
]


@pytest.mark.parametrize(("reason", "attrs", "priority", "now", "queue", "skills", "on_call"), CHOICE)
def test_choose_queue(
    reason: str,
    attrs: set[str],
    priority: Priority,
    now: datetime,
    queue: str,
    skills: set[str],
    on_call: bool,
) -> None:
    decision = choose_queue(reason, attrs, priority, now, CONFIG)
    assert (decision.queue, decision.required_skills, decision.on_call) == (queue, frozenset(skills), on_call)


def test_rules_with_attributes_and_wildcards() -> None:
    config = dataclasses.replace(
        CONFIG,
        rules=(
            QueueRule("clinical", reasons=frozenset({"booking"}), attributes=frozenset({"specialty:oncologia"})),
            QueueRule("billing", attributes=frozenset({"insurer:*"})),
            *CONFIG.rules,
        ),
    )
    assert choose_queue("booking", {"specialty:oncologia"}, Priority.NORMAL, NOW, config).queue == "clinical"
    assert choose_queue("booking", {"specialty:pediatria"}, Priority.NORMAL, NOW, config).queue == "reception"
    assert choose_queue("other", {"insurer:amil"}, Priority.NORMAL, NOW, config).queue == "billing"


def test_a_hand_off_naming_a_queue_goes_there_unless_urgent() -> None:
    # a staff-taught intent that hands off to the billing queue, whatever the reason's rule says
    assert choose_queue("vacinas", set(), Priority.NORMAL, NOW, CONFIG, preferred="billing").queue == "billing"
    assert choose_queue("other", set(), Priority.NORMAL, NOW, CONFIG, preferred="nowhere").queue == "reception"
    urgent = choose_queue("urgent", set(), Priority.URGENT, NOW, CONFIG, preferred="billing")
    assert urgent.queue == "clinical"  # emergencies always follow the clinical rule


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown queues"):
        RoutingConfig(queues=(QueueConfig("a", "a"),), rules=(QueueRule("b"),), default_queue="a")
    with pytest.raises(ValueError, match="unique"):
        RoutingConfig(queues=(QueueConfig("a", "a"), QueueConfig("a", "b")), rules=(), default_queue="a")


def test_priority_names() -> None:
    assert Priority.parse("urgent") is Priority.URGENT
    assert Priority.parse(" Low ") is Priority.LOW
    assert Priority.NORMAL.label == "normal"
    assert Priority.LOW.bumped() is Priority.NORMAL
    assert Priority.URGENT.bumped() is Priority.URGENT
    with pytest.raises(ValueError):
        Priority.parse("critical")


# -- aging and order ------------------------------------------------------------------------

AGING = [
    (Priority.LOW, 0, Priority.LOW),
    (Priority.LOW, 14.9, Priority.LOW),
    (Priority.LOW, 15, Priority.NORMAL),
    (Priority.LOW, 30, Priority.HIGH),
    (Priority.LOW, 600, Priority.HIGH),  # capped: aging never fakes a clinical emergency
    (Priority.NORMAL, 15, Priority.HIGH),
    (Priority.HIGH, 600, Priority.HIGH),
    (Priority.URGENT, 0, Priority.URGENT),
]


@pytest.mark.parametrize(("base", "waited", "expected"), AGING)
def test_effective_priority_ages(base: Priority, waited: float, expected: Priority) -> None:
    assert effective_priority(item("x", priority=base, waited=waited), NOW, AgingPolicy()) is expected


def test_aging_can_be_disabled() -> None:
    assert effective_priority(item("x", priority=Priority.LOW, waited=600), NOW, AgingPolicy(None)) is Priority.LOW


def _ids(items: list[WaitingItem]) -> list[str]:
    return [i.conversation_id for i in items]


def test_order_urgent_first_then_time_to_breach_then_priority_then_arrival() -> None:
    items = [
        item("fresh-high", priority=Priority.HIGH, deadline_in=15),
        item("low-about-to-breach", priority=Priority.LOW, waited=110, deadline_in=10),
        item("urgent-later-deadline", priority=Priority.URGENT, deadline_in=60),
        item("normal-same-deadline", priority=Priority.NORMAL, waited=1, deadline_in=15),
        item("high-same-deadline-older", priority=Priority.HIGH, waited=5, deadline_in=15),
        item("breached", priority=Priority.NORMAL, waited=40, deadline_in=-10),
        item("no-deadline", priority=Priority.HIGH, waited=50),
    ]
    assert _ids(order_queue(items, NOW)) == [
        "urgent-later-deadline",
        "breached",
        "low-about-to-breach",
        "high-same-deadline-older",  # same deadline: high > normal (not aged), then arrival
        "fresh-high",
        "normal-same-deadline",
        "no-deadline",
    ]


def _simulate(aging: AgingPolicy, with_deadlines: bool, ticks: int) -> int | None:
    """One agent frees one slot every 5 min while a new HIGH item arrives every 5 min.

    Returns the tick at which the LOW item present from the start got an agent (None = never).
    """
    config = dataclasses.replace(CONFIG, aging=aging)
    start = NOW
    low = WaitingItem(
        "low", "reception", Priority.LOW, "webchat", start,
        sla_deadline=start + timedelta(hours=2) if with_deadlines else None,
    )  # fmt: skip
    waiting = [low]
    for tick in range(ticks):
        now = start + timedelta(minutes=5 * tick)
        waiting.append(
            WaitingItem(
                f"h{tick}",
                "reception",
                Priority.HIGH,
                "webchat",
                now,
                sla_deadline=now + timedelta(minutes=15) if with_deadlines else None,
            )
        )
        plan = assign(waiting, [agent(1, max_concurrent=1)], now, config)
        (chosen,) = plan.assignments
        if chosen.conversation_id == "low":
            return tick
        waiting = [w for w in waiting if w.conversation_id != chosen.conversation_id]
    return None


def test_aging_prevents_starvation_without_deadlines() -> None:
    assert _simulate(AgingPolicy(None), with_deadlines=False, ticks=100) is None  # starves
    served = _simulate(AgingPolicy(step_seconds=15 * 60), with_deadlines=False, ticks=100)
    assert served is not None and served <= 7  # aged to HIGH after 30 min, then oldest wins


def test_time_to_breach_also_prevents_starvation() -> None:
    served = _simulate(AgingPolicy(None), with_deadlines=True, ticks=100)
    # low deadline = start + 2 h; each new high has 15 min: the low goes first once it is
    # closer to breaching than a fresh high, i.e. after ~1 h 45.
    assert served is not None and 20 <= served <= 22


# -- eligibility ----------------------------------------------------------------------------

ELIGIBILITY = [
    ("ok", agent(1), item("c"), None),
    ("away", agent(1, presence=Presence.AWAY), item("c"), Ineligible.NOT_ONLINE),
    ("offline", agent(1, presence=Presence.OFFLINE), item("c"), Ineligible.NOT_ONLINE),
    ("other team", agent(1, queues=frozenset({"billing"})), item("c"), Ineligible.NOT_IN_QUEUE),
    (
        "missing skill",
        agent(1, skills=frozenset({"specialty:pediatria"})),
        item("c", queue="clinical", skills=frozenset({"specialty:cardiologia"})),
        Ineligible.MISSING_SKILLS,
    ),
    (
        "has skills (superset)",
        agent(1, skills=frozenset({"specialty:cardiologia", "unit:centro", "insurer:amil"})),
        item("c", queue="clinical", skills=frozenset({"specialty:cardiologia", "unit:centro"})),
        None,
    ),
    ("at capacity", agent(1, max_concurrent=2, load={"webchat": 1, "whatsapp": 1}), item("c"), Ineligible.AT_CAPACITY),
    (
        "channel full",
        agent(1, caps={"whatsapp": 1}, load={"whatsapp": 1}),
        item("c", channel="whatsapp"),
        Ineligible.CHANNEL_FULL,
    ),
    ("other channel free", agent(1, caps={"whatsapp": 1}, load={"whatsapp": 1}), item("c", channel="webchat"), None),
    ("excluded after timeout", agent(1), item("c", excluded=frozenset({1})), Ineligible.EXCLUDED),
]


@pytest.mark.parametrize(("case", "who", "what", "expected"), ELIGIBILITY, ids=[c[0] for c in ELIGIBILITY])
def test_ineligibility(case: str, who: AgentState, what: WaitingItem, expected: Ineligible | None) -> None:
    assert ineligibility(who, what) is expected


def test_manual_pick_ignores_only_the_timeout_exclusion() -> None:
    assert ineligibility(agent(1), item("c", excluded=frozenset({1})), manual=True) is None
    assert ineligibility(agent(1, max_concurrent=0), item("c"), manual=True) is Ineligible.AT_CAPACITY


# -- strategies -----------------------------------------------------------------------------


def test_least_busy_fewest_open_then_longest_idle() -> None:
    agents = [
        agent(1, load={"webchat": 2}, idle_min=90),
        agent(2, load={"webchat": 1}, idle_min=5),
        agent(3, load={"whatsapp": 1}, idle_min=30),  # same load as 2, idle longer
    ]
    plan = assign([item("a")], agents, NOW, CONFIG)
    assert [(a.agent_id, a.by) for a in plan.assignments] == [(3, AssignedBy.LEAST_BUSY)]


def test_least_busy_spreads_a_burst() -> None:
    agents = [agent(1, idle_min=10), agent(2, idle_min=20), agent(3)]  # 3 never busy = longest idle
    plan = assign([item(f"c{i}", waited=10 - i) for i in range(6)], agents, NOW, CONFIG)
    # Round 1 by idle time; then all have 1 open and were busy "now": tie -> lowest id.
    assert [a.agent_id for a in plan.assignments] == [3, 2, 1, 1, 2, 3]


def _rr_config() -> RoutingConfig:
    queues = tuple(
        dataclasses.replace(q, strategy=Strategy.ROUND_ROBIN) if q.name == "reception" else q for q in CONFIG.queues
    )
    return dataclasses.replace(CONFIG, queues=queues)


def test_round_robin_fairness_in_one_run() -> None:
    agents = [agent(7, max_concurrent=10), agent(3, max_concurrent=10), agent(5, max_concurrent=10)]
    plan = assign([item(f"c{i}", waited=30 - i) for i in range(9)], agents, NOW, _rr_config())
    assert [a.agent_id for a in plan.assignments] == [3, 5, 7, 3, 5, 7, 3, 5, 7]
    assert Counter(a.agent_id for a in plan.assignments) == {3: 3, 5: 3, 7: 3}
    assert plan.cursors == {"reception": 7}
    assert {a.by for a in plan.assignments} == {AssignedBy.ROUND_ROBIN}


def test_round_robin_cursor_persists_between_runs_and_skips_ineligible() -> None:
    agents = [agent(1, max_concurrent=10), agent(2, max_concurrent=10), agent(3, max_concurrent=10)]
    cursors: dict[str, int] = {}
    picked = []
    for n in range(6):
        plan = assign([item(f"c{n}")], agents, NOW, _rr_config(), cursors)
        picked.append(plan.assignments[0].agent_id)
        cursors = plan.cursors
    assert picked == [1, 2, 3, 1, 2, 3]
    # Agent 2 goes away: the ring skips it without resetting the order.
    agents[1] = agent(2, presence=Presence.AWAY)
    plan = assign([item("x"), item("y", waited=1)], agents, NOW, _rr_config(), {"reception": 1})
    assert [a.agent_id for a in plan.assignments] == [3, 1]
    # A cursor naming an agent who left still works (next id after it).
    plan = assign([item("z")], [agent(1), agent(3)], NOW, _rr_config(), {"reception": 2})
    assert plan.assignments[0].agent_id == 3


def test_manual_queue_is_never_auto_assigned() -> None:
    queues = tuple(dataclasses.replace(q, strategy=Strategy.MANUAL) for q in CONFIG.queues)
    plan = assign([item("a")], [agent(1)], NOW, dataclasses.replace(CONFIG, queues=queues))
    assert plan.assignments == ()
    assert plan.unassigned == {"a": "manual"}


def test_unknown_queue_and_no_agent_are_reported() -> None:
    plan = assign([item("a", queue="nowhere"), item("b")], [agent(1, presence=Presence.OFFLINE)], NOW, CONFIG)
    assert plan.unassigned == {"a": "unknown_queue", "b": "no_eligible_agent"}


# -- stickiness -----------------------------------------------------------------------------


def test_sticky_to_last_agent_when_eligible_even_if_busier() -> None:
    agents = [agent(1, load={"webchat": 2}), agent(2)]
    plan = assign([item("a", last_agent=1)], agents, NOW, CONFIG)
    assert [(a.agent_id, a.by) for a in plan.assignments] == [(1, AssignedBy.STICKY)]


@pytest.mark.parametrize(
    "last",
    [
        agent(1, max_concurrent=1, load={"webchat": 1}),  # full
        agent(1, presence=Presence.OFFLINE),
        agent(1, queues=frozenset({"billing"})),  # moved to another team
    ],
)
def test_sticky_falls_back_when_last_agent_is_not_eligible(last: AgentState) -> None:
    plan = assign([item("a", last_agent=1)], [last, agent(2)], NOW, CONFIG)
    assert [(a.agent_id, a.by) for a in plan.assignments] == [(2, AssignedBy.LEAST_BUSY)]


def test_sticky_does_not_advance_round_robin() -> None:
    plan = assign([item("a", last_agent=2)], [agent(1), agent(2)], NOW, _rr_config(), {"reception": 1})
    assert plan.assignments[0].by is AssignedBy.STICKY
    assert plan.cursors == {"reception": 1}


# -- invariants over random scenarios -------------------------------------------------------


def _random_scenario(rng: random.Random) -> tuple[list[WaitingItem], list[AgentState], RoutingConfig]:
    channels = ["webchat", "whatsapp", "sms"]
    skills = ["specialty:cardiologia", "specialty:pediatria", "unit:centro", "unit:sul", "insurer:amil"]
    queues = ["reception", "clinical", "billing", "exams"]
    agents = []
    for aid in range(1, rng.randint(1, 6) + 1):
        caps = {ch: rng.randint(0, 3) for ch in channels if rng.random() < 0.5}
        load = {ch: rng.randint(0, 2) for ch in channels if rng.random() < 0.5}
        agents.append(
            agent(
                aid,
                presence=rng.choice([Presence.ONLINE, Presence.ONLINE, Presence.AWAY, Presence.OFFLINE]),
                queues=frozenset(rng.sample(queues, rng.randint(1, 4))),
                skills=frozenset(rng.sample(skills, rng.randint(0, 5))),
                max_concurrent=rng.randint(0, 5),
                caps=caps,
                load=load,
                idle_min=rng.choice([None, rng.uniform(0, 120)]),
            )
        )
    items = []
    for n in range(rng.randint(0, 25)):
        cid = f"c{rng.randint(0, 18)}" if rng.random() < 0.3 else f"u{n}"  # some duplicates
        items.append(
            item(
                cid,
                queue=rng.choice(queues),
                priority=rng.choice(list(Priority)),
                channel=rng.choice(channels),
                waited=rng.uniform(0, 180),
                deadline_in=rng.choice([None, rng.uniform(-30, 120)]),
                skills=frozenset(rng.sample(skills, rng.randint(0, 2))),
                last_agent=rng.choice([None, rng.randint(1, 6)]),
                excluded=frozenset(rng.sample(range(1, 7), rng.randint(0, 2))),
            )
        )
    strategies = [Strategy.LEAST_BUSY, Strategy.ROUND_ROBIN, Strategy.MANUAL]
    config = dataclasses.replace(
        CONFIG, queues=tuple(dataclasses.replace(q, strategy=rng.choice(strategies)) for q in CONFIG.queues)
    )
    return items, agents, config


@pytest.mark.parametrize("seed", range(400))
def test_capacity_never_exceeded_and_no_double_assignment(seed: int) -> None:
    rng = random.Random(seed)
    items, agents, config = _random_scenario(rng)
    plan = assign(items, agents, NOW, config, {"reception": rng.randint(0, 6)})
    by_conversation = Counter(a.conversation_id for a in plan.assignments)
    assert all(n == 1 for n in by_conversation.values())
    final = {a.agent_id: a for a in agents}
    for a in plan.assignments:
        listed = [it for it in items if it.conversation_id == a.conversation_id]
        served = order_queue(listed, NOW, config.aging)[0]  # the copy assign served first
        before = final[a.agent_id]
        assert ineligibility(before, served) is None  # eligible at the moment of the pick
        assert config.queue(served.queue).strategy is not Strategy.MANUAL
        loads = dict(before.open_by_channel)
        loads[served.channel] = loads.get(served.channel, 0) + 1
        final[a.agent_id] = dataclasses.replace(before, open_by_channel=loads)
    for original in agents:
        after = final[original.agent_id]
        added = after.open_total - original.open_total
        if added:
            assert after.open_total <= original.max_concurrent
            for ch, cap in original.channel_capacity.items():
                if after.open_by_channel.get(ch, 0) > original.open_by_channel.get(ch, 0):
                    assert after.open_by_channel[ch] <= cap
    # Work-conserving: an item left waiting for lack of agents has no eligible agent at the end.
    for cid, why in plan.unassigned.items():
        if why == "no_eligible_agent":
            waiting_copy = order_queue([it for it in items if it.conversation_id == cid], NOW, config.aging)[0]
            assert all(ineligibility(a, waiting_copy) is not None for a in final.values())


# -- on-call and requeue --------------------------------------------------------------------


def test_urgent_items_move_to_on_call_when_the_team_closes() -> None:
    items = [
        item("u1", queue="clinical", priority=Priority.URGENT),
        item("n1", queue="clinical", priority=Priority.NORMAL),
        item("u2", queue="on_call", priority=Priority.URGENT),
    ]
    assert on_call_reroutes(items, NOW, CONFIG) == {}
    assert on_call_reroutes(items, NIGHT, CONFIG) == {"u1": "on_call"}


REQUEUE = [
    ("offline past grace", agent(1, presence=Presence.OFFLINE, presence_min=2), None, False,
     RequeueReason.AGENT_OFFLINE, False),
    ("offline within grace (reconnecting)", agent(1, presence=Presence.OFFLINE, presence_min=0.5), ago(1), False,
     None, None),
    ("offline, waiting on patient", agent(1, presence=Presence.OFFLINE, presence_min=30), None, True, None, None),
    ("no answer in 5 min", agent(1), None, False, RequeueReason.NO_ANSWER, True),
    ("answered", agent(1), ago(9), False, None, None),
    ("away but answered", agent(1, presence=Presence.AWAY), ago(9), False, None, None),
    ("away and silent", agent(1, presence=Presence.AWAY), None, False, RequeueReason.NO_ANSWER, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "who", "first_reply", "waiting", "reason", "exclude"), REQUEUE, ids=[c[0] for c in REQUEUE]
)
def test_requeue_decisions(
    case: str,
    who: AgentState,
    first_reply: datetime | None,
    waiting: bool,
    reason: RequeueReason | None,
    exclude: bool | None,
) -> None:
    held = ActiveAssignment("c", 1, assigned_at=ago(10), first_reply_at=first_reply, waiting_patient=waiting)
    decisions = requeue_decisions([held], [who], NOW, RequeuePolicy(no_answer_seconds=300, offline_grace_seconds=60))
    if reason is None:
        assert decisions == []
    else:
        assert [(d.reason, d.exclude_agent) for d in decisions] == [(reason, exclude)]


def test_requeue_unknown_agent_and_fresh_assignment() -> None:
    gone = ActiveAssignment("c1", 99, assigned_at=ago(1), first_reply_at=None)
    fresh = ActiveAssignment("c2", 1, assigned_at=ago(1), first_reply_at=None)
    decisions = requeue_decisions([gone, fresh], [agent(1)], NOW)
    assert [(d.conversation_id, d.reason) for d in decisions] == [("c1", RequeueReason.AGENT_OFFLINE)]
