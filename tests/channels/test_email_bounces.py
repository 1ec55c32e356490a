"""Bounces of our replies: a delivery status notification (RFC 3464) landing in the clinic's
mailbox marks the reply it names as failed, with a `delivery_failed` event for the inbox.

End to end against the same real parts as `test_email.py`: Debian's Dovecot as the clinic's
mailbox, aiosmtpd as the SMTP server our replies are submitted to, the real hub process and the
real bot. The DSNs are written as Postfix writes them (`tests/support/mail.postfix_dsn`).
The parser (`connectors.email.parse_bounce`) is also checked on its own, including the common
non-standard bounces."""

from __future__ import annotations

import asyncio
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connectors.email import Bounce, parse_bounce, parse_email, status_code
from handoff.adapters.sql.models import ConversationEvent, Message
from tests.channels.conftest import CLINIC
from tests.channels.test_email import MailHub, mail_hub, patient_mail
from tests.conftest import Backend
from tests.support.hub import wait_for
from tests.support.mail import Dovecot, SmtpPeer, postfix_dsn
from tests.support.stack import BotStack

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _address() -> str:
    return f"paciente.{uuid.uuid4().hex[:8]}@exemplo.com.br"


async def _events(hub: MailHub, conversation_id: str, type_: str) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        rows = (await s.execute(select(ConversationEvent).where(
            ConversationEvent.conversation_id == conversation_id, ConversationEvent.type == type_)
            .order_by(ConversationEvent.id))).scalars().all()
        return [dict(r.data) for r in rows]


async def _snapshot(hub: MailHub) -> list[tuple[int, str, str | None]]:
    """(id, status, last_error) of every outbound row."""
    return [(r.id, r.status, r.last_error) for r in await hub.messages(Message.direction == "out")]


def _unseen(hub: MailHub, msg_id: str) -> None:
    """Someone marks the mail unread in the mailbox: the hub fetches it again."""
    client = hub.dovecot.client(hub.mailbox)
    try:
        typ, found = client.uid("SEARCH", "HEADER", "Message-ID", msg_id)  # type: ignore[arg-type]
        assert typ == "OK" and found[0]
        client.uid("STORE", found[0].decode(), "-FLAGS", "(\\Seen)")  # type: ignore[arg-type]
    finally:
        client.logout()


# --- end to end -------------------------------------------------------------------------


