"""Booking actions (bot/actions/booking.py) against the REAL hub clinic API.

A hub (`.venv/bin/python -m handoff`, seeded demo clinic, temporary SQLite database) is started
for this module; the actions run with rasa_sdk's own Tracker/CollectingDispatcher and talk to it
over HTTP through `actions.clinic_api`. `Chat` plays the part of Rasa: it routes each intent to
the action the rules in bot/data/rules/ name and applies the returned slot events.

Also unit tests of the pure helpers (slot titles, typed choices, specialty/doctor matching).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bot"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actions.appointments import match_doctor, match_specialty  # noqa: E402
from actions.booking_slots import match_offered, pick_slots, slot_title  # noqa: E402
from actions.input_route import ActionFlowContinue  # noqa: E402
from booking_chat import SP, Chat, Hub, next_weekday, run, start_hub, upcoming  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402
from rasa_sdk.interfaces import Tracker  # noqa: E402

SLOT_TITLE = re.compile(r"^(seg|ter|qua|qui|sex|sáb|dom) \d{2}/\d{2} às \d{2}:\d{2} — .+ \(.+\)$")
MEDICAL_ADVICE = re.compile(
    r"\b(tome|tomar|remédio|remedio|medicamento|dipirona|antibiótico|diagnóstico|repouso|chá)\b", re.I
)


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    yield from start_hub()


# ------------------------------------------------------------------------------------------
# pure helpers

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=SP)
OFFERED = [
    {"slot_id": "1-202611260900", "start": "2026-11-26T09:00:00-03:00", "doctor_name": "Dra. Ana"},
    {"slot_id": "1-202611261000", "start": "2026-11-26T10:00:00-03:00", "doctor_name": "Dra. Ana"},
    {"slot_id": "2-202611271430", "start": "2026-11-27T14:30:00-03:00", "doctor_name": "Dr. Beto"},
]
SPECIALTIES = [
    {"slug": "cardiologia", "name": "Cardiologia"},
    {"slug": "clinica_geral", "name": "Clínica Geral"},
    {"slug": "ginecologia", "name": "Ginecologia e Obstetrícia"},
    {"slug": "dermatologia", "name": "Dermatologia"},
    {"slug": "ortopedia", "name": "Ortopedia e Traumatologia"},
]


def test_slot_title_format() -> None:
    slot = {"start": "2026-11-26T09:00:00-03:00", "doctor_name": "Dra. Ana", "specialty": "cardiologia"}
    assert slot_title(slot, {"cardiologia": "Cardiologia"}) == "qui 26/11 às 09:00 — Dra. Ana (Cardiologia)"
    # a UTC start is shown in clinic time
    slot["start"] = "2026-11-26T12:00:00+00:00"
    assert slot_title(slot, {"cardiologia": "Cardiologia"}).startswith("qui 26/11 às 09:00")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 0), ("2", 1), ("opção 3", 2), ("o primeiro", 0), ("a primeira", 0), ("o segundo", 1),
        ("o último", 2), ("ultimo", 2), ("às 10h", 1), ("10:00", 1), ("sexta 14:30", 2), ("sexta", 2),
        ("quinta às 9", 0), ("o das 14h30", 2),
    ],
)  # fmt: skip
def test_typed_choice_of_an_offered_slot(text: str, expected: int) -> None:
    assert match_offered(text, OFFERED, NOW) == OFFERED[expected]


@pytest.mark.parametrize("text", ["7", "quinta", "às 15h", "sim", "", "tanto faz"])
def test_unclear_typed_choices_are_not_guessed(text: str) -> None:
    assert match_offered(text, OFFERED, NOW) is None


@pytest.mark.parametrize(
    "text, slug",
    [
        ("cardiologia", "cardiologia"), ("quero cardio", "cardiologia"), ("CARDIOLOGISTA", "cardiologia"),
        ("clínico geral", "clinica_geral"), ("clinica geral", "clinica_geral"), ("gineco", "ginecologia"),
        ("ginecologia e obstetrícia", "ginecologia"), ("dermato pfv", "dermatologia"),
        ("ortopedista", "ortopedia"), ("amanhã", None), ("oi", None),
    ],
)  # fmt: skip
def test_specialty_from_text(text: str, slug: str | None) -> None:
    assert match_specialty(text, SPECIALTIES) == slug


def test_doctor_from_text() -> None:
    doctors = [
        {"id": 1, "name": "Dr. Ricardo Almeida"},
        {"id": 2, "name": "Dra. Fernanda Costa"},
        {"id": 3, "name": "Dr. Paulo Henrique Souza"},
        {"id": 4, "name": "Dra. Ana Clara Souza"},
    ]
    assert match_doctor("com a dra fernanda", doctors) == doctors[1]
    assert match_doctor("Dr. Ricardo", doctors) == doctors[0]
    assert match_doctor("paulo henrique", doctors) == doctors[2]
    assert match_doctor("dra ana", doctors) == doctors[3]
    assert match_doctor("souza", doctors) is None  # two Souzas: ambiguous
    assert match_doctor("quero marcar amanhã", doctors) is None


def test_pick_slots_spreads_over_days_and_keeps_order() -> None:
    day1 = [{"slot_id": f"a{i}", "start": f"2026-11-26T{8 + i:02d}:00:00-03:00"} for i in range(4)]
    day2 = [{"slot_id": f"b{i}", "start": f"2026-11-27T{8 + i:02d}:00:00-03:00"} for i in range(4)]
    chosen = pick_slots(day1 + day2, 5, per_day=2)
    assert [s["slot_id"] for s in chosen] == ["a0", "a1", "a2", "b0", "b1"]
    assert [s["slot_id"] for s in pick_slots(day1 + day2, 5, per_day=None)] == ["a0", "a1", "a2", "a3", "b0"]


# ------------------------------------------------------------------------------------------
# flows against the hub


def test_book_in_one_message_then_button_and_yes(hub: Hub) -> None:
    chat = Chat(hub, 1)  # Maria: CPF and birth date on file
    before = {a["id"] for a in upcoming(hub, 1)}
    chat.say("quero marcar cardiologista semana que vem de manhã", "book_appointment", specialty="cardiologia")
    assert chat.slots["active_flow"] == "booking"
    buttons = chat.slot_buttons()
    assert 1 <= len(buttons) <= 5
    for button in buttons:
        assert SLOT_TITLE.match(button["title"]), button["title"]
        assert "(Cardiologia)" in button["title"]
        assert button["payload"].startswith('/choose_slot{"slot_id":"')
    # every offered slot is next week, in the morning
    monday = next_weekday(0)
    for option in chat.ctx["offered"]:
        start = datetime.fromisoformat(option["start"]).astimezone(SP)
        assert monday <= start < monday + timedelta(days=7)
        assert 8 <= start.hour < 12
    chosen = chat.ctx["offered"][0]
    chat.click(buttons[0])
    assert chat.responses() == ["utter_booking_confirm"]
    assert [b["payload"] for b in chat.buttons()] == ["/affirm", "/deny"]
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_booking_done"]
    assert chat.slots["active_flow"] is None and chat.slots["booking_ctx"] is None
    new = [a for a in upcoming(hub, 1) if a["id"] not in before]
    assert len(new) == 1
    assert datetime.fromisoformat(new[0]["start"]) == datetime.fromisoformat(chosen["start"])
    # the address reaches the patient
    assert "Rua" in chat.last[0]["address"]


def test_typed_answers_new_patient_without_cpf_gives_birth_date(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = Chat(hub, pid)
    chat.say("quero marcar uma consulta", "book_appointment")
    assert chat.responses() == ["utter_booking_ask_specialty"]
    titles = [b["title"] for b in chat.buttons()]
    assert "Cardiologia" in titles and "Dermatologia" in titles
    chat.say("dermato", "inform")
    assert chat.responses() == ["utter_booking_ask_when"]
    chat.say("qualquer dia", "inform")
    assert chat.ctx["step"] == "slot" and chat.slot_buttons()
    second = chat.ctx["offered"][1]
    chat.say("o segundo", "inform")
    assert chat.responses() == ["utter_booking_ask_cpf"]
    chat.say("meu cpf é 123.456.789-00", "inform")  # wrong check digits
    assert chat.responses() == ["utter_booking_cpf_invalid"]
    assert chat.ctx["step"] == "cpf"
    chat.say("não tenho", "deny")
    assert chat.responses() == ["utter_booking_ask_birth_date"]
    chat.say("25/03/1980", "inform")
    assert chat.responses() == ["utter_booking_confirm"]
    assert run(hub.api().patient(pid))["birth_date_known"] is True
    chat.say("pode marcar", "affirm")
    assert chat.responses() == ["utter_booking_done"]
    booked = upcoming(hub, pid)
    assert len(booked) == 1 and booked[0]["specialty"] == "dermatologia"
    assert datetime.fromisoformat(booked[0]["start"]) == datetime.fromisoformat(second["start"])


def test_new_patient_with_a_valid_cpf_is_identified(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = Chat(hub, pid)
    chat.say("quero marcar clinico geral o quanto antes", "book_appointment", specialty="clinica_geral")
    chat.say("1", "inform")
    assert chat.responses() == ["utter_booking_ask_cpf"]
    chat.say("390 533 447 05", "inform")  # belongs to the seeded patient Ana: the hub wants the birth date
    assert chat.responses() == ["utter_booking_birth_date_to_confirm"]
    chat.say("01/01/1990", "inform")  # not Ana's: refused, a person takes over
    assert "utter_booking_identity_mismatch" in chat.responses()
    assert any("handoff" in (m.get("custom") or {}).get("atende", {}) for m in chat.last)
    assert chat.slots["active_flow"] is None

    other = hub.new_patient()
    chat = Chat(hub, other)
    chat.say("quero marcar clinico geral o quanto antes", "book_appointment", specialty="clinica_geral")
    chat.say("o primeiro", "inform")
    chat.say("863.358.610-03", "inform")  # a CPF nobody has yet: stored on this record
    assert chat.responses() == ["utter_booking_confirm"]
    assert run(hub.api().patient(other))["cpf_known"] is True


def test_slot_taken_meanwhile_offers_other_slots(hub: Hub) -> None:
    chat = Chat(hub, 2)  # João
    chat.say("tem horario com ortopedista?", "ask_availability", specialty="ortopedia")
    chat.say("o quanto antes", "inform")
    taken = chat.ctx["offered"][0]
    chat.click(chat.slot_buttons()[0])
    assert chat.responses() == ["utter_booking_confirm"]
    rival = hub.new_patient("Outra Pessoa")
    run(hub.api().book(rival, taken["slot_id"]))  # someone else books it first
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_booking_slot_taken"]
    assert chat.ctx["step"] == "slot"
    assert taken["slot_id"] not in [o["slot_id"] for o in chat.ctx["offered"]]
    chat.click(chat.slot_buttons()[0])
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_booking_done"]


def test_no_slots_on_a_sunday_offers_other_dates_or_a_person(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar cardiologia no domingo", "book_appointment", specialty="cardiologia")
    assert chat.responses() == ["utter_booking_no_slots"]
    payloads = [b["payload"] for b in chat.buttons()]
    assert '/choose_when{"when":"o quanto antes"}' in payloads and "/request_human" in payloads
    assert chat.ctx["step"] == "when"
    chat.click(chat.buttons()[0])
    assert chat.responses() == ["utter_booking_offer_slots"]
    chat.say("não, deixa pra lá", "deny")
    assert chat.responses() == ["utter_booking_ask_other_when"]
    chat.say("não", "deny")
    assert chat.responses() == ["utter_booking_dropped"]
    assert chat.slots["active_flow"] is None


def test_symptom_goes_to_booking_with_a_suggestion_and_no_advice(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("dor de garganta há dias, quero consulta", "symptom_consult")
    assert chat.responses() == ["utter_booking_symptom_suggestion", "utter_booking_ask_when"]
    assert chat.last[0]["specialty"] == "Clínica Geral"
    assert chat.ctx["specialty"] == "clinica_geral"
    chat.say("meu filho ta com tosse faz uma semana, quero marcar", "symptom_consult")
    # a new request while booking: the specialty already chosen stays
    assert chat.ctx["specialty"] == "clinica_geral"
    kid = Chat(hub, hub.new_patient())
    kid.say("minha filha está com tosse faz uma semana, queria consulta", "symptom_consult")
    assert kid.ctx["specialty"] == "pediatria"


def test_symptom_suggestion_text_has_no_medical_advice() -> None:
    import yaml

    domain = yaml.safe_load((ROOT / "bot" / "domain" / "booking.yml").read_text())
    for name, variants in domain["responses"].items():
        for variant in variants:
            assert not MEDICAL_ADVICE.search(variant["text"]), name


def test_patient_changes_date_and_specialty_mid_flow(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar dermatologia", "book_appointment", specialty="dermatologia")
    chat.say("segunda de manhã", "inform")
    assert all("(Dermatologia)" in b["title"] for b in chat.slot_buttons())
    chat.say("na verdade prefiro cardiologia", "inform", specialty="cardiologia")
    assert chat.ctx["specialty"] == "cardiologia"
    assert all("(Cardiologia)" in b["title"] for b in chat.slot_buttons())
    chat.say("sexta que vem à tarde", "inform")
    assert chat.ctx["offered"]
    for option in chat.ctx["offered"]:
        start = datetime.fromisoformat(option["start"]).astimezone(SP)
        assert start.weekday() == 4 and 12 <= start.hour < 18


def test_doctor_by_name(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar com a dra fernanda", "book_appointment", doctor="dra fernanda")
    assert chat.ctx["doctor_name"] == "Dra. Fernanda Costa"
    chat.say("qualquer dia", "inform")
    assert chat.slot_buttons()
    assert all("Dra. Fernanda Costa" in b["title"] for b in chat.slot_buttons())


def test_old_slot_button_is_not_booked(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar pediatria amanhã", "book_appointment", specialty="pediatria")
    chat.say('/choose_slot{"slot_id":"5-203001010800"}', "choose_slot", slot_id="5-203001010800")
    assert chat.responses()[0] == "utter_booking_expired_option"
    assert chat.ctx["step"] in ("slot", "when")


def test_two_unusable_answers_hand_off(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar consulta", "book_appointment")
    chat.say("blablabla", "nlu_fallback")
    assert chat.responses() == ["utter_booking_specialty_not_understood"]
    chat.say("xyz", "nlu_fallback")
    signals = [m["custom"]["atende"]["handoff"] for m in chat.last if m.get("custom")]
    assert signals and signals[0]["reason"] == "misunderstood"
    assert chat.slots["active_flow"] is None


def test_reschedule_moves_the_appointment(hub: Hub) -> None:
    pid = hub.new_patient()
    api = hub.api()
    first = run(api.slots(specialty="cardiologia", limit=1))[0]
    appt = run(api.book(pid, first["slot_id"]))
    chat = Chat(hub, pid)
    chat.say("quero remarcar minha consulta", "reschedule_appointment")
    assert chat.responses() == ["utter_reschedule_ask_when"]
    assert chat.ctx["mode"] == "reschedule" and chat.ctx["appointment"]["id"] == appt["id"]
    chat.say("semana que vem à tarde", "inform")
    assert chat.slot_buttons()
    # the same doctor first
    assert all(o["doctor_name"] == first["doctor_name"] for o in chat.ctx["offered"])
    new_slot = chat.ctx["offered"][0]
    chat.click(chat.slot_buttons()[0])
    assert chat.responses() == ["utter_reschedule_confirm"]
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_reschedule_done"]
    moved = upcoming(hub, pid)
    assert len(moved) == 1 and moved[0]["id"] == appt["id"]
    assert datetime.fromisoformat(moved[0]["start"]) == datetime.fromisoformat(new_slot["start"])


def test_reschedule_asks_which_when_several(hub: Hub) -> None:
    pid = hub.new_patient()
    api = hub.api()
    derm = run(api.slots(specialty="dermatologia", limit=1))[0]
    gyn = run(api.slots(specialty="ginecologia", limit=1))[0]
    run(api.book(pid, derm["slot_id"]))
    gyn_appt = run(api.book(pid, gyn["slot_id"]))
    chat = Chat(hub, pid)
    chat.say("preciso remarcar", "reschedule_appointment")
    assert chat.responses() == ["utter_reschedule_pick"]
    payloads = [b["payload"] for b in chat.buttons()]
    assert len(payloads) == 2 and all(p.startswith("/choose_appointment") for p in payloads)
    chat.say("a de ginecologia", "inform")
    assert chat.ctx["appointment"]["id"] == gyn_appt["id"]
    assert chat.responses() == ["utter_reschedule_ask_when"]


def test_reschedule_without_appointments(hub: Hub) -> None:
    chat = Chat(hub, hub.new_patient())
    chat.say("quero remarcar", "reschedule_appointment")
    assert chat.responses() == ["utter_reschedule_none"]
    assert chat.buttons()[0]["payload"] == "/book_appointment"


def test_consent_gate_comes_first(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = Chat(hub, pid, consent=False)
    chat.say("quero marcar cardiologia", "book_appointment", specialty="cardiologia")
    assert chat.responses() == ["utter_privacy_notice"]
    assert chat.slots.get("pending_intent") == "book_appointment"
    assert "active_flow" not in chat.slots


def test_hub_unreachable_keeps_the_flow(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar cardiologia", "book_appointment", specialty="cardiologia")
    chat.slots["consent"] = True  # as the consent flow leaves it after "Aceito"
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:9")  # nothing listens there
    chat.say("amanhã", "inform")
    assert chat.responses() == ["utter_booking_api_error"]
    assert chat.slots["active_flow"] == "booking" and chat.ctx["step"] == "when"
    monkeypatch.setenv("HUB_URL", hub.url)
    chat.say("amanhã", "inform")  # the same answer works once the hub is back
    assert chat.ctx["step"] in ("slot", "when")


def test_pode_marcar_classified_as_a_new_booking_request_confirms(hub: Hub) -> None:
    """At "Confirma a consulta…?", "pode marcar" may be classified book_appointment: it is a yes."""
    pid = hub.new_patient()
    chat = Chat(hub, pid)
    chat.say("quero marcar oftalmologista o quanto antes", "book_appointment", specialty="oftalmologia")
    chat.say("1", "inform")
    chat.say("não tenho", "deny")
    chat.say("02/09/1985", "inform")
    assert chat.responses() == ["utter_booking_confirm"]
    chat.say("pode marcar", "book_appointment")
    assert chat.responses() == ["utter_booking_done"]
    assert len(upcoming(hub, pid)) == 1


def test_a_day_and_exact_time_with_one_free_slot_goes_straight_to_confirming(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar com o dr ricardo", "book_appointment", doctor="dr ricardo")
    free = run(hub.api().slots(doctor_id=chat.ctx["doctor_id"], start=datetime.now(SP) + timedelta(days=2), limit=1))[0]
    start = datetime.fromisoformat(free["start"]).astimezone(SP)
    chat.say(f"{start:%d/%m} às {start:%H:%M}", "inform")
    assert chat.responses() == ["utter_booking_confirm"]
    assert chat.ctx["slot"]["slot_id"] == free["slot_id"]


def test_a_doctor_without_free_slots_then_offers_colleagues_of_the_specialty(hub: Hub) -> None:
    chat = Chat(hub, 2)
    chat.say("quero marcar com a dra juliana", "book_appointment", doctor="dra juliana")  # mornings only
    assert chat.ctx["doctor_name"] == "Dra. Juliana Martins"
    chat.say("qualquer dia depois das 14h", "inform")
    assert chat.responses()[0] == "utter_booking_other_doctors"
    assert chat.slot_buttons()
    assert all("(Dermatologia)" in b["title"] and "Juliana" not in b["title"] for b in chat.slot_buttons())


def test_confirmo_answering_the_booking_question_books_instead_of_confirming_another(hub: Hub) -> None:
    pid = hub.new_patient()
    api = hub.api()
    existing = run(api.book(pid, run(api.slots(specialty="pediatria", limit=1))[0]["slot_id"]))
    run(api.identify(pid, birth_date="1990-01-01"))
    chat = Chat(hub, pid)
    chat.say("quero marcar cardiologia o quanto antes", "book_appointment", specialty="cardiologia")
    chat.say("1", "inform")
    assert chat.responses() == ["utter_booking_confirm"]
    chat.say("confirmo", "confirm_appointment")  # the answer to "Confirma a consulta…?"
    assert chat.responses() == ["utter_booking_done"]
    statuses = {a["id"]: a["status"] for a in upcoming(hub, pid)}
    assert len(statuses) == 2 and statuses[existing["id"]] == "scheduled"


def test_no_to_the_booking_question_misread_as_a_booking_request_books_nothing(hub: Hub) -> None:
    pid = hub.new_patient()
    run(hub.api().identify(pid, birth_date="1990-01-01"))
    chat = Chat(hub, pid)
    chat.say("quero marcar ortopedia o quanto antes", "book_appointment", specialty="ortopedia")
    chat.say("o primeiro", "inform")
    chat.say("não quero", "book_appointment", confidence=0.8)
    assert chat.responses() == ["utter_booking_declined"]
    chat.say("1", "inform")  # "não" above cleared the list: this is not a slot choice
    assert upcoming(hub, pid) == []


# ------------------------------------------------------------------------------------------
# typed answers read against the offered buttons first (actions/input_route.py)


class ReadingChat(Chat):
    """`Chat` that also plays what Rasa does around the rules of data/rules/input_route.yml: the
    reading action runs first (action_extract_slots), the message is routed by `input_route`, and a
    message an action replays is handled again as the next turn's input."""

    def say(self, text: str, intent: str, confidence: float | None = None, **entities: Any) -> list[dict[str, Any]]:
        metadata = self.metadata()
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": self.confidence if confidence is None else confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
            "metadata": metadata,
        }
        self.last, self.actions = [], []
        self._turn(message)
        return self.last

    def _run(self, action: Any, message: dict[str, Any]) -> list[dict[str, Any]]:
        tracker = Tracker("test", dict(self.slots), message, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events: list[dict[str, Any]] = run(action.run(dispatcher, tracker, {}))
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.last += dispatcher.messages
        return events

    def _turn(self, message: dict[str, Any]) -> None:
        from actions.billing import ActionAskPrice
        from actions.fallback import ActionClarify
        from actions.input_route import ActionReadInput

        self.events.append({"event": "user", "text": message["text"], "parse_data": message,
                            "metadata": message.get("metadata")})  # fmt: skip
        self._run(ActionReadInput(), message)  # as action_extract_slots: only slot events
        intent = message["intent"]["name"]
        routed = {"option": ActionFlowContinue, "flow": ActionFlowContinue, "clarify": ActionClarify}
        route = self.slots.get("input_route")
        if route in routed:
            action = routed[route]()
        elif intent == "ask_price":
            action = ActionAskPrice()
        else:
            action = self.action_for(intent)
        self.actions.append(action.name())
        events = self._run(action, message)
        self.events.append({"event": "action", "name": action.name()})
        self.events.extend(e for e in events if e.get("event") != "user")
        for replay in [e for e in events if e.get("event") == "user"]:
            self._turn(replay["parse_data"])  # after the action_listen the action returned with it


def test_o_quanto_antes_read_as_a_price_question_continues_the_booking(hub: Hub) -> None:
    chat = ReadingChat(hub, 2)
    chat.say("quero marcar cardiologia", "book_appointment", specialty="cardiologia")
    assert chat.responses() == ["utter_booking_ask_when"]
    assert [c["title"] for c in chat.ctx["choices"]] == ["O quanto antes", "Esta semana", "Semana que vem"]
    # the NLU reads the text of option 1 as a price question: it is still the answer to "Para quando?"
    chat.say("o quanto antes", "ask_price", confidence=0.74)
    assert chat.actions == ["action_flow_continue", "action_flow_continue"]  # read as the button, replayed
    assert chat.responses() == ["utter_booking_offer_slots"]
    assert chat.slot_buttons() and chat.ctx["step"] == "slot"
    assert [c["payload"] for c in chat.ctx["choices"]] == [b["payload"] for b in chat.slot_buttons()]
    # "o segundo" read as a greeting: the second slot
    second = chat.ctx["offered"][1]
    chat.say("o segundo", "greet", confidence=0.52)
    assert chat.responses() == ["utter_booking_confirm"]
    assert chat.ctx["slot"]["slot_id"] == second["slot_id"]
    # a clear change of subject leaves the flow for its own rule; the flow waits meanwhile
    chat.say("quanto custa a consulta de cardiologia?", "ask_price", confidence=0.93, specialty="cardiologia")
    assert chat.actions == ["action_ask_price"]
    assert chat.slots["active_flow"] == "booking"
    # then "sim" still answers "Confirma a consulta…?"
    before = {a["id"] for a in upcoming(hub, 2)}
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_booking_done"]
    booked = [a for a in upcoming(hub, 2) if a["id"] not in before]
    assert len(booked) == 1 and datetime.fromisoformat(booked[0]["start"]) == datetime.fromisoformat(second["start"])


def test_an_unsure_other_intent_stays_in_the_flow_and_is_re_asked(hub: Hub) -> None:
    chat = ReadingChat(hub, 2)
    chat.say("quero marcar dermatologia", "book_appointment", specialty="dermatologia")
    chat.say("hmm deixa eu ver", "clinic_hours", confidence=0.41)
    assert chat.actions == ["action_flow_continue"]
    assert chat.responses() == ["utter_booking_when_not_understood"]
    assert chat.slots["active_flow"] == "booking" and chat.ctx["step"] == "when"
