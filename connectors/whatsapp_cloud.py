"""WhatsApp Cloud API: webhook messages and statuses, rendering, sending, media.

Shapes and limits relied on (developers.facebook.com):
- WhatsApp "messages webhook reference": `object: whatsapp_business_account`,
  `entry[].changes[]` with `field: messages` and `value.contacts[].profile.name`/`wa_id`,
  `value.messages[]` (`from`, `id`, `type`: text, interactive `button_reply`/`list_reply`,
  button, image, document, audio, video, sticker, location…) and `value.statuses[]` (`id`,
  `status` sent/delivered/read/failed, `errors[].code`). Media arrive as ids, not URLs.
- Sending: `POST /{phone-number-id}/messages` — reply buttons at most 3 with titles of at most
  20 characters and ids of at most 256; lists at most 10 rows, row titles at most 24,
  descriptions 72, ids 200, list button label 20; interactive body text at most 1024.
- Media: Cloud API media are ids — `GET /{version}/{media-id}` (bearer token) answers
  `{"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}` and the file is a
  `GET` of that `url` with the same bearer header (the URL expires after 5 minutes: fetch it
  fresh every time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from connectors.base import (
    MAX_MEDIA_BYTES,
    META_MEDIA_HOSTS,
    Attachment,
    ChannelError,
    InboundMessage,
    MediaTooLarge,
    OutboundMessage,
    OutboundTemplate,
    download_capped,
)
from connectors.meta_common import (
    CHOOSE_TEXT,
    GRAPH_API_VERSION,
    WHATSAPP,
    GraphClient,
    GraphError,
    PayloadError,
    StatusReport,
    WebhookBatch,
    all_unique,
    as_list,
    as_obj,
    as_str,
    clip,
    download_allowed,
    json_or_none,
    numbered_text,
    provider_key,
)

# WhatsApp limits (see the module docstring).
WA_MAX_BUTTONS, WA_BUTTON_TITLE, WA_BUTTON_ID = 3, 20, 256
WA_MAX_ROWS, WA_ROW_TITLE, WA_ROW_DESCRIPTION, WA_ROW_ID, WA_LIST_BUTTON = 10, 24, 72, 200, 20
WA_INTERACTIVE_BODY, WA_TEXT_BODY, WA_CAPTION = 1024, 4096, 1024

LIST_BUTTON_LABEL = "Ver opções"
LIST_SECTION_TITLE = "Opções"

_WA_MEDIA = ("image", "document", "audio", "video", "sticker")
_WA_STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}


# --- parsing --------------------------------------------------------------------------


def parse_whatsapp_entry(entry: dict[str, Any], where: str, batch: WebhookBatch) -> None:
    for j, change in enumerate(as_list(entry.get("changes"), f"{where}.changes", batch)):
        cwhere = f"{where}.changes[{j}]"
        if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
            batch.errors.append(f"{cwhere}: `value` must be an object")
            continue
        if change.get("field", "messages") != "messages":
            batch.ignored += 1
            continue
        value = change["value"]
        names: dict[str, str] = {}
        for contact in as_list(value.get("contacts"), f"{cwhere}.value.contacts", batch):
            if isinstance(contact, dict) and as_str(contact.get("wa_id")):
                name = as_str(as_obj(contact.get("profile")).get("name"))
                if name:
                    names[str(as_str(contact.get("wa_id")))] = name
        business = as_obj(value.get("metadata"))
        for k, msg in enumerate(as_list(value.get("messages"), f"{cwhere}.value.messages", batch)):
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
        for k, st in enumerate(as_list(value.get("statuses"), f"{cwhere}.value.statuses", batch)):
            swhere = f"{cwhere}.value.statuses[{k}]"
            if not isinstance(st, dict) or not as_str(st.get("id")) or not as_str(st.get("status")):
                batch.errors.append(f"{swhere}: `id` and `status` are required")
                continue
            status = _WA_STATUS.get(str(st["status"]))
            if status is None:
                batch.ignored += 1
                continue
            code = None
            errors = st.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code = as_str(errors[0].get("code"))
            batch.statuses.append(StatusReport(WHATSAPP, provider_key(str(st["id"])), status, code))


def _whatsapp_message(msg: Any, names: dict[str, str], business: dict[str, Any]) -> InboundMessage | None:
    if not isinstance(msg, dict):
        raise PayloadError("not an object")
    mid, sender, kind = as_str(msg.get("id")), as_str(msg.get("from")), as_str(msg.get("type"))
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
        text = as_str((body or {}).get("body") if isinstance(body, dict) else None) or ""
        if not text:
            raise PayloadError("text message without `text.body`")
    elif kind == "interactive":
        if not isinstance(body, dict):
            raise PayloadError("interactive message without `interactive`")
        reply_kind = body.get("type")
        reply = body.get(reply_kind) if isinstance(reply_kind, str) else None
        if reply_kind not in ("button_reply", "list_reply"):
            return None  # flows and other interactive answers are not conversation turns
        if not isinstance(reply, dict) or not as_str(reply.get("id")):
            raise PayloadError(f"`interactive.{reply_kind}.id` is required")
        payload = str(reply["id"])
        text = as_str(reply.get("title")) or ""
    elif kind == "button":
        if not isinstance(body, dict) or not (as_str(body.get("payload")) or as_str(body.get("text"))):
            raise PayloadError("button message without `button.payload`/`button.text`")
        payload = as_str(body.get("payload"))
        text = as_str(body.get("text")) or ""
    elif kind in _WA_MEDIA:
        if not isinstance(body, dict) or not as_str(body.get("id")):
            raise PayloadError(f"{kind} message without a media id")
        # Cloud API media are ids: the file is fetched with GET /{media-id} and the access token.
        attachments.append(Attachment(url=f"meta-media:{body['id']}", content_type=as_str(body.get("mime_type")),
                                      filename=as_str(body.get("filename"))))
        text = as_str(body.get("caption")) or ""
    elif kind == "location":
        if not isinstance(body, dict) or body.get("latitude") is None or body.get("longitude") is None:
            raise PayloadError("location message without coordinates")
        lat, lng = str(body["latitude"]), str(body["longitude"])
        name, address = as_str(body.get("name")), as_str(body.get("address"))
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



# --- rendering ------------------------------------------------------------------------


def render_whatsapp(message: OutboundMessage) -> dict[str, Any]:
    """The Cloud API request body for one reply (reply buttons, list, image or text)."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": message.external_user_id}
    text, buttons = message.text, message.buttons
    body = text or CHOOSE_TEXT
    payloads = [b.payload for b in buttons]
    if buttons and len(body) <= WA_INTERACTIVE_BODY and all(payloads) and all_unique(payloads):
        if len(buttons) <= WA_MAX_BUTTONS and all(len(p) <= WA_BUTTON_ID for p in payloads):
            titles = [clip(b.title, WA_BUTTON_TITLE) for b in buttons]
            if all_unique(titles):  # WhatsApp refuses two buttons with the same title
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
                row = {"id": b.payload, "title": clip(b.title, WA_ROW_TITLE)}
                if len(b.title) > WA_ROW_TITLE:
                    row["description"] = clip(b.title, WA_ROW_DESCRIPTION)
                rows.append(row)
            if message.image:
                body = clip(f"{body}\n{message.image}", WA_INTERACTIVE_BODY)
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



