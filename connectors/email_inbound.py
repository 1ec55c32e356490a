"""Inbound e-mail: one RFC 5322 message parsed into a patient message (quoted replies stripped by
connectors/email_text.py, automatic mail recognised, attachments handed to a saver, bounces read by
connectors/email_bounces.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any, Protocol

from connectors.base import Attachment, InboundMessage
from connectors.email_bounces import Bounce, parse_bounce
from connectors.email_common import (
    CHANNEL,
    REPLY_PREFIX,
    bare_id,
    header_text,
    id_list,
    message_key,
    normalize_address,
)
from connectors.email_text import decoded_text, html_to_text, strip_quoted

MAX_TEXT = 10_000  # what is kept of a body (the rest of a very long mail stays in the mailbox)
MAX_ATTACHMENTS = 20

_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "no_reply", "do-not-reply",
                   "donotreply", "do_not_reply", "nao-responda", "naoresponda", "nao_responda", "bounce")
_BULK_PRECEDENCE = {"bulk", "junk", "list"}


class PayloadError(ValueError):
    """The mail cannot be turned into a patient message (no usable sender address)."""


class AttachmentSaver(Protocol):
    """Keeps an attachment's bytes and returns the reference stored with the message."""

    def save(self, data: bytes, content_type: str | None, filename: str | None) -> str:
        """Store `data`; returns a reference such as `attachment:sha256:<hex>`."""
        ...


# --- automatic mail ---------------------------------------------------------------------


def automatic_reason(msg: Message, sender: str | None) -> str | None:
    """Why this mail must never be answered (None for a person's mail)."""
    if msg.get_content_type() == "multipart/report":
        return "report"  # bounce (delivery-status) or read receipt (disposition-notification)
    if str(msg.get("Return-Path") or "").strip() == "<>":
        return "null_sender"  # RFC 5321 §4.5.5: notifications are sent with an empty reverse path
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return "auto_submitted"
    if str(msg.get("Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
        return "bulk"
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        return "mailing_list"
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return "autoreply"
    local = (sender or "").split("@")[0]
    if any(local == s or local.startswith(s + "+") or local.startswith(s + "-") for s in _SYSTEM_SENDERS):
        return "system_sender"
    return None


# --- parts ---------------------------------------------------------------------------------


def _part_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.default)
        return part.as_bytes(policy=policy.default)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"[\x00-\x1f\x7f]", "", str(name)).replace("\\", "/").split("/")[-1].strip()
    return name[:200] or None


def _addresses(msg: Message, name: str) -> list[str]:
    values = [str(v) for v in msg.get_all(name, failobj=[])]
    found = (normalize_address(f"<{addr}>") for _, addr in getaddresses(values))
    return [a for a in found if a]


# --- one inbound mail -------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedEmail:
    """One inbound mail: the normalized message plus what threading and the poller need."""

    message: InboundMessage
    thread_ids: tuple[str, ...]  # In-Reply-To first, then References newest first (stored keys)
    automatic: str | None
    bounce: Bounce | None = None  # a delivery status notification about a message we sent


def parse_email(raw: bytes, saver: AttachmentSaver | None = None, *, own_address: str | None = None) -> ParsedEmail:
    """Parse one RFC 5322 message (bytes as fetched from the mailbox). Raises PayloadError.

    Attachments are handed to `saver` (nothing is kept when it is None); the body is the plain
    text part (or the HTML part converted), with quoted replies and signatures removed.
    """
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    from_header = header_text(msg, "From")
    sender = normalize_address(from_header) or normalize_address(header_text(msg, "Sender"))
    if sender is None:
        raise PayloadError("From has no usable address")
    display_name = parseaddr(from_header or "")[0].strip() or None
    msg_id = bare_id(header_text(msg, "Message-ID"))
    # No Message-ID (rare, but legal): the content's digest keeps re-fetches deduplicated.
    provider_id = message_key(msg_id) if msg_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    in_reply_to = id_list(header_text(msg, "In-Reply-To"))
    references = id_list(header_text(msg, "References"))
    subject = header_text(msg, "Subject") or ""
    reason = automatic_reason(msg, sender)
    if reason is None and own_address and sender == normalize_address(own_address):
        reason = "own_address"

    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except (KeyError, TypeError):
        body = None
    html_only = body is not None and body.get_content_type() == "text/html"
    full = decoded_text(body) if body is not None else ""
    if html_only:
        full = html_to_text(full)
    text = strip_quoted(full)
    quoted = text.strip() != full.strip()
    if not text and not quoted and subject:
        text = REPLY_PREFIX.sub("", subject).strip()  # an empty mail whose question is its subject
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1].rstrip() + "…"

    attachments: list[Attachment] = []
    if saver is not None:
        for part in msg.iter_attachments():
            if len(attachments) >= MAX_ATTACHMENTS:
                break
            data = _part_bytes(part)
            if not data:
                continue
            ctype = part.get_content_type()
            name = _clean_filename(part.get_filename())
            attachments.append(Attachment(url=saver.save(data, ctype, name), content_type=ctype, filename=name))

    metadata: dict[str, Any] = {
        "message_id": msg_id,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "references": references,
        "from": sender,
        "to": _addresses(msg, "To"),
    }
    cc = _addresses(msg, "Cc")
    if cc:
        metadata["cc"] = cc
    date = header_text(msg, "Date")
    if date:
        metadata["date"] = date
    if html_only:
        metadata["html_only"] = True
    if quoted:
        metadata["quoted_removed"] = True
    bounce = parse_bounce(msg, sender) if reason not in (None, "own_address") else None
    if bounce is not None:
        metadata["bounce"] = {"outcome": bounce.outcome, "status": bounce.status}
    if reason is not None:
        metadata["automatic"] = reason
        metadata["no_reply"] = True  # stored for the staff; never sent to the bot, never answered
    thread = [message_key(i) for i in (*in_reply_to, *reversed(references))]
    inbound = InboundMessage(
        channel=CHANNEL,
        external_user_id=sender,
        provider_message_id=provider_id,
        text=text,
        display_name=display_name,
        attachments=tuple(attachments),
        raw_metadata=metadata,
    )
    return ParsedEmail(inbound, tuple(dict.fromkeys(thread)), reason, bounce)
