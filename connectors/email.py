"""E-mail: RFC 5322 messages in (quoted replies stripped, automatic mail recognised), replies out.

What is relied on:
- RFC 5322 (`Message-ID`, `In-Reply-To`, `References`, `Subject`, `From`) parsed with the stdlib
  `email` package and `policy.default` (MIME, encoded words, charsets).
- RFC 3834 (`Auto-Submitted` other than `no` = written by a program: auto-replies, notifications),
  RFC 2369/2919 (`List-Id`, `List-Unsubscribe`: mailing lists), the de-facto `Precedence:
  bulk|junk|list`, `X-Autoreply`/`X-Autorespond`, and RFC 3462/3464 (`multipart/report`:
  delivery-status notifications, i.e. bounces; read receipts are reports too). Such mail is
  stored for the staff but flagged `no_reply`: the bot never sees it and nothing answers it
  (answering robots is how mail loops start). Our own replies carry `Auto-Submitted:
  auto-replied` when the bot or the system wrote them, so other robots do not answer us either.
- RFC 3464 delivery status notifications (`multipart/report; report-type=delivery-status`, a
  `message/delivery-status` part with per-recipient `Action`/`Status`, the original message or
  its headers in a `message/rfc822` or `text/rfc822-headers` part) are read by `parse_bounce`, so
  a reply of ours that bounced is marked failed. Common non-standard bounces (a MAILER-DAEMON or
  postmaster mail without a report part) are understood only when they carry the original
  headers or name our Message-ID in `In-Reply-To`/`References` and state an RFC 3463 status
  code. Only a permanent failure counts; a delay notice is just recorded.
- Threading is by `Message-ID`/`In-Reply-To`/`References` only, never by subject: a reply carries
  `In-Reply-To` = the patient's last `Message-ID` and `References` = that mail's chain plus its id.
  Our own `Message-ID`s are deterministic per outbound row, so a resend after a crash in the
  outbox's send window is recognisable by mail clients as the same message.

The patient's id on the channel is the sender's address, lower-cased. Message ids are stored
without angle brackets; ids longer than the hub's column are stored as a digest (`message_key`),
computed the same way for inbound mail, our sends and thread look-ups.

The code: connectors/email_common.py (addresses, Message-IDs, headers), connectors/email_text.py
(body text, quoted replies), connectors/email_inbound.py (parsing a mail, automatic mail),
connectors/email_bounces.py (delivery status notifications) and connectors/email_replies.py
(building and sending replies). Their names stay
importable from here (`connectors.email`).
"""

from __future__ import annotations

from connectors.email_bounces import Bounce, parse_bounce, status_code
from connectors.email_common import (
    CHANNEL,
    MAX_ID,
    bare_id,
    id_list,
    message_key,
    normalize_address,
    outbound_message_id,
)
from connectors.email_inbound import (
    MAX_ATTACHMENTS,
    MAX_TEXT,
    AttachmentSaver,
    ParsedEmail,
    PayloadError,
    automatic_reason,
    parse_email,
)
from connectors.email_replies import (
    DEFAULT_SUBJECT,
    MAX_REFERENCES,
    EmailSender,
    ThreadLookup,
    ThreadRef,
    build_reply,
    reference_chain,
    render_text,
    reply_subject,
)
from connectors.email_text import html_to_text, strip_quoted

__all__ = [
    "CHANNEL",
    "DEFAULT_SUBJECT",
    "MAX_ATTACHMENTS",
    "MAX_ID",
    "MAX_REFERENCES",
    "MAX_TEXT",
    "AttachmentSaver",
    "Bounce",
    "EmailSender",
    "ParsedEmail",
    "PayloadError",
    "ThreadLookup",
    "ThreadRef",
    "automatic_reason",
    "bare_id",
    "build_reply",
    "html_to_text",
    "id_list",
    "message_key",
    "normalize_address",
    "outbound_message_id",
    "parse_bounce",
    "parse_email",
    "reference_chain",
    "render_text",
    "reply_subject",
    "status_code",
    "strip_quoted",
]
