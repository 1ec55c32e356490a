"""Twilio (WhatsApp and SMS): inbound webhooks, status callbacks, signatures and sending.

Shapes relied on (Twilio docs, "Twilio's request to your incoming message Webhook URL",
"Outbound Message Status in Status Callbacks", "Send templates created with the Content
Template Builder", error 63016):
- inbound: form-encoded `MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrl{N}`,
  `MediaContentType{N}`; WhatsApp adds `ProfileName`, `WaId`, `MessageType`, `ButtonText`,
  `ButtonPayload` (quick-reply buttons of templates), `Latitude`/`Longitude`/`Address`/`Label`.
  WhatsApp addresses carry the `whatsapp:` prefix; SMS addresses are plain E.164 numbers.
- status callbacks: `MessageSid`, `MessageStatus` (queued, sending, sent, delivered, read,
  undelivered, failed, …) and `ErrorCode` on failures. They may arrive out of order.
- `X-Twilio-Signature`: HMAC-SHA1 over the full URL Twilio called plus every POST parameter
  (sorted, name+value, blank values included), checked with the library's RequestValidator.
- outside WhatsApp's 24-hour window only approved templates go out: `ContentSid` +
  `ContentVariables` (JSON) instead of `Body`; a free-form message then fails with 63016.
- media (`MediaUrl{N}`): `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}`
  with HTTP Basic auth (account SID + auth token) when media authentication is on; Twilio answers
  with a redirect to a short-lived CDN URL (followed; the credentials are not sent to another host).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from connectors.base import (
    MAX_MEDIA_BYTES,
    TWILIO_MEDIA_HOSTS,
    Attachment,
    ChannelError,
    InboundMessage,
    OutboundMessage,
    OutboundTemplate,
    download_capped,
    host_allowed,
    origin_of,
)

DEFAULT_API_BASE = "https://api.twilio.com"
WHATSAPP = "whatsapp"
SMS = "sms"
CHANNELS = (WHATSAPP, SMS)
WHATSAPP_PREFIX = "whatsapp:"
MAX_MEDIA = 10  # Twilio delivers at most 10 media items per message
_E164 = re.compile(r"^\+?[0-9]{6,16}$")

# Twilio's MessageStatus → our outbound status vocabulary. Statuses before `sent` carry
# nothing the outbox does not already know, so they are not reported.
_STATUS_MAP = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class PayloadError(ValueError):
    """The request is signed but its content is not a usable Twilio message (HTTP 400)."""


@dataclass(frozen=True)
class StatusReport:
    """One delivery report: `status` is one of sent, delivered, read, failed."""

    provider_message_id: str
    status: str
    error_code: str | None = None


Form = dict[str, list[str]]


def parse_form(body: bytes) -> Form:
    """Parse a form-encoded body keeping blank values (`Body=` counts in the signature).

    Raises PayloadError when the body is not UTF-8.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body is not UTF-8 form data") from exc
    return parse_qs(text, keep_blank_values=True)


class _MultiForm(dict[str, list[str]]):
    """Gives RequestValidator every value of a repeated parameter (it looks for `getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def valid_signature(auth_token: str, url: str, form: Form, signature: str | None) -> bool:
    """True when `signature` is Twilio's signature of `url` + `form` with `auth_token`."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, _MultiForm(form), signature))


def _first(form: Form, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _address(raw: str) -> tuple[str, str]:
    """(channel, external user id) of a Twilio address."""
    if raw.startswith(WHATSAPP_PREFIX):
        number = raw[len(WHATSAPP_PREFIX):]
        channel = WHATSAPP
    else:
        number, channel = raw, SMS
    if not _E164.match(number):
        raise PayloadError("From is not a WhatsApp or phone address")
    return channel, number


def parse_inbound(form: Form) -> InboundMessage:
    """A patient message from Twilio's inbound webhook form. Raises PayloadError."""
    sid = _first(form, "MessageSid") or _first(form, "SmsMessageSid")
    sender = _first(form, "From")
    if not sid:
        raise PayloadError("MessageSid is missing")
    if not sender:
        raise PayloadError("From is missing")
    channel, external_id = _address(sender)
    raw_count = _first(form, "NumMedia") or "0"
    if not raw_count.isdigit() or int(raw_count) > MAX_MEDIA:
        raise PayloadError("NumMedia is not a number between 0 and 10")
    attachments = []
    for i in range(int(raw_count)):
        url = _first(form, f"MediaUrl{i}")
        if not url:
            raise PayloadError(f"MediaUrl{i} is missing (NumMedia={raw_count})")
        attachments.append(Attachment(url=url, content_type=_first(form, f"MediaContentType{i}") or None))
    text = (_first(form, "Body") or "").strip()
    payload = _first(form, "ButtonPayload") or None
    metadata: dict[str, Any] = {}
    for key, name in (("to", "To"), ("wa_id", "WaId"), ("message_type", "MessageType")):
        value = _first(form, name)
        if value:
            metadata[key] = value
    if payload and not text:
        text = (_first(form, "ButtonText") or "").strip()
    lat, lng = _first(form, "Latitude"), _first(form, "Longitude")
    if lat and lng:
        metadata["location"] = {"latitude": lat, "longitude": lng, "name": _first(form, "Label"),
                                "address": _first(form, "Address")}
        if not text:
            text = location_text(lat, lng, _first(form, "Label"), _first(form, "Address"))
    if not text and not attachments and not payload:
        raise PayloadError("the message has no text, media or button reply")
    return InboundMessage(
        channel=channel,
        external_user_id=external_id,
        provider_message_id=sid,
        text=text,
        payload=payload,
        display_name=(_first(form, "ProfileName") or None) if channel == WHATSAPP else None,
        attachments=tuple(attachments),
        raw_metadata=metadata,
    )


def location_text(lat: str, lng: str, name: str | None, address: str | None) -> str:
    """A shared location as the text attendants (and the bot) see."""
    place = " — ".join(p for p in (name, address) if p)
    return f"Localização: {place} ({lat}, {lng})" if place else f"Localização: ({lat}, {lng})"


def parse_status(form: Form) -> StatusReport | None:
    """A status callback; None for statuses that do not move a sent message forward."""
    sid = _first(form, "MessageSid") or _first(form, "SmsSid")
    raw = _first(form, "MessageStatus") or _first(form, "SmsStatus")
    if not sid:
        raise PayloadError("MessageSid is missing")
    if not raw:
        raise PayloadError("MessageStatus is missing")
    status = _STATUS_MAP.get(raw.lower())
    if status is None:
        return None
    return StatusReport(sid, status, _first(form, "ErrorCode") or None)


def empty_twiml() -> str:
    """The acknowledgement for an inbound webhook: no immediate reply (replies go via the API)."""
    return str(MessagingResponse())


def render_text(message: OutboundMessage) -> str:
    """Free-form WhatsApp/SMS messages cannot carry buttons: offer them as numbered options."""
    if not message.buttons:
        return message.text
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(message.buttons, start=1))
    return f"{message.text}\n\n{options}\nResponda com o número da opção."