async def test_a_bounced_reply_becomes_failed_a_delay_is_only_recorded_and_unknown_bounces_change_nothing(
    backend: Backend, tmp_path: Path, dovecot: Dovecot, smtp: SmtpPeer, bot_stack: BotStack
) -> None:
    async with mail_hub(backend, tmp_path, dovecot, smtp, bot=bot_stack) as hub:
        patient = _address()
        first_id, raw = patient_mail(patient, "oi", subject="Consulta")
        hub.deliver(raw)
        await hub.replies_to(first_id)
        conv = await hub.conversation_of(patient)
        assert conv is not None

        async def all_sent() -> list[Message]:
            rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
            return rows if rows and all(r.status == "sent" for r in rows) else []
        outbound = await wait_for(all_sent, timeout=60, what="the bot's replies marked sent")
        reply = outbound[-1]
        (submitted,) = [r for r in smtp.to(patient) if r.message["Message-ID"] == f"<{reply.provider_message_id}>"]

        # 1. A delay notice (4.4.1, still being retried) about that reply: recorded, nothing failed.
        delay_id, raw = postfix_dsn(submitted.raw, patient, action="delayed", status="4.4.1")
        hub.deliver(raw)
        delayed = await wait_for(lambda: _events(hub, conv.id, "delivery_delayed"), timeout=60,
                                 what="the delay recorded")
        delay_row = await hub.stored(delay_id)
        assert delayed == [{"message_id": reply.id, "error_code": "4.4.1", "bounce_id": delay_row.id}]

        # 2. Bounces that must change nothing: one about another recipient (a forward of our mail
        # bounced), one naming a Message-ID that is not ours. Neither crashes the poller.
        before = await _snapshot(hub)
        other_id, raw = postfix_dsn(submitted.raw, "outra.pessoa@exemplo.com.br")
        hub.deliver(raw)
        foreign = submitted.raw.replace(reply.provider_message_id.encode(), b"nao-e-nosso." + uuid.uuid4().hex.encode()
                                        + b"@clinica.example")
        unknown_id, raw = postfix_dsn(foreign, patient)
        hub.deliver(raw)
        for msg_id in (other_id, unknown_id):
            row = await hub.stored(msg_id)
            meta = row.payload["metadata"]
            assert meta["automatic"] == "report" and meta["no_reply"] is True
            assert meta["bounce"] == {"outcome": "failed", "status": "5.1.1"}  # read, but about no reply of ours
            assert row.conversation_id != conv.id  # stays with the reporting server's address
        # Seen = persisted and applied (the poller takes them in order): the reply is untouched.
        await wait_for(lambda: asyncio.to_thread(hub.seen, unknown_id), timeout=60, what="the bounces taken")
        assert await _snapshot(hub) == before
        assert await _events(hub, conv.id, "delivery_failed") == []

        # 3. The reply bounces for good (5.1.1): failed, through the same rule as provider reports.
        bounce_id, raw = postfix_dsn(submitted.raw, patient, action="failed", status="5.1.1")
        hub.deliver(raw)

        async def failed() -> Message | None:
            (row,) = await hub.messages(Message.id == reply.id)
            return row if row.status == "failed" else None
        row = await wait_for(failed, timeout=60, what="the bounced reply marked failed")
        assert row.last_error == "bounce 5.1.1"
        assert await _events(hub, conv.id, "delivery_failed") == [{"message_id": reply.id, "error_code": "5.1.1"}]
        # Only that reply changed: the earlier bounces did nothing to any outbound row.
        assert [s for s in await _snapshot(hub) if s[0] != reply.id] == [s for s in before if s[0] != reply.id]

        # The bounce itself is in the patient's conversation, for the staff, and never answered.
        bounce = await hub.stored(bounce_id)
        assert bounce.conversation_id == conv.id
        meta = bounce.payload["metadata"]
        assert meta["automatic"] == "report" and meta["no_reply"] is True
        assert meta["bounce"] == {"outcome": "failed", "status": "5.1.1", "message_id": reply.id}
        assert meta["from"] == "mailer-daemon@mx.exemplo.com.br"

        # Fetched again (marked unread): stored once, failure recorded once.
        await wait_for(lambda: asyncio.to_thread(hub.seen, bounce_id), timeout=60, what="the bounce marked seen")
        _unseen(hub, bounce_id)
        await wait_for(lambda: asyncio.to_thread(hub.seen, bounce_id), timeout=60, what="the bounce re-fetched")
        assert len(await hub.messages(Message.provider_message_id == bounce_id)) == 1
        assert len(await _events(hub, conv.id, "delivery_failed")) == 1
        assert len(await _events(hub, conv.id, "delivery_delayed")) == 1

        async def settled() -> bool:
            rows = [await hub.stored(i) for i in (delay_id, other_id, unknown_id, bounce_id)]
            return all(r.status == "processed" for r in rows)
        await wait_for(settled, timeout=60, what="the bounces set aside by the pipeline")
        await wait_for(hub.idle, timeout=60, what="nothing left on its way (pipeline and outbox idle)")
        robots = {f"<{i}>" for i in (delay_id, other_id, unknown_id, bounce_id)}
        assert not [r for r in smtp.received if r.message["In-Reply-To"] in robots]
        assert not [r for r in smtp.received if any("mx.exemplo.com.br" in a for a in r.rcpt_tos)]
        out_rows = await hub.messages(Message.conversation_id == conv.id, Message.direction == "out")
        assert len(smtp.to(patient)) == len(out_rows) == len(outbound)


# --- the parser (no servers) ------------------------------------------------------------


def _our_reply(msg_id: str = "atende.41.c0ffee@clinica.example", text: str = "Sua consulta está confirmada.") -> bytes:
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = f"Clínica Exemplo <{CLINIC}>"
    mail["To"] = "maria@exemplo.com.br"
    mail["Subject"] = "Re: Consulta"
    mail["Message-ID"] = f"<{msg_id}>"
    mail.set_content(text)
    return mail.as_bytes()


def _bounce(raw: bytes) -> Bounce | None:
    return parse_email(raw).bounce


