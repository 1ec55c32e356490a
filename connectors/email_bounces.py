"""Delivery status notifications (bounces) about the mail we sent (RFC 3464, RFC 3463 codes).

Standard reports (`multipart/report; report-type=delivery-status`, a `message/delivery-status`
part with per-recipient `Action`/`Status`, the original message or its headers in a
`message/rfc822` or `text/rfc822-headers` part) and common non-standard bounces (a
MAILER-DAEMON or postmaster mail without a report part, understood only when it carries the
original headers or names our Message-ID in `In-Reply-To`/`References` and states a status
code). Only a permanent failure counts; a delay notice is just recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from connectors.email_common import bare_id, header_text, id_list, normalize_address
from connectors.email_text import decoded_text, html_to_text

_STATUS_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
_DSN_REPORT_TYPES = ("delivery-status", "global-delivery-status")
_DSN_PARTS = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_MESSAGE_PARTS = ("message/rfc822", "message/global", "message/global-headers")
_ORIGINAL_HEADER_PARTS = ("text/rfc822-headers",)
# Where the bounce's own words end and the copy of the original message begins (non-standard bounces).
_COPY_MARKER = re.compile(r"^\s*-{2,}.*\b(original message|copy of the message|mensagem original|message headers|"
                          r"undelivered message|returned message|original-message|headers of the message)\b",
                          re.IGNORECASE)
_COPY_HEADER = re.compile(r"^(received|return-path|dkim-signature|message-id|x-original-to)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says about one message we sent.

    `outcome` is `failed` (permanent: the reporting server gave up) or `delayed` (still being
    retried: nothing failed yet); `status` is the RFC 3463 code that decided it ("5.1.1");
    `message_ids` the reported message's bare Message-IDs, most reliable first; `recipients` the
    addresses the report is about (empty when it names none: a non-standard bounce).
    """

    outcome: str
    status: str
    message_ids: tuple[str, ...]
    recipients: tuple[str, ...] = ()
    standard: bool = True

    @property
    def permanent(self) -> bool:
        """The message will never reach the recipient."""
        return self.outcome == "failed"


def status_code(text: str | None) -> str | None:
    """The first RFC 3463 status code (`5.1.1`) in a `Status`/`Diagnostic-Code` value or a text."""
    found = _STATUS_CODE.search(text or "")
    return ".".join(found.groups()) if found else None


def _own_parts(msg: Message) -> list[Message]:
    """The leaf parts of a mail, not descending into attached messages (the original's parts are not ours)."""
    if not msg.is_multipart() or msg.get_content_maintype() == "message":
        return [msg]
    out: list[Message] = []
    payload = msg.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if isinstance(part, Message):
            out.extend(_own_parts(part) if part.get_content_maintype() == "multipart" else [part])
    return out


