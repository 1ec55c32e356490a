"""The normalized message types every connector produces and consumes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

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
    # Payloads of the template's quick-reply buttons, in order. Meta takes them per message (a
    # `button` component per index); a Twilio Content template defines its own button ids.
    button_payloads: tuple[str, ...] = ()


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
# Where provider media may be downloaded from (settings TWILIO_MEDIA_HOSTS / META_MEDIA_HOSTS
# override; the configured API base's own origin is always allowed, for local stand-ins).
TWILIO_MEDIA_HOSTS = ("api.twilio.com", "*.twiliocdn.com")
META_MEDIA_HOSTS = ("graph.facebook.com", "lookaside.fbsbx.com", "*.fbcdn.net", "*.cdninstagram.com")


class MediaTooLarge(ChannelError):
    """The provider's file is larger than the hub accepts (never retried)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"media larger than {max_bytes} bytes", retryable=False)
        self.max_bytes = max_bytes


def host_allowed(url: str, hosts: Sequence[str], origins: Sequence[str] = ()) -> bool:
    """True when `url` may be fetched: an HTTPS URL whose host is in `hosts` (exact names, or
    `*.example.com` for any subdomain), or a URL on one of `origins` exactly (`scheme://host:port`,
    the configured API base, which is a local stand-in in tests and the sandbox). An entry of
    `hosts` written as an origin (`http://127.0.0.1:8081`) is matched as one."""
    parts = urlsplit(url)
    if not parts.netloc or parts.username or parts.password:
        return False
    exact = {o.strip().rstrip("/").lower() for o in (*origins, *hosts) if o and "://" in o}
    if f"{parts.scheme}://{parts.netloc}".lower() in exact:
        return True
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:  # not a number
        return False
    if parts.scheme != "https" or not host or port not in (None, 443):
        return False
    for pattern in hosts:
        pattern = pattern.strip().lower()
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if pattern and host == pattern:
            return True
    return False


def origin_of(url: str) -> str:
    """`scheme://host:port` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


MAX_REDIRECTS = 3


async def download_capped(client: httpx.AsyncClient, url: str, what: str,
                          max_bytes: int = MAX_MEDIA_BYTES,
                          allowed: Callable[[str], bool] | None = None) -> tuple[bytes, str | None]:
    """GET `url` with `client` (its auth and redirect policy), reading at most `max_bytes`:
    (bytes, Content-Type). Raises ChannelError — MediaTooLarge past the cap, retryable on 5xx/429
    — whose message names `what` and the status, never the content.

    With `allowed`, redirects are followed here (at most MAX_REDIRECTS), each target checked with
    `allowed` before it is fetched; a hop that leaves the first URL's origin is fetched without
    the client's credentials."""
    if allowed is not None:
        return await _download_checked(client, url, what, max_bytes, allowed)
    try:
        async with client.stream("GET", url) as resp:
            return await _read_capped(resp, what, max_bytes)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{what} unreachable: {type(exc).__name__}") from exc


async def _read_capped(resp: httpx.Response, what: str, max_bytes: int) -> tuple[bytes, str | None]:
    """A non-redirect answer's body, at most `max_bytes` (declared or streamed), and its type."""
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


async def _download_checked(client: httpx.AsyncClient, url: str, what: str, max_bytes: int,
                            allowed: Callable[[str], bool]) -> tuple[bytes, str | None]:
    if not allowed(url):
        raise ChannelError(f"{what}: host not allowed", retryable=False)
    first_origin = origin_of(url)
    async with httpx.AsyncClient(timeout=client.timeout, follow_redirects=False) as bare:
        for _ in range(MAX_REDIRECTS + 1):
            hop = client if origin_of(url) == first_origin else bare  # credentials stay on the API origin
            try:
                async with hop.stream("GET", url, follow_redirects=False) as resp:
                    if resp.is_redirect:
                        location = resp.headers.get("location", "")
                        url = str(resp.url.join(location))
                        if not location or not allowed(url):
                            raise ChannelError(f"{what}: redirect to a host not allowed", retryable=False)
                        continue
                    return await _read_capped(resp, what, max_bytes)
            except httpx.HTTPError as exc:
                raise ChannelError(f"{what} unreachable: {type(exc).__name__}") from exc
    raise ChannelError(f"{what}: too many redirects", retryable=False)


class ChannelSender(Protocol):
    """What the outbox needs from a channel: deliver one message, return the provider id."""

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver `message`; raise ChannelError on failure."""
        ...
