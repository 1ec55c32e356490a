"""Meta: WhatsApp Cloud API, Instagram Direct and Messenger — webhooks, signatures, sending.

Shapes and limits relied on (developers.facebook.com):
- Webhooks: the `GET` verification request (`hub.mode=subscribe`, `hub.verify_token`,
  `hub.challenge`, answer the challenge) and `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw body keyed with the app secret>` on every `POST`.
- WhatsApp "messages webhook reference": `object: whatsapp_business_account`,
  `entry[].changes[]` with `field: messages` and `value.contacts[].profile.name`/`wa_id`,
  `value.messages[]` (`from`, `id`, `type`: text, interactive `button_reply`/`list_reply`,
  button, image, document, audio, video, sticker, location…) and `value.statuses[]` (`id`,
  `status` sent/delivered/read/failed, `errors[].code`). Media arrive as ids, not URLs.
- Instagram / Messenger webhook events: `object: instagram|page`, `entry[].messaging[]` with
  `sender.id`, `message` (`mid`, `text`, `quick_reply.payload`, `attachments[].payload.url`,
  `is_echo` for our own messages), `postback` (`title`, `payload`, `mid`), `read` (`mid` on
  Instagram, `watermark` on Messenger) and `delivery` (`mids`, `watermark`).
- Sending: WhatsApp `POST /{phone-number-id}/messages` — reply buttons at most 3 with titles
  of at most 20 characters and ids of at most 256; lists at most 10 rows, row titles at most 24,
  descriptions 72, ids 200, list button label 20; interactive body text at most 1024.
  Messenger/Instagram `POST /me/messages` — at most 13 quick replies, titles of 20 characters,
  payloads of 1000; `messaging_type: RESPONSE` inside the standard 24-hour window and
  `MESSAGE_TAG` + `tag: HUMAN_AGENT` for a person's reply up to 7 days after the patient's last
  message. Outside its window a send fails with error code 10 (subcodes 2018278 on Messenger,
  2534022 on Instagram).
- Media: WhatsApp Cloud API media are ids — `GET /{version}/{media-id}` (bearer token) answers
  `{"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}` and the file is a
  `GET` of that `url` with the same bearer header (the URL expires after 5 minutes: fetch it
  fresh every time). Instagram/Messenger attachments carry a CDN `payload.url` (no auth).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import (
    MAX_MEDIA_BYTES,
    META_MEDIA_HOSTS,
    Attachment,
    Button,
    ChannelError,
    InboundMessage,
    MediaTooLarge,
    OutboundMessage,
    OutboundTemplate,
    download_capped,
    host_allowed,
    origin_of,
)

GRAPH_API_VERSION = "v21.0"
DEFAULT_GRAPH_API_BASE = "https://graph.facebook.com"

WHATSAPP = "whatsapp_meta"
INSTAGRAM = "instagram"
MESSENGER = "messenger"
CHANNEL_OF_OBJECT = {"whatsapp_business_account": WHATSAPP, "instagram": INSTAGRAM, "page": MESSENGER}

# Meta limits (see the module docstring).
WA_MAX_BUTTONS, WA_BUTTON_TITLE, WA_BUTTON_ID = 3, 20, 256
WA_MAX_ROWS, WA_ROW_TITLE, WA_ROW_DESCRIPTION, WA_ROW_ID, WA_LIST_BUTTON = 10, 24, 72, 200, 20
WA_INTERACTIVE_BODY, WA_TEXT_BODY, WA_CAPTION = 1024, 4096, 1024
MAX_QUICK_REPLIES, QUICK_REPLY_TITLE, QUICK_REPLY_PAYLOAD = 13, 20, 1000

LIST_BUTTON_LABEL = "Ver opções"
LIST_SECTION_TITLE = "Opções"
CHOOSE_TEXT = "Escolha uma opção:"

_WA_MEDIA = ("image", "document", "audio", "video", "sticker")
_WA_STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
_MESSENGER_MEDIA_TYPES = {"image": "image/*", "audio": "audio/*", "video": "video/*",
                          "file": "application/octet-stream"}
_WINDOW_SUBCODES = {2018278, 2534022}
# Graph API error codes worth retrying: temporary errors, throttling and rate limits.
_RETRYABLE_CODES = {1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131000, 131016, 131056, 133004}


MAX_ID = 512  # the hub's provider_message_id column (migration 0006)


class PayloadError(ValueError):
    """The request is signed but not a usable Meta webhook (HTTP 400)."""


def provider_key(mid: str) -> str:
    """The id we store for a Meta message id: the id itself (Instagram's, longer than 128
    characters, included). Only an id longer than the column — never seen from Meta — becomes
    a digest, computed the same way for inbound messages, send results and delivery reports,
    so it cannot make a webhook fail and dedupe/status lookups still match."""
    if len(mid) <= MAX_ID:
        return mid
    return "sha256:" + hashlib.sha256(mid.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StatusReport:
    """A delivery report for one of our messages (`status`: sent, delivered, read, failed)."""

    channel: str
    provider_message_id: str
    status: str
    error_code: str | None = None


@dataclass(frozen=True)
class WatermarkReport:
    """Messenger's "everything sent to `external_user_id` before `until` is delivered/read"."""

    channel: str
    external_user_id: str
    status: str
    until: datetime


