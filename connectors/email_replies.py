"""Our e-mail replies: threading headers, the plain-text body, and sending over SMTP.

Threading is by `Message-ID`/`In-Reply-To`/`References` only, never by subject: a reply carries
`In-Reply-To` = the patient's last `Message-ID` and `References` = that mail's chain plus its id.
Replies written by the bot or the system carry `Auto-Submitted: auto-replied` (RFC 3834).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from connectors.base import ChannelError, OutboundMessage
from connectors.email_common import REPLY_PREFIX, message_key, normalize_address, outbound_message_id

MAX_REFERENCES = 20  # RFC 5322 §3.6.4 allows trimming the middle of a long chain
DEFAULT_SUBJECT = "Atendimento"


@dataclass(frozen=True)
class ThreadRef:
    """The mail a reply answers: its Message-ID, its References chain and its subject (bare ids)."""

    message_id: str
    references: tuple[str, ...] = ()
    subject: str = ""


def reply_subject(subject: str | None) -> str:
    """`Re: <original>` (an existing `Re:`/`RES:` is kept, never doubled)."""
    subject = re.sub(r"[\r\n]+\s*", " ", subject or "").strip()
    if not subject:
        return DEFAULT_SUBJECT
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}"


def reference_chain(thread: ThreadRef) -> list[str]:
    """References of a reply: the parent's chain plus the parent (first id kept when trimmed)."""
    chain = list(dict.fromkeys([*thread.references, thread.message_id]))
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1):]]
    return chain


def render_text(message: OutboundMessage) -> str:
    """Plain-text body: buttons become numbered options (a reply "2" picks the second)."""
    text = message.text
    if message.buttons:
        options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(message.buttons, start=1))
        text = f"{text}\n\n{options}\nResponda com o número da opção." if text else \
            f"{options}\nResponda com o número da opção."
    if message.image:
        text = f"{text}\n\n{message.image}" if text else message.image
    return text


def build_reply(message: OutboundMessage, *, from_address: str, thread: ThreadRef | None,
                message_id: str) -> EmailMessage:
    """The RFC 5322 reply for one outbound message."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = from_address
    mail["To"] = Address(addr_spec=message.external_user_id)
    mail["Subject"] = reply_subject(thread.subject if thread else None)
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = f"<{message_id}>"
    if thread is not None:
        mail["In-Reply-To"] = f"<{thread.message_id}>"
        mail["References"] = " ".join(f"<{i}>" for i in reference_chain(thread))
    if message.sender in ("bot", "system"):
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: written by a program; robots must not answer
    mail.set_content(render_text(message) or " ", charset="utf-8")
    return mail


ThreadLookup = Callable[[str], Awaitable[ThreadRef | None]]


class EmailSender:
    """Sends replies over SMTP (implicit TLS, STARTTLS or plain) as `ChannelSender` for `email`.

    `thread_lookup(conversation_id)` gives the mail being answered (the patient's latest one).
    Returns our Message-ID (stored as the reply's provider id), so a patient's answer to it threads
    back. One SMTP session per reply: clinics send a few hundred mails a day at most.
    """

    def __init__(self, *, host: str, port: int, from_address: str, thread_lookup: ThreadLookup,
                 username: str | None = None, password: str | None = None, starttls: bool = True,
                 use_tls: bool = False, timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port = host, port
        self.from_address = from_address
        self.username, self.password = username, password
        self.starttls, self.use_tls = starttls, use_tls
        self.timeout = timeout
        self.tls_context = tls_context
        self._thread_lookup = thread_lookup
        envelope = normalize_address(from_address)
        if envelope is None:
            raise ValueError("EMAIL_FROM is not an e-mail address")
        self.envelope_from = envelope

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver; SMTP 4xx and network errors are retryable, 5xx are not."""
        thread = await self._thread_lookup(message.conversation_id)
        msg_id = outbound_message_id(message, self.from_address)
        mail = build_reply(message, from_address=self.from_address, thread=thread, message_id=msg_id)
        try:
            await aiosmtplib.send(
                mail, sender=self.envelope_from, recipients=[message.external_user_id],
                hostname=self.host, port=self.port, username=self.username or None,
                password=self.password or None, use_tls=self.use_tls,
                start_tls=False if self.use_tls else self.starttls,
                timeout=self.timeout, tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise ChannelError(f"smtp refused the recipient ({codes})",
                               retryable=any(c < 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # Only the code: the server's text may echo addresses.
            raise ChannelError(f"smtp answered {exc.code}", retryable=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ChannelError(f"smtp unreachable: {type(exc).__name__}") from exc
        return message_key(msg_id)
