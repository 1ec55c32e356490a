"""Reading a message before its intent is trusted (bot/actions/input_route.py) and the clarifying
question (bot/actions/clarify.py): the pure rules, then the real actions on rasa_sdk trackers."""

from __future__ import annotations

from typing import Any

import pytest
from actions.booking_slots import when_buttons
from actions.clarify import CHOICES, clarification_candidates, clarifying_question, load_reasons
from actions.common import REPLAY_KEY, YES_NO_BUTTONS, user_intents
from actions.fallback import ActionClarify, ActionFallback, ActionOutOfScope
from actions.flow import choices_after
from actions.input_route import (
    ActionFlowContinue,
    ActionReadInput,
    Reading,
    conversation_turn,
    option_replay,
    read_message,
)
from bot_helpers import DOMAIN, buttons, make_tracker, render, run_action, signals, slot_events, user_event

REASONS = load_reasons()
WHEN = when_buttons()
GRANTED = {"consent": True}


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 9: handoffs still go through (hours unknown), nothing else is called.
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:9")


def parse(text: str, intent: str, confidence: float = 0.9, ranking: list[tuple[str, float]] | None = None,
          entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ranking = ranking or [(intent, confidence)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": entities or [],
    }  # fmt: skip


# -- the clarification decision -------------------------------------------------------------------


def test_reasons_come_from_reasons_yml() -> None:
    assert REASONS["book_appointment"] == "booking" and REASONS["exam_info"] == "exams"
    assert REASONS["urgent_symptom"] == "urgent"
    assert set(CHOICES) <= set(REASONS)


@pytest.mark.parametrize(
    "ranking, expected",
    [
        # two reasons, close, unsure: ask, best first
        ([("book_appointment", 0.45), ("exam_info", 0.40)], ("book_appointment", "exam_info")),
        ([("exam_info", 0.52), ("ask_price", 0.47), ("book_appointment", 0.01)], ("exam_info", "ask_price")),
        # the ranking may come unsorted, and nlu_fallback on top (FallbackClassifier)
        ([("nlu_fallback", 0.3), ("exam_info", 0.22), ("book_appointment", 0.25)], ("book_appointment", "exam_info")),
        # confident enough: go on
        ([("book_appointment", 0.62), ("exam_info", 0.55)], None),
        # far apart
        ([("book_appointment", 0.55), ("exam_info", 0.40)], None),
        # same reason (both booking): the flow is the same, no need to ask
        ([("book_appointment", 0.45), ("ask_availability", 0.44)], None),
        ([("exam_results", 0.40), ("exam_info", 0.39)], None),
        # urgent is never asked about, first or second
        ([("urgent_symptom", 0.45), ("book_appointment", 0.44)], None),
        ([("book_appointment", 0.45), ("urgent_symptom", 0.44)], None),
        # intents with nothing to offer as a button
        ([("greet", 0.45), ("book_appointment", 0.44)], None),
        ([("book_appointment", 0.45), ("out_of_scope", 0.44)], None),
        # nothing to compare
        ([("book_appointment", 0.45)], None),
        ([], None),
    ],
)
def test_when_to_ask(ranking: list[tuple[str, float]], expected: tuple[str, str] | None) -> None:
    items = [{"name": n, "confidence": c} for n, c in ranking]
    assert clarification_candidates(items, REASONS) == expected


def test_at_most_once_in_a_row() -> None:
    items = [{"name": "book_appointment", "confidence": 0.45}, {"name": "exam_info", "confidence": 0.4}]
    assert clarification_candidates(items, REASONS, previous_unclear=True) is None


def test_the_question_and_its_buttons() -> None:
    values, btns = clarifying_question(("book_appointment", "exam_info"))
    text = render({"response": "utter_clarify_reason", **values})
    assert text == "Só para eu entender: você quer marcar uma consulta ou saber de um exame?"
    assert btns == [
        {"title": "Marcar consulta", "payload": "/book_appointment"},
        {"title": "Saber de um exame", "payload": "/exam_info"},
    ]
    for intent, (what, title) in CHOICES.items():
        assert what and title and what == what.strip() and not title[0].islower(), intent


# -- routing (pure) -------------------------------------------------------------------------------


def test_o_quanto_antes_read_as_a_price_question_is_the_offered_option() -> None:
    reading = read_message(parse("o quanto antes", "ask_price", 0.81), options=WHEN, kind="booking",
                           flow_waiting=True, reasons=REASONS)  # fmt: skip
    assert reading.route == "option" and reading.option == WHEN[0]


@pytest.mark.parametrize("text", ["1", "o primeiro", "quanto antes", "a segunda", "semana que vem"])
def test_any_intent_naming_an_option_is_the_option(text: str) -> None:
    for intent in ("ask_price", "greet", "inform", "book_appointment", "nlu_fallback"):
        reading = read_message(parse(text, intent), options=WHEN, kind="booking", flow_waiting=True)
        assert reading.route == "option", (text, intent)


def test_a_red_flag_always_wins() -> None:
    urgent = parse("1", "urgent_symptom", 1.0, entities=[{"entity": "red_flag", "value": "chest_pain"}])
    assert read_message(urgent, options=WHEN, kind="booking", flow_waiting=True) == Reading()
    # the entity alone is enough, whatever the intent says
    flagged = parse("o quanto antes", "ask_price", 0.5, entities=[{"entity": "red_flag", "value": "x"}])
    assert read_message(flagged, options=WHEN, kind="booking", flow_waiting=True) == Reading()
    ambiguous = parse("socorro", "urgent_symptom", 0.45, [("urgent_symptom", 0.45), ("book_appointment", 0.44)])
    assert read_message(ambiguous, reasons=REASONS) == Reading()


def test_a_confident_change_of_subject_leaves_the_flow_an_unsure_one_stays() -> None:
    price = parse("quanto custa a consulta?", "ask_price", 0.9)
    assert read_message(price, options=WHEN, kind="booking", flow_waiting=True).route is None
    unsure = parse("hmm talvez isso", "ask_price", 0.4)
    assert read_message(unsure, options=WHEN, kind="booking", flow_waiting=True).route == "flow"
    # answers are the flow's anyway (their own rules send them there)
    for intent in ("inform", "affirm", "deny", "nlu_fallback"):
        assert read_message(parse("xyz", intent, 0.3), options=WHEN, flow_waiting=True).route is None
    # a flow that waits without buttons (e.g. the CPF) keeps unsure messages too
    assert read_message(unsure, flow_waiting=True).route == "flow"
    # no flow waiting: its own rule
    assert read_message(unsure).route is None


def test_buttons_payloads_and_replays_are_not_read_again() -> None:
    click = parse('/choose_when{"when":"o quanto antes"}', "choose_when", 1.0)
    assert read_message(click, options=WHEN, flow_waiting=True) == Reading()
    replay = {**parse("o quanto antes", "choose_when", 1.0), REPLAY_KEY: {"intent": "ask_price"}}
    assert read_message(replay, options=WHEN, flow_waiting=True) == Reading()


def test_unsure_between_two_reasons_asks_unless_a_flow_waits_or_just_asked() -> None:
    message = parse("queria ver o exame e a consulta", "book_appointment", 0.45,
                    [("book_appointment", 0.45), ("exam_info", 0.41)])  # fmt: skip
    reading = read_message(message, reasons=REASONS)
    assert reading.route == "clarify" and reading.candidates == ("book_appointment", "exam_info")
    fallback = parse("queria ver o exame e a consulta", "nlu_fallback", 0.3,
                     [("nlu_fallback", 0.3), ("book_appointment", 0.28), ("exam_info", 0.25)])  # fmt: skip
    assert read_message(fallback, reasons=REASONS).route == "clarify"
    assert read_message(message, reasons=REASONS, previous_unclear=True).route is None
    assert read_message(message, reasons=REASONS, flow_waiting=True).route == "flow"


def test_the_answer_to_the_clarifying_question() -> None:
    _, options = clarifying_question(("book_appointment", "exam_info"))
    for text, expected in [("marcar consulta", 0), ("o segundo", 1), ("exame", 1), ("1", 0)]:
        reading = read_message(parse(text, "nlu_fallback", 0.2), options=options, kind="clarify")
        assert reading.route == "option" and reading.option == options[expected], text
    unclear = read_message(parse("sei la", "nlu_fallback", 0.2), options=options, kind="clarify")
    assert unclear.route == "unclear"
    again = parse("hmm", "book_appointment", 0.45, [("book_appointment", 0.45), ("exam_info", 0.41)])
    assert read_message(again, options=options, kind="clarify", reasons=REASONS).route == "unclear"
    clear = parse("quero falar com um atendente", "request_human", 0.95)
    assert read_message(clear, options=options, kind="clarify", reasons=REASONS).route is None


def test_choices_after_a_flow_step() -> None:
    sent: list[dict[str, Any]] = [
        {"response": "utter_booking_symptom_suggestion"},
        {"response": "utter_booking_ask_when", "buttons": WHEN},
    ]
    assert choices_after(sent, None, same_step=False) == WHEN
    # a message without buttons (agenda unavailable): the same question still waits on its buttons
    assert choices_after([{"response": "utter_booking_api_error"}], WHEN, same_step=True) == WHEN
    assert choices_after([{"response": "utter_booking_ask_birth_date"}], WHEN, same_step=False) == []
    # plain-text payloads cannot be replayed: not options
    assert choices_after([{"buttons": [{"title": "Marcar", "payload": "Quero marcar"}]}], None, False) == []


def test_the_replay_carries_the_payload_and_keeps_the_patient_words_and_entities() -> None:
    message = {**parse("o quanto antes com a dra ana", "ask_price", 0.7,
                       entities=[{"entity": "doctor", "value": "dra ana"}]), "metadata": {"patient_id": 3}}  # fmt: skip
    listen, user = option_replay(message, WHEN[0])
    assert listen["event"] == "action" and listen["name"] == "action_listen"
    data = user["parse_data"]
    assert user["text"] == data["text"] == "o quanto antes com a dra ana"
    assert data["intent"] == {"name": "choose_when", "confidence": 1.0}
    assert data["entities"] == [{"entity": "when", "value": "o quanto antes"}, {"entity": "doctor", "value": "dra ana"}]
    assert data[REPLAY_KEY] == {"option": "O quanto antes", "intent": "ask_price", "confidence": 0.7}
    assert user["metadata"] == {"patient_id": 3}


# -- the actions ----------------------------------------------------------------------------------

BOOKING_WHEN = {
    **GRANTED,
    "active_flow": "booking",
    "booking_ctx": {"mode": "book", "step": "when", "specialty": "cardiologia", "choices": WHEN, "misses": 0},
}


def _message(tracker_intent: str, text: str, confidence: float, **kwargs: Any) -> Any:
    tracker = make_tracker(tracker_intent, text, **kwargs)
    tracker.latest_message["intent"]["confidence"] = confidence
    tracker.latest_message["intent_ranking"] = [{"name": tracker_intent, "confidence": confidence}]
    return tracker


def test_read_input_sets_the_route_of_o_quanto_antes_during_booking() -> None:
    tracker = _message("ask_price", "o quanto antes", 0.8, slots=BOOKING_WHEN, patient_id=2)
    _, events = run_action(ActionReadInput(), tracker)
    assert events == [{"event": "slot", "timestamp": None, "name": "input_route", "value": "option"}]
    # a real price question mid-flow follows its own rule
    tracker = _message("ask_price", "quanto custa a consulta de cardiologia?", 0.9, slots=BOOKING_WHEN)
    assert slot_events(run_action(ActionReadInput(), tracker)[1]) == {"input_route": None}


def test_flow_continue_answers_o_quanto_antes_as_the_when_button() -> None:
    tracker = _message("ask_price", "o quanto antes", 0.8, slots={**BOOKING_WHEN, "input_route": "option"},
                       patient_id=2)  # fmt: skip
    messages, events = run_action(ActionFlowContinue(), tracker)
    assert messages == []  # nothing said yet: the replayed button continues the booking
    replayed = [e for e in events if e.get("event") == "user"]
    assert len(replayed) == 1
    data = replayed[0]["parse_data"]
    assert data["intent"]["name"] == "choose_when"
    assert {"entity": "when", "value": "o quanto antes"} in data["entities"]
    assert replayed[0]["metadata"]["patient_id"] == 2
    # that replay is a button click: read again, it follows the "date button" rule to the flow
    replay_tracker = make_tracker("choose_when", "o quanto antes", slots={**BOOKING_WHEN, "input_route": "option"},
                                  history=[tracker.events[-1]])  # fmt: skip
    replay_tracker.latest_message.update(data)
    assert slot_events(run_action(ActionReadInput(), replay_tracker)[1]) == {"input_route": None}


def test_clarify_asks_once_with_two_buttons_and_remembers_them_for_one_turn() -> None:
    tracker = _message("book_appointment", "queria ver o exame da consulta", 0.45)
    tracker.latest_message["intent_ranking"] = [
        {"name": "book_appointment", "confidence": 0.45}, {"name": "exam_info", "confidence": 0.41}]
    messages, events = run_action(ActionClarify(), tracker)
    (message,) = messages
    assert render(message) == "Só para eu entender: você quer marcar uma consulta ou saber de um exame?"
    assert [b["payload"] for b in buttons(message)] == ["/book_appointment", "/exam_info"]
    offered = slot_events(events)["offered_options"]
    assert offered["kind"] == "clarify" and offered["turn"] == conversation_turn(tracker) == 1
    assert [o["payload"] for o in offered["options"]] == ["/book_appointment", "/exam_info"]

    # the next message: "o segundo" is the exam button, whatever the NLU made of it
    answer = _message("nlu_fallback", "o segundo", 0.2, slots={"offered_options": offered, "input_route": "option"},
                      history=[tracker.events[-1]])  # fmt: skip
    assert slot_events(run_action(ActionReadInput(), answer)[1]) == {"input_route": "option"}
    _, events = run_action(ActionFlowContinue(), answer)
    assert slot_events(events) == {"offered_options": None}  # answered
    replayed = next(e for e in events if e.get("event") == "user")["parse_data"]
    assert replayed["intent"]["name"] == "exam_info"

    # the turn after, the buttons are no longer on screen
    later = _message("nlu_fallback", "o segundo", 0.2, slots={"offered_options": offered},
                     history=[tracker.events[-1], user_event("greet", "oi")])  # fmt: skip
    assert slot_events(run_action(ActionReadInput(), later)[1]) == {"input_route": None}


def test_unclear_again_after_the_clarifying_question_hands_off() -> None:
    first = _message("book_appointment", "queria ver o exame da consulta", 0.45)
    first.latest_message["intent_ranking"] = [
        {"name": "book_appointment", "confidence": 0.45}, {"name": "exam_info", "confidence": 0.41}]
    _, events = run_action(ActionClarify(), first)
    offered = slot_events(events)["offered_options"]
    second = _message("nlu_fallback", "sei la", 0.2, slots={"offered_options": offered, "input_route": "unclear"},
                      history=[first.events[-1]])  # fmt: skip
    assert slot_events(run_action(ActionReadInput(), second)[1]) == {"input_route": "unclear"}
    messages, _ = run_action(ActionFallback(), second)
    (signal,) = signals(messages)
    assert signal["handoff"]["reason"] == "misunderstood"
    assert "sei la" not in signal["handoff"]["note"]


def test_fallback_between_two_reasons_asks_instead_of_the_generic_rephrase() -> None:
    tracker = _message("nlu_fallback", "exame consulta", 0.3)
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.3}, {"name": "exam_results", "confidence": 0.27},
        {"name": "check_appointment", "confidence": 0.24}]  # fmt: skip
    messages, events = run_action(ActionFallback(), tracker)
    assert [m.get("response") for m in messages] == ["utter_clarify_reason"]
    assert [b["title"] for b in buttons(messages[0])] == ["Resultado de exame", "Ver minha consulta"]
    assert slot_events(events)["offered_options"]["kind"] == "clarify"
    # nothing close: the usual rephrase, and the second misunderstanding in a row hands off
    messages, _ = run_action(ActionFallback(), make_tracker("nlu_fallback", "asdf"))
    assert [m.get("response") for m in messages] == ["utter_rephrase_options"]
    again = make_tracker("nlu_fallback", "exame consulta", history=[user_event("nlu_fallback", "asdf")])
    again.latest_message["intent_ranking"] = tracker.latest_message["intent_ranking"]
    messages, _ = run_action(ActionFallback(), again)
    assert signals(messages)[0]["handoff"]["reason"] == "misunderstood"