@dataclass
class WebhookBatch:
    """Everything usable in one webhook request, plus what had to be rejected (paths only)."""

    channel: str | None
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusReport] = field(default_factory=list)
    watermarks: list[WatermarkReport] = field(default_factory=list)
    echoes: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)


# --- verification ---------------------------------------------------------------------


def valid_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """Check `X-Hub-Signature-256` (constant-time compare)."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def sign(app_secret: str, raw_body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `raw_body` (used by local simulators)."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_subscription(params: dict[str, str], verify_token: str | None) -> str | None:
    """The challenge to echo when the handshake is ours, else None (answer 403)."""
    token = params.get("hub.verify_token") or ""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


# --- parsing --------------------------------------------------------------------------


def parse_webhook(data: Any) -> WebhookBatch:
    """Normalize one webhook body. Raises PayloadError when nothing in it is usable.

    Items with a broken shape are listed in `errors` (by path, never by content) and the rest of
    the batch is still returned: a bad message never costs its neighbours.
    """
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    obj = data.get("object")
    entries = data.get("entry")
    if not isinstance(obj, str) or not obj:
        raise PayloadError("`object` is missing")
    if not isinstance(entries, list):
        raise PayloadError("`entry` must be a list")
    channel = CHANNEL_OF_OBJECT.get(obj)
    batch = WebhookBatch(channel=channel)
    if channel is None:
        batch.ignored = len(entries)
        return batch
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        if not isinstance(entry, dict):
            batch.errors.append(f"{where}: not an object")
            continue
        if channel == WHATSAPP:
            _parse_whatsapp_entry(entry, where, batch)
        else:
            _parse_messaging_entry(entry, where, channel, batch)
    return batch


def _list(value: Any, where: str, batch: WebhookBatch) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        batch.errors.append(f"{where}: not a list")
        return []
    return value


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _parse_whatsapp_entry(entry: dict[str, Any], where: str, batch: WebhookBatch) -> None:
    for j, change in enumerate(_list(entry.get("changes"), f"{where}.changes", batch)):
        cwhere = f"{where}.changes[{j}]"
        if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
            batch.errors.append(f"{cwhere}: `value` must be an object")
            continue
        if change.get("field", "messages") != "messages":
            batch.ignored += 1
            continue
        value = change["value"]
        names: dict[str, str] = {}
        for contact in _list(value.get("contacts"), f"{cwhere}.value.contacts", batch):
            if isinstance(contact, dict) and _str(contact.get("wa_id")):
                name = _str(_obj(contact.get("profile")).get("name"))
                if name:
                    names[str(_str(contact.get("wa_id")))] = name
        business = _obj(value.get("metadata"))
        for k, msg in enumerate(_list(value.get("messages"), f"{cwhere}.value.messages", batch)):
            mwhere = f"{cwhere}.value.messages[{k}]"
            try:
                parsed = _whatsapp_message(msg, names, business)
            except PayloadError as exc:
                batch.errors.append(f"{mwhere}: {exc}")
                continue
            if parsed is None:
                batch.ignored += 1
            else:
                batch.messages.append(parsed)
        for k, st in enumerate(_list(value.get("statuses"), f"{cwhere}.value.statuses", batch)):
            swhere = f"{cwhere}.value.statuses[{k}]"
            if not isinstance(st, dict) or not _str(st.get("id")) or not _str(st.get("status")):
                batch.errors.append(f"{swhere}: `id` and `status` are required")
                continue
            status = _WA_STATUS.get(str(st["status"]))
            if status is None:
                batch.ignored += 1
                continue
            code = None
            errors = st.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code = _str(errors[0].get("code"))
            batch.statuses.append(StatusReport(WHATSAPP, provider_key(str(st["id"])), status, code))


def _whatsapp_message(msg: Any, names: dict[str, str], business: dict[str, Any]) -> InboundMessage | None:
    if not isinstance(msg, dict):
        raise PayloadError("not an object")
    mid, sender, kind = _str(msg.get("id")), _str(msg.get("from")), _str(msg.get("type"))
    if not mid or not sender or not kind:
        raise PayloadError("`id`, `from` and `type` are required")
    if msg.get("group_id"):
        return None  # group chats are not patient conversations
    text = ""
    payload: str | None = None
    attachments: list[Attachment] = []
    metadata: dict[str, Any] = {"type": kind}
    if business.get("phone_number_id"):
        metadata["phone_number_id"] = str(business["phone_number_id"])
    body = msg.get(kind)
    if kind == "text":
        text = _str((body or {}).get("body") if isinstance(body, dict) else None) or ""
        if not text:
            raise PayloadError("text message without `text.body`")
    elif kind == "interactive":
        if not isinstance(body, dict):
            raise PayloadError("interactive message without `interactive`")
        reply_kind = body.get("type")
        reply = body.get(reply_kind) if isinstance(reply_kind, str) else None
        if reply_kind not in ("button_reply", "list_reply"):
            return None  # flows and other interactive answers are not conversation turns
        if not isinstance(reply, dict) or not _str(reply.get("id")):
            raise PayloadError(f"`interactive.{reply_kind}.id` is required")
        payload = str(reply["id"])
        text = _str(reply.get("title")) or ""
    elif kind == "button":
        if not isinstance(body, dict) or not (_str(body.get("payload")) or _str(body.get("text"))):
            raise PayloadError("button message without `button.payload`/`button.text`")
        payload = _str(body.get("payload"))
        text = _str(body.get("text")) or ""
    elif kind in _WA_MEDIA:
        if not isinstance(body, dict) or not _str(body.get("id")):
            raise PayloadError(f"{kind} message without a media id")
        # Cloud API media are ids: the file is fetched with GET /{media-id} and the access token.
        attachments.append(Attachment(url=f"meta-media:{body['id']}", content_type=_str(body.get("mime_type")),
                                      filename=_str(body.get("filename"))))
        text = _str(body.get("caption")) or ""
    elif kind == "location":
        if not isinstance(body, dict) or body.get("latitude") is None or body.get("longitude") is None:
            raise PayloadError("location message without coordinates")
        lat, lng = str(body["latitude"]), str(body["longitude"])
        name, address = _str(body.get("name")), _str(body.get("address"))
        metadata["location"] = {"latitude": lat, "longitude": lng, "name": name, "address": address}
        place = " — ".join(p for p in (name, address) if p)
        text = f"Localização: {place} ({lat}, {lng})" if place else f"Localização: ({lat}, {lng})"
    else:
        return None  # reactions, contacts, system notices, unsupported types: not turns
    return InboundMessage(
        channel=WHATSAPP,
        external_user_id=sender,
        provider_message_id=provider_key(mid),
        text=text,
        payload=payload,
        display_name=names.get(sender),
        attachments=tuple(attachments),
        raw_metadata=metadata,
    )


def _parse_messaging_entry(entry: dict[str, Any], where: str, channel: str, batch: WebhookBatch) -> None:
    batch.ignored += len(entry.get("changes") or []) if isinstance(entry.get("changes"), list) else 0
    batch.ignored += len(entry.get("standby") or []) if isinstance(entry.get("standby"), list) else 0
    for j, event in enumerate(_list(entry.get("messaging"), f"{where}.messaging", batch)):
        ewhere = f"{where}.messaging[{j}]"
        try:
            _messaging_event(event, channel, batch)
        except PayloadError as exc:
            batch.errors.append(f"{ewhere}: {exc}")


def _messaging_event(event: Any, channel: str, batch: WebhookBatch) -> None:
    if not isinstance(event, dict):
        raise PayloadError("not an object")
    sender = event.get("sender")
    sender_id = _str(sender.get("id")) if isinstance(sender, dict) else None
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
        mid = _str(message.get("mid"))
        if not mid:
            raise PayloadError("`message.mid` is required")
        payload = _str(_obj(message.get("quick_reply")).get("payload"))
        attachments = []
        for att in message.get("attachments") or []:
            if not isinstance(att, dict):
                continue
            url = _str(_obj(att.get("payload")).get("url"))
            kind = _str(att.get("type")) or "file"
            if url:
                attachments.append(Attachment(url=url, content_type=_MESSENGER_MEDIA_TYPES.get(kind)))
        text = (_str(message.get("text")) or "").strip()
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
        payload = _str(postback.get("payload"))
        if not payload:
            raise PayloadError("`postback.payload` is required")
        mid = _str(postback.get("mid")) or f"postback:{sender_id}:{_str(event.get('timestamp')) or ''}"
        batch.messages.append(InboundMessage(
            channel=channel, external_user_id=sender_id, provider_message_id=provider_key(mid),
            text=_str(postback.get("title")) or "", payload=payload, raw_metadata={"type": "postback"},
        ))
        return
    for kind, status in (("delivery", "delivered"), ("read", "read")):
        receipt = event.get(kind)
        if not isinstance(receipt, dict):
            continue
        mids = [m for m in (receipt.get("mid"), *(receipt.get("mids") or [])) if _str(m)]
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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def numbered_text(text: str, buttons: tuple[Button, ...]) -> str:
    """Options as numbered lines: the fallback when buttons do not fit the platform's limits."""
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(buttons, start=1))
    prompt = "Responda com o número da opção."
    return f"{text}\n\n{options}\n{prompt}" if text else f"{options}\n{prompt}"


