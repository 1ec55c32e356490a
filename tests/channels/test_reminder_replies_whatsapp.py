"""A patient answers an appointment reminder on WhatsApp (issue 15 item 2), end to end.

Everything is real: the hub process, the trained model behind Rasa, the action server, signed
Meta webhooks and the local server speaking Meta's Graph API. The reminder itself is the row the
reminder sender writes (`reminders`, status sent): this test is about the replies.

1. Hours later the patient types "confirmo" with two appointments pending: the hub's metadata
   names the reminded one and the bot confirms THAT one, without asking which.
2. The reminder's "Cancelar" button (payload with appointment_id) cancels the other one after
   "Confirma o cancelamento…?".
3. The "Confirmar" button of the appointment now cancelled: the bot says so and changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AppointmentRow
from handoff.adapters.sql.models_reminders import ReminderRow
from tests.channels.conftest import Hub, Providers, running_hub
from tests.channels.test_booking_flows import Chat, WhatsAppCloudPatient, _conversation
from tests.conftest import Backend
from tests.support.stack import BotStack


async def _book_two(hub: Hub, token: str, pid: int) -> list[dict[str, Any]]:
    auth = {"Authorization": f"Bearer {token}"}
    booked = []
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=30, headers=auth) as api:
        for specialty in ("cardiologia", "dermatologia"):
            slots = (await api.get("/api/clinic/slots", params={"specialty": specialty, "limit": 3})).json()
            r = await api.post("/api/clinic/appointments", json={"patient_id": pid, "slot_id": slots[-1]["slot_id"]})
            assert r.status_code in (200, 201), r.text
            booked.append(r.json())
    return booked


async def _status(hub: Hub, appt_id: int) -> str:
    async with hub.rt.db.session() as s:
        row = await s.get(AppointmentRow, appt_id)
        assert row is not None
        return row.status


async def _tap(chat: Chat, patient: WhatsAppCloudPatient, intent: str, appt_id: int, title: str) -> str:
    """A tap on a reminder's quick-reply button (Meta sends back the button's id = its payload)."""
    before = len(patient.received())
    payload = f"/{intent}" + json.dumps({"appointment_id": str(appt_id)}, separators=(",", ":"))
    await patient._post("messages_interactive_button_reply", reply_id=payload, reply_title=title)
    return await chat._turn(before)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_whatsapp_replies_to_a_reminder_act_on_its_appointment(
    backend: Backend, tmp_path: Path, providers: Providers, bot_stack: BotStack
) -> None:
    async with running_hub(backend, tmp_path, providers, bot=bot_stack) as hub:
        patient = WhatsAppCloudPatient(hub, providers)
        chat = Chat(patient)
        assert "LGPD" in await chat.say("oi, bom dia")
        await chat.pick(lambda o: o.title == "Aceito", "Aceito")
        conv = await _conversation(hub.rt.db, patient.channel, patient.external_id)
        assert conv is not None
        cardio, derma = await _book_two(hub, bot_stack.clinic_api_token, conv.patient_id)
        now = utcnow()
        async with hub.rt.db.session() as s:  # the 24h reminder of the dermatology appointment left 3 h ago
            s.add(ReminderRow(appointment_id=derma["id"], patient_id=conv.patient_id, kind="24h",
                              appointment_start=now + timedelta(days=1), due_at=now - timedelta(hours=3),
                              status="sent", channel=patient.channel, conversation_id=conv.id,
                              sent_at=now - timedelta(hours=3), details={}, created_at=now - timedelta(days=2),
                              updated_at=now - timedelta(hours=3)))

        # 1. typed hours later: the reminded appointment, no "which one?"
        confirmed = await chat.say("confirmo")
        assert "Presença confirmada" in confirmed and "Dermatologia" in confirmed, confirmed
        assert await _status(hub, derma["id"]) == "confirmed"
        assert await _status(hub, cardio["id"]) == "scheduled"

        # 2. the reminder's Cancelar button of the other appointment: asked first, then cancelled
        asked = await _tap(chat, patient, "cancel_appointment", cardio["id"], "Cancelar")
        assert "Confirma o cancelamento" in asked and "Cardiologia" in asked, asked
        assert await _status(hub, cardio["id"]) == "scheduled"
        done = await chat.say("sim")
        assert "cancelada" in done, done
        assert await _status(hub, cardio["id"]) == "cancelled"

        # 3. a button of the appointment now cancelled: said so, nothing changes
        refused = await _tap(chat, patient, "confirm_appointment", cardio["id"], "Confirmar")
        assert "já foi cancelada" in refused, refused
        assert await _status(hub, cardio["id"]) == "cancelled"
        assert await _status(hub, derma["id"]) == "confirmed"
