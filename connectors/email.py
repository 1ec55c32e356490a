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
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import format_datetime, getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any, Protocol

import aiosmtplib

from connectors.base import Attachment, ChannelError, InboundMessage, OutboundMessage

CHANNEL = "email"
MAX_ID = 128  # the hub's provider_message_id column
MAX_TEXT = 10_000  # what is kept of a body (the rest of a very long mail stays in the mailbox)
MAX_ATTACHMENTS = 20
MAX_REFERENCES = 20  # RFC 5322 §3.6.4 allows trimming the middle of a long chain
DEFAULT_SUBJECT = "Atendimento"

_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "no_reply", "do-not-reply",
                   "donotreply", "do_not_reply", "nao-responda", "naoresponda", "nao_responda", "bounce")
_BULK_PRECEDENCE = {"bulk", "junk", "list"}
_ID = re.compile(r"<([^<>\s]+)>")
_REPLY_PREFIX = re.compile(r"^\s*(re|res|resp|aw|sv)\s*(\[\d+\])?\s*:", re.IGNORECASE)


class PayloadError(ValueError):
    """The mail cannot be turned into a patient message (no usable sender address)."""


class AttachmentSaver(Protocol):
    """Keeps an attachment's bytes and returns the reference stored with the message."""

    def save(self, data: bytes, content_type: str | None, filename: str | None) -> str:
        """Store `data`; returns a reference such as `attachment:sha256:<hex>`."""
        ...


# --- ids and addresses ------------------------------------------------------------------


def normalize_address(raw: str | None) -> str | None:
    """`Maria <Maria.Souza@Example.COM>` → `maria.souza@example.com`; None when not an address."""
    if not raw:
        return None
    _, addr = parseaddr(str(raw))
    addr = addr.strip().lower()
    if addr.count("@") != 1 or any(c.isspace() for c in addr) or len(addr) > 254:
        return None
    local, domain = addr.split("@")
    return addr if local and "." in domain else None


def bare_id(raw: str | None) -> str | None:
    """A Message-ID without its angle brackets (`<a@b>` → `a@b`); None when empty."""
    if not raw:
        return None
    found = _ID.search(str(raw))
    value = found.group(1) if found else str(raw).strip().strip("<>").strip()
    return value or None


def id_list(raw: str | None) -> list[str]:
    """Every message id of an `In-Reply-To`/`References` header, in order, without duplicates."""
    if not raw:
        return []
    ids = _ID.findall(str(raw)) or [p for p in str(raw).split() if "@" in p]
    return list(dict.fromkeys(i.strip("<>") for i in ids if i.strip("<>")))


def message_key(msg_id: str) -> str:
    """The provider id we store for a Message-ID (a digest when it is longer than the column)."""
    if len(msg_id) <= MAX_ID:
        return msg_id
    return "sha256:" + hashlib.sha256(msg_id.encode("utf-8", "surrogateescape")).hexdigest()


def outbound_message_id(message: OutboundMessage, from_address: str) -> str:
    """Our Message-ID for one outbound row (bare): the same row always gets the same id."""
    domain = (normalize_address(from_address) or "atende.invalid").split("@")[1]
    return f"atende.{message.message_id}.{message.conversation_id}@{domain}"


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


# --- bodies -----------------------------------------------------------------------------

_ATTRIBUTION_START = re.compile(r"^\s*(em|on|el)\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(escreveu|wrote|escribió)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|mensagem original|mensaje original)\s*-{2,}\s*$",
                       re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(de|from)\s*:\s*\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(enviado|enviada|enviado em|enviada em|sent|date|data|para|to)\s*:",
                          re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_SIGNATURE = re.compile(r"^\s*(enviado d[oe] meu|enviado do|sent from my|obtenha o outlook)\b", re.IGNORECASE)


def _quote_start(lines: list[str], i: int) -> int | None:
    """Where the quoted part begins if line `i` opens it (None otherwise)."""
    line = lines[i]
    if line.rstrip() == "--" or line == "-- " or _ORIGINAL.match(line):
        return i
    if _ATTRIBUTION_START.match(line):  # the attribution may be wrapped over up to 3 lines
        for n in (1, 2, 3):
            if _ATTRIBUTION_END.search(" ".join(x.strip() for x in lines[i:i + n])):
                return i
    if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(x) for x in lines[i + 1:i + 5]):
        return i - 1 if i > 0 and _UNDERSCORES.match(lines[i - 1]) else i
    return None


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines (`>`), the quoted mail under an attribution line
    ("Em <data>, <nome> escreveu:", "On … wrote:"), Outlook's "-----Original Message-----" or
    "De: … Enviado: …" header block, and the signature after "-- " are removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i in range(len(lines)):
        start = _quote_start(lines, i)
        if start is not None:
            cut = start
            break
    kept = [ln.rstrip() for ln in lines[:cut] if not ln.lstrip().startswith(">")]
    while kept and (not kept[-1].strip() or _MOBILE_SIGNATURE.match(kept[-1])):
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    out: list[str] = []
    for ln in kept:  # at most one blank line in a row
        if ln.strip() or (out and out[-1].strip()):
            out.append(ln)
    return "\n".join(out)