# --- sending --------------------------------------------------------------------------


class WhatsAppCloudSender:
    """WhatsApp through the Cloud API: `POST /{version}/{phone-number-id}/messages`."""

    def __init__(self, *, api_base: str, access_token: str, phone_number_id: str, timeout: float = 15.0) -> None:
        self._graph = GraphClient(api_base=api_base, access_token=access_token, timeout=timeout)
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



# --- media ------------------------------------------------------------------------------

MEDIA_PREFIX = "meta-media:"  # how a WhatsApp Cloud API media id is stored as an attachment URL
_MEDIA_ID = re.compile(r"^[0-9A-Za-z_.-]{1,128}$")


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
        data = json_or_none(resp)
        if resp.status_code != 200 or not isinstance(data, dict):
            code = as_obj(as_obj(data).get("error")).get("code")
            raise ChannelError(f"{what} answered {resp.status_code} (code {code})",
                               retryable=resp.status_code >= 500 or resp.status_code == 429)
        url = as_str(data.get("url"))
        if not url or not download_allowed(url, api_base, allowed_hosts):
            raise ChannelError(f"{what}: no usable download URL", retryable=False)
        size = data.get("file_size")
        if isinstance(size, int) and not isinstance(size, bool) and size > max_bytes:
            raise MediaTooLarge(max_bytes)
        content, header_type = await download_capped(
            client, url, what, max_bytes, allowed=lambda u: download_allowed(u, api_base, allowed_hosts))
        return content, as_str(data.get("mime_type")) or header_type