def _unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)


def render_whatsapp(message: OutboundMessage) -> dict[str, Any]:
    """The Cloud API request body for one reply (reply buttons, list, image or text)."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": message.external_user_id}
    text, buttons = message.text, message.buttons
    body = text or CHOOSE_TEXT
    payloads = [b.payload for b in buttons]
    if buttons and len(body) <= WA_INTERACTIVE_BODY and all(payloads) and _unique(payloads):
        if len(buttons) <= WA_MAX_BUTTONS and all(len(p) <= WA_BUTTON_ID for p in payloads):
            titles = [_clip(b.title, WA_BUTTON_TITLE) for b in buttons]
            if _unique(titles):  # WhatsApp refuses two buttons with the same title
                interactive: dict[str, Any] = {
                    "type": "button",
                    "body": {"text": body},
                    "action": {"buttons": [{"type": "reply", "reply": {"id": p, "title": t}}
                                           for p, t in zip(payloads, titles, strict=True)]},
                }
                if message.image:
                    interactive["header"] = {"type": "image", "image": {"link": message.image}}
                return {**base, "type": "interactive", "interactive": interactive}
        if len(buttons) <= WA_MAX_ROWS and all(len(p) <= WA_ROW_ID for p in payloads):
            rows = []
            for b in buttons:
                row = {"id": b.payload, "title": _clip(b.title, WA_ROW_TITLE)}
                if len(b.title) > WA_ROW_TITLE:
                    row["description"] = _clip(b.title, WA_ROW_DESCRIPTION)
                rows.append(row)
            if message.image:
                body = _clip(f"{body}\n{message.image}", WA_INTERACTIVE_BODY)
            return {**base, "type": "interactive", "interactive": {
                "type": "list",
                "body": {"text": body},
                "action": {"button": LIST_BUTTON_LABEL, "sections": [{"title": LIST_SECTION_TITLE, "rows": rows}]},
            }}
    rendered = numbered_text(text, buttons) if buttons else text
    if message.image and len(rendered) <= WA_CAPTION:
        image: dict[str, Any] = {"link": message.image}
        if rendered:
            image["caption"] = rendered
        return {**base, "type": "image", "image": image}
    if message.image:
        rendered = f"{rendered}\n{message.image}"
    return {**base, "type": "text", "text": {"body": rendered[:WA_TEXT_BODY], "preview_url": False}}


def render_messaging(message: OutboundMessage, *, human_agent: bool = False) -> dict[str, Any]:
    """The Send API body (Messenger/Instagram) for one reply's text and quick replies."""
    text, buttons = message.text, message.buttons
    msg: dict[str, Any]
    fits = (0 < len(buttons) <= MAX_QUICK_REPLIES
            and all(b.payload and len(b.payload) <= QUICK_REPLY_PAYLOAD for b in buttons))
    if fits:
        msg = {"text": text or CHOOSE_TEXT, "quick_replies": [
            {"content_type": "text", "title": _clip(b.title, QUICK_REPLY_TITLE), "payload": b.payload}
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


@dataclass(frozen=True)
class GraphError:
    """The parts of a Graph API error we act on (never its message: it may echo content)."""

    status: int
    code: int | None
    subcode: int | None

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status == 429 or (self.code in _RETRYABLE_CODES)

    @property
    def outside_window(self) -> bool:
        return self.code == 10 and self.subcode in _WINDOW_SUBCODES

    def to_channel_error(self, what: str) -> ChannelError:
        return ChannelError(f"{what} answered {self.status} (code {self.code}/{self.subcode})",
                            retryable=self.retryable)


class _GraphClient:
    def __init__(self, *, api_base: str, access_token: str, timeout: float) -> None:
        self.base = f"{api_base.rstrip('/')}/{GRAPH_API_VERSION}"
        # Bearer header rather than ?access_token=: tokens never end up in URLs or access logs.
        self._client = httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {access_token}"})

    async def close(self) -> None:
        await self._client.aclose()

    async def post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any] | GraphError:
        try:
            resp = await self._client.post(f"{self.base}{path}", json=body)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what} unreachable: {type(exc).__name__}") from exc
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code == 200 and isinstance(data, dict):
            return data
        err = _obj(_obj(data).get("error"))
        code, sub = err.get("code"), err.get("error_subcode")
        return GraphError(resp.status_code, code if isinstance(code, int) else None,
                          sub if isinstance(sub, int) else None)