_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "ul", "ol",
          "section", "article", "header", "footer", "pre", "address", "dd", "dt"}
_SKIP = {"style", "script", "head", "title", "blockquote", "template", "noscript"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source", "track", "embed"}
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "gmail_attr")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")


class _HtmlText(HTMLParser):
    """HTML mail → plain text: blocks become lines; quoted replies and non-content are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = ""
        self.skip: list[str] = []  # open elements whose content is dropped
        self.stopped = False  # Outlook: everything after its reply marker is the quoted mail

    def _break(self, lines: int = 1) -> None:
        """End the current line (`lines=2`: and leave a blank one); never at the very start."""
        self.out = self.out.rstrip(" ")
        if self.out:
            self.out += "\n" * max(0, lines - (len(self.out) - len(self.out.rstrip("\n"))))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        values = {k.lower(): (v or "").lower() for k, v in attrs}
        if values.get("id") in _QUOTE_IDS:
            self.stopped = True
            return
        if tag in _VOID:
            if not self.skip and tag in ("br", "hr"):
                self.out = self.out.rstrip(" ") + "\n"
            return
        if self.skip or tag in _SKIP or any(c in values.get("class", "") for c in _QUOTE_CLASSES):
            self.skip.append(tag)
            return
        if tag in _BLOCK:
            self._break()
        elif tag in ("td", "th") and self.out and not self.out.endswith(("\n", " ")):
            self.out += " "
        if tag == "li":
            self.out += "- "

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in _VOID:
            return
        if self.skip:
            if tag in self.skip:
                while self.skip and self.skip.pop() != tag:
                    pass
            return
        if tag in _BLOCK:
            self._break(2 if tag in ("p", "table", "ul", "ol", "pre") else 1)

    def handle_data(self, data: str) -> None:
        if self.skip or self.stopped:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.out or self.out.endswith("\n"):
            text = text.lstrip()
        self.out += text


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body (quoted replies removed)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "\n".join(ln.strip() for ln in parser.out.split("\n")).strip()


def _decoded_text(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, KeyError):
        pass
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


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


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a header policy.default cannot parse
        raw = msg.get_all(name, failobj=[])
        value = raw[0] if raw else None
    if value is None:
        return None
    text = re.sub(r"[\r\n]+\s*", " ", str(value)).strip()
    return text or None


def _addresses(msg: Message, name: str) -> list[str]:
    values = [str(v) for v in msg.get_all(name, failobj=[])]
    found = (normalize_address(f"<{addr}>") for _, addr in getaddresses(values))
    return [a for a in found if a]


# --- delivery status notifications (bounces) ---------------------------------------------

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
        text = _decoded_text(part)
    blocks = re.split(r"\r?\n[ \t]*\r?\n", text.replace("\r\n", "\n"))
    return [HeaderParser(policy=policy.default).parsestr(b.strip("\n") + "\n") for b in blocks if b.strip()]


def _field(block: Message, name: str) -> str | None:
    value = _header(block, name)
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
            headers = HeaderParser(policy=policy.default).parsestr(_decoded_text(part).lstrip())
        found = bare_id(_header(headers, "Message-ID")) if headers is not None else None
        if found and found not in ids:
            ids.append(found)
    return ids


def _thread_ids(msg: Message) -> list[str]:
    """What a bounce answering our mail names: its `In-Reply-To`, else the last of its `References`
    (earlier entries are older mails of the thread, which were delivered)."""
    in_reply_to = id_list(_header(msg, "In-Reply-To"))
    if in_reply_to:
        return in_reply_to
    references = id_list(_header(msg, "References"))
    return references[-1:]


def _bounce_text(msg: Message) -> str:
    """The human-readable part of a non-standard bounce, without the copy of the original message."""
    try:
        body = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, EmailMessage) else None
    except (KeyError, TypeError):
        body = None
    if body is None:
        return ""
    text = _decoded_text(body)
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
    from_header = _header(msg, "From")
    sender = normalize_address(from_header) or normalize_address(_header(msg, "Sender"))
    if sender is None:
        raise PayloadError("From has no usable address")
    display_name = parseaddr(from_header or "")[0].strip() or None
    msg_id = bare_id(_header(msg, "Message-ID"))
    # No Message-ID (rare, but legal): the content's digest keeps re-fetches deduplicated.
    provider_id = message_key(msg_id) if msg_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    in_reply_to = id_list(_header(msg, "In-Reply-To"))
    references = id_list(_header(msg, "References"))
    subject = _header(msg, "Subject") or ""
    reason = automatic_reason(msg, sender)
    if reason is None and own_address and sender == normalize_address(own_address):
        reason = "own_address"

    try:
        body = msg.get_body(preferencelist=("plain", "html"))
    except (KeyError, TypeError):
        body = None
    html_only = body is not None and body.get_content_type() == "text/html"
    full = _decoded_text(body) if body is not None else ""
    if html_only:
        full = html_to_text(full)
    text = strip_quoted(full)
    quoted = text.strip() != full.strip()
    if not text and not quoted and subject:
        text = _REPLY_PREFIX.sub("", subject).strip()  # an empty mail whose question is its subject
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
    date = _header(msg, "Date")
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


# --- replies ----------------------------------------------------------------------------


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
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


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
