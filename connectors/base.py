"""The normalized message types every connector produces and consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


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


MAX_MEDIA_BYTES = 25 * 1024 * 1024  # what the hub accepts to download from a provider


class MediaTooLarge(ChannelError):
    """The provider's file is larger than the hub accepts (never retried)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"media larger than {max_bytes} bytes", retryable=False)
        self.max_bytes = max_bytes


async def download_capped(client: httpx.AsyncClient, url: str, what: str,
                          max_bytes: int = MAX_MEDIA_BYTES) -> tuple[bytes, str | None]:
    """GET `url` with `client` (its auth and redirect policy), reading at most `max_bytes`:
    (bytes, Content-Type). Raises ChannelError — MediaTooLarge past the cap, retryable on 5xx/429
    — whose message names `what` and the status, never the content."""
    try:
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise ChannelError(f"{what} answered {resp.status_code}",
                                   retryable=resp.status_code >= 500 or resp.status_code == 429)
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise MediaTooLarge(max_bytes)
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(max_bytes)
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("content-type")
    except httpx.HTTPError as exc:
        raise ChannelError(f"{what} unreachable: {type(exc).__name__}") from exc


class ChannelSender(Protocol):
    """What the outbox needs from a channel: deliver one message, return the provider id."""

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver `message`; raise ChannelError on failure."""
        ...
