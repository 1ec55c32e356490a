"""Messenger and Instagram Direct (one Messenger Platform API): webhook events, rendering, sending.

Instagram Direct messages go through the same webhook event shapes and the same Send API as
Messenger, so one module serves both channels (`channel` says which).

Shapes and limits relied on (developers.facebook.com):
- Webhook events: `object: instagram|page`, `entry[].messaging[]` with
  `sender.id`, `message` (`mid`, `text`, `quick_reply.payload`, `attachments[].payload.url`,
  `is_echo` for our own messages), `postback` (`title`, `payload`, `mid`), `read` (`mid` on
  Instagram, `watermark` on Messenger) and `delivery` (`mids`, `watermark`).
- Sending: `POST /me/messages` — at most 13 quick replies, titles of 20 characters,
  payloads of 1000; `messaging_type: RESPONSE` inside the standard 24-hour window and
  `MESSAGE_TAG` + `tag: HUMAN_AGENT` for a person's reply up to 7 days after the patient's last
  message. Outside its window a send fails with error code 10 (subcodes 2018278 on Messenger,
  2534022 on Instagram).
- Media: attachments carry a CDN `payload.url` (no auth).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import (
    MAX_MEDIA_BYTES,
    META_MEDIA_HOSTS,
    Attachment,
    ChannelError,
    InboundMessage,
    OutboundMessage,
    download_capped,
)
from connectors.meta_common import (
    CHOOSE_TEXT,
    GraphClient,
    GraphError,
    PayloadError,
    StatusReport,
    WatermarkReport,
    WebhookBatch,
    as_list,
    as_obj,
    as_str,
    clip,
    download_allowed,
    numbered_text,
    provider_key,
)

# Send API limits (see the module docstring).
MAX_QUICK_REPLIES, QUICK_REPLY_TITLE, QUICK_REPLY_PAYLOAD = 13, 20, 1000

_MESSENGER_MEDIA_TYPES = {"image": "image/*", "audio": "audio/*", "video": "video/*",
                          "file": "application/octet-stream"}


# --- parsing --------------------------------------------------------------------------


def parse_messaging_entry(entry: dict[str, Any], where: str, channel: str, batch: WebhookBatch) -> None:
    batch.ignored += len(entry.get("changes") or []) if isinstance(entry.get("changes"), list) else 0
    batch.ignored += len(entry.get("standby") or []) if isinstance(entry.get("standby"), list) else 0
    for j, event in enumerate(as_list(entry.get("messaging"), f"{where}.messaging", batch)):
        ewhere = f"{where}.messaging[{j}]"
        try:
            _messaging_event(event, channel, batch)
        except PayloadError as exc:
            batch.errors.append(f"{ewhere}: {exc}")


def _messaging_event(event: Any, channel: str, batch: WebhookBatch) -> None:
    if not isinstance(event, dict):
        raise PayloadError("not an object")
    sender = event.get("sender")
    sender_id = as_str(sender.get("id")) if isinstance(sender, dict) else None
    if not sender_id:
        raise PayloadError("`sender.id` is required")
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            batch.echoes += 1  # our own message coming back: never a patient turn
            return
        if message.get("is_deleted") or message.get("is_unsupported"):
            batch.ignored += 1
            return
        mid = as_str(message.get("mid"))
        if not mid:
            raise PayloadError("`message.mid` is required")
        payload = as_str(as_obj(message.get("quick_reply")).get("payload"))
        attachments = []
        for att in message.get("attachments") or []:
            if not isinstance(att, dict):
                continue
            url = as_str(as_obj(att.get("payload")).get("url"))
            kind = as_str(att.get("type")) or "file"
            if url:
                attachments.append(Attachment(url=url, content_type=_MESSENGER_MEDIA_TYPES.get(kind)))
        text = (as_str(message.get("text")) or "").strip()
        if not text and not attachments and not payload:
            batch.ignored += 1  # stickers without URL, story mentions, shares: nothing to answer
            return
        batch.messages.append(InboundMessage(
            channel=channel, external_user_id=sender_id, provider_message_id=provider_key(mid), text=text,
            payload=payload, attachments=tuple(attachments), raw_metadata={"type": "message"},
        ))
        return
    if message is not None:
        raise PayloadError("`message` must be an object")
    postback = event.get("postback")
    if isinstance(postback, dict):
        payload = as_str(postback.get("payload"))
        if not payload:
            raise PayloadError("`postback.payload` is required")
        mid = as_str(postback.get("mid")) or f"postback:{sender_id}:{as_str(event.get('timestamp')) or ''}"
        batch.messages.append(InboundMessage(
            channel=channel, external_user_id=sender_id, provider_message_id=provider_key(mid),
            text=as_str(postback.get("title")) or "", payload=payload, raw_metadata={"type": "postback"},
        ))
        return
    for kind, status in (("delivery", "delivered"), ("read", "read")):
        receipt = event.get(kind)
        if not isinstance(receipt, dict):
            continue
        mids = [m for m in (receipt.get("mid"), *(receipt.get("mids") or [])) if as_str(m)]
        for m in mids:
            batch.statuses.append(StatusReport(channel, provider_key(str(m)), status))
        watermark = receipt.get("watermark")
        if isinstance(watermark, int) and not isinstance(watermark, bool):
            until = datetime.fromtimestamp(watermark / 1000, tz=UTC)
            batch.watermarks.append(WatermarkReport(channel, sender_id, status, until))
        if not mids and not isinstance(watermark, int):
            raise PayloadError(f"`{kind}` has neither `mid(s)` nor `watermark`")
        return
    batch.ignored += 1  # reactions, referrals, opt-ins, seen-by-page events…


# --- rendering ------------------------------------------------------------------------


def render_messaging(message: OutboundMessage, *, human_agent: bool = False) -> dict[str, Any]:
    """The Send API body (Messenger/Instagram) for one reply's text and quick replies."""
    text, buttons = message.text, message.buttons
    msg: dict[str, Any]
    fits = (0 < len(buttons) <= MAX_QUICK_REPLIES
            and all(b.payload and len(b.payload) <= QUICK_REPLY_PAYLOAD for b in buttons))
    if fits:
        msg = {"text": text or CHOOSE_TEXT, "quick_replies": [
            {"content_type": "text", "title": clip(b.title, QUICK_REPLY_TITLE), "payload": b.payload}
            for b in buttons]}
    else:
        msg = {"text": numbered_text(text, buttons) if buttons else text}
    body: dict[str, Any] = {"recipient": {"id": message.external_user_id}, "message": msg}
    if human_agent:
        body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    else:
        body["messaging_type"] = "RESPONSE"
    return body



