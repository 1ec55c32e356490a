"""The e-mail channel: the IMAP poller (mail in) and the SMTP sender's wiring (replies out).

Receiving (`EmailPoller`, started with the hub's workers when `EMAIL_IMAP_HOST` is set):
1. connect over TLS (plain only when `EMAIL_IMAP_SSL=false`), log in, select `EMAIL_IMAP_FOLDER`;
2. for every UNSEEN message, oldest first: fetch it with `BODY.PEEK[]` (does not set `\\Seen`),
   parse it (`connectors.email`), store its attachments and persist it with
   `services.ingest.accept_inbound` — and only after that commit set `\\Seen`. A crash in
   between leaves the mail unseen; the next sweep fetches it again and the dedupe on
   (`email`, Message-ID) makes that harmless. Several hub processes may poll one mailbox the
   same way;
3. wait for news: IMAP IDLE when the server supports it (new mail is taken at once), re-sweeping
   at least every `EMAIL_POLL_SECONDS`; plain polling every `EMAIL_POLL_SECONDS` otherwise;
4. on any error: close, back off (1 s doubling up to a minute), reconnect.

Automatic mail (auto-replies, bulk and list mail, bounces, robots' addresses) is stored with
`metadata.no_reply` and never reaches the bot (`services/bot_pipeline`) nor gets an answer.
Mail from our own address (a copy of a reply of ours) is marked seen and not stored.

Bounces (`connectors.email.parse_bounce`): when a delivery status notification names one of our
replies (its Message-ID is the reply's provider id) and, if it names recipients, the address the
reply went to, the bounce is stored in that reply's conversation (so the staff see it next to
the reply) and then applied like a provider's delivery report: a permanent failure moves the
reply to `failed` through the same forward-only rule (`channel_store.apply_provider_status`,
`last_error` "bounce 5.1.1") and appends a `delivery_failed` event (`{"message_id",
"error_code"}`, actor `provider`); a delay notice only appends `delivery_delayed`. Both are
applied after the bounce is committed and again when a re-fetch finds it stored already, so a
crash in between loses nothing and repeats nothing. A bounce naming no reply of ours is stored
as any automatic mail, and changes nothing else.

Sending: `email_sender` builds `connectors.email.EmailSender`, which looks up the thread being
answered (`adapters/sql/email_store.thread_of`: the patient's latest mail in the conversation).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import ssl
from pathlib import Path

from sqlalchemy import select

from connectors.base import InboundMessage
from connectors.email_bounces import Bounce
from connectors.email_common import CHANNEL, message_key
from connectors.email_inbound import ParsedEmail, parse_email
from connectors.email_replies import EmailSender, ThreadRef
from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.imap import ImapMailbox
from handoff.adapters.sql import channel_store, email_store, store
from handoff.adapters.sql.models import ConversationEvent
from handoff.adapters.tasks import cancel_and_wait
from handoff.domain.messages import OutboundStatus, retry_delay
from handoff.services.ingest import accept_inbound
from handoff.services.outbox import record_status_change
from handoff.services.unit_of_work import UnitOfWork
from handoff.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def attachments_root(settings: Settings) -> Path:
    """Where received attachments are kept (`ATTACHMENTS_DIR`, default `<repo>/var/attachments`)."""
    return Path(settings.attachments_dir) if settings.attachments_dir else REPO_ROOT / "var" / "attachments"


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificate-checking TLS context; `EMAIL_TLS_CA_FILE` adds a private CA (e.g. an internal server)."""
    context = ssl.create_default_context()
    if settings.email_tls_ca_file:
        context.load_verify_locations(cafile=settings.email_tls_ca_file)
    return context


def email_sender(settings: Settings, uow: UnitOfWork) -> EmailSender | None:
    """The SMTP sender for channel `email`, when `EMAIL_SMTP_HOST` and `EMAIL_FROM` are set."""
    if not (settings.email_smtp_host and settings.email_from):
        return None

    async def thread_lookup(conversation_id: str) -> ThreadRef | None:
        async with uow.db.session() as session:
            return await email_store.thread_of(session, conversation_id)

    return EmailSender(
        host=settings.email_smtp_host, port=settings.email_smtp_port, from_address=settings.email_from,
        thread_lookup=thread_lookup, username=settings.email_smtp_user, password=settings.email_smtp_password,
        starttls=settings.email_smtp_starttls, use_tls=settings.email_smtp_ssl,
        tls_context=tls_context(settings) if settings.email_smtp_ssl or settings.email_smtp_starttls else None,
    )


