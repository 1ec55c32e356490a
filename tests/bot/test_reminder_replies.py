"""Replies to an appointment reminder (issue 15 item 2), against the REAL hub clinic API.

The reminder's buttons send `/confirm_appointment{"appointment_id":"<id>"}` (cancel, reschedule
alike): the flows act on THAT appointment among several, and say so when it is cancelled, passed
or someone else's. A typed reply hours later carries the hub's metadata `reminder`
{appointment_id, kind, sent_at} (handoff/adapters/sql/reminder_context.py): the flows prefer that
appointment. A red flag in a reply still takes the urgent path.

Uses the hub launcher and the `Chat` stand-in for Rasa of booking_chat.py.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from actions.booking import reminded_option, reminder_appointment_id
from actions.input_route import read_message
from booking_chat import Chat, Hub, run, start_hub
from clinic_nlu.red_flags import is_urgent


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    yield from start_hub()


class ReminderChat(Chat):
    """A conversation whose messages carry the hub's `reminder` metadata (when set)."""

    def __init__(self, hub: Hub, pid: int | None) -> None:
        super().__init__(hub, pid)
        self.reminder: dict[str, Any] | None = None

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"patient_id": self.pid, "channel": "whatsapp"}
        if self.reminder is not None:
            metadata["reminder"] = self.reminder
        return metadata

    def tap(self, intent: str, appt_id: Any) -> list[dict[str, Any]]:
        """Tap a reminder button (the payload the hub's reminder carries)."""
        return self.click({"title": "x", "payload": f"/{intent}" + json.dumps({"appointment_id": str(appt_id)})})

    def remind(self, appt_id: Any, kind: str = "24h") -> None:
        self.reminder = {"appointment_id": appt_id, "kind": kind, "sent_at": datetime.now().astimezone().isoformat()}


def book(hub: Hub, pid: int, specialty: str, skip: int = 0) -> dict[str, Any]:
    slot = run(hub.api().slots(specialty=specialty, limit=skip + 1))[skip]
    return dict(run(hub.api().book(pid, slot["slot_id"])))


def status_of(hub: Hub, pid: int, appt_id: int) -> str:
    appts = run(hub.api().appointments(pid, scope="all"))
    status: str = next(a["status"] for a in appts if a["id"] == appt_id)
    return status


def three(hub: Hub, pid: int) -> list[dict[str, Any]]:
    return [book(hub, pid, "cardiologia", 2), book(hub, pid, "dermatologia", 2), book(hub, pid, "pediatria", 2)]


def move_to_past(hub: Hub, appt_id: int) -> None:
    """The appointment happened a week ago (the clinic API cannot move one into the past)."""
    with sqlite3.connect(hub.db_path) as db:
        starts, ends = db.execute("SELECT starts_at, ends_at FROM appointments WHERE id = ?", (appt_id,)).fetchone()
        week = timedelta(days=7, seconds=appt_id)  # distinct: (doctor, start) is unique
        db.execute(
            "UPDATE appointments SET starts_at = ?, ends_at = ? WHERE id = ?",
            (
                (datetime.fromisoformat(starts) - week).isoformat(sep=" "),
                (datetime.fromisoformat(ends) - week).isoformat(sep=" "),
                appt_id,
            ),
        )


# -- buttons: that appointment among several ---------------------------------------------------


