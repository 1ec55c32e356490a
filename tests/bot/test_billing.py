"""Billing flow actions run for real against the hub's clinic API (seeded demo clinic)."""

from __future__ import annotations

from actions.billing import ActionAskPrice, ActionBoletoCopy, ActionInsurance, ActionPaymentInfo
from bot_helpers import buttons, make_tracker, run_action, slot_events, texts
from live_hub import Hub

MARIA, JOAO = 1, 2
GRANTED = {"consent": True}


def test_second_copy_lists_unpaid_boletos_with_everything_to_pay(hub: Hub) -> None:
    unpaid = [b for b in hub.get(f"/api/clinic/patients/{MARIA}/boletos") if b["status"] != "paid"]
    assert len(unpaid) == 2
    messages, _ = run_action(ActionBoletoCopy(), make_tracker("boleto_copy", slots=GRANTED, patient_id=MARIA))
    shown = texts(messages)
    assert "2 boleto(s)" in shown[0]
    body = "\n".join(shown)
    for b in unpaid:
        for value in (b["amount_text"], b["barcode"], b["pix_code"], b["pdf_url"], b["description"]):
            assert value in body
    assert "vencido" in body  # the overdue one is flagged and help offered
    assert messages[-1]["response"] == "utter_boleto_overdue_help"


def test_nothing_open(hub: Hub) -> None:
    messages, _ = run_action(ActionBoletoCopy(), make_tracker("boleto_copy", slots=GRANTED, patient_id=JOAO))
    assert [m["response"] for m in messages] == ["utter_no_open_boletos"]


def test_boletos_need_consent(hub: Hub) -> None:
    messages, events = run_action(ActionBoletoCopy(), make_tracker("boleto_copy", patient_id=3))
    assert [m.get("response") for m in messages] == ["utter_privacy_notice"]
    assert slot_events(events)["pending_intent"] == "boleto_copy"


def test_payment_info_gives_policy_and_status(hub: Hub) -> None:
    messages, _ = run_action(ActionPaymentInfo(), make_tracker("payment_info", slots=GRANTED, patient_id=MARIA))
    assert messages[0]["response"] == "utter_payment_methods"
    assert "1 vencido" in texts(messages)[1] and "1 em aberto" in texts(messages)[1]
    assert buttons(messages[1])[0]["payload"] == "/boleto_copy"


def test_prices_per_specialty_and_exam(hub: Hub) -> None:
    cardio = hub.get("/api/clinic/prices?specialty=cardiologia")[0]
    hemo = hub.get("/api/clinic/prices?exam=hemograma")[0]
    messages, _ = run_action(ActionAskPrice(), make_tracker(
        "ask_price", entities=[("specialty", "cardiologia"), ("exam", "hemograma")], slots=GRANTED))
    text = texts(messages)[0]
    assert f"{cardio['item']}: {cardio['price_text']}" in text and f"{hemo['item']}: {hemo['price_text']}" in text


def test_price_without_item_asks_which_with_specialty_buttons(hub: Hub) -> None:
    specialties = hub.get("/api/clinic/specialties")
    messages, events = run_action(ActionAskPrice(), make_tracker("ask_price", slots=GRANTED))
    assert messages[0]["response"] == "utter_ask_which_price"
    assert len(buttons(messages[0])) == len(specialties)
    assert buttons(messages[0])[0]["payload"].startswith('/ask_price{"specialty":')
    assert slot_events(events) == {"awaiting_item": "ask_price"}


def test_unknown_price_item(hub: Hub) -> None:
    tracker = make_tracker("ask_price", entities={"exam": "tomografia"}, slots=GRANTED)
    messages, _ = run_action(ActionAskPrice(), tracker)
    assert messages[0]["response"] == "utter_price_unknown"


def test_accepts_unimed_answered_specifically(hub: Hub) -> None:
    unimed = next(i for i in hub.get("/api/clinic/insurers") if i["slug"] == "unimed")
    messages, _ = run_action(ActionInsurance(), make_tracker("insurance", "aceita unimed?", {"insurer": "unimed"},
                                                             slots=GRANTED))
    (text,) = texts(messages)
    assert text.startswith("Sim, aceitamos *Unimed*")
    assert all(plan in text for plan in unimed["plans"])
    assert ("autorização" in text) == unimed["requires_authorization"]


def test_insurer_not_accepted_and_the_full_list(hub: Hub) -> None:
    names = [i["name"] for i in hub.get("/api/clinic/insurers")]
    messages, _ = run_action(ActionInsurance(), make_tracker("insurance", entities={"insurer": "golden_cross"},
                                                             slots=GRANTED))
    text = texts(messages)[0]
    assert "não atendemos pelo Golden_Cross" not in text and "Golden Cross" in text
    assert all(n in text for n in names)
    messages, _ = run_action(ActionInsurance(), make_tracker("insurance", slots=GRANTED))
    assert all(n in texts(messages)[0] for n in names)


def test_price_of_an_unnamed_exam_asks_which_exam(hub: Hub) -> None:
    catalog = hub.get("/api/clinic/exams")
    messages, events = run_action(ActionAskPrice(), make_tracker("ask_price", "quanto fica o exame?", slots=GRANTED))
    assert messages[0]["response"] == "utter_ask_which_exam_price"
    assert [b["payload"] for b in buttons(messages[0])] == [f'/ask_price{{"exam":"{e["slug"]}"}}' for e in catalog]
    assert slot_events(events) == {"awaiting_item": "ask_price"}


def test_a_typed_choice_among_the_offered_price_buttons_answers_which_price(hub: Hub) -> None:
    from bot_helpers import user_event

    cardio = hub.get("/api/clinic/prices?specialty=cardiologia")[0]
    asked, events = run_action(ActionAskPrice(), make_tracker("ask_price", "quanto custa?", slots=GRANTED))
    shown = {"event": "bot", "text": "Qual?", "data": {"buttons": buttons(asked[0])}}
    history = [user_event("ask_price", "quanto custa?"), shown]
    answer = make_tracker("inform", "a de cardiologia", slots={**GRANTED, **slot_events(events)}, history=history)
    messages, events = run_action(ActionAskPrice(), answer)
    assert cardio["price_text"] in texts(messages)[0]
    assert slot_events(events)["awaiting_item"] is None
