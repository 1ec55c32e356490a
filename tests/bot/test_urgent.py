"""Urgent path: runs the real action. It must work with NO hub at all (no consent, no API), at any
hour, and never leak the patient's text into the handoff note."""

from __future__ import annotations

import pytest
from actions import urgent
from actions.urgent import ActionUrgent, is_suicide_risk, urgent_note
from bot_helpers import DOMAIN, make_tracker, render, run_action, signals, texts


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on localhost: any API call would fail; the urgent path must not make one.
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:9")


def test_chest_pain_gets_samu_and_an_urgent_handoff_without_consent() -> None:
    text = "to com uma dor no peito muito forte e falta de ar"
    tracker = make_tracker(
        "urgent_symptom", text, [("red_flag", "chest_pain"), ("red_flag", "shortness_of_breath")],
        slots={"consent": None}, patient_id=7,
    )
    messages, events = run_action(ActionUrgent(), tracker)
    shown = "\n".join(texts(messages))
    assert "192" in shown and "pronto-socorro" in shown
    assert "188" not in shown  # CVV only for suicide risk
    assert "Aceito" not in shown and "LGPD" not in shown  # no consent gate on this path
    (signal,) = signals(messages)
    handoff = signal["handoff"]
    assert handoff["reason"] == "urgent" and handoff["priority"] == "urgent"
    assert "chest_pain" in handoff["note"] and "shortness_of_breath" in handoff["note"]
    assert "peito" not in handoff["note"].split("|")[0]  # codes, not the message
    assert text not in handoff["note"]
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


def test_suicidal_thoughts_add_cvv_188_and_a_warm_line() -> None:
    tracker = make_tracker("urgent_symptom", "nao aguento mais viver, penso em me matar",
                           [("red_flag", "suicidal_ideation")])
    messages, _ = run_action(ActionUrgent(), tracker)
    shown = "\n".join(texts(messages))
    assert "188" in shown and "CVV" in shown and "24 horas" in shown
    assert "192" in shown
    assert "não está sozinho" in shown
    note = signals(messages)[0]["handoff"]["note"]
    assert "suicidal_ideation" in note and "matar" not in note


def test_suicide_found_by_the_rule_layer_even_without_the_entity() -> None:
    # e.g. the classifier said urgent but the override entity was lost on the way
    tracker = make_tracker("urgent_symptom", "quero morrer, não aguento mais")
    messages, _ = run_action(ActionUrgent(), tracker)
    assert any("188" in t for t in texts(messages))


def test_classifier_only_urgent_still_hands_off_with_a_note() -> None:
    tracker = make_tracker("urgent_symptom", "socorro minha mae ta muito mal")
    messages, _ = run_action(ActionUrgent(), tracker)
    assert any("192" in t for t in texts(messages))
    assert signals(messages)[0]["handoff"]["priority"] == "urgent"


def test_suicide_detection_sources() -> None:
    assert is_suicide_risk("", ["self_harm"], [])
    assert is_suicide_risk("x", [], [("suicidal_ideation", "suicide")])
    assert not is_suicide_risk("dor no peito, acho que vou morrer", ["chest_pain"], [("chest_pain", "chest_pain")])
    # safety net only when the rule layer is unavailable
    assert is_suicide_risk("quero me matar", [], None)
    assert not is_suicide_risk("dor no peito", [], None)


def test_note_has_codes_and_labels_only() -> None:
    assert urgent_note(["b", "a", "a"]) == "red_flags: a, b"
    assert urgent_note([]) == "red_flags: nenhum (classificador)"
    assert urgent_note(["chest_pain"], ["dor/aperto no peito"]) == "red_flags: chest_pain | dor/aperto no peito"


def test_safety_texts_never_advise_beyond_emergency_care() -> None:
    for name in ("utter_urgent_emergency", "utter_urgent_suicide", "utter_urgent_team_alerted"):
        text = render({"response": name}).lower()
        for advice in ("tome ", "remédio", "medicamento", "diagnóstico", "provavelmente", "deve ser"):
            assert advice not in text, (name, advice)
    assert "action_urgent" in DOMAIN["actions"]


def test_detect_flags_uses_the_rule_layer() -> None:
    flags = urgent.detect_flags("estou com muita dor no peito")
    assert flags is not None and any(category == "chest_pain" for _, category in flags)


def test_note_says_why_a_concept_fired_and_what_to_confirm() -> None:
    tracker = make_tracker("urgent_symptom", "meu pai é diabetico, ta suando frio, enjoado e com o braço pesado")
    messages, _ = run_action(ActionUrgent(), tracker)
    note = signals(messages)[0]["handoff"]["note"]
    assert "acs_cluster" in note and "MTS" in note
    assert "suando" not in note and "braço" not in note  # codes and protocol labels only
    unsure = urgent.flag_explanations("tive dor no peito mes passado e voltou agora")
    assert any(label.startswith("confirmar:") for label in unsure)


def test_classifier_only_urgent_note_says_no_rule_confirmed_it() -> None:
    tracker = make_tracker("urgent_symptom", "socorro minha mae ta muito mal")
    messages, _ = run_action(ActionUrgent(), tracker)
    assert urgent.UNCONFIRMED_LABEL in signals(messages)[0]["handoff"]["note"]
