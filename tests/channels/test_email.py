"""E-mail end to end against real mail servers: Debian's Dovecot as the clinic's IMAP mailbox,
aiosmtpd as the SMTP server replies are submitted to, the real hub process (`python -m handoff`)
polling the mailbox, and the real bot answering. Nothing of ours is replaced."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, or_, select

from connectors.base import Button, ChannelError, OutboundMessage
from connectors.email import (
    EmailSender,
    build_reply,
    html_to_text,
    message_key,
    parse_email,
    reply_subject,
    strip_quoted,
)
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.imap import ImapError, ImapMailbox
from handoff.adapters.sql.database import Database
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import ChannelIdentity, Conversation, Message
from handoff.domain.messages import InboundStatus, OutboundStatus
from handoff.services.email_channel import tls_context
from handoff.settings import Settings
from tests.channels.conftest import CLINIC, CLINIC_FROM
from tests.conftest import Backend
from tests.support.hub import wait_for
from tests.support.mail import Dovecot, ImapStoreTrap, Received, SmtpPeer, self_signed_cert
from tests.support.net import free_port
from tests.support.stack import BotStack, Proc, start_hub

# aiosmtpd warns that AUTH without TLS is unsafe: true, and fine for a loopback test server.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
async def sqlite_backend(tmp_path: Path) -> Backend:
    """A migrated SQLite database (the scenarios that do not depend on the database engine)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    return Backend("sqlite", url, None)


