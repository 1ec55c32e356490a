"""Pure rules of the human side: CSAT answers, event names and SLA facts, handoff configuration,
routing attributes from the bot's slots, and what the staff socket shows to whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.api.inbox import visible
from handoff.domain.csat import csat_payload, parse_csat, parse_nps
from handoff.domain.events import sla_events, transition_event_type
from handoff.domain.lifecycle import Transition
from handoff.domain.routing import Strategy
from handoff.domain.sla import SlaEventKind
from handoff.services.handoff_config import (
    HandoffConfig,
    bot_context_slots,
    clean_attributes,
    slot_attributes,
)
from handoff.services.staff import StaffIdentity
from handoff.settings import Settings


@pytest.mark.parametrize(("text", "payload", "score"), [
    ("5", '/csat{"score":5}', 5),
    ("Ótimo", '/csat{"score": 4}', 4),
    ('/csat{"score":1}', None, 1),  # the payload typed as text
    ("3", None, 3),  # channels without buttons: the bare digit
    (" 2. ", None, 2),
    ("5 estrelas", None, None),
    ("6", None, None),
    ("0", None, None),
    ("oi", None, None),
    ("", '/csat{"score":6}', None),
    ("", '/csat{"score":true}', None),
    ("", '/csat{"score":"5"}', None),
    ("", "/csat{nope}", None),
    ("", "/request_human", None),
    ("obrigado", "/greet", None),
])
def test_csat_answers(text: str, payload: str | None, score: int | None) -> None:
    assert parse_csat(text, payload) == score


def test_csat_payloads_round_trip() -> None:
    for n in range(1, 6):
        assert parse_csat(None, csat_payload(n)) == n
    with pytest.raises(ValueError):
        csat_payload(0)


@pytest.mark.parametrize(("text", "payload", "score"), [
    ("10", None, 10),
    ("0", None, 0),
    (" 9! ", None, 9),
    ("Nota 8", None, 8),
    ("x", '/nps{"score":7}', 7),
    ("11", None, None),  # out of the scale
    ("-1", None, None),
    ("9,5", None, None),
    ("quero remarcar minha consulta para o dia 10", None, None),  # a new request goes to the bot
    ("10", '/nps{"score":11}', None),  # a bad payload is not rescued by the text
    ("5", "/greet", 5),  # another payload: the typed number still answers
])
def test_nps_answers(text: str, payload: str | None, score: int | None) -> None:
    assert parse_nps(text, payload) == score


def test_transitions_are_recorded_under_the_contract_names() -> None:
    names = {t: transition_event_type(t) for t in Transition}
    assert names[Transition.ASSIGN] == "assigned"
    assert names[Transition.RESOLVE] == "resolved"
    assert names[Transition.REOPEN] == "reopened"
    assert names[Transition.HANDOFF] == "handoff"
    assert names[Transition.BACK_TO_BOT] == "back_to_bot"
    assert len(set(names.values())) == len(Transition)


def test_sla_facts_come_from_the_event_log_only() -> None:
    t = datetime(2026, 3, 2, 12, tzinfo=UTC)
    rows = [("created", t), ("handoff", t), ("assigned", t + timedelta(seconds=1)), ("note", t),
            ("agent_reply", t + timedelta(seconds=2)), ("patient_message", t + timedelta(seconds=3)),
            ("wait_patient", t), ("patient_replied", t), ("transfer_queue", t), ("requeued", t),
            ("resolved", t), ("reopened", t)]
    kinds = [e.kind for e in sla_events(rows)]
    assert kinds == [SlaEventKind.QUEUED, SlaEventKind.AGENT_REPLY, SlaEventKind.PATIENT_MESSAGE,
                     SlaEventKind.WAITING_PATIENT, SlaEventKind.RESUMED, SlaEventKind.RESOLVED,
                     SlaEventKind.REOPENED]


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_queue_strategies_and_sla_overrides_from_settings() -> None:
    cfg = HandoffConfig.build(_settings(
        queue_strategies="reception=manual, billing=round_robin",
        sla_policies='{"normal": {"first_response": 10, "business_hours": false}, "billing/high": {"resolution": 60}}',
        requeue_no_answer_seconds=120, sticky_agent_hours=2))
    assert cfg.routing.queue("reception").strategy is Strategy.MANUAL
    assert cfg.routing.queue("billing").strategy is Strategy.ROUND_ROBIN
    assert cfg.routing.queue("clinical").strategy is Strategy.LEAST_BUSY
    normal = cfg.policy("reception", "normal")
    assert normal.first_response_seconds == 10 and not normal.business_hours
    assert normal.next_response_seconds == 3600  # untouched fields keep the default
    assert cfg.policy("billing", "high").resolution_seconds == 60
    assert cfg.policy("reception", "high").resolution_seconds == 8 * 3600
    assert cfg.policy(None, "bogus") == cfg.policy(None, "normal")
    assert cfg.requeue.no_answer_seconds == 120 and cfg.sticky_seconds == 7200
    # The clinic's hours: Monday 2 March 2026, 12:30 in São Paulo is lunch.
    lunch = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    assert not cfg.calendar.is_open(lunch) and cfg.calendar.is_open(lunch + timedelta(hours=1))
    with pytest.raises(KeyError):
        HandoffConfig.build(_settings(queue_strategies="nowhere=manual"))
    with pytest.raises(ValueError):
        HandoffConfig.build(_settings(queue_strategies="reception=fastest"))
    with pytest.raises(ValueError):
        HandoffConfig.build(_settings(sla_policies='{"normal": {"first_respons": 10}}'))


def test_routing_attributes_and_bot_context_from_slots() -> None:
    assert clean_attributes(["Specialty:Cardiologia", "insurer:unimed", "color:blue", "unit:", "x", 3,
                             "insurer:unimed", "specialty:../etc"]) == ["insurer:unimed", "specialty:cardiologia"]
    slots = {"booking_ctx": {"specialty": "pediatria", "step": "ask_when", "cpf_digits": "123"},
             "cpf": "12345678909", "birth_date": "1990-01-01", "insurer": "amil", "requested_slot": "x",
             "consent": True, "empty": None}
    context = bot_context_slots(slots)
    assert context == {"booking_ctx": {"specialty": "pediatria", "step": "ask_when"}, "insurer": "amil",
                       "consent": True}
    assert slot_attributes(context) == ["insurer:amil", "specialty:pediatria"]
    assert bot_context_slots({"big": "x" * 5000})["big"] == "x" * 200
    assert "huge" not in bot_context_slots({"huge": ["y" * 200] * 20})


def test_staff_socket_shows_attendants_only_their_queues_and_conversations() -> None:
    ana = StaffIdentity(2, "ana@x", "Ana", "attendant")
    boss = StaffIdentity(5, "boss@x", "Boss", "manager")
    queues = frozenset({"reception"})
    queued_here = {"type": "handoff", "queue": "reception", "agent_id": None}
    queued_elsewhere = {"type": "handoff", "queue": "clinical", "agent_id": None}
    hers = {"type": "assigned", "queue": "clinical", "agent_id": 2}
    someone_elses = {"type": "assigned", "queue": "reception", "agent_id": 3}
    alert = {"type": "sla_breach", "queue": "reception", "agent_id": None, "audience": "managers"}
    presence = {"type": "presence", "agent_id": 3, "audience": "managers"}
    assert visible(queued_here, ana, queues) and visible(hers, ana, queues)
    assert not visible(queued_elsewhere, ana, queues)
    assert not visible(someone_elses, ana, queues)
    assert not visible(alert, ana, queues) and not visible(presence, ana, queues)
    for event in (queued_here, queued_elsewhere, hers, someone_elses, alert, presence):
        assert visible(event, boss, frozenset())