class WhatsAppCloudSender:
    """WhatsApp through the Cloud API: `POST /{version}/{phone-number-id}/messages`."""

    def __init__(self, *, api_base: str, access_token: str, phone_number_id: str, timeout: float = 15.0) -> None:
        self._graph = _GraphClient(api_base=api_base, access_token=access_token, timeout=timeout)
        self.path = f"/{phone_number_id}/messages"

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._graph.close()

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver; returns the `wamid`. Outside the 24-hour window the failure arrives later as
        a `failed` status (error 131047); templates (`send_template`) are the way out, and a
        message carrying a template goes out as that template."""
        if message.template is not None:
            return await self._send_outbound_template(message.external_user_id, message.template)
        return await self._send(render_whatsapp(message))

    async def _send_outbound_template(self, external_user_id: str, template: OutboundTemplate) -> str | None:
        if not template.meta_name:
            raise ChannelError(f"template {template.id} has no Meta template name", retryable=False)
        components: list[dict[str, Any]] = []
        if template.variables:
            components.append({"type": "body",
                               "parameters": [{"type": "text", "text": value} for value in template.variables]})
        # Quick-reply buttons of an approved template carry this message's payloads; the tap comes
        # back as a `button` message with that payload (parsed above), like an interactive reply.
        for index, payload in enumerate(template.button_payloads):
            components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                               "parameters": [{"type": "payload", "payload": payload}]})
        return await self.send_template(external_user_id, template.meta_name, template.language, components or None)

    async def send_template(self, external_user_id: str, name: str, language: str = "pt_BR",
                            components: list[dict[str, Any]] | None = None) -> str | None:
        """Send an approved message template (allowed outside the 24-hour window)."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = components
        return await self._send({"messaging_product": "whatsapp", "recipient_type": "individual",
                                 "to": external_user_id, "type": "template", "template": template})

    async def _send(self, body: dict[str, Any]) -> str | None:
        result = await self._graph.post(self.path, body, "whatsapp cloud api")
        if isinstance(result, GraphError):
            raise result.to_channel_error("whatsapp cloud api")
        messages = result.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            mid = messages[0].get("id")
            return provider_key(str(mid)) if mid else None
        return None


