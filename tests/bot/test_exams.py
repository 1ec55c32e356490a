"""Exams flow actions run for real against the hub's clinic API (seeded demo clinic)."""

from __future__ import annotations

from actions.exams import ActionExamInfo, ActionExamPreparation, ActionExamResults, ActionExamSchedule
from bot_helpers import buttons, make_tracker, run_action, signals, slot_events, texts
from live_hub import Hub

MARIA, JOAO = 1, 2
GRANTED = {"consent": True}


def test_preparation_of_a_named_exam_comes_from_the_catalog(hub: Hub) -> None:
    exam = hub.get("/api/clinic/exams/glicemia")
    messages, events = run_action(
        ActionExamPreparation(), make_tracker("exam_preparation", "preparo glicemia", {"exam": "glicemia"},
                                              slots=GRANTED, patient_id=MARIA))
    text = texts(messages)[0]
    assert exam["name"] in text and exam["preparation"] in text and "Jejum de 8 horas" in text
    assert exam["collection_hours"] in text
    assert slot_events(events)["awaiting_item"] is None


def test_preparation_without_an_exam_asks_which_with_buttons(hub: Hub) -> None:
    catalog = hub.get("/api/clinic/exams")
    messages, events = run_action(ActionExamPreparation(), make_tracker("exam_preparation", slots=GRANTED))
    (message,) = messages
    assert message["response"] == "utter_ask_which_exam"
    payloads = [b["payload"] for b in buttons(message)]
    assert payloads == [f'/exam_preparation{{"exam":"{e["slug"]}"}}' for e in catalog]
    assert slot_events(events) == {"awaiting_item": "exam_preparation"}


def test_unknown_exam_is_said_and_the_list_offered(hub: Hub) -> None:
    messages, _ = run_action(ActionExamPreparation(),
                             make_tracker("exam_preparation", entities={"exam": "tomografia"}, slots=GRANTED))
    assert messages[0]["response"] == "utter_exam_unknown" and buttons(messages[0])


def test_results_show_status_and_report_links(hub: Hub) -> None:
    results = hub.get(f"/api/clinic/patients/{MARIA}/exam-results")
    messages, _ = run_action(ActionExamResults(), make_tracker("exam_results", slots=GRANTED, patient_id=MARIA))
    text = texts(messages)[0]
    for r in results:
        assert r["exam_name"] in text
        if r["status"] == "ready":
            assert r["report_url"] in text
    assert "em análise" in text and "pronto" in text
    assert "Como pegar o laudo" in text and "converse com seu médico" in text


def test_results_filtered_by_the_named_exam(hub: Hub) -> None:
    messages, _ = run_action(ActionExamResults(), make_tracker("exam_results", entities={"exam": "tsh"},
                                                               slots=GRANTED, patient_id=JOAO))
    text = texts(messages)[0]
    assert "TSH" in text and "Ultrassonografia" not in text and "coletado" in text


def test_results_need_consent(hub: Hub) -> None:
    messages, events = run_action(ActionExamResults(), make_tracker("exam_results", patient_id=3))
    assert [m.get("response") for m in messages] == ["utter_privacy_notice"]
    assert slot_events(events)["pending_intent"] == "exam_results"


def test_exam_needing_appointment_goes_to_the_exams_team(hub: Hub) -> None:
    assert hub.get("/api/clinic/exams/mamografia")["requires_appointment"] is True
    messages, _ = run_action(ActionExamSchedule(), make_tracker("exam_schedule", entities={"exam": "mamografia"},
                                                                slots=GRANTED, patient_id=MARIA))
    (signal,) = signals(messages)
    assert signal["handoff"]["reason"] == "exams" and "mamografia" in signal["handoff"]["note"]
    shown = "\n".join(texts(messages))
    assert "Mamografia" in shown and "agendad" in shown


def test_walk_in_exam_gets_instructions_and_no_handoff(hub: Hub) -> None:
    exam = hub.get("/api/clinic/exams/hemograma")
    assert exam["requires_appointment"] is False
    messages, _ = run_action(ActionExamSchedule(), make_tracker("exam_schedule", entities={"exam": "hemograma"},
                                                                slots=GRANTED, patient_id=MARIA))
    assert signals(messages) == []
    assert exam["collection_hours"] in texts(messages)[0] and "não precisa agendar" in texts(messages)[0]


def test_which_exams_the_clinic_does_and_one_exam_in_detail(hub: Hub) -> None:
    catalog = hub.get("/api/clinic/exams")
    messages, _ = run_action(ActionExamInfo(), make_tracker("exam_info", slots=GRANTED))
    text = texts(messages)[0]
    assert all(e["name"] in text for e in catalog)
    messages, _ = run_action(ActionExamInfo(), make_tracker("exam_info", entities={"exam": "raio_x"}, slots=GRANTED))
    price = hub.get("/api/clinic/prices?exam=raio_x")[0]["price_text"]
    assert price in texts(messages)[0]


def test_a_bare_exam_name_answers_the_pending_which_exam_question(hub: Hub) -> None:
    # NLU reads "colesterol" alone as exam_info; after "which exam?" it is the answer.
    pending = {**GRANTED, "awaiting_item": "ask_price"}
    messages, events = run_action(ActionExamInfo(), make_tracker("exam_info", "colesterol", {"exam": "colesterol"},
                                                                 slots=pending))
    price = hub.get("/api/clinic/prices?exam=colesterol")[0]
    assert texts(messages)[0].startswith("💰 Valores") and price["price_text"] in texts(messages)[0]
    assert slot_events(events)["awaiting_item"] is None
    pending = {**GRANTED, "awaiting_item": "exam_schedule"}
    messages, _ = run_action(ActionExamInfo(), make_tracker("exam_info", "mamografia", {"exam": "mamografia"},
                                                            slots=pending, patient_id=MARIA))
    assert signals(messages)[0]["handoff"]["reason"] == "exams"


def test_a_typed_choice_among_the_offered_exam_buttons_answers_which_exam(hub: Hub) -> None:
    from bot_helpers import user_event

    catalog = hub.get("/api/clinic/exams")
    asked, events = run_action(ActionExamPreparation(), make_tracker("exam_preparation", "qual o preparo?",
                                                                     slots=GRANTED))
    shown = {"event": "bot", "text": "Qual exame?", "data": {"buttons": buttons(asked[0])}}
    history = [user_event("exam_preparation", "qual o preparo?"), shown]
    answer = make_tracker("inform", "o segundo", slots={**GRANTED, **slot_events(events)}, history=history)
    messages, events = run_action(ActionExamPreparation(), answer)
    assert catalog[1]["name"] in texts(messages)[0] and catalog[1]["preparation"] in texts(messages)[0]
    assert slot_events(events)["awaiting_item"] is None
    # without the question on screen, "o segundo" names nothing: asked again
    messages, _ = run_action(ActionExamPreparation(), make_tracker("inform", "o segundo", slots=GRANTED))
    assert messages[0]["response"] == "utter_ask_which_exam"
