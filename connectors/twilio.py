"""Twilio (WhatsApp and SMS): sending through the Messages REST API.

Inbound webhooks and signature checks arrive with the channels work; this module already
renders and sends, so the outbox can deliver to Twilio channels.
"""

from __future__ import annotations

import httpx

from connectors.base import ChannelError, OutboundMessage

DEFAULT_API_BASE = "https://api.twilio.com"


def render_text(message: OutboundMessage) -> str:
    """Free-form WhatsApp/SMS messages cannot carry buttons: offer them as numbered options."""
    if not message.buttons:
        return message.text
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(message.buttons, start=1))
    return f"{message.text}\n\n{options}\nResponda com o número da opção."


class TwilioSender:
    """Sends one message through `POST /2010-04-01/Accounts/{sid}/Messages.json`."""

    def __init__(self, *, api_base: str, account_sid: str, auth_token: str, from_address: str,
                 address_prefix: str = "", timeout: float = 15.0) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.from_address = from_address
        self.prefix = address_prefix  # "whatsapp:" for WhatsApp, "" for SMS
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._client.aclose()

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver; returns Twilio's MessageSid. 5xx/429/network errors are retryable."""
        to = message.external_user_id
        if self.prefix and not to.startswith(self.prefix):
            to = self.prefix + to
        form = {"To": to, "From": self.from_address, "Body": render_text(message)}
        if message.image:
            form["MediaUrl"] = message.image
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
