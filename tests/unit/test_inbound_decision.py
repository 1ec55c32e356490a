"""What a new patient message does to its conversation: the full decision table.

Every conversation state x survey question pending (none, CSAT, NPS) x automatic mail or not
x the message answers the question or not. Pure: no database.
"""

from __future__ import annotations

import dataclasses

import pytest

from handoff.domain.inbound import InboundDecision, decide_inbound
from handoff.domain.lifecycle import ConversationState as S
from handoff.domain.lifecycle import Transition
from handoff.domain.messages import InboundStatus as St

NO_ANSWER = "quero remarcar minha consulta"
# A text that answers the pending question (for "no survey" it is a plain "5", which answers nothing).
ANSWER = {None: "5", "csat": "4", "nps": "9"}
SURVEYS = (None, "csat", "nps")


def decide(state: S, survey: str | None, automatic: bool, text: str, payload: str | None = None) -> InboundDecision:
    return decide_inbound(state, csat_asked=survey == "csat", nps_asked=survey == "nps", automatic=automatic,
                          text=text, payload=payload)


BOT_TURN = InboundDecision(True, St.PENDING)
ROUTED_QUIET = InboundDecision(False, St.ROUTED)  # a program's mail: nobody's turn
ROUTED_CLOCK = InboundDecision(False, St.ROUTED, patient_event=True)  # a human's turn: SLA clock

# Before resolve the survey flags and the text never matter: only state and automatic do.
NOT_RESOLVED = [
    (S.BOT, False, BOT_TURN),
    (S.BOT, True, BOT_TURN),
    (S.QUEUED, False, ROUTED_CLOCK),
    (S.QUEUED, True, ROUTED_QUIET),
    (S.ASSIGNED, False, ROUTED_CLOCK),
    (S.ASSIGNED, True, ROUTED_QUIET),
    (S.WAITING_PATIENT, False, dataclasses.replace(ROUTED_CLOCK, transition=Transition.PATIENT_REPLIED)),
    (S.WAITING_PATIENT, True, ROUTED_QUIET),
]


@pytest.mark.parametrize("answers", [True, False])
@pytest.mark.parametrize("survey", SURVEYS)
@pytest.mark.parametrize(("state", "automatic", "expected"), NOT_RESOLVED)
def test_before_resolve_only_state_and_automatic_decide(
    state: S, automatic: bool, expected: InboundDecision, survey: str | None, answers: bool
) -> None:
    text = ANSWER[survey] if answers else NO_ANSWER
    assert decide(state, survey, automatic, text) == expected


BACK_TO_BOT = InboundDecision(True, St.PENDING, clear_survey=True, transition=Transition.BACK_TO_BOT)

# (survey pending, automatic, the text answers it) -> decision, for a resolved conversation.
RESOLVED = [
    (None, False, True, BACK_TO_BOT),
    (None, False, False, BACK_TO_BOT),
    (None, True, True, BOT_TURN),
    (None, True, False, BOT_TURN),
    ("csat", False, True, InboundDecision(False, St.PROCESSED, csat_score=4, clear_survey=True)),
    ("csat", False, False, BACK_TO_BOT),
    ("csat", True, True, BOT_TURN),  # an auto-reply answers nothing, even when it looks like a score
    ("csat", True, False, BOT_TURN),
    ("nps", False, True, InboundDecision(False, St.PROCESSED, nps_score=9, clear_survey=True)),
    ("nps", False, False, BACK_TO_BOT),
    ("nps", True, True, BOT_TURN),
    ("nps", True, False, BOT_TURN),
]


@pytest.mark.parametrize(("survey", "automatic", "answers", "expected"), RESOLVED)
def test_after_resolve(survey: str | None, automatic: bool, answers: bool, expected: InboundDecision) -> None:
    text = ANSWER[survey] if answers else NO_ANSWER
    assert decide(S.RESOLVED, survey, automatic, text) == expected


def test_the_table_covers_every_state() -> None:
    assert {s for s, _, _ in NOT_RESOLVED} | {S.RESOLVED} == set(S)
    assert len(NOT_RESOLVED) * len(SURVEYS) * 2 + len(RESOLVED) == len(S) * len(SURVEYS) * 2 * 2


@pytest.mark.parametrize(
    ("survey", "text", "payload", "csat", "nps"),
    [
        ("csat", "", '/csat{"score":5}', 5, None),  # the button
        ("csat", '/csat{"score":2}', None, 2, None),  # the payload typed as text
        ("nps", "", '/nps{"score":10}', None, 10),
        ("nps", "nota 0", None, None, 0),
    ],
)
def test_button_payloads_and_typed_forms_answer(
    survey: str, text: str, payload: str | None, csat: int | None, nps: int | None
) -> None:
    d = decide(S.RESOLVED, survey, False, text, payload)
    assert (d.csat_score, d.nps_score, d.status, d.to_bot) == (csat, nps, St.PROCESSED, False)


def test_a_number_outside_the_csat_scale_is_no_csat_answer() -> None:
    # "9" is a valid NPS score but not a CSAT one; with CSAT pending it is an ordinary message.
    assert decide(S.RESOLVED, "csat", False, "9") == BACK_TO_BOT


def test_csat_takes_precedence_when_both_are_pending() -> None:
    d = decide_inbound(S.RESOLVED, csat_asked=True, nps_asked=True, automatic=False, text="9", payload=None)
    assert d == BACK_TO_BOT  # NPS is never parsed while CSAT is pending
    d = decide_inbound(S.RESOLVED, csat_asked=True, nps_asked=True, automatic=False, text="3", payload=None)
    assert (d.csat_score, d.nps_score) == (3, None)


def test_intent_names_the_survey_answer() -> None:
    assert decide(S.RESOLVED, "csat", False, "4").intent == "csat"
    assert decide(S.RESOLVED, "nps", False, "9").intent == "nps"
    assert decide(S.RESOLVED, "nps", False, NO_ANSWER).intent is None
    assert decide(S.ASSIGNED, None, False, "oi").intent is None


def test_decision_is_frozen() -> None:
    d = decide(S.BOT, None, False, "oi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.to_bot = False  # type: ignore[misc]