def _status_blocks(part: Message) -> list[Message]:
    """The field blocks of a `message/(global-)delivery-status` part: per-message, then per-recipient."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and all(isinstance(b, Message) for b in payload):
        if part.get_content_type() == "message/delivery-status":
            return [b for b in payload if isinstance(b, Message)]  # the stdlib splits these already
        text = "\n".join(b.as_string() for b in payload if isinstance(b, Message))
    elif isinstance(payload, str):
        text = payload
    else:
        text = decoded_text(part)
    blocks = re.split(r"\r?\n[ \t]*\r?\n", text.replace("\r\n", "\n"))
    return [HeaderParser(policy=policy.default).parsestr(b.strip("\n") + "\n") for b in blocks if b.strip()]


def _field(block: Message, name: str) -> str | None:
    value = header_text(block, name)
    return value.strip() if value else None


def _recipient(value: str | None) -> str | None:
    """`rfc822; Maria@Example.com` → `maria@example.com` (other address types: None)."""
    if not value:
        return None
    kind, _, addr = value.partition(";")
    if not addr:
        kind, addr = "rfc822", kind
    return normalize_address(f"<{addr.strip()}>") if kind.strip().lower() in ("rfc822", "utf-8") else None


def _original_ids(msg: Message) -> list[str]:
    """Message-IDs of the original message returned with a bounce (attached whole or headers only)."""
    ids: list[str] = []
    for part in _own_parts(msg):
        ctype = part.get_content_type()
        headers: Message | None = None
        if ctype in _ORIGINAL_MESSAGE_PARTS:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            headers = inner if isinstance(inner, Message) else None
        elif ctype in _ORIGINAL_HEADER_PARTS:
            headers = HeaderParser(policy=policy.default).parsestr(decoded_text(part).lstrip())
        found = bare_id(header_text(headers, "Message-ID")) if headers is not None else None
        if found and found not in ids:
            ids.append(found)
    return ids


def _thread_ids(msg: Message) -> list[str]:
    """What a bounce answering our mail names: its `In-Reply-To`, else the last of its `References`
    (earlier entries are older mails of the thread, which were delivered)."""
    in_reply_to = id_list(header_text(msg, "In-Reply-To"))
    if in_reply_to:
        return in_reply_to
    references = id_list(header_text(msg, "References"))
    return references[-1:]


def _bounce_text(msg: Message) -> str:
    """The human-readable part of a non-standard bounce, without the copy of the original message."""
    try:
        body = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, EmailMessage) else None
    except (KeyError, TypeError):
        body = None
    if body is None:
        return ""
    text = decoded_text(body)
    if body.get_content_type() == "text/html":
        text = html_to_text(text)
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _COPY_MARKER.match(line) or _COPY_HEADER.match(line):
            break
        kept.append(line)
    return "\n".join(kept)


def _standard_bounce(msg: Message) -> Bounce | None:
    reports = [p for p in _own_parts(msg) if p.get_content_type() in _DSN_PARTS]
    if not reports:
        return None
    failed: list[tuple[str | None, str]] = []
    delayed: list[tuple[str | None, str]] = []
    for block in (b for report in reports for b in _status_blocks(report)):
        if _field(block, "Final-Recipient") is None and _field(block, "Action") is None:
            continue  # the per-message block (Reporting-MTA, Arrival-Date…)
        action = (_field(block, "Action") or "").lower()
        code = status_code(_field(block, "Status")) or status_code(_field(block, "Diagnostic-Code"))
        # Action: failed is final (RFC 3464 §2.3.3) even with a 4.x.x status (queue lifetime expired).
        if action == "failed" or (not action and code and code.startswith("5.")):
            target = failed
        elif action == "delayed" or (not action and code and code.startswith("4.")):
            target = delayed
        else:
            continue  # delivered, relayed, expanded: not a problem
        for addr in (_recipient(_field(block, "Final-Recipient")), _recipient(_field(block, "Original-Recipient"))):
            target.append((addr, code or ("5.0.0" if target is failed else "4.0.0")))
    chosen, outcome = (failed, "failed") if failed else (delayed, "delayed")
    ids = _original_ids(msg) or _thread_ids(msg)
    if not chosen or not ids:
        return None
    recipients = tuple(dict.fromkeys(a for a, _ in chosen if a))
    return Bounce(outcome, chosen[0][1], tuple(ids), recipients)


def parse_bounce(msg: Message, sender: str | None) -> Bounce | None:
    """What a bounce says about a message we sent; None when the mail is not one we can act on.

    A standard report (RFC 3464) decides by each recipient's `Action` (`failed` → failed,
    `delayed` → delayed) or, without one, its `Status` class. A non-standard bounce must come from
    MAILER-DAEMON/postmaster, name the original Message-ID (attached headers, or its own
    `In-Reply-To`/`References`) and state RFC 3463 codes in its text: only 5.x.x is a failure,
    only 4.x.x a delay; both or none decide nothing (a plain "550 user unknown" is not enough).
    """
    is_report = msg.get_content_type() == "multipart/report"
    if is_report and str(msg.get_param("report-type") or "").lower() in _DSN_REPORT_TYPES:
        standard = _standard_bounce(msg)
        if standard is not None:
            return standard
    local = (sender or "").split("@")[0]
    if not any(local == s or local.startswith(s + "+") or local.startswith(s + "-") for s in _BOUNCE_SENDERS):
        return None
    ids = _original_ids(msg) or _thread_ids(msg)
    if not ids:
        return None
    codes = [m.group(0) for m in _STATUS_CODE.finditer(_bounce_text(msg))]
    permanent = [c for c in codes if c.startswith("5.")]
    transient = [c for c in codes if c.startswith("4.")]
    if permanent and not transient:
        return Bounce("failed", permanent[0], tuple(ids), standard=False)
    if transient and not permanent:
        return Bounce("delayed", transient[0], tuple(ids), standard=False)
    return None