def test_confirm_button_confirms_that_appointment_without_asking(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.tap("confirm_appointment", b["id"])
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert "Dermatologia" in chat.last[0]["appointment"]
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled", "confirmed", "scheduled"]
    assert chat.slots.get("active_flow") is None
    chat.tap("confirm_appointment", b["id"])  # tapped twice: already confirmed, said so
    assert chat.responses() == ["utter_appointment_already_confirmed"]


def test_cancel_button_asks_first_then_cancels_that_one_and_frees_the_slot(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.tap("cancel_appointment", c["id"])
    assert chat.responses() == ["utter_cancel_ask"]
    assert "Pediatria" in chat.last[0]["appointment"]
    assert status_of(hub, pid, c["id"]) == "scheduled"  # nothing before "sim"
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_cancel_done"]
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled", "scheduled", "cancelled"]
    start = datetime.fromisoformat(c["start"])
    free = run(hub.api().slots(specialty="pediatria", start=start.isoformat(),
                               end=(start + timedelta(minutes=1)).isoformat()))
    assert any(s["doctor_id"] == c["doctor_id"] and datetime.fromisoformat(s["start"]) == start for s in free)


def test_reschedule_button_keeps_doctor_and_specialty_and_asks_only_when(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.tap("reschedule_appointment", a["id"])
    assert chat.responses() == ["utter_reschedule_ask_when"]
    ctx = chat.ctx
    assert ctx["mode"] == "reschedule" and ctx["appointment"]["id"] == a["id"]
    assert ctx["specialty"] == "cardiologia" and ctx["doctor_id"] == a["doctor_id"]
    chat.say("o quanto antes", "inform")
    slots = chat.slot_buttons()
    assert slots and all(a["doctor_name"] in s["title"] for s in slots)
    chat.click(slots[0])  # its own time is taken (by itself): every offer is another time
    assert chat.responses() == ["utter_reschedule_confirm"]
    chat.say("sim", "affirm")
    assert chat.responses() == ["utter_reschedule_done"]
    moved = next(x for x in run(hub.api().appointments(pid, scope="all")) if x["id"] == a["id"])
    assert moved["start"] != a["start"] and moved["doctor_id"] == a["doctor_id"]
    assert [status_of(hub, pid, x["id"]) for x in (b, c)] == ["scheduled", "scheduled"]


# -- buttons: an appointment that cannot be changed ------------------------------------------


@pytest.mark.parametrize("intent", ["confirm_appointment", "cancel_appointment", "reschedule_appointment"])
def test_buttons_of_a_cancelled_appointment_say_so(hub: Hub, intent: str) -> None:
    pid = hub.new_patient()
    a, b = book(hub, pid, "ortopedia", 1), book(hub, pid, "clinica_geral", 1)
    run(hub.api().cancel(a["id"]))
    chat = ReminderChat(hub, pid)
    chat.tap(intent, a["id"])
    assert chat.responses() == ["utter_named_appointment_cancelled"]
    assert "Ortopedia" in chat.last[0]["appointment"]
    assert [btn["payload"] for btn in chat.buttons()] == ["/book_appointment", "/request_human"]
    assert status_of(hub, pid, a["id"]) == "cancelled" and status_of(hub, pid, b["id"]) == "scheduled"
    assert chat.slots.get("active_flow") is None


@pytest.mark.parametrize("intent", ["confirm_appointment", "cancel_appointment", "reschedule_appointment"])
def test_buttons_of_a_passed_appointment_say_so(hub: Hub, intent: str) -> None:
    pid = hub.new_patient()
    a, b = book(hub, pid, "ginecologia", 1), book(hub, pid, "oftalmologia", 1)
    move_to_past(hub, a["id"])
    chat = ReminderChat(hub, pid)
    chat.tap(intent, a["id"])
    assert chat.responses() == ["utter_named_appointment_passed"]
    assert [btn["payload"] for btn in chat.buttons()] == ["/book_appointment", "/request_human"]
    assert status_of(hub, pid, a["id"]) == "scheduled" and status_of(hub, pid, b["id"]) == "scheduled"


@pytest.mark.parametrize("intent", ["confirm_appointment", "cancel_appointment", "reschedule_appointment"])
def test_buttons_never_act_on_another_patients_appointment(hub: Hub, intent: str) -> None:
    owner, other = hub.new_patient(), hub.new_patient()
    theirs = book(hub, owner, "endocrinologia", 1)
    mine = book(hub, other, "endocrinologia", 2)
    chat = ReminderChat(hub, other)
    chat.tap(intent, theirs["id"])
    assert chat.responses() == ["utter_named_appointment_unknown"]
    assert [btn["payload"] for btn in chat.buttons()] == ["/check_appointment", "/request_human"]
    assert chat.slots.get("active_flow") is None  # no question waits (no "tem certeza?")
    assert status_of(hub, owner, theirs["id"]) == "scheduled"
    assert status_of(hub, other, mine["id"]) == "scheduled"


def test_a_reminder_button_mid_booking_answers_and_the_booking_question_still_waits(hub: Hub) -> None:
    pid = hub.new_patient()
    a = book(hub, pid, "cardiologia", 3)
    book(hub, pid, "dermatologia", 3)
    chat = ReminderChat(hub, pid)
    chat.say("quero marcar ortopedia", "book_appointment", specialty="ortopedia")
    assert chat.slots["active_flow"] == "booking"
    chat.tap("confirm_appointment", a["id"])
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert status_of(hub, pid, a["id"]) == "confirmed"
    assert chat.slots["active_flow"] == "booking"


# -- typed replies: the hub's reminder metadata -------------------------------------------------


def test_typed_confirmo_with_reminder_metadata_confirms_that_appointment(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    control = ReminderChat(hub, pid)
    control.say("confirmo", "confirm_appointment")  # without a reminder: which one?
    assert control.responses() == ["utter_confirm_which"]
    chat = ReminderChat(hub, pid)
    chat.remind(b["id"])
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled", "confirmed", "scheduled"]


def test_typed_confirmo_naming_another_appointment_wins_over_the_reminder(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.remind(b["id"])
    chat.say("confirmo a da pediatria", "confirm_appointment")
    assert chat.responses() == ["utter_appointment_confirmed"]
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled", "scheduled", "confirmed"]


def test_typed_confirmo_naming_a_day_of_none_asks_rather_than_guessing(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    days = {datetime.fromisoformat(x["start"]).date() for x in (a, b, c)}
    other = next(d for d in (datetime.now().date() + timedelta(days=n) for n in range(1, 40)) if d not in days)
    chat = ReminderChat(hub, pid)
    chat.remind(b["id"])
    chat.say(f"confirmo a do dia {other:%d/%m}", "confirm_appointment")
    assert chat.responses() == ["utter_confirm_which"]
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled"] * 3


def test_typed_cannot_go_with_reminder_metadata_asks_to_cancel_that_one(hub: Hub) -> None:
    pid = hub.new_patient()
    a, b, c = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.remind(c["id"])
    chat.say("não vou conseguir ir", "cancel_appointment")
    assert chat.responses() == ["utter_cancel_ask"]
    assert "Pediatria" in chat.last[0]["appointment"]
    chat.say("sim", "affirm")
    assert [status_of(hub, pid, x["id"]) for x in (a, b, c)] == ["scheduled", "scheduled", "cancelled"]


def test_typed_preciso_remarcar_with_reminder_metadata_moves_that_one(hub: Hub) -> None:
    pid = hub.new_patient()
    _, b, _ = three(hub, pid)
    chat = ReminderChat(hub, pid)
    chat.remind(b["id"])
    chat.say("preciso remarcar", "reschedule_appointment")
    assert chat.responses() == ["utter_reschedule_ask_when"]
    assert chat.ctx["appointment"]["id"] == b["id"] and chat.ctx["doctor_id"] == b["doctor_id"]


def test_reminder_metadata_of_an_appointment_not_upcoming_is_ignored(hub: Hub) -> None:
    pid, other = hub.new_patient(), hub.new_patient()
    book(hub, pid, "ortopedia", 4)
    book(hub, pid, "clinica_geral", 4)
    theirs = book(hub, other, "ortopedia", 5)
    chat = ReminderChat(hub, pid)
    chat.remind(theirs["id"])
    chat.say("confirmo", "confirm_appointment")
    assert chat.responses() == ["utter_confirm_which"]
    assert status_of(hub, other, theirs["id"]) == "scheduled"


# -- pure: metadata and the urgent path ----------------------------------------------------------


def test_reminder_metadata_is_read_from_the_message_only() -> None:
    options = [{"id": 4}, {"id": 9}]
    message = {"metadata": {"patient_id": 1, "reminder": {"appointment_id": 9, "kind": "24h", "sent_at": "x"}}}
    assert reminder_appointment_id(message) == "9"
    assert reminded_option(options, message) == {"id": 9}
    assert reminded_option(options, {"metadata": {"reminder": {"appointment_id": 5}}}) is None
    broken: dict[str, Any]
    for broken in ({}, {"metadata": None}, {"metadata": {"reminder": "9"}}, {"metadata": {"reminder": {}}},
                   {"metadata": {"reminder": {"appointment_id": True}}}):
        assert reminder_appointment_id(broken) is None


@pytest.mark.parametrize(
    "reply",
    [
        "não vou conseguir ir na consulta, estou com uma dor no peito muito forte e falta de ar",
        "preciso remarcar, meu filho desmaiou e não acorda",
    ],
)
def test_a_red_flag_in_a_reply_takes_the_urgent_path(reply: str) -> None:
    assert is_urgent(reply)
    # while the cancel question of a reminder's button waits, the urgent rule still wins
    urgent = {"text": reply, "intent": {"name": "urgent_symptom", "confidence": 1.0}, "entities": []}
    options = [{"title": "Sim", "payload": "/affirm"}, {"title": "Não", "payload": "/deny"}]
    assert read_message(urgent, options=options, kind="confirmation", flow_waiting=True).route is None


@pytest.mark.parametrize("reply", ["não vou conseguir ir", "preciso remarcar", "confirmo", "pode cancelar"])
def test_plain_replies_are_not_red_flags(reply: str) -> None:
    assert not is_urgent(reply)