def _mail(headers: dict[str, str], body: str, attachments: list[tuple[bytes, str]] = ()) -> bytes:  # type: ignore[assignment]
    """A plain mail (from a mail server or a person) with optional attachments."""
    mail = EmailMessage(policy=policy.SMTP)
    for name, value in headers.items():
        mail[name] = value
    mail["Message-ID"] = make_msgid(domain="mx.exemplo.com.br")
    mail.set_content(body)
    for data, ctype in attachments:
        if ctype == "message/rfc822":
            mail.add_attachment(BytesParser(policy=policy.default).parsebytes(data))
        else:
            maintype, subtype = ctype.split("/")
            mail.add_attachment(data, maintype=maintype, subtype=subtype)
    return mail.as_bytes()


def test_standard_reports_decide_by_action_and_status() -> None:
    ours = "atende.41.c0ffee@clinica.example"
    # Postfix, permanent: the whole original attached (message/rfc822).
    _, raw = postfix_dsn(_our_reply(ours), "Maria@Exemplo.com.br", action="failed", status="5.1.1")
    parsed = parse_email(raw)
    assert parsed.automatic == "report"
    assert parsed.bounce == Bounce("failed", "5.1.1", (ours,), ("maria@exemplo.com.br",))
    assert parsed.bounce.permanent and parsed.message.raw_metadata["bounce"] == {"outcome": "failed",
                                                                                 "status": "5.1.1"}
    # Postfix, delayed: only the headers come back (text/rfc822-headers); not a failure.
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", action="delayed", status="4.4.1")
    delayed = _bounce(raw)
    assert delayed is not None and delayed.outcome == "delayed" and delayed.status == "4.4.1"
    assert not delayed.permanent and delayed.message_ids == (ours,)
    # The queue lifetime expired: "Action: failed" is final even with a 4.x.x status.
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", action="failed", status="4.4.7",
                         headers_only=True)
    assert _bounce(raw) == Bounce("failed", "4.4.7", (ours,), ("maria@exemplo.com.br",))
    # A positive report (delivered/relayed) is no bounce.
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", action="delivered", status="2.0.0")
    assert _bounce(raw) is None
    # Without Action the status class decides; without Status, the Diagnostic-Code's code.
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", action="failed", status="5.2.2")
    assert _bounce(raw.replace(b"Action: failed\r\n", b"")) == Bounce("failed", "5.2.2", (ours,),
                                                                       ("maria@exemplo.com.br",))
    no_status = raw.replace(b"Status: 5.2.2\r\n", b"")
    bounce = _bounce(no_status)
    assert bounce is not None and bounce.status == "5.2.2"
    # A report that names no original message cannot be linked to anything.
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", headers_only=True)
    assert _bounce(raw.replace(f"Message-ID: <{ours}>".encode(), b"X-Nothing: 1")) is None


def test_multiple_recipients_and_global_reports() -> None:
    ours = "atende.7.abc@clinica.example"
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br", action="delayed", status="4.4.1")
    # One recipient failed, another delayed: the failure wins, the report names the failed one.
    two = raw.replace(b"Will-Retry-Until", b"\r\nFinal-Recipient: rfc822; joao@exemplo.com.br\r\nAction: failed\r\n"
                      b"Status: 5.1.1\r\nX-After")
    bounce = _bounce(two)
    assert bounce is not None and bounce.outcome == "failed" and bounce.recipients == ("joao@exemplo.com.br",)
    # RFC 6533 internationalized report (message/global-delivery-status).
    _, raw = postfix_dsn(_our_reply(ours), "maria@exemplo.com.br")
    global_ = raw.replace(b"report-type=delivery-status", b"report-type=global-delivery-status") \
        .replace(b"Content-Type: message/delivery-status", b"Content-Type: message/global-delivery-status")
    assert _bounce(global_) == Bounce("failed", "5.1.1", (ours,), ("maria@exemplo.com.br",))