class TwilioSender:
    """Sends one message through `POST /2010-04-01/Accounts/{sid}/Messages.json`.

    `status_callback` (our `/channels/twilio/status` URL) asks Twilio for delivery reports.
    """

    def __init__(self, *, api_base: str, account_sid: str, auth_token: str, from_address: str,
                 address_prefix: str = "", timeout: float = 15.0, status_callback: str | None = None) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.from_address = from_address
        self.prefix = address_prefix  # "whatsapp:" for WhatsApp, "" for SMS
        self.status_callback = status_callback
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._client.aclose()

    def _to(self, external_user_id: str) -> str:
        if self.prefix and not external_user_id.startswith(self.prefix):
            return self.prefix + external_user_id
        return external_user_id

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver; returns Twilio's MessageSid. 5xx/429/network errors are retryable.

        A message carrying a template goes out as that template (`ContentSid`, no `Body`)."""
        if message.template is not None:
            return await self._send_outbound_template(message.external_user_id, message.template)
        form = {"To": self._to(message.external_user_id), "From": self.from_address, "Body": render_text(message)}
        if message.image:
            form["MediaUrl"] = message.image
        return await self._post(form)

    async def send_template(self, external_user_id: str, content_sid: str,
                            variables: dict[str, str] | None = None) -> str | None:
        """Send an approved content template (the only thing allowed outside the 24-hour window)."""
        form = {"To": self._to(external_user_id), "From": self.from_address, "ContentSid": content_sid}
        if variables:
            form["ContentVariables"] = json.dumps(variables, ensure_ascii=False)
        return await self._post(form)

    async def _send_outbound_template(self, external_user_id: str, template: OutboundTemplate) -> str | None:
        if not template.twilio_content_sid:
            raise ChannelError(f"template {template.id} has no Twilio Content SID", retryable=False)
        variables = {str(i): value for i, value in enumerate(template.variables, start=1)}
        return await self.send_template(external_user_id, template.twilio_content_sid, variables or None)

    async def _post(self, form: dict[str, str]) -> str | None:
        if self.status_callback:
            form = {**form, "StatusCallback": self.status_callback}
        try:
            resp = await self._client.post(self.url, data=form)
        except httpx.HTTPError as exc:
            raise ChannelError(f"twilio unreachable: {type(exc).__name__}") from exc
        if resp.status_code in (200, 201):
            sid = resp.json().get("sid")
            return str(sid) if sid else None
        retryable = resp.status_code >= 500 or resp.status_code == 429
        code = None
        try:
            code = resp.json().get("code")
        except ValueError:
            pass
        raise ChannelError(f"twilio answered {resp.status_code} (code {code})", retryable=retryable)


# --- media ------------------------------------------------------------------------------

_MEDIA_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[A-Za-z0-9]{2,64})/Messages/[A-Za-z0-9]{2,64}/Media/[A-Za-z0-9]{2,64}$"
)


def media_url(url: str, *, api_base: str, account_sid: str) -> str | None:
    """Where to fetch a `MediaUrl{N}`: its path on `api_base` (TWILIO_API_BASE), only when it is
    a media resource of our own account (None otherwise: never send our credentials elsewhere)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return None
    match = _MEDIA_PATH.match(parts.path)
    if match is None or match["account"] != account_sid:
        return None
    return f"{api_base.rstrip('/')}{parts.path}"


async def fetch_media(url: str, *, api_base: str, account_sid: str, auth_token: str, timeout: float = 20.0,
                      max_bytes: int = MAX_MEDIA_BYTES,
                      allowed_hosts: Sequence[str] = TWILIO_MEDIA_HOSTS) -> tuple[bytes, str | None]:
    """Download one inbound media item: (bytes, Content-Type). Raises ChannelError (MediaTooLarge
    past `max_bytes`); error messages carry statuses and class names, never content.

    Only `allowed_hosts` (Twilio's API and CDN) and the API base's own origin are fetched, every
    redirect re-checked; the credentials are sent to the API base only."""
    target = media_url(url, api_base=api_base, account_sid=account_sid)
    if target is None:
        raise ChannelError("not a media URL of this Twilio account", retryable=False)

    def allowed(candidate: str) -> bool:
        return host_allowed(candidate, allowed_hosts, (origin_of(api_base),))

    async with httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout) as client:
        return await download_capped(client, target, "twilio media", max_bytes, allowed=allowed)
