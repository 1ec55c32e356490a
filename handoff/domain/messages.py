"""Message vocabulary shared by every layer of the hub."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Who the message travels to: `in` from the patient, `out` to the patient."""

    IN = "in"
    OUT = "out"


class Sender(StrEnum):
    """Author of a message."""

    PATIENT = "patient"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class InboundStatus(StrEnum):
    """Life of a patient message inside the pipeline."""

    PENDING = "pending"  # persisted, waiting for the bot
    PROCESSED = "processed"  # the bot answered it
    ROUTED = "routed"  # the conversation belongs to humans; stays in the human queue
    HANDED_OFF = "handed_off"  # the bot could not answer in time; handed to humans


class OutboundStatus(StrEnum):
    """Life of a reply in the outbox. Only moves forward (see `advance_status`)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


_OUTBOUND_RANK = {
    OutboundStatus.QUEUED: 0,
    OutboundStatus.SENDING: 1,
    OutboundStatus.SENT: 2,
    OutboundStatus.DELIVERED: 3,
    OutboundStatus.READ: 4,
    OutboundStatus.FAILED: 5,
}


def advance_status(current: OutboundStatus, new: OutboundStatus) -> OutboundStatus:
    """Return the status after a provider report; late or out-of-order reports never go back."""
    if current == OutboundStatus.FAILED and new in (OutboundStatus.DELIVERED, OutboundStatus.READ):
        return new  # a provider may report failure, then a late delivery receipt: trust delivery
    return new if _OUTBOUND_RANK[new] > _OUTBOUND_RANK[current] else current


def retry_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff for attempt number `attempt` (1-based), capped at `cap` seconds."""
    return float(min(cap, base * (2 ** max(0, attempt - 1))))
