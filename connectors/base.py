"""The normalized message types every connector produces and consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Button:
    """A quick reply / button: `title` is shown, `payload` is sent back to the bot."""

    title: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    """Media received or sent (stored by reference; the hub never logs its content)."""

    url: str
    content_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One patient message, normalized from any channel.

    `provider_message_id` is the provider's id (or the web widget's client id): together with
    `channel` it is the dedupe key, so a provider retry or a widget resend is stored once.
    """

    channel: str
    external_user_id: str
    provider_message_id: str
    text: str
    payload: str | None = None
    display_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    raw_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundTemplate:
    """An approved WhatsApp template to send instead of free text (outside the 24-hour window).

    `variables` are the values of the body's `{{1}}`, `{{2}}`, … in order; each provider needs its
    own reference (Twilio: the Content SID; Meta: the template name and language).
    """

    id: str
    variables: tuple[str, ...] = ()
    twilio_content_sid: str | None = None
    meta_name: str | None = None
    language: str = "pt_BR"


@dataclass(frozen=True)
class OutboundMessage:
    """One reply to a patient, channel-neutral; each connector renders it in its own format."""

    message_id: int
    conversation_id: str
    channel: str
    external_user_id: str
    sender: str
    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    created_at: str = ""
    template: OutboundTemplate | None = None


class ChannelError(Exception):
    """A send failed. `retryable` tells the outbox whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChannelSender(Protocol):
    """What the outbox needs from a channel: deliver one message, return the provider id."""

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver `message`; raise ChannelError on failure."""
        ...
