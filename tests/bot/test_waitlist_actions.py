"""The bot's side of the waitlist (bot/actions/waitlist.py) against the REAL hub clinic API.

A freed slot is really offered: patient A books, patient B (with a web chat conversation) joins the
list through the bot's button, A cancels, and the hub holds the slot for B and queues its offer
message; the test taps the very buttons the hub put in that message (`payload.buttons`), so the
payloads the hub writes and the ones the bot reads are proven to match. Uses the hub launcher and
the `Chat` stand-in for Rasa from test_booking_actions.py (routes below as in
bot/data/rules/waitlist.yml).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from actions.booking_offer import waitlist_button
from actions.waitlist import ActionWaitlistAccept, ActionWaitlistDecline, ActionWaitlistJoin
from booking_chat import SP, Chat, Hub, run, start_hub
from bot_helpers import DOMAIN, render

WAITLIST_ACTIONS = {
    "waitlist_join": ActionWaitlistJoin,
    "waitlist_accept": ActionWaitlistAccept,
    "waitlist_decline": ActionWaitlistDecline,
}


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    yield from start_hub()


class WaitlistChat(Chat):
    """A conversation routed like bot/data/rules/{booking,confirmation,waitlist}.yml."""

    def action_for(self, intent: str) -> Any:
        if intent in WAITLIST_ACTIONS:
            return WAITLIST_ACTIONS[intent]()
        return super().action_for(intent)

    def tap(self, title: str) -> list[dict[str, Any]]:
        """Tap the button of the bot's last answer with this title."""
        return self.click(next(b for b in self.buttons() if b["title"] == title))

    def texts(self) -> list[str]:
        return [render(m) for m in self.last]

    @property
    def patient(self) -> int:
        assert self.pid is not None
        return self.pid


def button(intent: str, **entities: str) -> dict[str, str]:
    """A button as the hub or the bot writes it: `/intent{json}`."""
    return {"title": "x", "payload": f"/{intent}" + json.dumps(entities)}


# ------------------------------------------------------------------------------------------
# the hub's side, read and arranged in its database


def web_conversation(hub: Hub, pid: int) -> str:
    """A web chat conversation of the patient (as the hub creates on a first message), so an offer
    can reach them; its id."""
    now = datetime.now(SP).isoformat(sep=" ")
    conv_id = str(uuid.uuid4())
    with sqlite3.connect(hub.db_path) as db:
        cur = db.execute(
            "INSERT INTO channel_identities (channel, external_id, patient_id, created_at) VALUES (?, ?, ?, ?)",
            ("webchat", f"visitor-{conv_id}", pid, now),
        )
        db.execute(
            "INSERT INTO conversations (id, patient_id, identity_id, channel, state, priority, bot_failures,"
            " created_at, updated_at, last_inbound_at, tags, skills, excluded_agents)"
            " VALUES (?, ?, ?, 'webchat', 'bot', 'normal', 0, ?, ?, ?, '[]', '[]', '[]')",
            (conv_id, pid, cur.lastrowid, now, now, now),
        )
    return conv_id