def test_non_standard_bounces_are_understood_conservatively() -> None:
    ours = "atende.9.beef@clinica.example"
    daemon = {"From": "Mail Delivery Subsystem <MAILER-DAEMON@mx.exemplo.com.br>", "To": CLINIC,
              "Subject": "Mail delivery failed: returning message to sender"}
    failure = ("This message was created automatically by mail delivery software.\n\n"
               "A message that you sent could not be delivered to one or more of its recipients.\n\n"
               "  maria@exemplo.com.br\n    SMTP error from remote mail server after RCPT TO:<maria@exemplo.com.br>:\n"
               "    550 5.1.1 <maria@exemplo.com.br>: Recipient address rejected: User unknown\n")
    # The original attached as message/rfc822, no report part (qmail/Exchange-style).
    raw = _mail(daemon, failure, [(_our_reply(ours), "message/rfc822")])
    parsed = parse_email(raw)
    assert parsed.automatic == "system_sender"
    assert parsed.bounce == Bounce("failed", "5.1.1", (ours,), (), standard=False)
    # Only the headers attached (text/rfc822-headers), from postmaster.
    headers = _our_reply(ours).split(b"\n\n")[0]
    raw = _mail({**daemon, "From": "postmaster@mx.exemplo.com.br"}, failure, [(headers, "text/rfc822-headers")])
    assert _bounce(raw) == Bounce("failed", "5.1.1", (ours,), (), standard=False)
    # No attachment: In-Reply-To names our reply; the copy of the message below the marker is not read.
    inline = failure + ("\n------ This is a copy of the message, including all the headers. ------\n\n"
                        f"Message-ID: <{ours}>\nSubject: Re: Consulta\n\nRetorno em 4.2.1 dias\n")
    raw = _mail({**daemon, "In-Reply-To": f"<{ours}>"}, inline)
    assert _bounce(raw) == Bounce("failed", "5.1.1", (ours,), (), standard=False)
    # References: only the newest id is the bounced message (older ones were delivered).
    raw = _mail({**daemon, "References": f"<paciente.1@exemplo.com.br> <atende.1.beef@clinica.example> <{ours}>"},
                failure)
    bounce = _bounce(raw)
    assert bounce is not None and bounce.message_ids == (ours,)
    # A delay warning with 4.x.x only: delayed; the copy's "5.1.1" does not count.
    warning = ("This message was created automatically by mail delivery software.\n"
               "A message that you sent has not yet been delivered to one or more of its recipients after more "
               "than 24 hours on the queue.\n  maria@exemplo.com.br\n    Delay reason: 451 4.7.1 Greylisted\n"
               "No action is required on your part.\n\n------ This is a copy of the message headers. ------\n\n"
               f"Message-ID: <{ours}>\nX-Note: 5.1.1\n")
    raw = _mail({**daemon, "Subject": "Warning: message delayed", "In-Reply-To": f"<{ours}>"}, warning)
    assert _bounce(raw) == Bounce("delayed", "4.7.1", (ours,), (), standard=False)
    # Undecidable: no enhanced status code at all, or both classes: nothing is concluded.
    raw = _mail({**daemon, "In-Reply-To": f"<{ours}>"}, "550 User unknown\n")
    assert _bounce(raw) is None
    raw = _mail({**daemon, "In-Reply-To": f"<{ours}>"}, "first 4.4.1 then 5.1.1\n")
    assert _bounce(raw) is None
    # Not from a mail server: a person quoting an error code is not a bounce (still a person's mail).
    raw = _mail({**daemon, "From": "maria@exemplo.com.br", "In-Reply-To": f"<{ours}>"}, failure)
    assert parse_email(raw).automatic is None and _bounce(raw) is None
    # From the mail server but naming no message: nothing to link.
    assert _bounce(_mail(daemon, failure)) is None


def test_status_codes_are_read_strictly() -> None:
    assert status_code("smtp; 550 5.1.1 <maria@exemplo.com.br>: unknown") == "5.1.1"
    assert status_code("4.4.7 (delivery time expired).") == "4.4.7"
    assert status_code("Status: 2.0.0") == "2.0.0"
    for text in ("em 5.10.2024", "versão 1.5.1.1", "550 User unknown", "", None, "3.1.1"):
        assert status_code(text) is None, text
    # A person's mail mentioning a code is no bounce.
    raw = patient_mail("maria@exemplo.com.br", "Deu erro 5.1.1 no site", in_reply_to="atende.1.a@clinica.example")[1]
    assert parse_email(raw).bounce is None
    assert parse_bounce(BytesParser(policy=policy.default).parsebytes(raw), "maria@exemplo.com.br") is None
