"""Clinic info, small talk fallbacks and human handoffs run for real against the hub's clinic API."""

from __future__ import annotations

from typing import Any

from actions.clinic_info import ActionClinicInfo
from actions.fallback import ActionFallback, ActionOutOfScope
from actions.handoff import ActionAcknowledge, ActionComplain, ActionHandoff
from bot_helpers import make_tracker, render, run_action, signals, texts, user_event
from live_hub import Hub

GRANTED = {"consent": True}


def _expect_hours_aware(hub: Hub, messages: list[dict[str, Any]], open_response: str) -> None:
    info = hub.get("/api/clinic/info")
    shown = [m.get("response") for m in messages if not m.get("custom")]
    if info["is_open_now"]:
        assert shown == [open_response]
    else:  # out of hours: closed, registered, when a person answers
        closed = [m for m in messages if m.get("response") == "utter_handoff_closed"]
        assert closed and "registrado" in render(closed[0]) and closed[0]["when"]
        assert "fora do horário" in signals(messages)[0]["handoff"]["note"]


def test_address_hours_parking_accessibility_come_from_the_api(hub: Hub) -> None:
    info = hub.get("/api/clinic/info")
    expected = {
        "clinic_address": info["address"],
        "clinic_hours": info["hours_text"],
        "clinic_parking": info["parking"],
        "clinic_accessibility": info["accessibility"],
    }
    for intent, needle in expected.items():
        messages, events = run_action(ActionClinicInfo(), make_tracker(intent, slots=GRANTED, patient_id=1))
        assert needle in texts(messages)[0], intent
        assert events == []
    hours = texts(run_action(ActionClinicInfo(), make_tracker("clinic_hours", slots=GRANTED))[0])[0]
    assert ("abertos agora" in hours) == info["is_open_now"]


def test_public_answer_on_first_contact_adds_the_notice_without_blocking(hub: Hub) -> None:
    # No channel identity and no decision in the conversation: first contact.
    messages, events = run_action(ActionClinicInfo(), make_tracker("clinic_address"))
    assert [m.get("response") for m in messages] == [None, "utter_privacy_notice"]
    assert hub.get("/api/clinic/info")["address"] in texts(messages)[0]
    assert [(e["name"], e["value"]) for e in events] == [("pending_intent", None), ("consent_asked", True)]
    # Already shown in this conversation: not repeated.
    messages, _ = run_action(ActionClinicInfo(), make_tracker("clinic_parking", slots={"consent_asked": True}))
    assert [m.get("response") for m in messages] == [None]


def test_person_requested_is_handed_off_hours_aware(hub: Hub) -> None:
    messages, _ = run_action(ActionHandoff(), make_tracker("request_human", slots=GRANTED, patient_id=1))
    (signal,) = signals(messages)
    assert signal["handoff"]["reason"] == "human" and signal["handoff"]["priority"] == "normal"
    _expect_hours_aware(hub, messages, "utter_handoff_human")


def test_complaint_is_acknowledged_and_handed_off_with_high_priority(hub: Hub) -> None:
    messages, _ = run_action(ActionComplain(), make_tracker("complain", "péssimo atendimento", slots=GRANTED))
    (signal,) = signals(messages)
    assert signal["handoff"] == {"reason": "complain", "priority": "high", "note": signal["handoff"]["note"]}
    assert "péssimo" not in signal["handoff"]["note"]
    _expect_hours_aware(hub, messages, "utter_handoff_complain")


def test_second_misunderstanding_in_a_row_hands_off(hub: Hub) -> None:
    first = make_tracker("nlu_fallback", "asdf")
    messages, _ = run_action(ActionFallback(), first)
    assert [m["response"] for m in messages] == ["utter_rephrase_options"] and not signals(messages)
    second = make_tracker("nlu_fallback", "qwer", history=[user_event("nlu_fallback", "asdf")])
    messages, _ = run_action(ActionFallback(), second)
    assert signals(messages)[0]["handoff"]["reason"] == "misunderstood"


def test_out_of_scope_then_again_hands_off(hub: Hub) -> None:
    messages, _ = run_action(ActionOutOfScope(), make_tracker("out_of_scope", "previsao do tempo"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]
    again = make_tracker("out_of_scope", "piada", history=[user_event("out_of_scope", "tempo")])
    messages, _ = run_action(ActionOutOfScope(), again)
    assert signals(messages)[0]["handoff"]["reason"] == "out_of_scope"


def test_loose_yes_no_are_acknowledged() -> None:
    assert run_action(ActionAcknowledge(), make_tracker("affirm"))[0][0]["response"] == "utter_affirm_ack"
    assert run_action(ActionAcknowledge(), make_tracker("deny"))[0][0]["response"] == "utter_deny_ack"