def entries(hub: Hub, pid: int) -> list[dict[str, Any]]:
    with sqlite3.connect(hub.db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM waitlist_entries WHERE patient_id = ? ORDER BY id", (pid,)).fetchall()
    return [dict(r) for r in rows]


def offer_to(hub: Hub, pid: int) -> dict[str, Any]:
    """The patient's latest offer with the message the hub queued for it."""
    with sqlite3.connect(hub.db_path) as db:
        db.row_factory = sqlite3.Row
        offer = db.execute(
            "SELECT * FROM waitlist_offers WHERE patient_id = ? ORDER BY id DESC LIMIT 1", (pid,)
        ).fetchone()
        assert offer is not None, "the hub made no offer"
        message = db.execute("SELECT payload FROM messages WHERE id = ?", (offer["message_id"],)).fetchone()
    payload = message["payload"]
    return {**dict(offer), "payload": json.loads(payload) if isinstance(payload, str) else payload}


def offer_status(hub: Hub, offer_id: int) -> str:
    with sqlite3.connect(hub.db_path) as db:
        return str(db.execute("SELECT status FROM waitlist_offers WHERE id = ?", (offer_id,)).fetchone()[0])


def freed_slot_offered(hub: Hub, specialty: str) -> tuple[WaitlistChat, dict[str, Any], dict[str, Any]]:
    """Patient B joins the list of `specialty` by the bot's button; patient A's appointment of that
    specialty is cancelled; the hub offers it to B. (B's chat, A's cancelled appointment, the offer.)"""
    a = hub.new_patient("Paciente A")
    slot = run(hub.api().slots(specialty=specialty, limit=3))[2]
    appt = run(hub.api().book(a, slot["slot_id"]))
    b = hub.new_patient("Paciente B")
    chat = WaitlistChat(hub, b)
    chat.click(button("waitlist_join", specialty=specialty, doctor_id=""))
    assert chat.responses() == ["utter_waitlist_joined"]
    web_conversation(hub, b)
    run(hub.api().cancel(appt["id"], a))
    return chat, appt, offer_to(hub, b)


# ------------------------------------------------------------------------------------------
# joining


def test_join_button_when_no_free_times_puts_the_patient_on_the_list(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = WaitlistChat(hub, pid)
    chat.say("quero marcar cardiologia no domingo", "book_appointment", specialty="cardiologia")
    assert chat.responses() == ["utter_booking_no_slots"]
    join = next(b for b in chat.buttons() if b["title"] == "Entrar na lista de espera")
    assert join["payload"] == '/waitlist_join{"specialty":"cardiologia","doctor_id":""}'
    chat.tap("Entrar na lista de espera")
    assert chat.responses() == ["utter_waitlist_joined"]
    assert chat.texts() == [
        "Você entrou na lista de espera de Cardiologia ✅ Avisaremos aqui se abrir um horário antes."
    ]
    # the booking flow that showed the button is over
    assert chat.slots["active_flow"] is None and chat.slots["booking_ctx"] is None
    [entry] = entries(hub, pid)
    assert (entry["specialty"], entry["doctor_id"], entry["status"]) == ("cardiologia", None, "waiting")
    assert entry["conversation_id"] == "test"  # the Rasa sender = the hub's conversation
    # tapped again (an old button): already on the list, said so, no second entry
    chat.click(join)
    assert chat.responses() == ["utter_waitlist_already"]
    assert "já está na lista de espera de Cardiologia" in chat.texts()[0]
    assert len(entries(hub, pid)) == 1


def test_join_for_a_doctor_keeps_the_doctor(hub: Hub) -> None:
    pid = hub.new_patient()
    doctor = run(hub.api().doctors("dermatologia"))[0]
    chat = WaitlistChat(hub, pid)
    chat.click(waitlist_button({"specialty": "dermatologia", "doctor_id": doctor["id"]})[0])
    assert chat.responses() == ["utter_waitlist_joined"]
    assert [e["doctor_id"] for e in entries(hub, pid)] == [doctor["id"]]


def test_join_for_a_doctor_of_another_specialty_joins_the_specialty(hub: Hub) -> None:
    pid = hub.new_patient()
    other = run(hub.api().doctors("cardiologia"))[0]
    chat = WaitlistChat(hub, pid)
    chat.click(button("waitlist_join", specialty="ortopedia", doctor_id=str(other["id"])))
    assert chat.responses() == ["utter_waitlist_joined"]
    assert [(e["specialty"], e["doctor_id"]) for e in entries(hub, pid)] == [("ortopedia", None)]


def test_join_without_a_known_specialty_asks_which(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = WaitlistChat(hub, pid)
    chat.click(button("waitlist_join", specialty="astrologia", doctor_id=""))
    assert chat.responses() == ["utter_waitlist_which_specialty"]
    payloads = [b["payload"] for b in chat.buttons()]
    assert '/waitlist_join{"specialty":"pediatria","doctor_id":""}' in payloads
    assert entries(hub, pid) == []
    chat.tap(next(b["title"] for b in chat.buttons() if "pediatria" in b["payload"]))
    assert chat.responses() == ["utter_waitlist_joined"]
    assert [e["specialty"] for e in entries(hub, pid)] == ["pediatria"]


def test_no_join_button_without_a_specialty() -> None:
    assert waitlist_button({}) == []
    assert waitlist_button({"specialty": "pediatria", "doctor_id": 4}) == [
        {"title": "Entrar na lista de espera", "payload": '/waitlist_join{"specialty":"pediatria","doctor_id":"4"}'}
    ]


def test_join_needs_consent_first(hub: Hub) -> None:
    pid = hub.new_patient()
    chat = WaitlistChat(hub, pid, consent=False)
    chat.click(button("waitlist_join", specialty="pediatria", doctor_id=""))
    assert chat.responses() == ["utter_privacy_notice"]
    assert entries(hub, pid) == []


# ------------------------------------------------------------------------------------------
# answering an offer (the hub's own buttons)


def test_accepting_the_offer_books_the_freed_slot(hub: Hub) -> None:
    chat, freed, offer = freed_slot_offered(hub, "dermatologia")
    assert offer["status"] == "held"
    titles = [b["title"] for b in offer["payload"]["buttons"]]
    assert titles == ["Quero este horário", "Não, obrigado"]
    chat.click(offer["payload"]["buttons"][0])
    assert chat.responses() == ["utter_waitlist_booked"]
    start = datetime.fromisoformat(freed["start"]).astimezone(SP)
    assert start.strftime("%d/%m às %H:%M") in chat.texts()[0]
    assert freed["doctor_name"] in chat.texts()[0]
    assert chat.texts()[0].startswith("Pronto! Sua consulta ficou marcada para ")
    booked = [a for a in run(hub.api().appointments(chat.patient)) if a["status"] == "scheduled"]
    assert [(a["start"], a["doctor_id"]) for a in booked] == [(freed["start"], freed["doctor_id"])]
    assert offer_status(hub, offer["id"]) == "accepted"
    assert entries(hub, chat.patient)[0]["status"] == "booked"
    # tapped again: the offer is answered; an apology and other times, nothing booked twice
    chat.click(offer["payload"]["buttons"][0])
    assert chat.responses() == ["utter_waitlist_offer_gone"]
    assert [b["payload"] for b in chat.buttons()] == ["/book_appointment", "/request_human"]
    assert len([a for a in run(hub.api().appointments(chat.patient)) if a["status"] == "scheduled"]) == 1


def test_an_expired_hold_cannot_be_accepted(hub: Hub) -> None:
    chat, _, offer = freed_slot_offered(hub, "pediatria")
    with sqlite3.connect(hub.db_path) as db:  # the 30 minutes went by
        db.execute("UPDATE waitlist_offers SET hold_until = ? WHERE id = ?", ("2020-01-01 00:00:00+00:00", offer["id"]))
    chat.click(offer["payload"]["buttons"][0])
    assert chat.responses() == ["utter_waitlist_offer_gone"]
    assert "não está mais disponível" in chat.texts()[0]
    assert [a for a in run(hub.api().appointments(chat.patient)) if a["status"] == "scheduled"] == []


def test_someone_elses_or_unknown_offer_is_not_taken(hub: Hub) -> None:
    _, _, offer = freed_slot_offered(hub, "ginecologia")
    intruder = WaitlistChat(hub, hub.new_patient("Outra"))
    intruder.click(button("waitlist_accept", offer_id=str(offer["id"])))
    assert intruder.responses() == ["utter_waitlist_offer_gone"]
    assert offer_status(hub, offer["id"]) == "held"
    intruder.click(button("waitlist_accept", offer_id="999999"))
    assert intruder.responses() == ["utter_waitlist_offer_gone"]


def test_declining_frees_the_slot_and_thanks(hub: Hub) -> None:
    chat, _, offer = freed_slot_offered(hub, "clinica_geral")
    chat.click(offer["payload"]["buttons"][1])
    assert chat.responses() == ["utter_waitlist_declined"]
    assert offer_status(hub, offer["id"]) == "declined"
    assert entries(hub, chat.patient)[0]["status"] == "waiting"  # still on the list, as the thanks say
    chat.click(offer["payload"]["buttons"][1])  # tapped again: the same thanks, nothing breaks
    assert chat.responses() == ["utter_waitlist_declined"]


def test_every_waitlist_response_is_in_the_domain() -> None:
    for name in (
        "utter_waitlist_joined",
        "utter_waitlist_already",
        "utter_waitlist_which_specialty",
        "utter_waitlist_booked",
        "utter_waitlist_offer_gone",
        "utter_waitlist_declined",
    ):
        assert DOMAIN["responses"][name][0]["text"]