def test_a_stale_clarify_route_falls_back_to_the_plain_fallback() -> None:
    messages, events = run_action(ActionClarify(), make_tracker("nlu_fallback", "asdf"))
    assert [m.get("response") for m in messages] == ["utter_rephrase_options"] and events == []


def test_a_replayed_message_is_one_turn_for_the_misunderstanding_count() -> None:
    original = user_event("out_of_scope", "o quanto antes")
    replay = user_event("choose_when", "o quanto antes")
    replay["parse_data"][REPLAY_KEY] = {"intent": "out_of_scope"}
    tracker = make_tracker("out_of_scope", "previsão do tempo", history=[original, replay])
    assert user_intents(tracker) == ["choose_when", "out_of_scope"]
    assert conversation_turn(tracker) == 2
    messages, _ = run_action(ActionOutOfScope(), tracker)
    assert [m.get("response") for m in messages] == ["utter_out_of_scope"]  # not a second misunderstanding


def test_yes_no_buttons_of_the_booking_confirmation_are_options_too() -> None:
    slots = {**GRANTED, "active_flow": "booking",
             "booking_ctx": {"mode": "book", "step": "confirm", "choices": YES_NO_BUTTONS, "slot": {}}}  # fmt: skip
    tracker = _message("book_appointment", "sim", 0.55, slots=slots)
    assert slot_events(run_action(ActionReadInput(), tracker)[1]) == {"input_route": "option"}


def test_the_domain_declares_the_new_slots_and_response() -> None:
    assert DOMAIN["slots"]["input_route"]["mappings"] == [{"type": "custom", "action": "action_read_input"}]
    assert "action_read_input" in DOMAIN["actions"] and "action_clarify" in DOMAIN["actions"]
    assert "utter_clarify_reason" in DOMAIN["responses"]
