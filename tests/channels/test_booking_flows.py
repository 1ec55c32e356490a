"""The bot's booking and handoff flows end to end on every provider channel.

Each patient talks to the real hub process only through the provider's side of the wire:
signed webhooks shaped as Twilio and Meta document them, or real mail delivered to Dovecot
(IMAP). The real trained model behind a real Rasa server answers, the real action server books
through the hub's clinic API, and the test reads the bot's answers where a patient's phone or
mail client would get them: in the requests the hub makes to the local servers that speak
Twilio's and Meta's REST APIs, or in the mails submitted to the SMTP server.

What differs per channel is only how options travel: numbered text on Twilio (WhatsApp and
SMS) and e-mail, reply buttons or a list on the WhatsApp Cloud API, quick replies on Instagram
and Messenger. The same conversation runs on each: greeting with the privacy notice, consent,
a booking in free pt-BR text, a slot picked from the options, CPF, confirmation; then "when is
my appointment", and a request for a person that lands in the clinic's queue with the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import AppointmentRow, ChannelIdentity, Conversation, ConversationEvent, Patient
from tests.channels.conftest import TWILIO_SMS_FROM, TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.channels.test_email import MailHub, mail_hub, patient_mail
from tests.conftest import Backend
from tests.e2e.test_bot_flows_webchat import valid_cpf
from tests.support.fixtures import load_fixture, messaging_body, messaging_event
from tests.support.mail import Dovecot, SmtpPeer
from tests.support.stack import BotStack
from tests.support.wait import eventually, settled

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

QUIET_SECONDS = 3.0  # a bot turn's replies leave together; this long without a new one ends the turn
TURN_TIMEOUT = 120.0
NUMBERED = re.compile(r"^(\d{1,2})\. (.+)$")
SLOT_TITLE = re.compile(r"\d{2}/\d{2} às \d{2}:\d{2}")


@dataclass(frozen=True)
class Option:
    """One option the patient sees: its title, and the payload when the channel carries one
    (buttons, lists, quick replies); numbered-text channels only show the title."""

    title: str
    payload: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message of the clinic as the patient's app shows it."""

    text: str
    options: tuple[Option, ...] = ()
    kind: str = "text"  # WhatsApp Cloud: "button" / "list" (how a choice must be answered)


def numbered_options(text: str) -> tuple[Option, ...]:
    """The options of a numbered-text message ("1. Aceito")."""
    return tuple(Option(m.group(2).strip()) for line in text.splitlines() if (m := NUMBERED.match(line.strip())))


class ChannelPatient:
    """A patient on one channel: how they write, how they answer an option, what they receive."""

    channel: str
    external_id: str

    def received(self) -> list[Reply]:
        """Every message the clinic sent this patient so far, in order."""
        raise NotImplementedError

    async def write(self, text: str) -> None:
        """Send free text."""
        raise NotImplementedError

    async def answer(self, index: int, option: Option, reply: Reply) -> None:
        """Answer `option` (1-based `index`) of `reply` the way this channel does."""
        raise NotImplementedError


def _post_ok(resp: httpx.Response) -> None:
    assert resp.status_code == 200, resp.text


class TwilioPatient(ChannelPatient):
    """WhatsApp or SMS through Twilio: form-encoded signed webhooks; replies are Messages.json
    requests whose options are numbered in the body."""

    def __init__(self, hub: Hub, providers: Providers, *, whatsapp: bool) -> None:
        self.hub, self.tw = hub, providers.twilio
        phone = "+55119" + str(uuid.uuid4().int)[:8]
        self.channel = "whatsapp" if whatsapp else "sms"
        self.external_id = phone
        self.address = ("whatsapp:" if whatsapp else "") + phone
        self.ours = TWILIO_WHATSAPP_FROM if whatsapp else TWILIO_SMS_FROM

    def received(self) -> list[Reply]:
        # Template messages (ContentSid, no Body) are not text the patient reads here.
        bodies = [r["Body"] for r in list(self.tw.requests)
                  if r.get("To") == self.address and r["_status"] == "201" and "Body" in r]
        return [Reply(b, numbered_options(b)) for b in bodies]

    async def _send(self, body: str) -> None:
        form = self.tw.inbound_form(sid="SM" + uuid.uuid4().hex, from_=self.address, to=self.ours, body=body,
                                    profile_name="Paciente Teste")
        _post_ok(await asyncio.to_thread(self.tw.post_webhook, self.hub.url("/channels/twilio/messages"), form))

    async def write(self, text: str) -> None:
        await self._send(text)

    async def answer(self, index: int, option: Option, reply: Reply) -> None:
        await self._send(str(index))  # what a patient types to pick a numbered option


