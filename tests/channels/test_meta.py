"""WhatsApp Cloud API, Instagram and Messenger through Meta, end to end: webhook bodies shaped as
Meta documents them (tests/fixtures/whatsapp_cloud, instagram and messenger), signed, into the
real hub process (SQLite and PostgreSQL + Redis), the real bot answering, and the Graph API
requests the hub makes to a local server speaking that API."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from connectors import meta
from connectors.base import Button, ChannelError, OutboundMessage, OutboundTemplate
from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation, Message
from handoff.domain.messages import Sender
from tests.channels.conftest import META_VERIFY_TOKEN, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.fake_meta import FakeMeta, instagram_style_mid
from tests.support.fixtures import (
    load_fixture,
    messaging_body,
    messaging_event,
    wa_body,
    wa_change,
    wa_message,
    wa_status,
)
from tests.support.hub import wait_for
from tests.support.stack import BotStack


def _wamid() -> str:
    return "wamid.HBgM" + uuid.uuid4().hex.upper()


def _wa_id() -> str:
    return "55119" + str(uuid.uuid4().int)[:8]


def _mid() -> str:
    return "m_" + uuid.uuid4().hex


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _one(hub: Hub, provider_id: str) -> Message:
    rows = await hub.messages(Message.provider_message_id == provider_id)
    assert len(rows) == 1, f"{len(rows)} rows for one provider id"
    return rows[0]


async def test_webhooks_are_verified_batched_deduped_and_malformed_parts_refused(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers) as hub:
        fm = providers.meta
        url = hub.url("/channels/meta")

        # Subscription handshake.
        ok = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN,
                                    "hub.challenge": "1158201444"})
        assert ok.status_code == 200 and ok.text == "1158201444"
        for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                       {"hub.mode": "unsubscribe", "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1"},
                       {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN}):
            assert httpx.get(url, params=params).status_code == 403

        # A WhatsApp batch: two entries, several changes and messages of every kind we take.
        maria, joao = _wa_id(), _wa_id()
        ids = {k: _wamid() for k in ("text", "image", "button_reply", "list_reply", "document", "location",
                                     "template_button", "audio", "reaction")}
        batch = wa_body(
            [wa_change(contacts=[(maria, "Maria Souza")], messages=[
                wa_message("messages_text", wa_id=maria, wamid=ids["text"],
                           body="Bom dia, queria marcar uma consulta"),
                wa_message("messages_image", wa_id=maria, wamid=ids["image"], sha256="abc",
                           media_id="1479537139650973"),
                wa_message("messages_interactive_button_reply", wa_id=maria, wamid=ids["button_reply"],
                           reply_id="/request_human", reply_title="Falar com atendente"),
             ]),
             wa_change(contacts=[(joao, "João Lima")], statuses=[wa_status("statuses_delivered", wa_id=joao)],
                       messages=[
                wa_message("messages_interactive_list_reply", wa_id=joao, wamid=ids["list_reply"],
                           reply_id="/choose_slot", reply_title="Terça 14h", reply_description="Dra. Ana"),
                wa_message("messages_document", wa_id=joao, wamid=ids["document"], caption="Meu pedido de exame",
                           filename="pedido.pdf", mime_type="application/pdf", sha256="x", media_id="2222"),
                wa_message("messages_location", wa_id=joao, wamid=ids["location"], latitude=-23.5613,
                           longitude=-46.6565, place_name="Clínica", address="Av. Paulista, 1000"),
             ])],
            [wa_change(messages=[
                wa_message("messages_button", wa_id=maria, wamid=ids["template_button"], button_payload="/confirm",
                           button_text="Confirmar"),
                wa_message("messages_audio", wa_id=maria, wamid=ids["audio"], sha256="y", media_id="3333"),
                wa_message("messages_reaction", wa_id=maria, wamid=ids["reaction"], emoji="👍"),
            ])],
        )
        first = fm.post_webhook(url, batch)
        assert first.status_code == 200, first.text
        assert first.json() == {"status": "ok", "stored": 8, "duplicates": 0, "statuses": 0, "echoes": 0,
                                "ignored": 1}
        again = fm.post_webhook(url, batch)  # Meta retries: nothing stored twice
        assert again.json()["stored"] == 0 and again.json()["duplicates"] == 8
        text = await _one(hub, ids["text"])
        assert (text.channel, text.text, text.status) == ("whatsapp_meta", "Bom dia, queria marcar uma consulta",
                                                          "pending")
        image = await _one(hub, ids["image"])
        assert image.text == "" and image.payload["attachments"] == [
            {"url": "meta-media:1479537139650973", "content_type": "image/jpeg", "filename": None}]
        reply = await _one(hub, ids["button_reply"])
        assert (reply.text, reply.payload["payload"]) == ("Falar com atendente", "/request_human")
        listed = await _one(hub, ids["list_reply"])
        assert (listed.text, listed.payload["payload"]) == ("Terça 14h", "/choose_slot")
        document = await _one(hub, ids["document"])
        assert document.text == "Meu pedido de exame"
        assert document.payload["attachments"][0]["filename"] == "pedido.pdf"
        location = await _one(hub, ids["location"])
        assert "Av. Paulista, 1000" in location.text and location.payload["metadata"]["location"]["latitude"]
        button = await _one(hub, ids["template_button"])
        assert (button.text, button.payload["payload"]) == ("Confirmar", "/confirm")
        assert (await _one(hub, ids["audio"])).payload["attachments"][0]["content_type"].startswith("audio/ogg")
        assert await hub.messages(Message.provider_message_id == ids["reaction"]) == []
        assert (await hub.patient_of("whatsapp_meta", maria)).display_name == "Maria Souza"  # type: ignore[union-attr]
        assert (await hub.patient_of("whatsapp_meta", joao)).display_name == "João Lima"  # type: ignore[union-attr]

        # Bad, missing or foreign signatures: 403, nothing stored.
        sneaky = _wamid()
        forged = load_fixture("whatsapp_cloud", "messages_text", wa_id=maria, wamid=sneaky, body="oi")
        assert fm.post_webhook(url, forged, signature="sha256=" + "0" * 64).status_code == 403
        assert fm.post_webhook(url, forged, signature=None).status_code == 403
        other_app = FakeMeta(app_secret="another-app")
        assert fm.post_webhook(url, forged, signature=other_app.sign(b"x")).status_code == 403
        assert await hub.messages(Message.provider_message_id == sneaky) == []

        # Instagram: text, quick reply, media only; echoes of our own messages are dropped.
        igsid = "17" + str(uuid.uuid4().int)[:15]
        ig = {k: _mid() for k in ("quick", "media")}
        ig["text"] = instagram_style_mid()  # Instagram ids can exceed the 128-character column
        body = messaging_body(
            "instagram",
            messaging_event("instagram", "messages_text", sender_id=igsid, mid=ig["text"],
                            text="Vocês atendem convênio?"),
            messaging_event("instagram", "messages_quick_reply", sender_id=igsid, mid=ig["quick"],
                            text="Marcar consulta", payload="Quero marcar uma consulta"),
            messaging_event("instagram", "messages_attachment", sender_id=igsid, mid=ig["media"],
                            attachment_type="image", url="https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"),
            messaging_event("instagram", "message_echoes", recipient_id=igsid, text="resposta enviada pela clínica"),
            messaging_event("instagram", "messaging_seen", sender_id=igsid),
        )
        resp = fm.post_webhook(url, body)
        assert resp.status_code == 200 and resp.json()["stored"] == 3 and resp.json()["echoes"] == 1
        assert fm.post_webhook(url, body).json()["duplicates"] == 3
        assert (await _one(hub, meta.provider_key(ig["text"]))).channel == "instagram"
        quick = await _one(hub, ig["quick"])
        assert (quick.text, quick.payload["payload"]) == ("Marcar consulta", "Quero marcar uma consulta")
        media = await _one(hub, ig["media"])
        assert media.text == "" and media.payload["attachments"][0]["content_type"] == "image/*"

        # Messenger: a message, a postback (persistent menu / button), an echo, a delivery receipt.
        psid = "24" + str(uuid.uuid4().int)[:14]
        text_mid, postback_mid = _mid(), _mid()
        body = messaging_body(
            "messenger",
            messaging_event("messenger", "messages_text", sender_id=psid, mid=text_mid, text="Olá"),
            messaging_event("messenger", "messaging_postbacks", sender_id=psid, mid=postback_mid,
                            title="Falar com atendente", payload="/request_human"),
            messaging_event("messenger", "message_echoes", recipient_id=psid, text="resposta enviada pela clínica"),
            messaging_event("messenger", "message_deliveries", sender_id=psid),
        )
        resp = fm.post_webhook(url, body)
        assert resp.status_code == 200 and resp.json()["stored"] == 2 and resp.json()["echoes"] == 1
        postback = await _one(hub, postback_mid)
        assert (postback.channel, postback.text, postback.payload["payload"]) == (
            "messenger", "Falar com atendente", "/request_human")

        # Malformed bodies: 400 with a clear error; the valid parts of a batch are kept.
        assert fm.post_webhook(url, b"{not json").json()["error"]["message"] == "body is not valid JSON"
        assert fm.post_webhook(url, b"{not json").status_code == 400
        assert fm.post_webhook(url, {"object": "page"}).status_code == 400
        assert "JSON object" in fm.post_webhook(url, [1, 2]).json()["error"]["message"]
        kept, lost = _wamid(), _wamid()
        no_sender = wa_message("messages_text", wa_id=maria, wamid=lost, body="sem remetente")
        del no_sender["from"]
        partial = wa_body([wa_change(messages=[
            wa_message("messages_text", wa_id=maria, wamid=kept, body="Esta chega"), no_sender])])
        resp = fm.post_webhook(url, partial)
        assert resp.status_code == 400
        error = resp.json()["error"]
        assert error["code"] == "malformed" and error["stored"] == 1
        assert error["rejected"] == ["entry[0].changes[0].value.messages[1]: `id`, `from` and `type` are required"]
        assert (await _one(hub, kept)).text == "Esta chega"
        assert await hub.messages(Message.provider_message_id == lost) == []

        # Objects we do not subscribe to are acknowledged and ignored.
        other = fm.post_webhook(url, {"object": "permissions", "entry": [{"id": "1", "changes": []}]})
        assert other.status_code == 200 and other.json()["ignored"] == 1


async def _sent(hub: Hub, channel: str, external_id: str) -> list[Message]:
    conv = await hub.conversation_of(channel, external_id)
    if conv is None:
        return []
    rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
    return rows if rows and all(r.status != "queued" and r.status != "sending" for r in rows) else []


async def _status(hub: Hub, message_id: int) -> str:
    (row,) = await hub.messages(Message.id == message_id)
    return row.status


async def test_bot_replies_render_within_meta_limits_and_statuses_only_move_forward(
    backend: Backend, tmp_path: Path, providers: Providers, bot_stack: BotStack
) -> None:
    async with running_hub(backend, tmp_path, providers, bot=bot_stack) as hub:
        fm = providers.meta
        url = hub.url("/channels/meta")
        wa_id, igsid, psid = _wa_id(), "17" + str(uuid.uuid4().int)[:15], "24" + str(uuid.uuid4().int)[:14]
        assert fm.post_webhook(url, load_fixture("whatsapp_cloud", "messages_text", wa_id=wa_id, profile_name="Ana",
                                                 body="oi")).status_code == 200
        assert fm.post_webhook(url, messaging_body("instagram", messaging_event(
            "instagram", "messages_text", sender_id=igsid, text="oi"))).status_code == 200
        assert fm.post_webhook(url, messaging_body("messenger", messaging_event(
            "messenger", "messages_text", sender_id=psid, text="oi"))).status_code == 200

        # WhatsApp: the greeting's two options (the privacy notice's answers on first contact) as
        # reply buttons, within Meta's limits.
        (wa_out, *_) = await wait_for(lambda: _sent(hub, "whatsapp_meta", wa_id), what="WhatsApp greeting sent")
        (wa_req,) = [r["json"] for r in fm.sent("whatsapp") if r["json"]["to"] == wa_id]
        assert wa_req["messaging_product"] == "whatsapp" and wa_req["type"] == "interactive"
        interactive = wa_req["interactive"]
        assert interactive["type"] == "button" and interactive["body"]["text"].startswith("Olá")
        assert [(b["reply"]["title"], b["reply"]["id"]) for b in interactive["action"]["buttons"]] == [
            ("Aceito", "/consent_accept"), ("Não aceito", "/consent_refuse")]
        assert wa_out.provider_message_id and wa_out.provider_message_id.startswith("wamid.")

        # Instagram and Messenger: quick replies, RESPONSE inside the 24-hour window.
        raw_mid: dict[str, str] = {}
        for channel, who in (("instagram", igsid), ("messenger", psid)):
            await wait_for(lambda c=channel, w=who: _sent(hub, c, w), what=f"{channel} greeting sent")
            (record,) = [r for r in fm.sent("messaging") if r["json"]["recipient"]["id"] == who]
            req, raw_mid[channel] = record["json"], record["_id"]
            assert req["messaging_type"] == "RESPONSE" and "tag" not in req
            assert [(q["content_type"], q["title"], q["payload"]) for q in req["message"]["quick_replies"]] == [
                ("text", "Aceito", "/consent_accept"), ("text", "Não aceito", "/consent_refuse")]

        # WhatsApp statuses out of order: delivered before sent stays delivered; read wins.
        for reported, expected in (("delivered", "delivered"), ("sent", "delivered"), ("read", "read"),
                                   ("delivered", "read")):
            resp = fm.post_webhook(url, load_fixture("whatsapp_cloud", f"statuses_{reported}",
                                                     wamid=wa_out.provider_message_id, wa_id=wa_id))
            assert resp.status_code == 200
            assert await _status(hub, wa_out.id) == expected, reported

        # Messenger receipts: delivery by mid, then read by watermark.
        (ms_out, *_) = await _sent(hub, "messenger", psid)
        by_mid = messaging_event("messenger", "message_deliveries", sender_id=psid, mid=raw_mid["messenger"])
        del by_mid["delivery"]["watermark"]  # this receipt names the message only
        fm.post_webhook(url, messaging_body("messenger", by_mid))
        assert await _status(hub, ms_out.id) == "delivered"
        fm.post_webhook(url, messaging_body("messenger", messaging_event(
            "messenger", "message_reads", sender_id=psid, watermark=_now_ms() + 1000)))
        assert await _status(hub, ms_out.id) == "read"
        # Instagram read receipt by mid.
        (ig_out, *_) = await _sent(hub, "instagram", igsid)
        fm.post_webhook(url, messaging_body("instagram", messaging_event(
            "instagram", "messaging_seen", sender_id=igsid, mid=raw_mid["instagram"])))
        assert await _status(hub, ig_out.id) == "read"

        # A WhatsApp failure reported later (131047: outside the 24-hour window) is recorded.
        resp = fm.post_webhook(url, load_fixture("whatsapp_cloud", "statuses_failed", wamid=wa_out.provider_message_id,
                                                 wa_id=wa_id, error_code=131047, error_title="Re-engagement message"))
        assert resp.json()["statuses"] == 1
        (failed,) = await hub.messages(Message.id == wa_out.id)
        assert failed.status == "failed" and failed.last_error == "provider error 131047"

        # Outside Instagram's standard window: an attendant's reply goes out with HUMAN_AGENT;
        # a bot message there fails for good (it is not retried).
        fm.closed_window.update({igsid, psid})
        ig_conv = await hub.conversation_of("instagram", igsid)
        ms_conv = await hub.conversation_of("messenger", psid)
        assert ig_conv is not None and ms_conv is not None
        async with hub.rt.db.session() as s:
            agent_row = store.add_outbound(s, await s.get(Conversation, ig_conv.id), Sender.AGENT,
                                           "Olá! Aqui é a Carla, da recepção. Consegui um horário para você.")
            bot_row = store.add_outbound(s, await s.get(Conversation, ms_conv.id), Sender.BOT, "Posso ajudar?")
        await wait_for(lambda: _sent(hub, "instagram", igsid), what="agent reply handled")

        async def settled() -> bool:
            return (await _status(hub, agent_row.id)) == "sent" and (await _status(hub, bot_row.id)) == "failed"
        await wait_for(settled, what="agent reply sent with HUMAN_AGENT and bot message failed")
        tries = [r for r in fm.requests if r["kind"] == "messaging" and r["json"]["recipient"]["id"] == igsid
                 and r["json"]["message"].get("text", "").startswith("Olá! Aqui é a Carla")]
        assert [(r["json"]["messaging_type"], r["json"].get("tag"), r["_status"]) for r in tries] == [
            ("RESPONSE", None, 400), ("MESSAGE_TAG", "HUMAN_AGENT", 200)]
        (bot_failed,) = await hub.messages(Message.id == bot_row.id)
        assert bot_failed.attempts == 1 and "2018278" in (bot_failed.last_error or "")


def _out(buttons: list[tuple[str, str]], text: str = "Escolha o horário:", **kw: Any) -> OutboundMessage:
    return OutboundMessage(message_id=1, conversation_id="c", channel="whatsapp_meta", external_user_id="5511999999999",
                           sender=kw.pop("sender", "bot"), text=text,
                           buttons=tuple(Button(t, p) for t, p in buttons), **kw)


def test_whatsapp_rendering_keeps_within_meta_limits() -> None:
    long = "Consulta de retorno com a cardiologista"  # 39 characters
    three = meta.render_whatsapp(_out([(long, "/a"), ("Sim", "/b"), ("Não", "/c")]))
    titles = [b["reply"]["title"] for b in three["interactive"]["action"]["buttons"]]
    assert three["interactive"]["type"] == "button" and titles[0] == "Consulta de retorno…" and len(titles[0]) == 20
    five = meta.render_whatsapp(_out([(f"{long} {i}", f"/slot{i}") for i in range(5)]))
    rows = five["interactive"]["action"]["sections"][0]["rows"]
    assert five["interactive"]["type"] == "list" and len(rows) == 5
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in rows)
    assert len(five["interactive"]["action"]["button"]) <= 20
    twelve = meta.render_whatsapp(_out([(f"Opção {i}", f"/o{i}") for i in range(12)]))
    assert twelve["type"] == "text" and "12. Opção 11" in twelve["text"]["body"]
    clash = meta.render_whatsapp(_out([(long + " A", "/a"), (long + " B", "/b")]))
    assert clash["interactive"]["type"] == "list"  # clipped button titles would collide
    plain = meta.render_whatsapp(_out([], text="Até logo!"))
    assert plain["type"] == "text" and plain["text"]["body"] == "Até logo!"
    picture = meta.render_whatsapp(_out([], text="Nosso endereço", image="https://clinica.example/mapa.png"))
    assert picture["type"] == "image" and picture["image"]["caption"] == "Nosso endereço"


def test_messenger_rendering_keeps_within_meta_limits() -> None:
    two = meta.render_messaging(_out([("Consulta de retorno com a cardiologista", "/a"), ("Sim", "/b")]))
    assert two["messaging_type"] == "RESPONSE"
    assert [q["title"] for q in two["message"]["quick_replies"]] == ["Consulta de retorno…", "Sim"]
    many = meta.render_messaging(_out([(f"Opção {i}", f"/o{i}") for i in range(14)]))
    assert "quick_replies" not in many["message"] and "14. Opção 13" in many["message"]["text"]
    tagged = meta.render_messaging(_out([], text="Olá"), human_agent=True)
    assert (tagged["messaging_type"], tagged["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_rendered_requests_are_accepted_by_the_graph_api_shape(providers: Providers) -> None:
    fm = providers.meta
    wa = meta.WhatsAppCloudSender(api_base=fm.base_url, access_token=fm.access_token,
                                  phone_number_id=fm.phone_number_id)
    ms = meta.MessengerSender(api_base=fm.base_url, access_token=fm.access_token, channel="messenger")
    long = "Consulta de retorno com a cardiologista"
    try:
        for n in (1, 3, 4, 10, 11):
            assert (await wa.send(_out([(f"{long} {i}", f"/slot{i}") for i in range(n)]))) is not None
            assert (await ms.send(_out([(f"{long} {i}", f"/slot{i}") for i in range(n)]))) is not None
        assert await wa.send_template("5511999999999", "lembrete_consulta", components=[
            {"type": "body", "parameters": [{"type": "text", "text": "12/03 às 14h"}]}])
        assert await ms.send(_out([], text="Veja o mapa", image="https://clinica.example/mapa.png"))
        # An outbound message carrying a template (outside the 24-hour window) goes out as that template.
        template = OutboundTemplate(id="retorno_atendimento", variables=("Maria",), meta_name="retorno_atendimento")
        assert await wa.send(_out([], text="Olá Maria, …", template=template))
    finally:
        await wa.close()
        await ms.close()
    assert all(r["_status"] == 200 for r in fm.requests), [r.get("_problems") for r in fm.requests]
    sent = fm.requests[-1]["json"]
    assert sent["type"] == "template" and "text" not in sent
    assert sent["template"] == {"name": "retorno_atendimento", "language": {"code": "pt_BR"},
                                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]}
    bad = meta.WhatsAppCloudSender(api_base=fm.base_url, access_token="expired", phone_number_id=fm.phone_number_id)
    try:
        await bad.send(_out([], text="oi"))
    except ChannelError as exc:
        assert not exc.retryable and "190" in str(exc)
    else:
        raise AssertionError("an invalid token must fail")
    finally:
        await bad.close()
    fm.fail_next = [503]
    flaky = meta.MessengerSender(api_base=fm.base_url, access_token=fm.access_token, channel="instagram")
    try:
        await flaky.send(_out([], text="oi"))
    except ChannelError as exc:
        assert exc.retryable
    else:
        raise AssertionError("a 503 must fail (retryable)")
    finally:
        await flaky.close()
