"""Phone through Twilio Voice, end to end: signed Voice webhooks into the real hub process
(SQLite and PostgreSQL + Redis) answer with the pt-BR menu (TwiML); a call back request becomes
a task in the human queue on the caller's patient; the attendant's "ligar de volta" places the
call through a local server speaking Twilio's Calls API."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from sqlalchemy import select

from handoff.adapters.sql.models import AuditLog, ConversationEvent, Message
from tests.channels.conftest import TWILIO_VOICE_FROM, TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.fixtures import load_fixture

ADMIN = {"email": "admin@clinica.example", "password": "test-password-123"}


def _call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def _mobile() -> tuple[str, str]:
    """A mobile number in its current form and in the old form without the ninth digit."""
    rest = "8" + str(uuid.uuid4().int)[:7]
    return f"+55119{rest}", f"+5511{rest}"


def _twiml(resp: httpx.Response) -> ET.Element:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    return ET.fromstring(resp.text)


def _said(root: ET.Element) -> str:
    return " ".join((s.text or "") for s in root.iter("Say"))


async def _events(hub: Hub, conv_id: str, type_: str) -> list[ConversationEvent]:
    async with hub.rt.db.session() as s:
        return list((await s.execute(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conv_id, ConversationEvent.type == type_)
            .order_by(ConversationEvent.id))).scalars().all())


async def test_phone_menu_call_back_task_and_attendant_call_back(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers) as hub:
        tw = providers.twilio
        voice_url, menu_url = hub.url("/channels/twilio/voice"), hub.url("/channels/twilio/voice/menu")
        caller, caller_old_form = _mobile()
        sid = _call_sid()
        form = tw.voice_form(call_sid=sid, from_=caller, to=TWILIO_VOICE_FROM, CallStatus="ringing")

        # Signed like every Twilio webhook.
        assert tw.post_webhook(voice_url, form, signature=None).status_code == 403
        assert tw.post_webhook(voice_url, form, signature="Zm9yZ2Vk").status_code == 403
        assert tw.post_webhook(voice_url, {**form, "CallSid": ""}).status_code == 400

        # The menu: one <Gather> for keys and speech in pt-BR, posting to the menu URL.
        root = _twiml(tw.post_webhook(voice_url, form))
        gather = root.find("Gather")
        assert gather is not None
        assert (gather.get("input"), gather.get("language"), gather.get("numDigits"), gather.get("action"),
                gather.get("method")) == ("dtmf speech", "pt-BR", "1", menu_url, "POST")
        prompt = gather.find("Say")
        assert prompt is not None and prompt.get("language") == "pt-BR"
        assert "Clínica Exemplo" in (prompt.text or "")
        for option in ("digite 1", "digite 2", "digite 9"):
            assert option in (prompt.text or "")
        redirect = root.find("Redirect")
        assert redirect is not None and redirect.text == voice_url + "?tentativa=2"
        # Nobody answered twice: goodbye, no loop.
        root = _twiml(tw.post_webhook(voice_url + "?tentativa=2", form))
        assert root.find("Redirect") is None and root.find("Hangup") is not None

        # 9 (or saying "emergência"): SAMU 192, then hang up.
        for extra in ({"Digits": "9"}, {"SpeechResult": "é uma emergência", "Confidence": "0.87"}):
            root = _twiml(tw.post_webhook(menu_url, {**form, **extra}))
            assert "SAMU" in _said(root) and "1 9 2" in _said(root) and root.find("Hangup") is not None
        # 1: bookings on WhatsApp or the site (the clinic's number spelled out), a call back one key away.
        root = _twiml(tw.post_webhook(menu_url, {**form, "Digits": "1"}))
        assert "WhatsApp" in _said(root) and "digite 2" in _said(root)
        gather = root.find("Gather")
        assert gather is not None and gather.get("action") == menu_url
        # Anything else: back to the menu.
        root = _twiml(tw.post_webhook(menu_url, {**form, "Digits": "5"}))
        assert "inválida" in _said(root)
        redirect = root.find("Redirect")
        assert redirect is not None and redirect.text is not None and redirect.text.startswith(voice_url)
        assert await hub.conversation_of("phone", caller) is None

        # The caller had written on WhatsApp from the same number, in its old eight-digit form.
        wa_form = tw.inbound_form(sid="SM" + uuid.uuid4().hex, from_="whatsapp:" + caller_old_form,
                                  to=TWILIO_WHATSAPP_FROM, body="Oi", profile_name="Rita Cassia")
        assert tw.post_webhook(hub.url("/channels/twilio/messages"), wa_form).status_code == 200

        # 2 (said, not typed): a call back task in the human queue, stored once per call.
        for _ in range(3):
            root = _twiml(tw.post_webhook(menu_url, {**form, "SpeechResult": "quero que me liguem de volta",
                                                     "Confidence": "0.91"}))
            assert "ligar de volta" in _said(root) and root.find("Hangup") is not None
        conv = await hub.conversation_of("phone", caller)
        assert conv is not None
        assert (conv.state, conv.handoff_reason, conv.priority) == ("queued", "callback", "normal")
        (row,) = await hub.messages(Message.conversation_id == conv.id)
        assert (row.direction, row.sender, row.text, row.status, row.provider_message_id) == (
            "in", "system", "Pedido de retorno de ligação", "routed", sid)
        (handoff,) = await _events(hub, conv.id, "handoff")
        assert handoff.data["reason"] == "callback" and handoff.data["priority"] == "normal"
        # One patient across channels: the phone identity joined the WhatsApp patient.
        wa_patient = await hub.patient_of("whatsapp", caller_old_form)
        phone_patient = await hub.patient_of("phone", caller)
        assert wa_patient is not None and phone_patient is not None and wa_patient.id == phone_patient.id
        assert conv.patient_id == wa_patient.id and wa_patient.display_name == "Rita Cassia"

        # A hidden number cannot be called back: nothing stored.
        hidden = tw.voice_form(call_sid=_call_sid(), from_="anonymous", to=TWILIO_VOICE_FROM, Digits="2")
        root = _twiml(tw.post_webhook(menu_url, hidden))
        assert "identificar" in _said(root)
        assert await hub.messages(Message.provider_message_id == hidden["CallSid"]) == []

        # The attendant's "ligar de volta": Twilio's Calls API rings the patient, then the attendant.
        call_url = hub.url(f"/api/conversations/{conv.id}/call")
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.post(call_url, json={"agent_phone": "+5511912345678"})).status_code == 401
            login = await client.post(hub.url("/api/auth/login"), json=ADMIN)
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            bad = await client.post(call_url, json={"agent_phone": "12345678"}, headers=headers)
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_agent_phone"
            missing = await client.post(hub.url("/api/conversations/nope/call"),
                                        json={"agent_phone": "(11) 91234-5678"}, headers=headers)
            assert missing.status_code == 404
            resp = await client.post(call_url, json={"agent_phone": "(11) 91234-5678"}, headers=headers)
            assert resp.status_code == 201, resp.text
            placed = resp.json()
            tw.fail_next = [500]
            refused = await client.post(call_url, json={"agent_phone": "(11) 91234-5678"}, headers=headers)
            assert refused.status_code == 502 and refused.json()["error"]["code"] == "provider_error"
        assert placed["call_sid"].startswith("CA") and placed["conversation_id"] == conv.id
        request = tw.calls[0]
        assert request["To"] == caller and request["From"] == TWILIO_VOICE_FROM
        assert request["StatusCallback"] == hub.url(f"/channels/twilio/voice/status?conversation={conv.id}")
        dial = ET.fromstring(request["Twiml"]).find("Dial")
        assert dial is not None and dial.get("callerId") == TWILIO_VOICE_FROM
        number = dial.find("Number")
        assert number is not None and number.text == "+5511912345678"
        (event,) = await _events(hub, conv.id, "call_placed")
        assert event.data["call_sid"] == placed["call_sid"] and event.actor.startswith("agent:")
        async with hub.rt.db.session() as s:
            audit = (await s.execute(select(AuditLog).where(AuditLog.action == "call_patient"))).scalars().all()
        assert [a.subject for a in audit] == [f"conversation:{conv.id}"]

        # Twilio's final status of that call lands on the conversation (signed URL names it).
        status_url = request["StatusCallback"]
        status = load_fixture("twilio", "voice_status_callback", call_sid=placed["call_sid"], call_status="completed",
                              call_duration="75", account_sid=tw.account_sid)
        assert tw.post_webhook(status_url, status, signature=None).status_code == 403
        assert tw.post_webhook(status_url, status).json() == {"status": "ok", "recorded": True}
        (final,) = await _events(hub, conv.id, "call_status")
        assert final.data == {"call_sid": placed["call_sid"], "status": "completed", "duration": 75}