# --- sending --------------------------------------------------------------------------


class MessengerSender:
    """Messenger or Instagram Direct through the Send API: `POST /{version}/me/messages`.

    Bot and system replies go as `RESPONSE`; an attendant's reply that Meta refuses as outside
    the standard window is sent again with the `HUMAN_AGENT` tag (valid up to 7 days).
    """

    def __init__(self, *, api_base: str, access_token: str, channel: str, timeout: float = 15.0) -> None:
        self._graph = GraphClient(api_base=api_base, access_token=access_token, timeout=timeout)
        self.channel = channel

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._graph.close()

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver (an image first, when there is one); returns the text's `message_id`."""
        mid: str | None = None
        if message.image:
            mid = await self._send(message, {
                "recipient": {"id": message.external_user_id}, "messaging_type": "RESPONSE",
                "message": {"attachment": {"type": "image", "payload": {"url": message.image, "is_reusable": True}}},
            })
        if message.text or message.buttons:
            mid = await self._send(message, render_messaging(message))
        return mid

    async def _send(self, message: OutboundMessage, body: dict[str, Any]) -> str | None:
        result = await self._graph.post("/me/messages", body, self.channel)
        if isinstance(result, GraphError) and result.outside_window and message.sender == "agent":
            body = {**body, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
            result = await self._graph.post("/me/messages", body, self.channel)
        if isinstance(result, GraphError):
            raise result.to_channel_error(self.channel)
        mid = result.get("message_id")
        return provider_key(str(mid)) if mid else None


# --- media ------------------------------------------------------------------------------


async def fetch_attachment_url(url: str, *, api_base: str, timeout: float = 20.0,
                               max_bytes: int = MAX_MEDIA_BYTES,
                               allowed_hosts: Sequence[str] = META_MEDIA_HOSTS) -> tuple[bytes, str | None]:
    """Download an Instagram/Messenger attachment from its CDN `payload.url` (no credentials):
    (bytes, Content-Type). Raises ChannelError (MediaTooLarge past `max_bytes`)."""
    if not download_allowed(url, api_base, allowed_hosts):
        raise ChannelError("not a Meta CDN URL", retryable=False)
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await download_capped(client, url, "meta cdn", max_bytes,
                                     allowed=lambda u: download_allowed(u, api_base, allowed_hosts))
