"""The patient simulator (CHANNEL_SANDBOX), driven over HTTP against the real hub process: what
the simulated person sends goes signed through the production webhooks; the hub's replies leave
through the real senders to the hub's own stand-in provider APIs, which answer like Twilio and
the Graph API, report delivery back through the status webhooks and show the replies as each
channel renders them. E-mail: the simulated patient's mail is a real RFC 5322 message taken by the
same parse + persist path as the IMAP poller's, and the hub's real SMTP sender submits the replies
to the stand-in SMTP server inside the hub. With the sandbox off every /sandbox route is 404."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from handoff.adapters.sql import store
from handoff.adapters.sql.models import Conversation, Message
from handoff.domain.messages import Sender
from handoff.runtime import HubRuntime
from tests.conftest import Backend
from tests.support.hub import make_settings, wait_for
from tests.support.net import free_port
from tests.support.stack import BotStack, start_hub

ADMIN = {"email": "admin@clinica.example", "password": "sandbox-admin-password"}
PROVIDER_ENV = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "META_APP_SECRET", "META_ACCESS_TOKEN")


@dataclass
class SandboxHub:
    """A hub process with the simulator on (or off) and a database handle on its SQLite file."""

    base_url: str
    rt: HubRuntime
    client: httpx.AsyncClient

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.base_url + path, params=params)

    async def post(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.client.post(self.base_url + path, json=body, **kw)

    async def send(self, channel: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
        resp = await self.post("/sandbox/api/send", {"channel": channel, "user": user, "text": text, **extra})
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    async def timeline(self, channel: str, user: str) -> list[dict[str, Any]]:
        resp = await self.get("/sandbox/api/timeline", channel=channel, user=user)
        assert resp.status_code == 200, resp.text
        entries: list[dict[str, Any]] = resp.json()["entries"]
        return entries

    async def rows(self, *where: Any) -> list[Message]:
        async with self.rt.db.session() as s:
            return list((await s.execute(select(Message).where(*where).order_by(Message.id))).scalars().all())

    async def conversation(self, channel: str, external_id: str) -> Conversation | None:
        async with self.rt.db.session() as s:
            return await store.conversation_for_identity(s, channel, external_id)


@asynccontextmanager
async def sandbox_hub(tmp_path: Path, *, sandbox: bool = True, bot: BotStack | None = None
                      ) -> AsyncIterator[SandboxHub]:
    """`python -m handoff` on a fresh SQLite file with NO provider credentials configured."""
    bot_env = bot.hub_env() if bot else {"RASA_URL": f"http://127.0.0.1:{free_port()}",
                                         "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
                                         "HUB_PORT": str(free_port())}
    port = int(bot_env["HUB_PORT"])
    base_url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite+aiosqlite:///{tmp_path / f'sandbox-{port}.db'}"
    env = {**bot_env, "DATABASE_URL": db_url, "PUBLIC_BASE_URL": base_url,
           "CHANNEL_SANDBOX": "true" if sandbox else "false", "CLINIC_ADMIN_PASSWORD": ADMIN["password"],
           "LEASE_SECONDS": "2", "POLL_INTERVAL_SECONDS": "0.2", "RETRY_BASE_SECONDS": "0.2",
           "RETRY_MAX_SECONDS": "1", "BOT_TIMEOUT_SECONDS": "20", "BOT_GRACE_SECONDS": "120",
           **{key: "" for key in PROVIDER_ENV}}
    proc = start_hub(tmp_path, env, name=f"sandbox-hub-{port}")
    try:
        rt = await HubRuntime.open(make_settings(Backend("sqlite", db_url, None), bot_env["RASA_URL"]))
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                yield SandboxHub(base_url, rt, client)
        finally:
            await rt.close()
    finally:
        proc.kill()


def _phone() -> tuple[str, str]:
    """A mobile as a person types it, and its E.164 form."""
    rest = "8" + str(uuid.uuid4().int)[:7]
    return f"(11) 9{rest[:4]}-{rest[4:]}", f"+55119{rest}"


async def _reply(hub: SandboxHub, conv_id: str, text: str, buttons: list[tuple[str, str]]) -> None:
    """Queue a bot reply the way the pipeline does; the hub's outbox delivers it."""
    async with hub.rt.uow() as (session, _):
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        store.add_outbound(session, conv, Sender.BOT, text, {"buttons": [{"title": t, "payload": p}
                                                                         for t, p in buttons]})


