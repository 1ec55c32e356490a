"""SLA clocks from lifecycle events: business time, pauses, freeze, thresholds, escalation."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handoff.domain.business_time import BusinessCalendar, weekday_hours
from handoff.domain.lifecycle import Transition
from handoff.domain.sla import (
    DEFAULT_LADDER,
    DEFAULT_POLICIES,
    ClockStatus,
    EscalationAction,
    EscalationLevel,
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    SlaPolicy,
    SlaPolicyBook,
    SlaState,
    due_escalations,
    escalation_key,
    evaluate_sla,
    next_escalation_at,
    sla_event_for,
)

SP = ZoneInfo("America/Sao_Paulo")
M = 60.0
H = 3600.0
CAL = BusinessCalendar.weekly(weekday_hours(((time(8), time(12)), (time(13), time(18)))))
# first response 30 min, next response 1 h, resolution 16 business hours
NORMAL = DEFAULT_POLICIES["normal"]
URGENT = DEFAULT_POLICIES["urgent"]
K = SlaEventKind


def sp(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SP)


def mon(h: int, mi: int = 0, s: int = 0) -> datetime:
    """Monday 2 March 2026 (an ordinary working day)."""
    return sp(2026, 3, 2, h, mi, s)


def ev(kind: SlaEventKind, at: datetime) -> SlaEvent:
    return SlaEvent(kind, at)


# -- first response ------------------------------------------------------------------------

THRESHOLDS = [
    (mon(9, 10), 10 * M, SlaState.OK),
    (mon(9, 23, 59), 23 * M + 59, SlaState.OK),
    (mon(9, 24), 24 * M, SlaState.WARNING),  # exactly 80%
    (mon(9, 29, 59), 29 * M + 59, SlaState.WARNING),
    (mon(9, 30), 30 * M, SlaState.BREACHED),  # exactly 100%
    (mon(10, 0), 60 * M, SlaState.BREACHED),
]


@pytest.mark.parametrize(("now", "elapsed", "state"), THRESHOLDS)
def test_first_response_thresholds(now: datetime, elapsed: float, state: SlaState) -> None:
    status = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, now)
    clock = status.first_response
    assert clock is not None
    assert clock.status is ClockStatus.RUNNING
    assert clock.elapsed_seconds == elapsed
    assert clock.remaining_seconds == 30 * M - elapsed
    assert clock.percent_used == pytest.approx(100 * elapsed / (30 * M))
    assert clock.state is state
    assert clock.deadline == mon(9, 30)


DEADLINES = [
    ("lunch is not counted", mon(11, 50), mon(13, 20)),
    ("queued at night starts at opening", sp(2026, 3, 2, 20), sp(2026, 3, 3, 8, 30)),
    ("Friday evening -> Monday", sp(2026, 3, 6, 17, 50), sp(2026, 3, 9, 8, 20)),
    ("queued on Carnaval Monday -> Ash Wednesday", sp(2026, 2, 16, 10), sp(2026, 2, 18, 8, 30)),
    ("Wednesday before Corpus Christi -> Friday", sp(2026, 6, 3, 17, 45), sp(2026, 6, 5, 8, 15)),
]


@pytest.mark.parametrize(("case", "queued", "deadline"), DEADLINES, ids=[c[0] for c in DEADLINES])
def test_first_response_deadline_in_business_time(case: str, queued: datetime, deadline: datetime) -> None:
    status = evaluate_sla([ev(K.QUEUED, queued)], NORMAL, CAL, queued + timedelta(minutes=1))
    assert status.first_response is not None
    assert status.first_response.deadline == deadline
    assert status.next_deadline == deadline


def test_lunch_does_not_consume_the_clock() -> None:
    status = evaluate_sla([ev(K.QUEUED, mon(11, 50))], NORMAL, CAL, mon(13, 10))
    clock = status.first_response
    assert clock is not None
    assert clock.elapsed_seconds == 20 * M  # 11:50-12:00 and 13:00-13:10
    assert clock.percent_used == pytest.approx(200 / 3)
    assert clock.state is SlaState.OK


def test_first_reply_stops_the_clock() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.AGENT_REPLY, mon(9, 10))]
    status = evaluate_sla(events, NORMAL, CAL, mon(17))
    clock = status.first_response
    assert clock is not None
    assert clock.status is ClockStatus.STOPPED
    assert clock.stopped_at == mon(9, 10)
    assert clock.elapsed_seconds == 10 * M
    assert clock.state is SlaState.OK
    assert clock.deadline is None  # will never breach
    assert status.answered


def test_late_first_reply_is_recorded_as_breached_with_the_crossing_time() -> None:
    events = [ev(K.QUEUED, mon(11, 50)), ev(K.AGENT_REPLY, mon(13, 40))]
    clock = evaluate_sla(events, NORMAL, CAL, mon(15)).first_response
    assert clock is not None
    assert clock.status is ClockStatus.STOPPED
    assert clock.elapsed_seconds == 50 * M
    assert clock.state is SlaState.BREACHED
    assert clock.deadline == mon(13, 20)
    assert clock.reached_at(0.8 * 30 * M) == mon(13, 14)


def test_first_response_is_not_paused_by_waiting_on_the_patient() -> None:
    # Nobody has answered yet: the patient is waiting on us whatever the inbox state says.
    events = [ev(K.QUEUED, mon(9)), ev(K.WAITING_PATIENT, mon(9, 5))]
    status = evaluate_sla(events, NORMAL, CAL, mon(9, 20))
    assert status.first_response is not None
    assert status.first_response.elapsed_seconds == 20 * M
    assert status.resolution is not None
    assert status.resolution.status is ClockStatus.PAUSED


# -- pauses, next response, resolution -----------------------------------------------------


def test_waiting_on_the_patient_pauses_resolution_and_resume_continues() -> None:
    events = [
        ev(K.QUEUED, mon(9)),
        ev(K.AGENT_REPLY, mon(9, 5)),
        ev(K.WAITING_PATIENT, mon(9, 10)),
    ]
    paused = evaluate_sla(events, NORMAL, CAL, mon(11))
    assert paused.waiting_patient
    assert paused.resolution is not None
    assert paused.resolution.status is ClockStatus.PAUSED
    assert paused.resolution.elapsed_seconds == 10 * M
    assert paused.resolution.deadline is None  # unknown while paused
    assert paused.next_deadline is None

    events += [ev(K.PATIENT_MESSAGE, mon(11)), ev(K.RESUMED, mon(11))]
    resumed = evaluate_sla(events, NORMAL, CAL, mon(11, 30))
    assert not resumed.waiting_patient
    assert resumed.resolution is not None
    assert resumed.resolution.status is ClockStatus.RUNNING
    assert resumed.resolution.elapsed_seconds == 40 * M
    assert resumed.next_response is not None
    assert resumed.next_response.cycle == 1
    assert resumed.next_response.elapsed_seconds == 30 * M
    assert resumed.next_response.deadline == mon(12)  # 11:00 + 1 h ends right at lunch
    assert resumed.next_deadline == mon(12)


def test_patient_message_resumes_even_without_a_resumed_event() -> None:
    events = [
        ev(K.QUEUED, mon(9)),
        ev(K.AGENT_REPLY, mon(9, 5)),
        ev(K.WAITING_PATIENT, mon(9, 10)),
        ev(K.PATIENT_MESSAGE, mon(10)),
    ]
    status = evaluate_sla(events, NORMAL, CAL, mon(10, 30))
    assert not status.waiting_patient
    assert status.resolution is not None
    assert status.resolution.elapsed_seconds == 40 * M


def test_next_response_cycles() -> None:
    events = [
        ev(K.QUEUED, mon(9)),
        ev(K.PATIENT_MESSAGE, mon(9, 1)),  # before the first reply: part of first response
        ev(K.AGENT_REPLY, mon(9, 5)),
        ev(K.PATIENT_MESSAGE, mon(9, 10)),  # cycle 1 starts here...
        ev(K.PATIENT_MESSAGE, mon(9, 12)),  # ...not here
        ev(K.AGENT_REPLY, mon(9, 40)),
        ev(K.PATIENT_MESSAGE, mon(11, 30)),  # cycle 2 crosses lunch
    ]
    status = evaluate_sla(events, NORMAL, CAL, mon(13, 45))
    first, second = status.next_response_history
    assert (first.cycle, first.status, first.elapsed_seconds) == (1, ClockStatus.STOPPED, 30 * M)
    assert (second.cycle, second.status, second.elapsed_seconds) == (2, ClockStatus.RUNNING, 75 * M)
    assert second.state is SlaState.BREACHED
    assert second.deadline == mon(13, 30)
    assert status.next_response is second


def test_resolve_freezes_and_reopen_continues() -> None:
    events = [
        ev(K.QUEUED, mon(9)),
        ev(K.AGENT_REPLY, mon(9, 5)),
        ev(K.RESOLVED, mon(10)),
    ]
    frozen = evaluate_sla(events, NORMAL, CAL, sp(2026, 3, 3, 9))
    assert frozen.resolved
    assert frozen.resolution is not None
    assert frozen.resolution.status is ClockStatus.STOPPED
    assert frozen.resolution.elapsed_seconds == 1 * H
    assert frozen.next_deadline is None

    events.append(ev(K.REOPENED, sp(2026, 3, 3, 9)))
    reopened = evaluate_sla(events, NORMAL, CAL, sp(2026, 3, 3, 9, 30))
    assert not reopened.resolved
    assert reopened.resolution is not None
    assert reopened.resolution.elapsed_seconds == 1 * H + 30 * M
    assert reopened.resolution.status is ClockStatus.RUNNING
    # The patient is waiting on us again: a next-response cycle starts at the reopen.
    assert reopened.next_response is not None
    assert reopened.next_response.started_at == sp(2026, 3, 3, 9)
    # The first response was met and stays met.
    assert reopened.first_response is not None
    assert reopened.first_response.status is ClockStatus.STOPPED


def test_resolved_without_reply_freezes_first_response_and_reopen_resumes_it() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.RESOLVED, mon(9, 20))]
    status = evaluate_sla(events, NORMAL, CAL, mon(12))
    assert status.first_response is not None
    assert status.first_response.status is ClockStatus.STOPPED
    assert status.first_response.elapsed_seconds == 20 * M
    events.append(ev(K.REOPENED, mon(11)))
    again = evaluate_sla(events, NORMAL, CAL, mon(11, 5))
    assert again.first_response is not None
    assert again.first_response.status is ClockStatus.RUNNING
    assert again.first_response.elapsed_seconds == 25 * M
    assert again.first_response.deadline == mon(11, 10)


def test_messages_after_resolve_are_ignored_and_a_new_handoff_starts_a_new_episode() -> None:
    events = [
        ev(K.QUEUED, mon(9)),
        ev(K.AGENT_REPLY, mon(9, 5)),
        ev(K.RESOLVED, mon(9, 30)),
        ev(K.PATIENT_MESSAGE, mon(10)),  # the bot owns the conversation now
        ev(K.AGENT_REPLY, mon(10, 1)),
    ]
    status = evaluate_sla(events, NORMAL, CAL, mon(11))
    assert status.next_response is None
    events.append(ev(K.QUEUED, mon(14)))
    fresh = evaluate_sla(events, NORMAL, CAL, mon(14, 10))
    assert fresh.episode_started_at == mon(14)
    assert fresh.first_response is not None
    assert fresh.first_response.elapsed_seconds == 10 * M
    assert fresh.resolution is not None
    assert fresh.resolution.elapsed_seconds == 10 * M
    assert not fresh.answered


def test_second_queued_in_an_open_episode_does_not_restart_clocks() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.QUEUED, mon(9, 20))]  # e.g. a transfer back to a queue
    status = evaluate_sla(events, NORMAL, CAL, mon(9, 25))
    assert status.episode_started_at == mon(9)
    assert status.first_response is not None
    assert status.first_response.elapsed_seconds == 25 * M


def test_events_are_sorted_and_future_events_ignored() -> None:
    events = [ev(K.AGENT_REPLY, mon(9, 10)), ev(K.QUEUED, mon(9)), ev(K.RESOLVED, mon(12))]
    status = evaluate_sla(events, NORMAL, CAL, mon(10))
    assert status.first_response is not None
    assert status.first_response.elapsed_seconds == 10 * M
    assert not status.resolved


def test_no_handoff_means_no_clocks() -> None:
    status = evaluate_sla([ev(K.PATIENT_MESSAGE, mon(9))], NORMAL, CAL, mon(10))
    assert status.clocks() == []
    assert status.worst_state is SlaState.OK
    assert due_escalations(status, set()) == []
    assert next_escalation_at(status, set()) is None


def test_urgent_runs_24x7() -> None:
    saturday_3am = sp(2026, 3, 7, 3)
    status = evaluate_sla([ev(K.QUEUED, saturday_3am)], URGENT, CAL, saturday_3am + timedelta(minutes=4))
    assert status.first_response is not None
    assert status.first_response.elapsed_seconds == 4 * M
    assert status.first_response.state is SlaState.WARNING
    assert status.first_response.deadline == sp(2026, 3, 7, 3, 5)
    business = evaluate_sla([ev(K.QUEUED, saturday_3am)], NORMAL, CAL, saturday_3am + timedelta(hours=5))
    assert business.first_response is not None
    assert business.first_response.elapsed_seconds == 0


def test_worst_state_ignores_stopped_clocks() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.AGENT_REPLY, mon(9, 45))]  # first response breached
    status = evaluate_sla(events, NORMAL, CAL, mon(9, 50))
    assert status.first_response is not None
    assert status.first_response.state is SlaState.BREACHED
    assert status.worst_state is SlaState.OK  # nothing live is late


def test_clock_without_target() -> None:
    policy = SlaPolicy(first_response_seconds=600, next_response_seconds=None, resolution_seconds=None)
    status = evaluate_sla([ev(K.QUEUED, mon(9))], policy, CAL, mon(10))
    assert status.resolution is not None
    assert status.resolution.elapsed_seconds == 1 * H
    assert status.resolution.percent_used is None
    assert status.resolution.deadline is None
    assert status.resolution.state is SlaState.OK


# -- policies and lifecycle mapping ---------------------------------------------------------


def test_policy_book_override_per_queue() -> None:
    fast = SlaPolicy(5 * M, 10 * M, 1 * H)
    book = SlaPolicyBook(by_queue={("clinical", "normal"): fast})
    assert book.policy_for("clinical", "normal") is fast
    assert book.policy_for("reception", "normal") == NORMAL
    assert book.policy_for(None, "urgent") == URGENT
    with pytest.raises(KeyError):
        book.policy_for("reception", "whatever")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_response_seconds": 0, "next_response_seconds": None, "resolution_seconds": None},
        {"first_response_seconds": 60, "next_response_seconds": None, "resolution_seconds": None, "warning_ratio": 1},
    ],
)
def test_invalid_policies(kwargs: dict[str, float | None]) -> None:
    with pytest.raises(ValueError):
        SlaPolicy(**kwargs)  # type: ignore[arg-type]


MAPPING = [
    (Transition.HANDOFF, K.QUEUED),
    (Transition.WAIT_PATIENT, K.WAITING_PATIENT),
    (Transition.PATIENT_REPLIED, K.RESUMED),
    (Transition.RESOLVE, K.RESOLVED),
    (Transition.REOPEN, K.REOPENED),
    (Transition.ASSIGN, None),
    (Transition.TRANSFER_AGENT, None),
    (Transition.TRANSFER_QUEUE, None),
    (Transition.BACK_TO_BOT, None),
]


@pytest.mark.parametrize(("transition", "kind"), MAPPING)
def test_lifecycle_transition_to_sla_event(transition: Transition, kind: SlaEventKind | None) -> None:
    assert sla_event_for(transition) == kind


# -- escalation ---------------------------------------------------------------------------


def test_escalation_ladder_fires_each_level_once() -> None:
    fired: set[str] = set()
    # 70%: nothing
    assert due_escalations(evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, mon(9, 21)), fired) == []

    at_85 = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, mon(9, 25, 30))
    due = due_escalations(at_85, fired)
    assert [(d.metric, d.level, d.actions) for d in due] == [
        (SlaMetric.FIRST_RESPONSE, 1, (EscalationAction.NOTIFY_AGENT,))
    ]
    assert due[0].reached_at == mon(9, 24)
    fired.update(d.key for d in due)
    assert due_escalations(at_85, fired) == []  # idempotent: same moment, nothing new

    at_100 = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, mon(9, 30))
    due = due_escalations(at_100, fired)
    assert [(d.level, d.actions) for d in due] == [(2, (EscalationAction.ALERT_MANAGER,))]
    fired.update(d.key for d in due)

    at_160 = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, mon(9, 48))
    due = due_escalations(at_160, fired)
    assert [(d.level, d.actions) for d in due] == [(3, (EscalationAction.REASSIGN, EscalationAction.BUMP_PRIORITY))]
    assert due[0].reached_at == mon(9, 45)
    fired.update(d.key for d in due)
    assert due_escalations(at_160, fired) == []


def test_missed_levels_all_come_due_together() -> None:
    late = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, mon(10))  # scheduler was down
    due = due_escalations(late, set())
    assert [d.level for d in due if d.metric is SlaMetric.FIRST_RESPONSE] == [1, 2, 3]


def test_resolution_breach_alerts_but_does_not_reassign() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.AGENT_REPLY, mon(9, 1))]
    status = evaluate_sla(events, NORMAL, CAL, sp(2026, 3, 6, 9))  # days later: far past 150% of 16 h
    due = [d for d in due_escalations(status, set()) if d.metric is SlaMetric.RESOLUTION]
    assert [d.level for d in due] == [1, 2]
    assert due[1].reached_at == sp(2026, 3, 3, 17)  # 8 h Monday from 09:00 + 8 h Tuesday


def test_answered_clock_stops_escalating() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.AGENT_REPLY, mon(9, 29))]
    status = evaluate_sla(events, NORMAL, CAL, mon(11))
    assert [d for d in due_escalations(status, set()) if d.metric is SlaMetric.FIRST_RESPONSE] == []


def test_paused_clock_does_not_escalate_further() -> None:
    events = [ev(K.QUEUED, mon(9)), ev(K.AGENT_REPLY, mon(9, 1)), ev(K.WAITING_PATIENT, mon(9, 2))]
    status = evaluate_sla(events, NORMAL, CAL, sp(2026, 3, 9, 9))  # a week later, still paused
    assert due_escalations(status, set()) == []
    assert next_escalation_at(status, set()) is None


def test_next_escalation_at_is_the_timer_to_set() -> None:
    status = evaluate_sla([ev(K.QUEUED, mon(11, 50))], NORMAL, CAL, mon(11, 55))
    assert next_escalation_at(status, set()) == mon(13, 14)  # 80% of 30 min, lunch skipped
    fired = {d.key for d in due_escalations(evaluate_sla([ev(K.QUEUED, mon(11, 50))], NORMAL, CAL, mon(13, 15)), set())}
    later = evaluate_sla([ev(K.QUEUED, mon(11, 50))], NORMAL, CAL, mon(13, 15))
    assert next_escalation_at(later, fired) == mon(13, 20)


def test_escalation_keys_are_per_episode_metric_cycle_and_level() -> None:
    k1 = escalation_key(mon(9), SlaMetric.NEXT_RESPONSE, 2, 1)
    assert k1 == f"{int(mon(9).timestamp())}:next_response:2:1"
    assert k1 != escalation_key(mon(14), SlaMetric.NEXT_RESPONSE, 2, 1)


def test_custom_ladder_per_metric() -> None:
    ladder = (EscalationLevel(1, 0.5, (EscalationAction.ALERT_MANAGER,), frozenset({SlaMetric.RESOLUTION})),)
    status = evaluate_sla([ev(K.QUEUED, mon(9))], NORMAL, CAL, sp(2026, 3, 3, 8))  # 9 h of 16 h
    due = due_escalations(status, set(), ladder)
    assert [(d.metric, d.level) for d in due] == [(SlaMetric.RESOLUTION, 1)]
    with pytest.raises(ValueError):
        due_escalations(status, set(), (*DEFAULT_LADDER, EscalationLevel(1, 2.0, ())))
    with pytest.raises(ValueError):
        EscalationLevel(4, 0, ())
