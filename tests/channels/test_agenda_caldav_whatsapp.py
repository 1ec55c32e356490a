"""A patient books on WhatsApp and the booking lives in the doctor's CalDAV calendar (issue 14).

Everything is real: the hub process with AGENDA_BACKEND=caldav, Radicale, the trained model
behind Rasa, the action server, signed Twilio webhooks and the local server speaking Twilio's
REST API. The reception is a calendar app on the same Radicale (tests/support/calendar_reception).

1. The patient books in free text; the event appears in the cardiologist's calendar at that time.
2. The reception moves it in the calendar; "quando é minha consulta?" answers the new time, and
   the reminder sent the day before shows the new time.
3. The calendar server goes down; a new booking request is answered with the agenda being
   unavailable and the conversation is handed to a person with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import as_utc
from handoff.adapters.sql.models import ConversationEvent
from handoff.adapters.sql.models_reminders import ReminderRow
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.services.reminders import ReminderService
from tests.channels.conftest import Providers, running_hub
from tests.channels.test_booking_flows import (
    SLOT_TITLE,
    Chat,
    TwilioPatient,
    _conversation,
    _the_patients_booking,
)
from tests.conftest import Backend
from tests.e2e.test_bot_flows_webchat import valid_cpf
from tests.support.calendar_reception import Reception
from tests.support.radicale_server import HUB_PASSWORD, HUB_USER, RadicaleServer
from tests.support.stack import BotStack
from tests.support.wait import eventually

ADMIN = {"email": "admin@clinica.example", "password": "test-password-123"}


@pytest.fixture
def radicale() -> Iterator[RadicaleServer]:
    with RadicaleServer() as server:
        yield server


async def _point_cardiologists_at_calendars(base_url: str, radicale: RadicaleServer) -> dict[int, str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        login = await api.post("/api/auth/login", json=ADMIN)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        doctors = (await api.get("/api/clinic/doctors", params={"specialty": "cardiologia"}, headers=auth)).json()
        calendars = {}
        for d in doctors:
            path = radicale.make_calendar()
            r = await api.put(f"/api/agenda/doctors/{d['id']}", json={"agenda_ref": path}, headers=auth)
            assert r.status_code == 200, r.text
            calendars[d["id"]] = path
        return calendars


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_whatsapp_booking_lands_in_the_doctors_calendar_and_follows_the_reception(
    backend: Backend, tmp_path: Path, providers: Providers, bot_stack: BotStack, radicale: RadicaleServer
) -> None:
    env = {"AGENDA_BACKEND": "caldav", "CALDAV_URL": radicale.url, "CALDAV_USERNAME": HUB_USER,
           "CALDAV_PASSWORD": HUB_PASSWORD, "AGENDA_TIMEOUT_SECONDS": "3"}
    async with running_hub(backend, tmp_path, providers, bot=bot_stack, extra_env=env) as hub:
        calendars = await _point_cardiologists_at_calendars(hub.base_url, radicale)
        patient = TwilioPatient(hub, providers, whatsapp=True)
        chat = Chat(patient)
        assert "LGPD" in await chat.say("oi, bom dia")
        await chat.pick(lambda o: o.title == "Aceito", "Aceito")
        offer = await chat.say("qro marcar consulta com cardiologista na semana que vem de manha")
        assert "Cardiologia" in offer, offer
        answer = await chat.pick(lambda o: bool(SLOT_TITLE.search(o.title)), "with a time slot")
        if "CPF" in answer:
            answer = await chat.say(valid_cpf())
        assert "Confirma a consulta de Cardiologia" in answer, answer
        booked = await chat.say("sim")
        assert "marcada" in booked, booked

        # 1. The event is in the doctor's calendar, at the booked time.
        (row,) = await _the_patients_booking(hub.rt.db, patient.channel, patient.external_id)
        assert row.agenda_system == "caldav" and row.agenda_ref, row.agenda_ref
        assert row.agenda_ref.startswith(calendars[row.doctor_id]) or calendars[row.doctor_id] in row.agenda_ref
        reception = Reception(radicale)
        found = await reception.get(row.agenda_ref)
        assert found is not None
        (event,) = found[0].walk("VEVENT")
        start = as_utc(row.starts_at)
        assert start is not None and event.decoded("dtstart") == start

        # 2. The reception moves it in the calendar; the bot's "my appointment" shows the new time.
        await reception.move(row.agenda_ref, timedelta(hours=2))
        new = (start + timedelta(hours=2)).astimezone(CLINIC_TZ)
        when = await chat.say("quando é minha consulta?")
        assert f"{new:%d/%m} às {new:%H:%M}" in when, when
        old = start.astimezone(CLINIC_TZ)
        assert f"{old:%d/%m} às {old:%H:%M}" not in when, when

        # The reminder goes out for the new time: planned and sent as the hub's worker does, with the
        # clock at the day before the moved appointment (the 48-hour one is stale by then: skipped).
        reminders = ReminderService(hub.rt.uow, hub.rt.settings)
        day_before = new.astimezone(UTC) - timedelta(hours=23)
        planned = await reminders.plan(day_before)
        sent = await reminders.send_due(day_before)
        # Judged on this appointment's rows: the hub's seeded agenda may hold other appointments
        # whose reminders fall due at the same moment (the counts of `send_due` are for all of them).
        async with hub.rt.db.session() as s:
            rows = (await s.execute(select(ReminderRow).where(ReminderRow.appointment_id == row.id))).scalars().all()
        moved = {r.kind: r.status for r in rows if as_utc(r.appointment_start) == new.astimezone(UTC)}
        before = {r.status for r in rows if as_utc(r.appointment_start) == start}
        assert moved.get("48h") == "skipped_stale" and moved.get("24h") == "sent", (moved, planned, sent, new)
        assert "sent" not in before, before  # nothing went out for the time the reception moved away from
        # The patient's 24-hour window is closed by then: it leaves as the approved template, its
        # variables filled with the new date and time.
        def template_sends() -> list[dict[str, str]]:
            return [r for r in list(providers.twilio.requests)
                    if r.get("To") == patient.address and "ContentSid" in r and r["_status"] == "201"]
        (template,) = await eventually(template_sends, timeout=30, what="the reminder template at Twilio")
        variables = json.loads(template["ContentVariables"])
        assert [v for v in variables.values() if v.endswith(f"{new:%d/%m} às {new:%H:%M}")], variables
        assert not [v for v in variables.values() if f"às {old:%H:%M}" in v], variables

        # 3. The calendar server goes down: the bot says so and hands off, with that reason.
        radicale.stop()
        down = await chat.say("quero marcar outra consulta com cardiologista amanhã de tarde")
        assert "agenda da clínica não está respondendo" in down, down  # open or closed, the patient hears why
        conv = await _conversation(hub.rt.db, patient.channel, patient.external_id)
        assert conv is not None
        conv_id = conv.id

        async def handoff_event() -> ConversationEvent | None:
            async with hub.rt.db.session() as s:
                return (await s.execute(select(ConversationEvent).where(
                    ConversationEvent.conversation_id == conv_id, ConversationEvent.type == "handoff",
                ))).scalars().first()
        handoff = await eventually(handoff_event, timeout=30, what="the handoff event")
        conv = await _conversation(hub.rt.db, patient.channel, patient.external_id)
        assert conv is not None
        assert handoff.data["reason"] == "agenda_unavailable", handoff
        assert conv.state in ("queued", "assigned"), conv.state
