"""Confirmation actions (bot/actions/confirmation.py) against the REAL hub clinic API.

Uses the hub launcher and the `Chat` stand-in for Rasa from test_booking_actions.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from actions.confirmation import appointment_block, names_a_specific_one
from booking_chat import SP, Chat, Hub, run, start_hub, upcoming


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    yield from start_hub()


def book(hub: Hub, pid: int, specialty: str, skip: int = 0) -> dict[str, Any]:
    slot = run(hub.api().slots(specialty=specialty, limit=skip + 1))[skip]
    return dict(run(hub.api().book(pid, slot["slot_id"])))


def status_of(hub: Hub, pid: int, appt_id: int) -> str:
    appts = run(hub.api().appointments(pid, scope="all"))
    status: str = next(a["status"] for a in appts if a["id"] == appt_id)
    return status


# -- pure helpers ----------------------------------------------------------------------------


def test_appointment_block_has_date_time_doctor_address_status() -> None:
    block = appointment_block(
        {
            "start": "2026-11-27T09:00:00-03:00",
            "doctor_name": "Dr. Ricardo Almeida",
            "specialty_name": "Cardiologia",
            "address": "Rua Domingos de Morais, 2187",
            "status": "scheduled",
        }
    )
    assert "sex 27/11 às 09:00" in block
    assert "Dr. Ricardo Almeida — Cardiologia" in block
    assert "📍 Rua Domingos de Morais, 2187" in block
    assert "aguardando sua confirmação" in block


def test_bare_confirm_or_cancel_names_no_appointment() -> None:
    assert not names_a_specific_one("confirmo")
    assert not names_a_specific_one("pode cancelar")
    assert not names_a_specific_one("quero confirmar minha consulta por favor")
    assert names_a_specific_one("confirmo a de quinta")
    assert names_a_specific_one("cancela a da dermato")


# -- check -----------------------------------------------------------------------------------


def test_when_is_my_appointment_lists_date_time_doctor_address(hub: Hub) -> None:
    chat = Chat(hub, 1)  # Maria: one scheduled cardiology appointment (seeded)
    chat.say("quando é minha consulta?", "check_appointment")
    assert chat.responses() == ["utter_appointments_next"]
    text = chat.last[0]["appointments"]
    appt = upcoming(hub, 1)[0]
    start = datetime.fromisoformat(appt["start"]).astimezone(SP)
    assert start.strftime("%d/%m às %H:%M") in text
    assert appt["doctor_name"] in text and "📍" in text and appt["address"] in text
    payloads = [b["payload"] for b in chat.buttons()]
    assert payloads == ["/confirm_appointment", "/reschedule_appointment", "/cancel_appointment"]
    assert "active_flow" not in chat.slots  # nothing asked: no flow waits


def test_no_appointments(hub: Hub) -> None:
    chat = Chat(hub, hub.new_patient())
    chat.say("tenho consulta marcada?", "check_appointment")
    assert chat.responses() == ["utter_appointments_none"]
    assert chat.buttons() == [{"title": "Marcar consulta", "payload": "/book_appointment"}]


def test_several_appointments_are_listed_soonest_first(hub: Hub) -> None:
    pid = hub.new_patient()
    late = book(hub, pid, "dermatologia", skip=3)
    early = book(hub, pid, "clinica_geral")
    chat = Chat(hub, pid)
    chat.say("quais sao minhas consultas", "check_appointment")
    assert chat.responses() == ["utter_appointments_list"]
    text = chat.last[0]["appointments"]
    first = datetime.fromisoformat(early["start"]) <= datetime.fromisoformat(late["start"])
    names = [early["doctor_name"], late["doctor_name"]] if first else [late["doctor_name"], early["doctor_name"]]
    assert text.index(names[0]) < text.index(names[1])


# -- confirm ---------------------------------------------------------------------------------


def test_confirmo_confirms_the_only_appointment(hub: Hub) -> None:
    pid = hub.new_patient()
    appt = book(hub, pid, "cardiologia")
    chat = Chat(hub, pid)
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert status_of(hub, pid, appt["id"]) == "confirmed"
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_already_confirmed"]


def test_confirm_asks_which_when_several_are_pending(hub: Hub) -> None:
    pid = hub.new_patient()
    a = book(hub, pid, "pediatria")
    b = book(hub, pid, "ortopedia")
    chat = Chat(hub, pid)
    chat.say("quero confirmar minha consulta", "confirm_appointment")
    assert chat.responses() == ["utter_confirm_which"]
    assert chat.slots["active_flow"] == "confirmation"
    titles = [btn["title"] for btn in chat.buttons()]
    assert titles[-1] == "Confirmar todas" and len(titles) == 3
    chat.click(next(btn for btn in chat.buttons() if str(b["id"]) in btn["payload"]))
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert status_of(hub, pid, b["id"]) == "confirmed"
    assert status_of(hub, pid, a["id"]) == "scheduled"
    assert chat.slots["active_flow"] is None
    # now only one is pending: "confirmo" confirms it without asking
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert status_of(hub, pid, a["id"]) == "confirmed"


def test_confirm_all(hub: Hub) -> None:
    pid = hub.new_patient()
    a = book(hub, pid, "oftalmologia")
    b = book(hub, pid, "endocrinologia")
    chat = Chat(hub, pid)
    chat.say("confirmo", "confirm_appointment")
    chat.say("todas", "inform")
    assert chat.responses() == ["utter_appointments_confirmed_all"]
    assert {status_of(hub, pid, a["id"]), status_of(hub, pid, b["id"])} == {"confirmed"}


def test_confirm_names_one_by_specialty(hub: Hub) -> None:
    pid = hub.new_patient()
    book(hub, pid, "pediatria", skip=2)
    gyn = book(hub, pid, "ginecologia")
    chat = Chat(hub, pid)
    chat.say("confirmo a consulta da ginecologista", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert status_of(hub, pid, gyn["id"]) == "confirmed"


# -- cancel ----------------------------------------------------------------------------------


def test_cancel_asks_then_cancels_then_offers_rebooking(hub: Hub) -> None:
    pid = hub.new_patient()
    appt = book(hub, pid, "ginecologia")
    chat = Chat(hub, pid)
    chat.say("pode cancelar", "cancel_appointment")
    assert chat.responses() == ["utter_cancel_ask"]
    assert "Ginecologia" in chat.last[0]["appointment"]
    assert status_of(hub, pid, appt["id"]) == "scheduled"  # nothing happens before "sim"
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_cancel_done"]
    assert status_of(hub, pid, appt["id"]) == "cancelled"
    assert chat.slots["active_flow"] == "confirmation"
    chat.say("sim", "affirm")  # rebook: same specialty and doctor, asks when
    assert chat.responses() == ["utter_booking_ask_when"]
    assert chat.slots["active_flow"] == "booking"
    assert chat.slots["appointment_ctx"] is None
    ctx = chat.slots["booking_ctx"]
    assert ctx["specialty"] == "ginecologia" and ctx["doctor_name"] == appt["doctor_name"]
    chat.say("o quanto antes", "inform")
    assert chat.slot_buttons()
    assert all(appt["doctor_name"] in b["title"] for b in chat.slot_buttons())


def test_cancel_then_no_rebooking(hub: Hub) -> None:
    pid = hub.new_patient()
    book(hub, pid, "dermatologia")
    chat = Chat(hub, pid)
    chat.say("quero cancelar minha consulta", "cancel_appointment")
    chat.say("sim", "affirm")
    chat.say("não, obrigado", "deny")
    assert chat.responses() == ["utter_rebook_declined"]
    assert chat.slots["active_flow"] is None and chat.slots["appointment_ctx"] is None


def test_cancel_declined_keeps_the_appointment(hub: Hub) -> None:
    pid = hub.new_patient()
    appt = book(hub, pid, "dermatologia", skip=1)
    chat = Chat(hub, pid)
    chat.say("cancela minha consulta", "cancel_appointment")
    chat.say("não", "deny")
    assert chat.responses() == ["utter_cancel_kept"]
    assert status_of(hub, pid, appt["id"]) == "scheduled"
    assert chat.slots["active_flow"] is None


def test_cancel_with_several_asks_which(hub: Hub) -> None:
    pid = hub.new_patient()
    a = book(hub, pid, "cardiologia", skip=4)
    b = book(hub, pid, "ortopedia", skip=2)
    chat = Chat(hub, pid)
    chat.say("preciso cancelar uma consulta", "cancel_appointment")
    assert chat.responses() == ["utter_cancel_which"]
    chat.click(next(btn for btn in chat.buttons() if f'"{a["id"]}"' in btn["payload"]))
    assert chat.responses() == ["utter_cancel_ask"]
    chat.say("pode sim", "affirm")
    assert status_of(hub, pid, a["id"]) == "cancelled"
    assert status_of(hub, pid, b["id"]) == "scheduled"


def test_cancel_mid_booking_then_booking_resumes_its_own_flow(hub: Hub) -> None:
    """A confirmation question replaces the booking one; a confirm that asks nothing does not."""
    pid = hub.new_patient()
    book(hub, pid, "pediatria")
    chat = Chat(hub, pid)
    chat.say("quero marcar cardiologia", "book_appointment", specialty="cardiologia")
    assert chat.slots["active_flow"] == "booking"
    chat.say("confirmo minha consulta", "confirm_appointment")  # answered at once, asks nothing
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert chat.slots["active_flow"] == "booking"  # the booking question still waits
    chat.say("amanhã", "inform")
    assert chat.slots["booking_ctx"]["step"] in ("slot", "when")


def test_answers_misread_as_new_requests_still_answer_the_question(hub: Hub) -> None:
    pid = hub.new_patient()
    a = book(hub, pid, "oftalmologia", skip=1)
    b = book(hub, pid, "cardiologia", skip=5)
    chat = Chat(hub, pid)
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_confirm_which"]
    chat.say("todas", "symptom_consult", confidence=0.35)  # NLU misread: still "confirm all"
    assert chat.responses() == ["utter_appointments_confirmed_all"]
    assert {status_of(hub, pid, a["id"]), status_of(hub, pid, b["id"])} == {"confirmed"}
    chat.say("quero cancelar a de oftalmo", "cancel_appointment")
    assert chat.responses() == ["utter_cancel_ask"]
    chat.say("pode cancelar", "cancel_appointment")  # the answer to "Confirma o cancelamento…?"
    assert chat.responses() == ["utter_cancel_done"]
    assert status_of(hub, pid, a["id"]) == "cancelled"
    chat.say("quero marcar outra", "book_appointment")  # rebook: same specialty and doctor
    assert chat.slots["booking_ctx"]["specialty"] == "oftalmologia"
    assert chat.slots["booking_ctx"]["doctor_name"] == a["doctor_name"]