class MessengerSender:
    """Messenger or Instagram Direct through the Send API: `POST /{version}/me/messages`.

    Bot and system replies go as `RESPONSE`; an attendant's reply that Meta refuses as outside
    the standard window is sent again with the `HUMAN_AGENT` tag (valid up to 7 days).
    """

    def __init__(self, *, api_base: str, access_token: str, channel: str, timeout: float = 15.0) -> None:
        self._graph = _GraphClient(api_base=api_base, access_token=access_token, timeout=timeout)
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

MEDIA_PREFIX = "meta-media:"  # how a WhatsApp Cloud API media id is stored as an attachment URL
_MEDIA_ID = re.compile(r"^[0-9A-Za-z_.-]{1,128}$")


def _download_allowed(url: str, api_base: str, hosts: Sequence[str] = META_MEDIA_HOSTS) -> bool:
    """Meta's media and CDN hosts over HTTPS (`hosts`, META_MEDIA_HOSTS), or the Graph API base's
    own origin (a local stand-in in tests and the sandbox). Anything else is never fetched."""
    return host_allowed(url, hosts, (origin_of(api_base),))


async def fetch_whatsapp_media(media_id: str, *, api_base: str, access_token: str, timeout: float = 20.0,
                               max_bytes: int = MAX_MEDIA_BYTES,
                               allowed_hosts: Sequence[str] = META_MEDIA_HOSTS) -> tuple[bytes, str | None]:
    """Download a WhatsApp Cloud API media item: (bytes, MIME type). Looks the id up first (its
    download URL lives 5 minutes), then fetches that URL with the same bearer token. Raises
    ChannelError (MediaTooLarge past `max_bytes`)."""
    if not _MEDIA_ID.match(media_id):
        raise ChannelError("not a WhatsApp media id", retryable=False)
    what = "whatsapp media"
    headers = {"Authorization": f"Bearer {access_token}"}
    # Redirects are followed by download_capped, each re-checked; the bearer token stays on the
    # origin of the download URL (a hop elsewhere is fetched without it).
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        try:
            resp = await client.get(f"{api_base.rstrip('/')}/{GRAPH_API_VERSION}/{media_id}")
        except httpx.HTTPError as exc:
            raise ChannelError(f"{what} unreachable: {type(exc).__name__}") from exc
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code != 200 or not isinstance(data, dict):
            code = _obj(_obj(data).get("error")).get("code")
            raise ChannelError(f"{what} answered {resp.status_code} (code {code})",
                               retryable=resp.status_code >= 500 or resp.status_code == 429)
        url = _str(data.get("url"))
        if not url or not _download_allowed(url, api_base, allowed_hosts):
            raise ChannelError(f"{what}: no usable download URL", retryable=False)
        size = data.get("file_size")
        if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
            raise MediaTooLarge(max_bytes)
        content, header_type = await download_capped(
            client, url, what, max_bytes, allowed=lambda u: _download_allowed(u, api_base, allowed_hosts))
        return content, _str(data.get("mime_type")) or header_type


async def fetch_attachment_url(url: str, *, api_base: str, timeout: float = 20.0,
                               max_bytes: int = MAX_MEDIA_BYTES,
                               allowed_hosts: Sequence[str] = META_MEDIA_HOSTS) -> tuple[bytes, str | None]:
    """Download an Instagram/Messenger attachment from its CDN `payload.url` (no credentials):
    (bytes, Content-Type). Raises ChannelError (MediaTooLarge past `max_bytes`)."""
    if not _download_allowed(url, api_base, allowed_hosts):
        raise ChannelError("not a Meta CDN URL", retryable=False)
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await download_capped(client, url, "meta cdn", max_bytes,
                                     allowed=lambda u: _download_allowed(u, api_base, allowed_hosts))