class EmailInbox:
    """Parse and persist one raw mail: what the IMAP poller does with every message it fetches.

    `EmailPoller` adds the IMAP transport (fetch, `\\Seen` after the commit); the patient
    simulator (`handoff/sandbox/api.py`) hands the mail a simulated patient writes straight to `ingest`,
    skipping only that transport.
    """

    def __init__(self, uow: UnitOfWork, settings: Settings, attachments: AttachmentStore | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.attachments = attachments or AttachmentStore(attachments_root(settings))

    async def parse(self, raw: bytes) -> ParsedEmail:
        """Parse one raw mail and store its attachments. Raises PayloadError (no sender)."""
        return await asyncio.to_thread(parse_email, raw, self.attachments, own_address=self.settings.email_from)

    async def ingest(self, raw: bytes) -> store.IngestResult | None:
        """Parse and persist one raw mail (None for our own mail coming back). Raises PayloadError."""
        return await self.persist(await self.parse(raw))

    async def persist(self, parsed: ParsedEmail) -> store.IngestResult | None:
        """Persist a parsed mail once (None for our own mail coming back, which is not stored);
        a bounce of one of our replies is then applied to that reply."""
        if parsed.automatic == "own_address":
            return None
        msg = await self._threaded(parsed)
        target = await self._bounced_reply(parsed.bounce) if parsed.bounce is not None else None
        if target is not None:
            # Stored in the reply's conversation, next to the reply, for the staff (metadata.from
            # keeps the reporting server's address; its display name must not rename the patient).
            metadata = {k: v for k, v in msg.raw_metadata.items() if k != "thread_conversation_id"}
            metadata["bounce"] = {**metadata.get("bounce", {}), "message_id": target.message_id}
            msg = dataclasses.replace(msg, external_user_id=target.address, display_name=None, raw_metadata=metadata)
        result = await accept_inbound(self.uow, msg)
        if not result.duplicate:
            log.info("email: message %d stored (automatic=%s, attachments=%d)", result.message.id,
                     parsed.automatic or "no", len(msg.attachments))
        if target is not None and parsed.bounce is not None:
            await self._apply_bounce(parsed.bounce, target, result.message.id)
        return result

    async def _bounced_reply(self, bounce: Bounce) -> email_store.SentReply | None:
        """Our reply a bounce is about (None: not ours, or the report is about someone else)."""
        async with self.uow.db.session() as session:
            reply = await email_store.sent_reply(session, [message_key(i) for i in bounce.message_ids])
        if reply is None:
            return None
        if bounce.recipients and reply.address not in bounce.recipients:
            log.info("email: bounce about message %d names other recipients; not applied", reply.message_id)
            return None
        return reply

    async def _apply_bounce(self, bounce: Bounce, reply: email_store.SentReply, bounce_row: int) -> None:
        """Failed: the reply moves to `failed` (forward only) with a `delivery_failed` event.
        Delayed: a `delivery_delayed` event, once per bounce mail."""
        async with self.uow() as (session, events):
            if bounce.permanent:
                change = await channel_store.apply_provider_status(
                    session, self.uow.dialect, (CHANNEL,), reply.provider_id, OutboundStatus.FAILED,
                    f"bounce {bounce.status}")
                if change is None:
                    return  # failed already (this bounce seen before, or the SMTP server refused it)
                await record_status_change(session, events, change, bounce.status)
                log.info("email: reply %d bounced (%s)", change.message_id, bounce.status)
                return
            recorded = (await session.execute(
                select(ConversationEvent.data).where(ConversationEvent.conversation_id == reply.conversation_id,
                                                     ConversationEvent.type == "delivery_delayed")
            )).scalars().all()
            if any(isinstance(d, dict) and d.get("bounce_id") == bounce_row for d in recorded):
                return
            await store.add_event(session, reply.conversation_id, "delivery_delayed", "provider",
                                  {"message_id": reply.message_id, "error_code": bounce.status,
                                   "bounce_id": bounce_row})
            log.info("email: reply %d delayed (%s)", reply.message_id, bounce.status)

    async def _threaded(self, parsed: ParsedEmail) -> InboundMessage:
        """Thread information and numbered-option replies ("2" → the second option offered)."""
        msg = parsed.message
        async with self.uow() as (session, _):
            thread = await email_store.conversation_of_thread(session, parsed.thread_ids) if parsed.thread_ids \
                else None
            if thread is not None and thread[1] != msg.external_user_id:
                # Someone else answering a patient's thread (a forward, a relative in copy) stays in
                # the sender's own conversation: one per address, and a Message-ID seen in a
                # forwarded mail must not open another patient's history. The link is kept.
                msg = dataclasses.replace(msg, raw_metadata={**msg.raw_metadata, "thread_conversation_id": thread[0]})
            if msg.raw_metadata.get("no_reply") or msg.attachments:
                return msg
            match = _CHOICE.match(msg.text)
            if match is None:
                return msg
            buttons = await channel_store.last_offered_buttons(session, msg.channel, msg.external_user_id)
        index = int(match.group(1)) - 1
        if not 0 <= index < len(buttons) or not buttons[index].get("payload"):
            return msg
        chosen = buttons[index]
        return dataclasses.replace(msg, text=str(chosen.get("title") or msg.text), payload=str(chosen["payload"]),
                                   raw_metadata={**msg.raw_metadata, "typed_choice": match.group(1)})


class EmailPoller(EmailInbox):
    """Moves new mail from the mailbox into the pipeline (see the module docstring)."""

    def __init__(self, uow: UnitOfWork, settings: Settings, attachments: AttachmentStore | None = None) -> None:
        if not (settings.email_imap_host and settings.email_imap_user):
            raise ValueError("EMAIL_IMAP_HOST and EMAIL_IMAP_USER are required")
        super().__init__(uow, settings, attachments)
        self.poll_seconds = max(1.0, settings.email_poll_seconds)
        self._task: asyncio.Task[None] | None = None
        self._skip: set[int] = set()  # UIDs that are not usable mail (left unseen for the staff)

    def mailbox(self) -> ImapMailbox:
        """A new session on the configured mailbox (not yet open)."""
        s = self.settings
        return ImapMailbox(host=s.email_imap_host or "", port=s.email_imap_port, user=s.email_imap_user or "",
                           password=s.email_imap_password or "", folder=s.email_imap_folder,
                           use_ssl=s.email_imap_ssl, ssl_context=tls_context(s) if s.email_imap_ssl else None)

    async def start(self) -> None:
        """Run in the background until `stop`."""
        self._task = asyncio.create_task(self._run(), name="email-poller")

    async def stop(self) -> None:
        """Stop (a sweep in progress is cancelled; its unmarked mail is taken again next time)."""
        task, self._task = self._task, None
        await cancel_and_wait([task])

    async def _run(self) -> None:
        failures = 0
        while True:
            delay = 0.0
            mailbox = self.mailbox()
            try:
                await mailbox.open()
                log.info("email: mailbox open (idle=%s)", mailbox.supports_idle)
                failures = 0
                self._skip.clear()  # UIDs may have been renumbered (UIDVALIDITY); unreadable ones are logged again
                while True:
                    await self.sweep(mailbox)
                    await mailbox.wait_for_news(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect with backoff, never die
                failures += 1
                delay = retry_delay(failures, 1.0, max(60.0, self.poll_seconds))
                log.warning("email: mailbox error (%s); reconnecting in %.0fs", type(exc).__name__, delay)
            finally:
                await mailbox.close()
            await asyncio.sleep(delay)

    async def sweep(self, mailbox: ImapMailbox) -> int:
        """Take every unseen message: persist it, then mark it seen. Returns how many were taken."""
        taken = 0
        for uid in await mailbox.unseen_uids():
            if uid in self._skip:
                continue
            raw = await mailbox.fetch(uid)
            if raw is None:
                continue  # expunged meanwhile
            try:
                parsed = await self.parse(raw)
            except Exception as exc:  # noqa: BLE001 - one unreadable mail must not stop the others
                self._skip.add(uid)
                log.warning("email: message uid %d could not be read (%s); left unseen in the mailbox",
                            uid, type(exc).__name__)
                continue
            await self.persist(parsed)  # a database error propagates: reconnect, the mail stays unseen
            await mailbox.mark_seen(uid)  # only now: the mail is committed
            taken += 1
        return taken