class WhatsAppCloudPatient(ChannelPatient):
    """WhatsApp through Meta's Cloud API: replies are reply buttons (up to 3) or a list; the
    patient's tap comes back as an `interactive` `button_reply` / `list_reply` message."""

    channel = "whatsapp_meta"

    def __init__(self, hub: Hub, providers: Providers) -> None:
        self.hub, self.fm = hub, providers.meta
        self.external_id = "55119" + str(uuid.uuid4().int)[:8]

    def received(self) -> list[Reply]:
        out: list[Reply] = []
        for record in self.fm.sent("whatsapp"):
            body = record["json"]
            if body.get("to") != self.external_id:
                continue
            if body["type"] == "interactive":
                inter = body["interactive"]
                if inter["type"] == "button":
                    options = tuple(Option(b["reply"]["title"], b["reply"]["id"]) for b in inter["action"]["buttons"])
                else:
                    options = tuple(Option(row.get("description") or row["title"], row["id"])
                                    for section in inter["action"]["sections"] for row in section["rows"])
                out.append(Reply(inter["body"]["text"], options, inter["type"]))
            elif body["type"] == "text":
                out.append(Reply(body["text"]["body"], numbered_options(body["text"]["body"])))
            else:
                out.append(Reply(body.get(body["type"], {}).get("caption", "")))
        return out

    async def _post(self, name: str, **fields: Any) -> None:
        payload = load_fixture("whatsapp_cloud", name, wa_id=self.external_id, profile_name="Paciente Teste", **fields)
        _post_ok(await asyncio.to_thread(self.fm.post_webhook, self.hub.url("/channels/meta"), payload))

    async def write(self, text: str) -> None:
        await self._post("messages_text", body=text)

    async def answer(self, index: int, option: Option, reply: Reply) -> None:
        if reply.kind == "button":
            await self._post("messages_interactive_button_reply", reply_id=option.payload,
                             reply_title=option.title[:24])
        elif reply.kind == "list":
            await self._post("messages_interactive_list_reply", reply_id=option.payload,
                             reply_title=option.title[:24], reply_description=option.title)
        else:
            await self.write(str(index))


class MessagingPatient(ChannelPatient):
    """Instagram Direct or Messenger: Send API requests with quick replies; a tap comes back as a
    message with `quick_reply.payload`."""

    def __init__(self, hub: Hub, providers: Providers, *, instagram: bool) -> None:
        self.hub, self.fm = hub, providers.meta
        self.channel = "instagram" if instagram else "messenger"
        self.provider = "instagram" if instagram else "messenger"
        self.external_id = ("17" if instagram else "24") + str(uuid.uuid4().int)[:15]

    def received(self) -> list[Reply]:
        out: list[Reply] = []
        for record in self.fm.sent("messaging"):
            body = record["json"]
            if body["recipient"]["id"] != self.external_id:
                continue
            msg = body["message"]
            quick = tuple(Option(q["title"], q["payload"]) for q in msg.get("quick_replies") or [])
            out.append(Reply(msg.get("text", ""), quick or numbered_options(msg.get("text", ""))))
        return out

    async def _post(self, name: str, **fields: Any) -> None:
        payload = messaging_body(self.provider, messaging_event(self.provider, name, sender_id=self.external_id,
                                                                **fields))
        _post_ok(await asyncio.to_thread(self.fm.post_webhook, self.hub.url("/channels/meta"), payload))

    async def write(self, text: str) -> None:
        await self._post("messages_text", text=text)

    async def answer(self, index: int, option: Option, reply: Reply) -> None:
        if option.payload:
            await self._post("messages_quick_reply", text=option.title, payload=option.payload)
        else:
            await self.write(str(index))