@dataclass
class MailHub:
    """A hub process reading `mailbox` on Dovecot and sending through `smtp`, plus a DB handle."""

    backend: Backend
    tmp_path: Path
    dovecot: Dovecot
    smtp: SmtpPeer
    mailbox: str
    env: dict[str, str]
    db: Database
    proc: Proc | None = None

    @property
    def attachments(self) -> AttachmentStore:
        """The hub's attachment store."""
        return AttachmentStore(Path(self.env["ATTACHMENTS_DIR"]))

    def start(self, imap_port: int | None = None) -> None:
        """Start (or restart) the hub process, optionally reading IMAP through another port."""
        env = {**self.env, "EMAIL_IMAP_PORT": str(imap_port or self.dovecot.port)}
        self.proc = start_hub(self.tmp_path, env, name=f"hub-{env['HUB_PORT']}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Stop the hub process (SIGKILL = crash)."""
        if self.proc is not None:
            self.proc.kill(sig)

    def deliver(self, raw: bytes) -> None:
        """A mail lands in the clinic's mailbox."""
        self.dovecot.deliver(self.mailbox, raw)

    def seen(self, msg_id: str) -> bool:
        """Whether the mail is flagged \\Seen on the server."""
        return "\\Seen" in self.dovecot.flags(self.mailbox).get(msg_id, set())

    async def messages(self, *where: Any) -> list[Message]:
        """Message rows matching `where`, oldest first."""
        async with self.db.session() as s:
            return list((await s.execute(select(Message).where(*where).order_by(Message.id))).scalars().all())

    async def conversation_of(self, address: str) -> Conversation | None:
        """The e-mail conversation of an address."""
        async with self.db.session() as s:
            return (await s.execute(select(Conversation).join(ChannelIdentity,
                                                              ChannelIdentity.id == Conversation.identity_id)
                                    .where(ChannelIdentity.channel == "email",
                                           ChannelIdentity.external_id == address))).scalar_one_or_none()

    async def idle(self) -> bool:
        """Nothing is on its way: no mail waits for the pipeline, no reply waits for the outbox
        (a reply is written with its mail's new status, and marked sent once SMTP took it)."""
        busy = await self.messages(or_(
            and_(Message.direction == "in", Message.status == InboundStatus.PENDING.value),
            and_(Message.direction == "out",
                 Message.status.in_([OutboundStatus.QUEUED.value, OutboundStatus.SENDING.value]))))
        return not busy

    async def stored(self, msg_id: str, what: str = "the mail stored") -> Message:
        """Wait for the inbound row of a Message-ID and return it."""
        rows = await wait_for(lambda: self.messages(Message.provider_message_id == message_key(msg_id)),
                              timeout=90, what=what)
        assert len(rows) == 1
        return rows[0]

    async def replies_to(self, msg_id: str, n: int = 1) -> list[Received]:
        """Wait until at least `n` mails answering `msg_id` reached the SMTP server."""
        async def got() -> list[Received]:
            found = [r for r in self.smtp.received if r.message["In-Reply-To"] == f"<{msg_id}>"]
            return found if len(found) >= n else []
        result: list[Received] = await wait_for(got, timeout=150, what=f"a reply to {msg_id}")
        return result


@asynccontextmanager
async def mail_hub(backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, *,
                   bot: BotStack | None = None, start: bool = True) -> AsyncIterator[MailHub]:
    """A hub configured for the e-mail channel (IMAP without TLS on loopback, SMTP AUTH)."""
    bot_env = bot.hub_env() if bot else {"RASA_URL": f"http://127.0.0.1:{free_port()}",
                                         "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
                                         "HUB_PORT": str(free_port())}
    mailbox = f"clinica-{uuid.uuid4().hex[:8]}"
    env = {
        **bot_env, "DATABASE_URL": backend.database_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{bot_env['HUB_PORT']}",
        "LEASE_SECONDS": "2", "POLL_INTERVAL_SECONDS": "0.2", "RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "1",
        "BOT_TIMEOUT_SECONDS": "20", "BOT_GRACE_SECONDS": "120", "CLINIC_ADMIN_PASSWORD": "test-password-123",
        "EMAIL_IMAP_HOST": dovecot.host, "EMAIL_IMAP_PORT": str(dovecot.port), "EMAIL_IMAP_USER": mailbox,
        "EMAIL_IMAP_PASSWORD": dovecot.password, "EMAIL_IMAP_SSL": "false", "EMAIL_POLL_SECONDS": "2",
        "EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": str(smtp.port), "EMAIL_SMTP_USER": smtp.user,
        "EMAIL_SMTP_PASSWORD": smtp.password, "EMAIL_SMTP_STARTTLS": "false", "EMAIL_FROM": CLINIC_FROM,
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    }
    if backend.redis_url:
        env["REDIS_URL"] = backend.redis_url
    db = Database(backend.database_url)
    db.connect()
    hub = MailHub(backend, tmp_path, dovecot, smtp, mailbox, env, db)
    try:
        if start:
            hub.start()
        yield hub
    finally:
        hub.kill()
        await db.close()


def patient_mail(sender: str, body: str = "", *, subject: str = "Consulta", msg_id: str | None = None,
                 in_reply_to: str | None = None, references: list[str] | None = None,
                 headers: dict[str, str] | None = None, html: str | None = None,
                 attachments: list[tuple[bytes, str, str]] = ()) -> tuple[str, bytes]:  # type: ignore[assignment]
    """(bare Message-ID, raw RFC 5322 bytes) of a mail as a mail client would send it."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = sender
    mail["To"] = CLINIC_FROM
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    full_id = msg_id or make_msgid(domain="paciente.example")
    mail["Message-ID"] = full_id
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        mail[name] = value
    if html is not None and not body:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
        if html is not None:
            mail.add_alternative(html, subtype="html")
    for data, ctype, filename in attachments:
        maintype, subtype = ctype.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return full_id.strip("<>"), mail.as_bytes()


def _address() -> str:
    return f"paciente.{uuid.uuid4().hex[:8]}@exemplo.com.br"


# --- end to end -------------------------------------------------------------------------


async def test_patient_mail_is_answered_in_thread_and_the_answer_threads_back(
    backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, bot_stack: BotStack
) -> None:
    async with mail_hub(backend, tmp_path, dovecot, smtp, bot=bot_stack) as hub:
        patient = _address()
        first_id, raw = patient_mail(f"Maria Souza <{patient.upper()}>", "oi", subject="Dúvida")
        hub.deliver(raw)

        # Stored once, under the normalized address, with the thread headers kept.
        row = await hub.stored(first_id)
        assert (row.channel, row.direction, row.text) == ("email", "in", "oi")
        meta = row.payload["metadata"]
        assert meta["message_id"] == first_id and meta["subject"] == "Dúvida" and meta["from"] == patient
        assert "no_reply" not in meta
        conv = await hub.conversation_of(patient)
        assert conv is not None and conv.id == row.conversation_id
        await wait_for(lambda: asyncio.to_thread(hub.seen, first_id), timeout=60, what="the mail marked seen")

        # The bot's answer reaches the SMTP server in the patient's thread.
        (greeting, *_) = await hub.replies_to(first_id)
        mail = greeting.message
        assert greeting.rcpt_tos == [patient] and greeting.mail_from == CLINIC and greeting.login == CLINIC
        assert mail["From"].addresses[0].addr_spec == CLINIC
        assert mail["Subject"] == "Re: Dúvida"
        assert mail["References"] == f"<{first_id}>"
        assert mail["Auto-Submitted"] == "auto-replied"
        bodies = [_plain(r.message) for r in smtp.to(patient)]
        # First contact: the greeting carries the privacy notice (LGPD) and its two answers.
        assert any("1. Aceito" in b and "2. Não aceito" in b for b in bodies)

        async def all_sent() -> list[Message]:
            rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
            return rows if rows and all(r.status == "sent" for r in rows) else []
        outbound = await wait_for(all_sent, timeout=60, what="replies marked sent")
        # Our Message-IDs are the replies' provider ids: that is what a patient's answer refers to.
        assert {f"<{r.provider_message_id}>" for r in outbound} == {
            r.message["Message-ID"] for r in smtp.to(patient)}

        # The same mail fetched again (someone marks it unread in the mailbox) is not stored again.
        client = dovecot.client(hub.mailbox)
        try:
            typ, found = client.uid("SEARCH", "HEADER", "Message-ID", first_id)  # type: ignore[arg-type]
            assert typ == "OK" and found[0]
            client.uid("STORE", found[0].decode(), "-FLAGS", "(\\Seen)")  # type: ignore[arg-type]
        finally:
            client.logout()
        await wait_for(lambda: asyncio.to_thread(hub.seen, first_id), timeout=60, what="the re-fetch")
        assert len(await hub.messages(Message.provider_message_id == first_id)) == 1
        await wait_for(hub.idle, timeout=60, what="pipeline and outbox idle after the re-fetch")
        assert len(await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")) == len(outbound)

        # The patient answers our mail from their client, above the quoted text.
        ours = next(r.message for r in smtp.to(patient) if "2. Não aceito" in _plain(r.message))
        our_id = ours["Message-ID"].strip("<>")
        quoted = "\n".join("> " + line for line in _plain(ours).splitlines())
        answer_id, raw = patient_mail(
            patient, f"1\n\nEm qua., 5 de jun. de 2024 às 10:12, {CLINIC_FROM} escreveu:\n\n{quoted}\n",
            subject="Re: Dúvida", in_reply_to=our_id, references=[first_id, our_id])
        hub.deliver(raw)
        answer = await hub.stored(answer_id, "the patient's answer stored")
        assert answer.conversation_id == conv.id  # same conversation
        # The quoted mail is gone; "1" picked the first option of our mail (consent accepted).
        assert (answer.text, answer.payload["payload"]) == ("Aceito", "/consent_accept")
        assert answer.payload["metadata"]["quoted_removed"] is True
        assert answer.payload["metadata"]["in_reply_to"] == [our_id]
        assert answer.payload["metadata"]["references"] == [first_id, our_id]
        assert "thread_conversation_id" not in answer.payload["metadata"]
        (again, *_) = await hub.replies_to(answer_id)
        assert again.message["Subject"] == "Re: Dúvida"  # never "Re: Re: Dúvida"
        assert again.message["References"] == f"<{first_id}> <{our_id}> <{answer_id}>"

        # "4" answers the numbered options: it reaches the bot as the fourth option's payload.
        # (The bot's answer may leave as several mails: wait for the one with the menu.)
        async def menu() -> list[Received]:
            return [r for r in smtp.received if r.message["In-Reply-To"] == f"<{answer_id}>"
                    and "4. Falar com atendente" in _plain(r.message)]
        options = await wait_for(menu, timeout=150, what="after the consent the bot offers what it can do")
        choice_id, raw = patient_mail(patient, "4\n\n-- \nMaria Souza\nEnviado do meu iPhone\n",
                                      subject="Re: Dúvida", in_reply_to=options[0].message["Message-ID"].strip("<>"))
        hub.deliver(raw)
        choice = await hub.stored(choice_id)
        assert choice.text == "Falar com atendente" and choice.payload["payload"] == "/request_human"
        assert choice.payload["metadata"]["typed_choice"] == "4"

        async def queued() -> bool:
            c = await hub.conversation_of(patient)
            return c is not None and c.state in ("queued", "assigned")
        await wait_for(queued, timeout=90, what="the conversation handed to the clinic's staff")


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_automatic_mail_is_stored_for_staff_but_never_answered(
    sqlite_backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, bot_stack: BotStack
) -> None:
    async with mail_hub(sqlite_backend, tmp_path, dovecot, smtp, bot=bot_stack) as hub:
        patient = _address()
        first_id, raw = patient_mail(patient, "oi")
        hub.deliver(raw)
        (reply, *_) = await hub.replies_to(first_id)
        our_id = reply.message["Message-ID"].strip("<>")

        bounce_id = make_msgid(domain="mx.exemplo.com.br").strip("<>")
        bounce = (bounce_id, (  # a delivery status notification as an MTA sends it (RFC 3464)
            "From: Mail Delivery System <MAILER-DAEMON@mx.exemplo.com.br>\r\n"
            f"To: {CLINIC}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <{bounce_id}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNao foi possivel entregar.\r\n"
            "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exemplo.com.br\r\n\r\n"
            "Final-Recipient: rfc822; ninguem@exemplo.com.br\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{our_id}>\r\n\r\n--b1--\r\n"
        ).encode())

        robots = {
            # The patient's own mailbox answers our reply while they are away (same conversation).
            "auto_submitted": patient_mail(patient, "Estou de férias até segunda.", subject="Resposta automática",
                                           in_reply_to=our_id, references=[first_id, our_id],
                                           headers={"Auto-Submitted": "auto-replied"}),
            "autoreply": patient_mail(_address(), "Fora do escritório", headers={"X-Autoreply": "yes"}),
            "bulk": patient_mail(_address(), "Promoção imperdível", headers={"Precedence": "bulk"}),
            "mailing_list": patient_mail(_address(), "Boletim semanal",
                                         headers={"List-Id": "<boletim.exemplo.com.br>",
                                                  "List-Unsubscribe": "<mailto:sair@exemplo.com.br>"}),
            "system_sender": patient_mail(f"no-reply@{uuid.uuid4().hex[:6]}.com.br", "Seu pedido foi enviado"),
            "report": bounce,
        }
        for _, raw in robots.values():
            hub.deliver(raw)
        # A person's mail after them, so the pipeline has certainly gone past the robots.
        control_id, raw = patient_mail(_address(), "oi")
        hub.deliver(raw)
        await hub.replies_to(control_id)

        for reason, (msg_id, _) in robots.items():
            row = await hub.stored(msg_id)
            assert row.payload["metadata"]["automatic"] == reason, reason
            assert row.payload["metadata"]["no_reply"] is True
        auto = await hub.stored(robots["auto_submitted"][0])
        conv = await hub.conversation_of(patient)
        assert conv is not None and auto.conversation_id == conv.id

        async def robots_settled() -> bool:
            rows = [await hub.stored(i) for i, _ in robots.values()]
            return all(r.status == "processed" for r in rows)
        await wait_for(robots_settled, timeout=60, what="automatic mail set aside by the pipeline")
        await wait_for(hub.idle, timeout=60, what="nothing left on its way (pipeline and outbox idle)")
        robot_ids = {f"<{i}>" for i, _ in robots.values()}
        assert not [r for r in smtp.received if r.message["In-Reply-To"] in robot_ids]
        answered = {r.rcpt_tos[0] for r in smtp.received}
        senders = {(await hub.stored(i)).payload["metadata"]["from"] for i, _ in robots.values()}
        assert answered & senders == {patient}  # the patient got the first answer, no robot got any
        assert len(smtp.to(patient)) == len(await hub.messages(Message.conversation_id == conv.id,
                                                               Message.direction == "out"))


async def test_html_mail_quoted_replies_and_attachments_are_kept(
    sqlite_backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer
) -> None:
    async with mail_hub(sqlite_backend, tmp_path, dovecot, smtp) as hub:
        patient = _address()
        pdf = b"%PDF-1.4\n% pedido medico\n" + uuid.uuid4().bytes
        jpg = b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 8
        html = ('<html><head><style>p {color: red}</style></head><body><div dir="ltr">Bom dia!<br>'
                'Segue o pedido do exame &amp; a carteirinha.</div><div class="gmail_quote">'
                '<div class="gmail_attr">Em seg., 3 de jun. de 2024 às 09:00, Clínica escreveu:</div>'
                '<blockquote class="gmail_quote">Envie o pedido médico, por favor.</blockquote></div></body></html>')
        html_id, raw = patient_mail(patient, html=html, attachments=[(pdf, "application/pdf", "pedido médico.pdf"),
                                                                     (jpg, "image/jpeg", "carteirinha.jpg")])
        hub.deliver(raw)
        row = await hub.stored(html_id)
        assert row.text == "Bom dia!\nSegue o pedido do exame & a carteirinha."
        assert row.payload["metadata"]["html_only"] is True
        attachments = row.payload["attachments"]
        assert [(a["content_type"], a["filename"]) for a in attachments] == [
            ("application/pdf", "pedido médico.pdf"), ("image/jpeg", "carteirinha.jpg")]
        assert [hub.attachments.read(a["url"]) for a in attachments] == [pdf, jpg]
        for a in attachments:  # named by content digest, readable by the hub's user only
            path = hub.attachments.path_of(a["url"])
            assert path is not None and path.stat().st_mode & 0o077 == 0

        # Outlook-style reply (pt-BR): the header block and everything under it go, as the signature.
        outlook_id, raw = patient_mail(
            patient, "Pode ser na terça à tarde.\n\nAtenciosamente,\n-- \nMaria Souza\n(11) 99999-0000\n\n"
                     "________________________________\nDe: Clínica Exemplo <atendimento@clinica.example>\n"
                     "Enviado: segunda-feira, 3 de junho de 2024 09:00\nPara: Maria\nAssunto: Consulta\n\n"
                     "Qual o melhor horário?\n", subject="RES: Consulta")
        hub.deliver(raw)
        row = await hub.stored(outlook_id)
        assert row.text == "Pode ser na terça à tarde.\n\nAtenciosamente,"
        assert row.payload["metadata"]["quoted_removed"] is True
        assert row.conversation_id == (await hub.stored(html_id)).conversation_id
        await wait_for(lambda: asyncio.to_thread(hub.seen, outlook_id), timeout=60, what="marked seen")


async def test_hub_killed_after_storing_but_before_marking_seen_loses_and_duplicates_nothing(
    sqlite_backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, bot_stack: BotStack
) -> None:
    trap = ImapStoreTrap(dovecot.port).start()
    try:
        async with mail_hub(sqlite_backend, tmp_path, dovecot, smtp, bot=bot_stack, start=False) as hub:
            hub.start(imap_port=trap.port)  # the hub reads the mailbox through the trap
            patient = _address()
            msg_id, raw = patient_mail(patient, "oi")
            hub.deliver(raw)
            assert await asyncio.to_thread(trap.tripped.wait, 90), "the hub never tried to mark the mail seen"
            hub.kill(signal.SIGKILL)  # crash: committed, but \Seen never reached the server

            assert len(await hub.messages(Message.provider_message_id == msg_id)) == 1
            assert not hub.seen(msg_id)

            hub.start()  # restarted, straight to the server
            await wait_for(lambda: asyncio.to_thread(hub.seen, msg_id), timeout=90, what="the mail marked seen")
            rows = await hub.messages(Message.provider_message_id == msg_id)
            assert len(rows) == 1  # fetched again, deduplicated

            replies = await hub.replies_to(msg_id)
            conv_id = rows[0].conversation_id

            async def all_sent() -> list[Message]:
                out = await hub.messages(Message.conversation_id == conv_id, Message.direction == "out")
                return out if out and all(r.status == "sent" for r in out) else []
            outbound = await wait_for(all_sent, timeout=90, what="the answer sent")
            await wait_for(hub.idle, timeout=60, what="pipeline and outbox idle after the restart")
            received = [r.message["Message-ID"] for r in smtp.to(patient)]
            assert len(received) == len(set(received)) == len(outbound)  # one answer, not two
            assert {f"<{r.provider_message_id}>" for r in outbound} == set(received)
            assert replies
    finally:
        trap.close()


async def test_tls_imaps_and_smtp_starttls_check_the_server_certificate(
    sqlite_backend: Backend, tmp_path: Path
) -> None:
    cert, key = self_signed_cert(tmp_path)
    server, peer = Dovecot(tls=(cert, key)).start(), SmtpPeer(user=CLINIC, tls=(cert, key)).start()
    try:
        async with mail_hub(sqlite_backend, tmp_path, server, peer, start=False) as hub:
            # The hub reads IMAP over TLS, trusting the clinic's private CA (EMAIL_TLS_CA_FILE).
            hub.env.update({"EMAIL_IMAP_SSL": "true", "EMAIL_SMTP_STARTTLS": "true", "EMAIL_TLS_CA_FILE": str(cert)})
            hub.start(imap_port=server.tls_port)
            msg_id, raw = patient_mail(_address(), "Olá, por TLS")
            hub.deliver(raw)
            assert (await hub.stored(msg_id)).text == "Olá, por TLS"
            await wait_for(lambda: asyncio.to_thread(hub.seen, msg_id), timeout=60, what="marked seen over TLS")

        settings = Settings(email_smtp_host="127.0.0.1", email_smtp_port=peer.port, email_smtp_user=CLINIC,
                            email_smtp_password=peer.password, email_from=CLINIC_FROM, email_tls_ca_file=str(cert),
                            email_imap_host="127.0.0.1", email_imap_port=server.tls_port, email_imap_user="x",
                            email_imap_password=server.password)
        message = OutboundMessage(message_id=1, conversation_id="c1", channel="email",
                                  external_user_id="maria@exemplo.com.br", sender="agent", text="Confirmado.")

        async def no_thread(_: str) -> None:
            return None

        # SMTP: STARTTLS before AUTH, certificate checked against the configured CA.
        sender = EmailSender(host="127.0.0.1", port=peer.port, from_address=CLINIC_FROM, thread_lookup=no_thread,
                             username=CLINIC, password=peer.password, tls_context=tls_context(settings))
        assert await sender.send(message) == f"atende.1.c1@{CLINIC.split('@')[1]}"
        (got,) = peer.to("maria@exemplo.com.br")
        assert got.login == CLINIC and got.message["Subject"] == "Atendimento"
        # Without the clinic's CA the same servers are refused (certificates are really checked).
        untrusted = EmailSender(host="127.0.0.1", port=peer.port, from_address=CLINIC_FROM,
                                thread_lookup=no_thread, username=CLINIC, password=peer.password)
        with pytest.raises(ChannelError) as refused:
            await untrusted.send(message)
        assert refused.value.retryable
        mailbox = ImapMailbox(host="127.0.0.1", port=server.tls_port, user="x", password=server.password)
        with pytest.raises(ImapError):
            await mailbox.open()
        async with ImapMailbox(host="127.0.0.1", port=server.tls_port, user="x", password=server.password,
                               ssl_context=tls_context(settings)) as trusted:
            assert trusted.supports_idle
    finally:
        peer.stop()
        server.stop()


# --- parsing and rendering (no servers) -------------------------------------------------


def test_quoted_replies_and_signatures_are_stripped() -> None:
    gmail = ("Quero remarcar para sexta.\n\nObrigada\nEnviado do meu iPhone\n\n"
             "Em qua., 5 de jun. de 2024 às 10:12, Clínica Exemplo <\natendimento@clinica.example> escreveu:\n\n"
             "> Olá! Como posso ajudar?\n")
    assert strip_quoted(gmail) == "Quero remarcar para sexta.\n\nObrigada"
    assert strip_quoted("Yes.\n\nOn Wed, Jun 5, 2024 at 10:12 AM Clinic <a@b.com> wrote:\n> hi") == "Yes."
    assert strip_quoted("Sim\n-----Original Message-----\nFrom: x\nSent: y\n") == "Sim"
    assert strip_quoted("Sim\n\n-----Mensagem original-----\nDe: x\n") == "Sim"
    assert strip_quoted("Olá\n> citado\nno meio\n-- \nMaria\n") == "Olá\nno meio"
    assert strip_quoted("Oi\n\nDe: Clínica\nEnviado: ontem\nPara: eu\n\nantigo") == "Oi"
    # "De:" alone in the text is not a header block.
    assert strip_quoted("De: segunda a sexta, por favor") == "De: segunda a sexta, por favor"


def test_html_only_mail_becomes_text_without_the_quoted_part() -> None:
    outlook = ('<div>Certo, obrigado</div><div id="appendonsend"></div><hr>'
               '<div id="divRplyFwdMsg">De: Clínica</div><div>mensagem antiga</div>')
    assert strip_quoted(html_to_text(outlook)) == "Certo, obrigado"
    assert strip_quoted(html_to_text("<p>Linha 1</p><ul><li>a</li><li>b</li></ul><script>x()</script>")) == \
        "Linha 1\n\n- a\n- b"


def test_automatic_mail_is_recognised() -> None:
    cases = {
        "auto_submitted": {"Auto-Submitted": "auto-generated"},
        "bulk": {"Precedence": "junk"},
        "mailing_list": {"List-Unsubscribe": "<mailto:x@y.com>"},
        "autoreply": {"X-Autorespond": "1"},
        "null_sender": {"Return-Path": "<>"},
    }
    for reason, headers in cases.items():
        _, raw = patient_mail("maria@exemplo.com.br", "oi", headers=headers)
        assert parse_email(raw).automatic == reason, reason
    _, raw = patient_mail("maria@exemplo.com.br", "oi", headers={"Auto-Submitted": "no"})
    assert parse_email(raw).automatic is None
    for sender in ("postmaster@x.com.br", "MAILER-DAEMON@x.com.br", "noreply@x.com.br", "nao-responda@x.com.br"):
        _, raw = patient_mail(sender, "oi")
        assert parse_email(raw).automatic == "system_sender", sender
    _, raw = patient_mail(CLINIC_FROM, "cópia")
    assert parse_email(raw, own_address=CLINIC_FROM).automatic == "own_address"


def test_reply_headers_thread_by_message_id() -> None:
    from connectors.email import ThreadRef

    message = OutboundMessage(message_id=7, conversation_id="c0ffee", channel="email",
                              external_user_id="maria@exemplo.com.br", sender="agent", text="Pode sim.",
                              buttons=(Button("Sim", "/affirm"), Button("Não", "/deny")))
    thread = ThreadRef(message_id="b@x", references=("a@x",), subject="RES: Exame")
    mail = build_reply(message, from_address=CLINIC_FROM, thread=thread, message_id="atende.7.c0ffee@clinica.example")
    assert mail["In-Reply-To"] == "<b@x>" and mail["References"] == "<a@x> <b@x>"
    assert mail["Subject"] == "RES: Exame" and mail["Auto-Submitted"] is None  # a person wrote it
    assert "1. Sim\n2. Não" in mail.get_content()
    assert reply_subject("Consulta\r\nBcc: x@y.z") == "Re: Consulta Bcc: x@y.z"  # no header injection
    assert reply_subject("") == "Atendimento" and reply_subject("Re: a") == "Re: a"
    long_id = "x" * 200 + "@exemplo.com.br"
    assert message_key(long_id).startswith("sha256:") and len(message_key(long_id)) <= 128
