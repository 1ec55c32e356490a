"""What inbound mail and our replies share: addresses, Message-IDs and headers.

The patient's id on the channel is the sender's address, lower-cased. Message ids are stored
without angle brackets; ids longer than the hub's column are stored as a digest (`message_key`),
computed the same way for inbound mail, our sends and thread look-ups.
"""

from __future__ import annotations

import hashlib
import re
from email.message import Message
from email.utils import parseaddr

from connectors.base import OutboundMessage

CHANNEL = "email"
MAX_ID = 128  # the hub's provider_message_id column

_ID = re.compile(r"<([^<>\s]+)>")
REPLY_PREFIX = re.compile(r"^\s*(re|res|resp|aw|sv)\s*(\[\d+\])?\s*:", re.IGNORECASE)


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


# --- headers ---------------------------------------------------------------


def header_text(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a header policy.default cannot parse
        raw = msg.get_all(name, failobj=[])
        value = raw[0] if raw else None
    if value is None:
        return None
    text = re.sub(r"[\r\n]+\s*", " ", str(value)).strip()
    return text or None