class EmailPatient(ChannelPatient):
    """E-mail: mail delivered to the clinic's IMAP mailbox, answers submitted to SMTP. Every mail
    of the patient answers the clinic's latest one (In-Reply-To/References), as a mail client's
    "Reply" does, and picks an option by its number."""

    channel = "email"

    def __init__(self, hub: MailHub) -> None:
        self.hub = hub
        self.external_id = f"paciente.{uuid.uuid4().hex[:8]}@exemplo.com.br"
        self.thread: list[str] = []

    def _mails(self) -> list[EmailMessage]:
        return [r.message for r in self.hub.smtp.to(self.external_id)]

    def received(self) -> list[Reply]:
        out = []
        for mail in self._mails():
            part = mail.get_body(preferencelist=("plain",))
            text = str(part.get_content()) if part is not None else ""
            out.append(Reply(text, numbered_options(text)))
        return out

    async def write(self, text: str) -> None:
        mails = self._mails()
        last = mails[-1]["Message-ID"].strip("<>") if mails else None
        if last and last not in self.thread:
            self.thread.append(last)
        msg_id, raw = patient_mail(f"Paciente Teste <{self.external_id}>", text,
                                   subject="Re: Consulta" if last else "Consulta",
                                   in_reply_to=last, references=list(self.thread) or None)
        self.thread.append(msg_id)
        await asyncio.to_thread(self.hub.deliver, raw)

    async def answer(self, index: int, option: Option, reply: Reply) -> None:
        await self.write(str(index))


@dataclass
class Chat:
    """Drives one patient: say something, wait for the bot's whole turn, pick an option."""

    patient: ChannelPatient
    last: list[Reply] = field(default_factory=list)

    async def _turn(self, before: int) -> str:
        with contextlib.suppress(AssertionError):  # no answer at all: reported just below
            await settled(lambda: self.patient.received()[before:], quiet=QUIET_SECONDS, timeout=TURN_TIMEOUT,
                          what=f"the bot's turn on {self.patient.channel}")
        replies = self.patient.received()[before:]
        assert replies, f"the bot did not answer on {self.patient.channel}"
        self.last = replies
        return "\n".join(r.text for r in replies)

    async def say(self, text: str) -> str:
        """Write `text`; the bot's answer as one text."""
        before = len(self.patient.received())
        await self.patient.write(text)
        return await self._turn(before)

    async def pick(self, matches: Callable[[Option], bool], what: str) -> str:
        """Answer the first option of the latest turn that `matches`."""
        for reply in reversed(self.last):
            for index, option in enumerate(reply.options, start=1):
                if matches(option):
                    before = len(self.patient.received())
                    await self.patient.answer(index, option, reply)
                    return await self._turn(before)
        offered = [o.title for r in self.last for o in r.options]
        raise AssertionError(f"no option {what} on {self.patient.channel}; offered: {offered}")


async def book_then_ask_for_a_person(chat: Chat) -> None:
    """The shared script: first contact, consent, a booking, its confirmation, then a person."""
    channel = chat.patient.channel
    greeting = await chat.say("oi, bom dia")
    assert "Clínica Exemplo" in greeting and "LGPD" in greeting, (channel, greeting)  # the privacy notice
    accepted = await chat.pick(lambda o: o.title == "Aceito", "Aceito")
    assert "consentimento foi registrado" in accepted.lower(), (channel, accepted)

    offer = await chat.say("qro marcar consulta com cardiologista na semana que vem de manha")
    assert "Cardiologia" in offer, (channel, offer)
    slots = [o for r in chat.last for o in r.options if SLOT_TITLE.search(o.title)]
    assert 1 <= len(slots) <= 5, (channel, offer)
    answer = await chat.pick(lambda o: bool(SLOT_TITLE.search(o.title)), "with a time slot")
    if "CPF" in answer:  # a new patient identifies once
        answer = await chat.say(valid_cpf())
    assert "Confirma a consulta de Cardiologia" in answer, (channel, answer)
    booked = await chat.say("sim")
    assert "marcada" in booked and "Cardiologia" in booked, (channel, booked)

    when = await chat.say("quando é minha consulta?")
    assert "Cardiologia" in when, (channel, when)
    await chat.say("quero falar com um atendente")