async def _out_entries(hub: SandboxHub, channel: str, user: str, count: int) -> list[dict[str, Any]]:
    async def ready() -> list[dict[str, Any]]:
        out = [e for e in await hub.timeline(channel, user) if e["direction"] == "out"]
        return out if len(out) >= count else []
    result: list[dict[str, Any]] = await wait_for(ready, timeout=60, what=f"{channel} replies on the phone")
    return result


OPTIONS = [("Marcar consulta", "/book_appointment"), ("Falar com atendente", "/request_human"),
           ("Exames", "/exam_info"), ("Boletos", "/boleto_copy"), ("Endereço e horário", "/clinic_address")]


async def test_simulated_patients_chat_through_the_production_webhooks(tmp_path: Path) -> None:
    async with sandbox_hub(tmp_path) as hub:
        # The page: pt-BR, self-contained.
        page = await hub.get("/sandbox")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'lang="pt-BR"' in page.text and 'src="/sandbox/sandbox.js"' in page.text
        script = await hub.get("/sandbox/sandbox.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        for body in (page.text, script.text):
            assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", body)
            assert "fetch(\"http" not in body and "@import" not in body
        channels = {c["channel"]: c for c in (await hub.get("/sandbox/api/channels")).json()["channels"]}
        assert set(channels) == {"whatsapp", "whatsapp_meta", "instagram", "messenger", "sms", "phone", "email"}
        assert all(c["available"] and c["captured"] for c in channels.values())

        typed, e164 = _phone()
        wa_id = e164[1:5] + e164[6:]  # the Cloud API's wa_id: digits, without the ninth digit
        ig_user, fb_user = "17841" + str(uuid.uuid4().int)[:12], "2" + str(uuid.uuid4().int)[:15]

        # Every channel's message goes through its production webhook (signed), stored once.
        sent = {
            "whatsapp": await hub.send("whatsapp", typed, "Oi, bom dia", name="Sandra Lima"),
            "sms": await hub.send("sms", typed, "Oi por SMS"),
            "whatsapp_meta": await hub.send("whatsapp_meta", typed, "Oi pela API oficial", name="Sandra"),
            "instagram": await hub.send("instagram", ig_user, "Oi pelo Insta"),
            "messenger": await hub.send("messenger", fb_user, "Oi pelo Messenger"),
        }
        assert all(s["ok"] and s["webhook_status"] == 200 for s in sent.values()), sent
        assert (sent["whatsapp"]["user"], sent["sms"]["user"], sent["whatsapp_meta"]["user"]) == (e164, e164, wa_id)
        for channel, result in sent.items():
            (row,) = await hub.rows(Message.provider_message_id == result["id"])
            assert row.channel == channel and row.direction == "in"
        convs = {ch: await hub.conversation(ch, sent[ch]["user"]) for ch in sent}
        assert all(convs.values())
        # The same phone on three channels is one patient; page-scoped ids are not.
        patient_ids = {ch: c.patient_id for ch, c in convs.items() if c is not None}
        assert patient_ids["whatsapp"] == patient_ids["sms"] == patient_ids["whatsapp_meta"]
        assert len({patient_ids["whatsapp"], patient_ids["instagram"], patient_ids["messenger"]}) == 3

        bad = await hub.post("/sandbox/api/send", {"channel": "telegram", "user": typed, "text": "oi"})
        assert bad.status_code == 400
        bad = await hub.post("/sandbox/api/send", {"channel": "instagram", "user": "não-é-id", "text": "oi"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_user"
        bad = await hub.post("/sandbox/api/send", {"channel": "email", "user": "sem arroba", "text": "oi"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_user"
        bad = await hub.post("/sandbox/api/send", {"channel": "email", "user": "a@paciente.example", "text": "x",
                                                   "kind": "button", "payload": "/affirm"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_kind"

        # E-mail: the mail is stored once on channel email (no webhook: the poller's parse + persist).
        address = f"Sandra.{uuid.uuid4().hex[:6]}@Paciente.example"
        mail = await hub.send("email", address, "Quero marcar um exame", name="Sandra Lima")
        assert mail["ok"] and mail["user"] == address.lower()
        (row,) = await hub.rows(Message.provider_message_id == mail["id"])
        assert (row.channel, row.direction, row.text) == ("email", "in", "Quero marcar um exame")
        meta = row.payload["metadata"]
        assert meta["from"] == address.lower() and meta["to"] == ["atendimento@clinica.example"]
        assert meta["subject"] == "Quero marcar um exame" and meta["in_reply_to"] == [] and "no_reply" not in meta
        mail_conv = await hub.conversation("email", address.lower())
        assert mail_conv is not None and mail_conv.id == row.conversation_id
        await _reply(hub, mail_conv.id, "Escolha um assunto:", OPTIONS)
        (shown,) = await _out_entries(hub, "email", address, 1)
        # The stand-in SMTP server got the hub's real mail: plain text, numbered options, in the thread.
        assert "Escolha um assunto:" in shown["text"] and "5. Endereço e horário" in shown["text"]
        assert shown["subject"] == "Re: Quero marcar um exame" and shown["references"] == [mail["id"]]
        # The SMTP peer has the mail before the outbox commits `sent` (provider call, then commit):
        # wait for that commit instead of racing it.

        async def sent_row() -> Message | None:
            rows = await hub.rows(Message.conversation_id == mail_conv.id, Message.direction == "out")
            return rows[0] if len(rows) == 1 and rows[0].status == "sent" else None

        out_row = await wait_for(sent_row, timeout=30, what="the e-mail reply marked sent")
        assert out_row.provider_message_id == shown["provider_id"] and out_row.status == "sent"
        # The answer threads back (In-Reply-To our mail, quoted text removed) and "2" is the second option.
        answer = await hub.send("email", address, "2")
        (row,) = await hub.rows(Message.provider_message_id == answer["id"])
        assert (row.text, row.payload["payload"]) == ("Falar com atendente", "/request_human")
        assert row.conversation_id == mail_conv.id and row.payload["metadata"]["typed_choice"] == "2"
        assert row.payload["metadata"]["in_reply_to"] == [shown["provider_id"]]
        assert row.payload["metadata"]["quoted_removed"] is True
        assert row.payload["metadata"]["subject"] == "Re: Quero marcar um exame"

        # Replies leave through the real senders and show as each channel renders them.
        for channel in sent:
            conv = convs[channel]
            assert conv is not None
            await _reply(hub, conv.id, "Como posso ajudar?", OPTIONS[:3])
            await _reply(hub, conv.id, "Escolha um assunto:", OPTIONS)
        wa_meta = await _out_entries(hub, "whatsapp_meta", typed, 2)
        assert [b["title"] for b in wa_meta[0]["buttons"]] == ["Marcar consulta", "Falar com atendente", "Exames"]
        assert wa_meta[1]["list_button"] and [r["id"] for r in wa_meta[1]["rows"]] == [p for _, p in OPTIONS]
        fb = await _out_entries(hub, "messenger", fb_user, 2)
        assert [q["payload"] for q in fb[1]["quick_replies"]] == [p for _, p in OPTIONS]
        ig = await _out_entries(hub, "instagram", ig_user, 2)
        assert ig[0]["text"] == "Como posso ajudar?" and len(ig[0]["quick_replies"]) == 3
        for channel in ("whatsapp", "sms"):
            twilio = await _out_entries(hub, channel, typed, 2)
            assert "1. Marcar consulta" in twilio[0]["text"] and "5. Endereço e horário" in twilio[1]["text"]
            assert not twilio[0]["buttons"] and not twilio[0]["quick_replies"]

        # Delivery reports come back through the status webhooks; what the page showed is read.
        async def statuses(channel: str, wanted: set[str]) -> list[str]:
            conv = convs[channel]
            assert conv is not None
            await hub.timeline(channel, sent[channel]["user"] if channel != "whatsapp_meta" else typed)
            rows = await hub.rows(Message.conversation_id == conv.id, Message.direction == "out")
            got = [r.status for r in rows]
            return got if got and set(got) <= wanted else []
        await wait_for(lambda: statuses("sms", {"delivered"}), what="SMS delivered")
        for channel in ("whatsapp", "whatsapp_meta", "instagram", "messenger"):
            await wait_for(lambda channel=channel: statuses(channel, {"read"}), what=f"{channel} read")

        # Tapping options: reply buttons, list rows, quick replies, or typing the number on Twilio.
        taps = [
            ("whatsapp_meta", typed, {"kind": "button", "payload": "/request_human"}, "Falar com atendente"),
            ("whatsapp_meta", typed, {"kind": "list", "payload": "/boleto_copy"}, "Boletos"),
            ("messenger", fb_user, {"kind": "quick_reply", "payload": "/exam_info"}, "Exames"),
            ("instagram", ig_user, {"kind": "quick_reply", "payload": "/book_appointment"}, "Marcar consulta"),
        ]
        for channel, user, extra, title in taps:
            result = await hub.send(channel, user, title, **extra)
            (row,) = await hub.rows(Message.provider_message_id == result["id"])
            assert (row.text, row.payload["payload"]) == (title, extra["payload"]), channel
        result = await hub.send("whatsapp", typed, "2")
        (row,) = await hub.rows(Message.provider_message_id == result["id"])
        assert (row.text, row.payload["payload"]) == ("Falar com atendente", "/request_human")

        # The phone: the menu over the Voice webhooks; "2" leaves a call back task on the same patient.
        call_sid = "CA" + uuid.uuid4().hex
        start = await hub.post("/sandbox/api/call", {"user": typed, "call_sid": call_sid, "step": "start"})
        assert start.status_code == 200 and start.json()["gather"] and not start.json()["ended"]
        invalid = await hub.post("/sandbox/api/call", {"user": typed, "call_sid": call_sid, "step": "menu",
                                                       "digits": "5"})
        assert invalid.json()["gather"]  # back to the menu (the <Redirect> is followed)
        pressed = await hub.post("/sandbox/api/call", {"user": typed, "call_sid": call_sid, "step": "menu",
                                                       "digits": "2"})
        assert pressed.json()["webhook_status"] == 200 and pressed.json()["ended"]
        phone_conv = await hub.conversation("phone", e164)
        assert phone_conv is not None and phone_conv.state == "queued" and phone_conv.handoff_reason == "callback"
        assert phone_conv.patient_id == patient_ids["whatsapp"]
        heard = " ".join(e["text"] for e in await hub.timeline("phone", typed) if e["direction"] == "out")
        assert "digite 2" in heard and "Opção inválida" in heard and "ligar de volta" in heard

        # The attendant calls back: Twilio's Calls API (the stand-in) rings the simulated phone.
        token = (await hub.post("/api/auth/login", ADMIN)).json()["token"]
        called = await hub.post(f"/api/conversations/{phone_conv.id}/call", {"agent_phone": "(11) 91234-5678"},
                                headers={"Authorization": f"Bearer {token}"})
        assert called.status_code == 201, called.text
        ring = [e for e in await hub.timeline("phone", typed) if "está ligando" in e["text"]]
        assert ring and ring[0]["call"] and ring[0]["provider_id"] == called.json()["call_sid"]

        # The stand-in APIs check credentials like the providers do.
        no_auth = await hub.client.post(hub.base_url + "/sandbox/providers/meta/v21.0/me/messages",
                                        json={"recipient": {"id": fb_user}, "message": {"text": "x"}})
        assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == 190
        wrong_sid = await hub.client.post(
            hub.base_url + "/sandbox/providers/twilio/2010-04-01/Accounts/AC123/Messages.json",
            data={"To": "+5511999999999", "From": "+5511930000001", "Body": "x"}, auth=("AC123", "nope"))
        assert wrong_sid.status_code == 404 and wrong_sid.json()["code"] == 20404


async def test_sandbox_off_means_every_sandbox_route_is_404(tmp_path: Path) -> None:
    async with sandbox_hub(tmp_path, sandbox=False) as hub:
        for path in ("/sandbox", "/sandbox/", "/sandbox/sandbox.js", "/sandbox/api/channels",
                     "/sandbox/api/timeline?channel=sms&user=%2B5511987654321"):
            assert (await hub.client.get(hub.base_url + path)).status_code == 404, path
        for path in ("/sandbox/api/send", "/sandbox/api/call", "/sandbox/providers/meta/v21.0/me/messages",
                     "/sandbox/providers/twilio/2010-04-01/Accounts/AC1/Messages.json"):
            assert (await hub.client.post(hub.base_url + path, json={})).status_code == 404, path
        # No credentials and no sandbox: the provider webhooks are simply not configured.
        assert (await hub.client.post(hub.base_url + "/channels/meta", content=b"{}")).status_code == 503
        assert (await hub.client.post(hub.base_url + "/channels/twilio/messages", content=b"")).status_code == 503


async def test_a_simulated_whatsapp_cloud_patient_talks_to_the_real_bot(tmp_path: Path, bot_stack: BotStack) -> None:
    async with sandbox_hub(tmp_path, bot=bot_stack) as hub:
        typed, _ = _phone()
        assert (await hub.send("whatsapp_meta", typed, "oi", name="Paula"))["ok"]

        async def offered() -> dict[str, Any] | None:
            out = [e for e in await hub.timeline("whatsapp_meta", typed) if e["direction"] == "out"]
            return next((e for e in reversed(out) if e["buttons"] or e["rows"]), None)
        entry = await wait_for(offered, timeout=120, what="the bot's first reply with options")
        assert entry["text"] and entry["status"] in ("sent", "delivered", "read")
        options = entry["buttons"] or entry["rows"]
        # An intent payload behaves the same whatever the bot content of the day (a handoff).
        option = next((o for o in options if o["id"] == "/request_human"), options[0])
        kind = "button" if entry["buttons"] else "list"
        tap = await hub.send("whatsapp_meta", typed, option["title"], kind=kind, payload=option["id"])
        assert tap["ok"]

        async def handled() -> Message | None:
            (row,) = await hub.rows(Message.provider_message_id == tap["id"])
            return row if row.status == "processed" else None
        row = await wait_for(handled, timeout=120, what="the bot handling the tapped option")
        assert row.payload["payload"] == option["id"] and row.text == option["title"]
        if option["id"] == "/request_human":
            conv = await hub.conversation("whatsapp_meta", tap["user"])
            assert conv is not None and conv.state == "queued"


async def test_a_simulated_email_patient_talks_to_the_real_bot(tmp_path: Path, bot_stack: BotStack) -> None:
    async with sandbox_hub(tmp_path, bot=bot_stack) as hub:
        address = f"paula.{uuid.uuid4().hex[:6]}@paciente.example"
        sent = await hub.send("email", address, "oi", name="Paula Reis")
        assert sent["ok"]
        (first,) = await hub.rows(Message.provider_message_id == sent["id"])
        assert (first.channel, first.text) == ("email", "oi")

        # The bot's answer leaves through the real SMTP sender and lands in the simulated mailbox.
        async def answered() -> list[dict[str, Any]]:
            rows = await hub.rows(Message.conversation_id == first.conversation_id, Message.direction == "out")
            if not rows or any(r.status != "sent" for r in rows):
                return []
            out = [e for e in await hub.timeline("email", address) if e["direction"] == "out"]
            return out if len(out) == len(rows) else []
        out = await wait_for(answered, timeout=120, what="the bot's mail in the simulated mailbox")
        latest = out[-1]
        assert latest["subject"] == "Re: oi" and latest["references"] == [sent["id"]]
        options = re.findall(r"^(\d+)\. (.+)$", latest["text"], re.MULTILINE)
        assert options and options[0][0] == "1" and "Responda com o número da opção." in latest["text"]
        rows = await hub.rows(Message.conversation_id == first.conversation_id, Message.direction == "out")
        assert [r.provider_message_id for r in rows] == [e["provider_id"] for e in out]

        # "1" answers the latest mail: it reaches the bot as the first option.
        answer = await hub.send("email", address, "1")

        async def handled() -> Message | None:
            (row,) = await hub.rows(Message.provider_message_id == answer["id"])
            return row if row.status == "processed" else None
        row = await wait_for(handled, timeout=120, what="the bot handling the numbered answer")
        buttons = rows[-1].payload["buttons"]
        assert (row.text, row.payload["payload"]) == (options[0][1], buttons[0]["payload"])
        assert row.payload["metadata"]["typed_choice"] == "1"
        assert row.payload["metadata"]["in_reply_to"] == [latest["provider_id"]]
        assert row.conversation_id == first.conversation_id
