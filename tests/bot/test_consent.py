"""Consent gate, greeting and session start, run for real against the hub's clinic API."""

from __future__ import annotations

import asyncio
from typing import Any

from actions.clinic_api import ClinicApi
from actions.clinic_info import ActionGreet
from actions.consent import (
    PRIVACY_VERSION,
    ActionConsentAccept,
    ActionConsentRefuse,
    ActionSessionStart,
    require_consent,
)
from actions.handoff import ActionHandoff
from bot_helpers import buttons, make_tracker, render, run_action, signals, slot_events, texts, user_event
from live_hub import Hub
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker

GREETING = "Olá! Sou a assistente virtual da Clínica Exemplo"
MARIA, JOAO, ANA = 1, 2, 3


def _gate(tracker: Tracker) -> tuple[list[dict[str, Any]], list[EventType] | None]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(require_consent(dispatcher, tracker, ClinicApi()))
    return dispatcher.messages, events


def test_first_contact_greeting_is_one_bubble_with_the_notice(hub: Hub) -> None:
    assert hub.get(f"/api/clinic/patients/{MARIA}")["consent"] is None
    messages, events = run_action(ActionGreet(), make_tracker("greet", "oi", patient_id=MARIA))
    (message,) = messages
    assert render(message).startswith(GREETING)
    assert "LGPD" in render(message)
    assert [b["payload"] for b in buttons(message)] == ["/consent_accept", "/consent_refuse"]
    assert slot_events(events) == {"pending_intent": None, "consent_asked": True}


def test_gate_shows_the_notice_and_accepting_records_it_and_resumes_the_request(hub: Hub) -> None:
    request = make_tracker("exam_results", "ja saiu meu exame?", {"exam": "glicemia"}, patient_id=JOAO)
    messages, events = _gate(request)
    assert events is not None, "no consent yet: the gate must stop the action"
    assert [m.get("response") for m in messages] == ["utter_privacy_notice"]
    assert slot_events(events) == {"pending_intent": "exam_results", "consent_asked": True}

    accept = make_tracker(
        "consent_accept", "/consent_accept", slots=slot_events(events), patient_id=JOAO,
        history=[request.events[-1]],
    )
    messages, events = run_action(ActionConsentAccept(), accept)
    assert "registrado" in texts(messages)[0]
    stored = hub.get(f"/api/clinic/patients/{JOAO}")["consent"]
    assert stored["granted"] is True and stored["version"] == PRIVACY_VERSION and stored["at"]
    assert slot_events(events) == {"consent": True, "consent_asked": False, "pending_intent": None}
    replay = [e for e in events if e.get("event") in ("action", "user")]
    assert replay[0]["name"] == "action_listen"
    assert replay[1]["parse_data"]["intent"]["name"] == "exam_results"
    assert replay[1]["parse_data"]["entities"] == [{"entity": "exam", "value": "glicemia"}]

    # From now on the gate lets this patient through, even in a new conversation (no slot).
    messages, events = _gate(make_tracker("boleto_copy", patient_id=JOAO))
    assert events is None and messages == []


def test_accepting_with_nothing_pending_asks_how_to_help(hub: Hub) -> None:
    messages, events = run_action(ActionConsentAccept(), make_tracker("consent_accept", patient_id=MARIA))
    assert [m.get("response") for m in messages] == ["utter_consent_thanks", "utter_how_can_i_help"]
    assert not [e for e in events if e.get("event") == "user"]
    assert hub.get(f"/api/clinic/patients/{MARIA}")["consent"]["granted"] is True


def test_refusing_records_it_and_offers_a_person_or_the_phone(hub: Hub) -> None:
    messages, events = run_action(ActionConsentRefuse(), make_tracker("consent_refuse", patient_id=ANA))
    stored = hub.get(f"/api/clinic/patients/{ANA}")["consent"]
    assert stored["granted"] is False and stored["version"] == PRIVACY_VERSION
    phone = hub.get("/api/clinic/info")["phone"]
    (message,) = messages
    assert phone in render(message)
    assert any(b["payload"] == "/request_human" for b in buttons(message))
    assert slot_events(events)["consent"] is False
    # Refused is not granted: routine requests show the notice again (the patient may change their mind).
    _, gate_events = _gate(make_tracker("boleto_copy", patient_id=ANA, slots={"consent": False}))
    assert gate_events is not None
    # A person requested after refusing: the team is told why the bot could not help.
    messages, _ = run_action(ActionHandoff(), make_tracker("request_human", patient_id=ANA, slots={"consent": False}))
    assert signals(messages)[0]["handoff"]["reason"] == "consent_refused"


def test_session_start_keeps_slots_drops_stale_questions_and_reads_consent(hub: Hub) -> None:
    # JOAO granted consent in an earlier test when run in order; make sure regardless.
    asyncio.run(ClinicApi().record_consent(JOAO, True, PRIVACY_VERSION))
    tracker = make_tracker(
        "greet", patient_id=JOAO,
        slots={"consent": None, "pending_intent": "boleto_copy", "consent_asked": True, "awaiting_item": "ask_price",
               "booking_ctx": {"step": "x"}, "session_started_metadata": {"patient_id": JOAO, "channel": "webchat"}},
    )
    tracker.events = []  # the session starts before the first message is logged
    tracker.latest_message = {}
    _, events = run_action(ActionSessionStart(), tracker)
    assert events[0]["event"] == "session_started"
    assert events[-1] == {**events[-1], "event": "action", "name": "action_listen"}
    slots = slot_events(events)
    assert slots["consent"] is True  # from the API
    assert slots["booking_ctx"] == {"step": "x"}  # other slots are carried over
    assert not {"pending_intent", "consent_asked", "awaiting_item"} & set(slots)  # stale questions are not
    assert slots["session_started_metadata"]["patient_id"] == JOAO


def test_greeting_after_consent_is_the_usual_one(hub: Hub) -> None:
    asyncio.run(ClinicApi().record_consent(JOAO, True, PRIVACY_VERSION))
    messages, events = run_action(ActionGreet(), make_tracker("greet", "oi", patient_id=JOAO))
    assert [m.get("response") for m in messages] == ["utter_greet"]
    assert events == []


def test_metadata_from_an_earlier_message_identifies_the_patient(hub: Hub) -> None:
    # A button payload replayed without metadata still finds the patient in earlier events.
    earlier = user_event("greet", "oi", metadata={"patient_id": MARIA})
    tracker = make_tracker("consent_accept", history=[earlier])
    messages, _ = run_action(ActionConsentAccept(), tracker)
    assert "registrado" in texts(messages)[0]