async def _the_patients_booking(database: Database, channel: str, external_id: str) -> list[AppointmentRow]:
    async with database.session() as s:
        return list((await s.execute(
            select(AppointmentRow).join(Patient, Patient.id == AppointmentRow.patient_id)
            .join(ChannelIdentity, ChannelIdentity.patient_id == Patient.id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id,
                   AppointmentRow.status != "cancelled"))).scalars().all())


async def _conversation(database: Database, channel: str, external_id: str) -> Conversation | None:
    async with database.session() as s:
        return (await s.execute(select(Conversation).join(ChannelIdentity,
                                                          ChannelIdentity.id == Conversation.identity_id)
                                .where(ChannelIdentity.channel == channel,
                                       ChannelIdentity.external_id == external_id))).scalar_one_or_none()


async def _wait_handed_off(database: Database, patient: ChannelPatient) -> Conversation:
    async def handed_off() -> Conversation | None:
        conv = await _conversation(database, patient.channel, patient.external_id)
        return conv if conv is not None and conv.state in ("queued", "assigned") else None
    conv: Conversation = await eventually(handed_off, timeout=60, interval=0.3,
                                          what=f"{patient.channel}: the conversation handed off")
    return conv


async def _queue(base_url: str, password: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as api:
        login = await api.post("/api/auth/login", json={"email": "admin@clinica.example", "password": password})
        assert login.status_code == 200, login.text
        resp = await api.get("/api/queue", headers={"Authorization": f"Bearer {login.json()['token']}"})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()
        return items


async def _check_outcome(database: Database, base_url: str, patient: ChannelPatient) -> None:
    """The booking is in the clinic's agenda for this channel's patient, and the conversation
    waits in the staff queue as a request for a person, on its channel."""
    (appointment,) = await _the_patients_booking(database, patient.channel, patient.external_id)
    assert appointment.status == "scheduled" or appointment.status == "confirmed", appointment.status
    conv = await _wait_handed_off(database, patient)
    async with database.session() as s:
        booked = (await s.execute(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conv.id, ConversationEvent.type == "appointment_booked"))).scalars()
        assert [(e.actor, e.data) for e in booked] == [("bot", {"appointment_id": appointment.id})]
    queue = await _queue(base_url, "test-password-123")
    (item,) = [i for i in queue if i.get("conversation_id", i.get("id")) == conv.id]
    assert item["channel"] == patient.channel and item["reason"] == "human", item


PROVIDER_CHANNELS: dict[str, Callable[[Hub, Providers], ChannelPatient]] = {
    "twilio_whatsapp": lambda hub, p: TwilioPatient(hub, p, whatsapp=True),
    "twilio_sms": lambda hub, p: TwilioPatient(hub, p, whatsapp=False),
    "whatsapp_cloud": WhatsAppCloudPatient,
    "instagram": lambda hub, p: MessagingPatient(hub, p, instagram=True),
    "messenger": lambda hub, p: MessagingPatient(hub, p, instagram=False),
}


# Every channel on SQLite; the two WhatsApp integrations also on PostgreSQL + Redis.
CASES = [(kind, "sqlite") for kind in PROVIDER_CHANNELS] + [("twilio_whatsapp", "postgres"),
                                                           ("whatsapp_cloud", "postgres")]


@pytest.mark.parametrize(("kind", "backend"), CASES, indirect=["backend"])
async def test_booking_and_handoff_through_the_provider_webhooks(
    kind: str, backend: Backend, tmp_path: Path, providers: Providers, bot_stack: BotStack
) -> None:
    async with running_hub(backend, tmp_path, providers, bot=bot_stack) as hub:
        patient = PROVIDER_CHANNELS[kind](hub, providers)
        await book_then_ask_for_a_person(Chat(patient))
        await _check_outcome(hub.rt.db, hub.base_url, patient)


async def test_booking_and_handoff_by_email(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, bot_stack: BotStack
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    backend = Backend("sqlite", url, None)
    async with mail_hub(backend, tmp_path, dovecot, smtp, bot=bot_stack) as hub:
        patient = EmailPatient(hub)
        await book_then_ask_for_a_person(Chat(patient))
        await _check_outcome(hub.db, f"http://127.0.0.1:{hub.env['HUB_PORT']}", patient)
