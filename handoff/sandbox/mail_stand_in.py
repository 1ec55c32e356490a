"""The stand-in mail provider and the simulated patient's mail (e-mail has no webhook).

When no mail server is configured (`EMAIL_SMTP_HOST` and `EMAIL_IMAP_HOST` unset), the stand-in
mail provider is `SandboxMailServer`: a real SMTP submission server (aiosmtpd) in the hub's own
event loop on 127.0.0.1 and a free port, started before the hub's e-mail sender is built
(`start_mail_stand_in`) and stopped after the outbox stopped sending (`stop_mail_stand_in`),
requiring AUTH with per-process credentials; the hub's real `EmailSender` submits replies to it
and it keeps them for the page. A simulated patient's mail is a real RFC 5322 message
(`patient_email`: From the patient, To the clinic, its own Message-ID, and In-Reply-To/References
naming the last reply received, quoted below as a mail client does) handed to the same parse +
persist path the IMAP poller uses for every fetched mail (`services.email_channel.EmailInbox.ingest`):
only the IMAP transport is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from sanic import Sanic

from connectors.email_common import bare_id, id_list, normalize_address
from connectors.email_replies import ThreadRef, reference_chain, reply_subject
from handoff.sandbox.providers import CLINIC_EMAIL, MAIL_HOST, captured
from handoff.sandbox.timeline import Entry, sandbox_state
from handoff.settings import Settings

log = logging.getLogger(__name__)

MAX_MAIL_BYTES = 1024 * 1024
MAX_RECIPIENTS = 10


def render_email(raw: bytes) -> dict[str, Any]:
    """A submitted mail as the patient's mail client shows it: subject and plain text (options
    arrive as numbered lines), plus its Message-ID and References for the patient's answer."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text = ""
    body = msg.get_body(preferencelist=("plain",)) if isinstance(msg, EmailMessage) else None
    if body is not None:
        with contextlib.suppress(LookupError, UnicodeError, ValueError, KeyError):
            text = str(body.get_content())
    return {"text": text.replace("\r\n", "\n").strip(), "subject": str(msg.get("Subject") or ""),
            "provider_id": bare_id(str(msg.get("Message-ID") or "")),
            "references": id_list(str(msg.get("References") or ""))}


def _first_line(text: str, limit: int = 60) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "") or "Atendimento"
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def patient_email(settings: Settings, address: str, name: str | None, text: str,
                  answering: Entry | None) -> tuple[str, bytes]:
    """(bare Message-ID, raw bytes) of the mail a simulated patient writes, as a mail client
    writes it: a reply to the clinic's last mail carries In-Reply-To/References and quotes it."""
    clinic = settings.email_from or CLINIC_EMAIL
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = Address(display_name=name or "", addr_spec=address)
    mail["To"] = clinic
    now = datetime.now(UTC)
    mail["Date"] = format_datetime(now)
    msg_id = make_msgid(domain=address.split("@", 1)[1])
    mail["Message-ID"] = msg_id
    mail["X-Mailer"] = "atende simulador de pacientes"
    body = text
    if answering is not None and answering.provider_id:
        thread = ThreadRef(answering.provider_id, tuple(answering.references), answering.subject or "")
        mail["Subject"] = reply_subject(thread.subject)
        mail["In-Reply-To"] = f"<{thread.message_id}>"
        mail["References"] = " ".join(f"<{i}>" for i in reference_chain(thread))
        quoted = "\n".join("> " + line if line else ">" for line in answering.text.splitlines())
        sent = datetime.fromtimestamp(answering.at, UTC)
        body = f"{text}\n\nEm {sent:%d/%m/%Y} às {sent:%H:%M}, {clinic} escreveu:\n{quoted}\n"
    else:
        mail["Subject"] = _first_line(text)
    mail.set_content(body)
    return msg_id.strip("<>"), mail.as_bytes()


MailReceived = Callable[[str, list[str], bytes], None]


class SandboxMailServer:
    """The stand-in mail provider: an SMTP submission server (aiosmtpd) in the hub's event loop.

    Listens on 127.0.0.1 (a free port, chosen by the OS), requires AUTH with `user`/`password`
    (PLAIN/LOGIN; no TLS on loopback), accepts mail only from `sender` and hands every accepted
    message to `received(mail_from, recipients, raw)`. aiosmtpd's own log (addresses at INFO) is
    kept to errors: logs never carry personal data.
    """

    def __init__(self, *, user: str, password: str, sender: str, received: MailReceived) -> None:
        self.user, self.password = user, password
        self.sender = sender
        self.received = received
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        """Listen; returns the port."""
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, MAIL_HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("sandbox: stand-in SMTP server on %s:%d", MAIL_HOST, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: deliberate, loopback only
            warnings.simplefilter("ignore")
            return SMTP(_MailHandler(self), hostname="sandbox.atende.localhost", authenticator=self._authenticate,
                        auth_required=True, auth_require_tls=False, data_size_limit=MAX_MAIL_BYTES,
                        timeout=60)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and secrets.compare_digest(auth_data.login, self.user.encode())
              and secrets.compare_digest(auth_data.password, self.password.encode()))
        return AuthResult(success=ok, handled=False)


class _MailHandler:
    """aiosmtpd hooks: refuse what a submission server refuses, keep what it accepts."""

    def __init__(self, owner: SandboxMailServer) -> None:
        self.owner = owner

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd)
                          mail_options: list[str]) -> str:
        if normalize_address(f"<{address}>") != normalize_address(self.owner.sender):
            return "553 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd)
                          rcpt_options: list[str]) -> str:
        if normalize_address(f"<{address}>") is None:
            return "553 5.1.3 Bad recipient address syntax"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            return "554 5.6.0 Message content rejected"
        self.owner.received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], raw)
        return "250 2.0.0 OK: queued"


# --- started and stopped with the hub ----------------------------------------------------------


async def start_mail_stand_in(app: Sanic[Any, Any]) -> Settings:
    """Start the stand-in SMTP server when e-mail is simulated (no mail server configured) and
    return the settings with its port, for the hub's `EmailSender`; others as they are."""
    settings: Settings = app.ctx.settings
    if "email" not in captured(settings) or getattr(app.ctx, "sandbox_mail", None) is not None:
        return settings
    state = sandbox_state(app)

    def received(mail_from: str, recipients: list[str], raw: bytes) -> None:
        shown = render_email(raw)
        for rcpt in recipients:
            address = normalize_address(f"<{rcpt}>")
            if address is not None:
                state.add("email", address, "out", **shown)
        log.info("sandbox: mail accepted for %d recipient(s)", len(recipients))

    server = SandboxMailServer(user=settings.email_smtp_user or "", password=settings.email_smtp_password or "",
                               sender=settings.email_from or CLINIC_EMAIL, received=received)
    port = await server.start()
    app.ctx.sandbox_mail = server
    return settings.model_copy(update={"email_smtp_port": port})


async def stop_mail_stand_in(app: Sanic[Any, Any]) -> None:
    """Stop the stand-in SMTP server (after the outbox stopped sending)."""
    server = getattr(app.ctx, "sandbox_mail", None)
    app.ctx.sandbox_mail = None
    if server is not None:
        await server.stop()
