"""WhatsApp and SMS through Twilio, end to end: signed webhooks replaying Twilio's documented
forms (tests/fixtures/twilio) into the real hub process (SQLite and PostgreSQL + Redis), the real
bot answering, and the requests the hub makes to a local server speaking Twilio's REST API."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from sqlalchemy import select

from connectors.base import ChannelError, OutboundMessage, OutboundTemplate
from connectors.twilio import TwilioSender
from handoff.adapters.sql.models import ConversationEvent, Message
from tests.channels.conftest import TWILIO_SMS_FROM, TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.fake_twilio import FakeTwilio
from tests.support.fixtures import load_fixture
from tests.support.hub import wait_for
from tests.support.stack import BotStack


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def _phone() -> str:
    return "+55119" + str(uuid.uuid4().int)[:8]


def _whatsapp(tw: FakeTwilio, name: str, phone: str, **fields: str) -> dict[str, str]:
    """The form of tests/fixtures/twilio/<name>.json: a WhatsApp message from `phone` to the clinic."""
    fields.setdefault("profile_name", "")
    form: dict[str, str] = load_fixture("twilio", name, account_sid=tw.account_sid, from_number="whatsapp:" + phone,
                                        to_number=TWILIO_WHATSAPP_FROM, wa_id=phone.removeprefix("+"), **fields)
    return form


def _sms(tw: FakeTwilio, phone: str, **fields: str) -> dict[str, str]:
    """The form of tests/fixtures/twilio/messaging_inbound_sms.json: an SMS from `phone` to the clinic."""
    form: dict[str, str] = load_fixture("twilio", "messaging_inbound_sms", account_sid=tw.account_sid,
                                        from_number=phone, to_number=TWILIO_SMS_FROM, **fields)
    return form


def _status(tw: FakeTwilio, sid: str, status: str, to: str, from_: str,
            error_code: str | None = None) -> dict[str, str]:
    """The form of tests/fixtures/twilio/messaging_status_callback[_error].json."""
    fields = {"account_sid": tw.account_sid, "sid": sid, "status": status, "to_number": to, "from_number": from_}
    name = "messaging_status_callback_error" if error_code else "messaging_status_callback"
    form: dict[str, str] = load_fixture("twilio", name, **fields, **({"error_code": error_code} if error_code else {}))
    return form


async def test_inbound_webhooks_are_verified_parsed_and_stored_once(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers) as hub:
        tw = providers.twilio
        url = hub.url("/channels/twilio/messages")
        phone = _phone()

        # A signed WhatsApp message: stored once, however often Twilio delivers it.
        sid = _sid()
        form = _whatsapp(tw, "messaging_inbound_whatsapp", phone, sid=sid, body="Olá, bom dia",
                         profile_name="Maria Souza")
        first = tw.post_webhook(url, form)
        assert first.status_code == 200 and "<Response" in first.text
        assert first.headers["content-type"].startswith("text/xml")
        assert tw.post_webhook(url, form).status_code == 200
        retries = await asyncio.gather(*(asyncio.to_thread(tw.post_webhook, url, form) for _ in range(5)))
        assert all(r.status_code == 200 for r in retries)
        rows = await hub.messages(Message.provider_message_id == sid)
        assert len(rows) == 1
        row = rows[0]
        assert (row.channel, row.direction, row.text, row.status) == ("whatsapp", "in", "Olá, bom dia", "pending")
        assert row.payload["metadata"]["wa_id"] == phone.removeprefix("+")
        assert row.payload["metadata"]["to"] == TWILIO_WHATSAPP_FROM
        patient = await hub.patient_of("whatsapp", phone)
        assert patient is not None and patient.display_name == "Maria Souza"

        # Bad, missing, tampered or wrong-URL signatures: 403 and nothing stored.
        bad_sid = _sid()
        bad = _whatsapp(tw, "messaging_inbound_whatsapp", phone, sid=bad_sid, body="oi")
        assert tw.post_webhook(url, bad, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
        assert tw.post_webhook(url, bad, signature=None).status_code == 403
        other_host = "https://outra-clinica.example/channels/twilio/messages"
        assert tw.post_webhook(url, bad, signed_url=other_host).status_code == 403
        signature = tw.sign(url, bad)
        tampered = {**bad, "Body": "mensagem trocada no caminho"}
        refused = tw.post_webhook(url, tampered, signature=signature)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "invalid_signature"
        assert await hub.messages(Message.provider_message_id == bad_sid) == []

        # Media only (blank Body is part of the signature): stored with its attachments.
        media_sid = _sid()
        media = [("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg"),
                 ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "application/pdf")]
        form = _whatsapp(tw, "messaging_inbound_whatsapp_media", phone, sid=media_sid, body="",
                         profile_name="Maria Souza", media_url_0=media[0][0], media_content_type_0=media[0][1],
                         media_url_1=media[1][0], media_content_type_1=media[1][1])
        assert tw.post_webhook(url, form).status_code == 200
        (row,) = await hub.messages(Message.provider_message_id == media_sid)
        assert row.text == ""
        assert [(a["url"], a["content_type"]) for a in row.payload["attachments"]] == media

        # SMS: a plain number is the sms channel.
        sms_sid, sms_phone = _sid(), _phone()
        form = _sms(tw, sms_phone, sid=sms_sid, body="Quero remarcar")
        assert tw.post_webhook(url, form).status_code == 200
        (row,) = await hub.messages(Message.provider_message_id == sms_sid)
        assert row.channel == "sms" and row.text == "Quero remarcar"
        assert (await hub.conversation_of("sms", sms_phone)) is not None

        # A WhatsApp quick-reply button (template) carries its payload back.
        button_sid = _sid()
        form = _whatsapp(tw, "messaging_inbound_whatsapp_button", phone, sid=button_sid, body="Confirmar",
                         button_text="Confirmar", button_payload="/confirm")
        assert tw.post_webhook(url, form).status_code == 200
        (row,) = await hub.messages(Message.provider_message_id == button_sid)
        assert row.payload["payload"] == "/confirm" and row.text == "Confirmar"

        # Signed but malformed: 400 with a clear error, nothing stored.
        cases = [
            ({"NumMedia": "dois"}, "NumMedia"),
            ({"NumMedia": "1"}, "MediaUrl0"),
            ({"From": "messenger:123"}, "From"),
            ({"MessageSid": "", "SmsMessageSid": ""}, "MessageSid"),
        ]
        for change, word in cases:
            broken_sid = _sid()
            form = {**_whatsapp(tw, "messaging_inbound_whatsapp", phone, sid=broken_sid, body="x"), **change}
            resp = tw.post_webhook(url, form)
            assert resp.status_code == 400, change
            assert resp.json()["error"]["code"] == "malformed" and word in resp.json()["error"]["message"]
            assert await hub.messages(Message.provider_message_id == broken_sid) == []

        # Status callbacks are signed too; one for a message we never sent changes nothing.
        status_url = hub.url("/channels/twilio/status")
        unknown = _status(tw, _sid(), "delivered", "whatsapp:" + phone, TWILIO_WHATSAPP_FROM)
        assert tw.post_webhook(status_url, unknown).json() == {"status": "ok", "applied": 0}
        assert tw.post_webhook(status_url, unknown, signature=None).status_code == 403
        assert tw.post_webhook(status_url, {**unknown, "MessageStatus": "", "SmsStatus": ""}).status_code == 400


async def _outbound(hub: Hub, conv_id: str) -> list[Message]:
    return await hub.messages(Message.conversation_id == conv_id, Message.direction == "out")


async def test_bot_reply_goes_out_as_numbered_options_and_statuses_only_move_forward(
    backend: Backend, tmp_path: Path, providers: Providers, bot_stack: BotStack
) -> None:
    async with running_hub(backend, tmp_path, providers, bot=bot_stack) as hub:
        tw = providers.twilio
        url, status_url = hub.url("/channels/twilio/messages"), hub.url("/channels/twilio/status")
        phone = _phone()
        to = "whatsapp:" + phone
        assert tw.post_webhook(url, _whatsapp(tw, "messaging_inbound_whatsapp", phone, sid=_sid(), body="oi",
                                              profile_name="João")).status_code == 200

        def greeting() -> list[dict[str, str]]:
            return [r for r in tw.requests if r.get("To") == to and r["_status"] == "201"]

        async def delivered_to_twilio() -> list[dict[str, str]]:
            return greeting()
        (request, *_) = await wait_for(delivered_to_twilio, what="the greeting reaching Twilio")
        assert request["From"] == TWILIO_WHATSAPP_FROM
        # First contact: the greeting carries the privacy notice (LGPD) and its two answers.
        assert "1. Aceito" in request["Body"] and "2. Não aceito" in request["Body"]
        assert request["StatusCallback"] == status_url

        conv = await hub.conversation_of("whatsapp", phone)
        assert conv is not None

        async def sent() -> list[Message]:
            rows = await _outbound(hub, conv.id)
            return rows if rows and all(r.status == "sent" for r in rows) else []
        out = next(r for r in await wait_for(sent, what="greeting marked sent") if r.payload.get("buttons"))
        assert out.provider_message_id and out.provider_message_id.startswith("SM")

        # Reports out of order: delivered arrives before sent; read before a late delivered.
        async def status_of(message_id: int) -> str:
            (row,) = await hub.messages(Message.id == message_id)
            return row.status
        for report, expected in (("delivered", "delivered"), ("sent", "delivered"), ("queued", "delivered"),
                                 ("read", "read"), ("delivered", "read")):
            form = _status(tw, out.provider_message_id, report, to, TWILIO_WHATSAPP_FROM)
            assert tw.post_webhook(status_url, form).status_code == 200
            assert await status_of(out.id) == expected, report
        forged = _status(tw, out.provider_message_id, "failed", to, TWILIO_WHATSAPP_FROM)
        assert tw.post_webhook(status_url, forged, signature="Zm9yZ2Vk").status_code == 403
        assert await status_of(out.id) == "read"

        # "2" answers the numbered options: it reaches the bot as the second button's payload.
        choice_sid = _sid()
        form = _whatsapp(tw, "messaging_inbound_whatsapp", phone, sid=choice_sid, body="2")
        assert tw.post_webhook(url, form).status_code == 200
        (choice,) = await hub.messages(Message.provider_message_id == choice_sid)
        assert choice.payload["payload"] == "/consent_refuse" and choice.text == "Não aceito"
        assert choice.payload["metadata"]["typed_choice"] == "2"

        # SMS: the reply leaves from the SMS number; a failure reported later (e.g. 30003,
        # unreachable handset) is recorded for the inbox.
        sms_phone = _phone()
        assert tw.post_webhook(url, _sms(tw, sms_phone, sid=_sid(), body="oi")).status_code == 200

        async def sms_sent() -> list[Message]:
            sms_conv = await hub.conversation_of("sms", sms_phone)
            rows = await _outbound(hub, sms_conv.id) if sms_conv else []
            return rows if rows and all(r.provider_message_id for r in rows) else []
        (reply, *_) = await wait_for(sms_sent, what="SMS reply sent")
        sms_request = next(r for r in tw.requests if r.get("To") == sms_phone)
        assert sms_request["From"] == TWILIO_SMS_FROM and "1. Aceito" in sms_request["Body"]
        form = _status(tw, reply.provider_message_id, "undelivered", sms_phone, TWILIO_SMS_FROM, error_code="30003")
        assert tw.post_webhook(status_url, form).json()["applied"] == 1
        (row,) = await hub.messages(Message.id == reply.id)
        assert row.status == "failed" and row.last_error == "provider error 30003"
        async with hub.rt.db.session() as s:
            events = (await s.execute(select(ConversationEvent).where(
                ConversationEvent.conversation_id == reply.conversation_id,
                ConversationEvent.type == "delivery_failed"))).scalars()
            assert [e.data for e in events] == [{"message_id": reply.id, "error_code": "30003"}]


async def test_templates_go_out_with_content_sid_and_variables(providers: Providers) -> None:
    tw = providers.twilio
    sender = TwilioSender(api_base=tw.base_url, account_sid=tw.account_sid, auth_token=tw.auth_token,
                          from_address=TWILIO_WHATSAPP_FROM, address_prefix="whatsapp:",
                          status_callback="https://hub.example/channels/twilio/status")
    try:
        sid = await sender.send_template("+5511987654321", "HX" + "a" * 32, {"1": "12/03", "2": "14h"})
        # A template without a Twilio Content SID cannot go out: failed for good, nothing sent.
        unapproved = OutboundMessage(message_id=1, conversation_id="c", channel="whatsapp",
                                     external_user_id="+5511987654321", sender="agent", text="Olá",
                                     template=OutboundTemplate(id="so_meta", meta_name="so_meta"))
        try:
            await sender.send(unapproved)
            raise AssertionError("a template without a Content SID must fail")
        except ChannelError as exc:
            assert exc.retryable is False
    finally:
        await sender.close()
    assert sid and sid.startswith("SM")
    (request,) = tw.requests
    assert request["To"] == "whatsapp:+5511987654321" and request["From"] == TWILIO_WHATSAPP_FROM
    assert request["ContentSid"] == "HX" + "a" * 32 and "Body" not in request
    assert json.loads(request["ContentVariables"]) == {"1": "12/03", "2": "14h"}
    assert request["StatusCallback"] == "https://hub.example/channels/twilio/status"
