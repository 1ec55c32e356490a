"""Meta: WhatsApp Cloud API, Instagram Direct and Messenger — the webhook entry point.

One Meta app signs and delivers the webhooks of all three channels; this module verifies them
(with connectors/meta_common.py) and hands each entry to its channel's parser:
- connectors/meta_common.py: signature check (`X-Hub-Signature-256`), subscription handshake,
  the webhook batch types, the Graph API client and errors, shared rendering helpers;
- connectors/whatsapp_cloud.py: WhatsApp Cloud API messages/statuses, rendering, sending, media;
- connectors/messenger.py: Messenger and Instagram Direct events, rendering, sending, media.

The names of those modules stay importable from here (`connectors.meta`) for its callers.
"""

from __future__ import annotations

from typing import Any

from connectors.messenger import (
    MAX_QUICK_REPLIES,
    QUICK_REPLY_PAYLOAD,
    QUICK_REPLY_TITLE,
    MessengerSender,
    fetch_attachment_url,
    parse_messaging_entry,
    render_messaging,
)
from connectors.meta_common import (
    CHANNEL_OF_OBJECT,
    CHOOSE_TEXT,
    DEFAULT_GRAPH_API_BASE,
    GRAPH_API_VERSION,
    INSTAGRAM,
    MAX_ID,
    MESSENGER,
    WHATSAPP,
    GraphError,
    PayloadError,
    StatusReport,
    WatermarkReport,
    WebhookBatch,
    numbered_text,
    provider_key,
    sign,
    valid_signature,
    verify_subscription,
)
from connectors.whatsapp_cloud import (
    LIST_BUTTON_LABEL,
    LIST_SECTION_TITLE,
    MEDIA_PREFIX,
    WA_BUTTON_ID,
    WA_BUTTON_TITLE,
    WA_CAPTION,
    WA_INTERACTIVE_BODY,
    WA_LIST_BUTTON,
    WA_MAX_BUTTONS,
    WA_MAX_ROWS,
    WA_ROW_DESCRIPTION,
    WA_ROW_ID,
    WA_ROW_TITLE,
    WA_TEXT_BODY,
    WhatsAppCloudSender,
    fetch_whatsapp_media,
    parse_whatsapp_entry,
    render_whatsapp,
)

__all__ = [
    "CHANNEL_OF_OBJECT",
    "CHOOSE_TEXT",
    "DEFAULT_GRAPH_API_BASE",
    "GRAPH_API_VERSION",
    "INSTAGRAM",
    "LIST_BUTTON_LABEL",
    "LIST_SECTION_TITLE",
    "MAX_ID",
    "MAX_QUICK_REPLIES",
    "MEDIA_PREFIX",
    "MESSENGER",
    "QUICK_REPLY_PAYLOAD",
    "QUICK_REPLY_TITLE",
    "WA_BUTTON_ID",
    "WA_BUTTON_TITLE",
    "WA_CAPTION",
    "WA_INTERACTIVE_BODY",
    "WA_LIST_BUTTON",
    "WA_MAX_BUTTONS",
    "WA_MAX_ROWS",
    "WA_ROW_DESCRIPTION",
    "WA_ROW_ID",
    "WA_ROW_TITLE",
    "WA_TEXT_BODY",
    "WHATSAPP",
    "GraphError",
    "MessengerSender",
    "PayloadError",
    "StatusReport",
    "WatermarkReport",
    "WebhookBatch",
    "WhatsAppCloudSender",
    "fetch_attachment_url",
    "fetch_whatsapp_media",
    "numbered_text",
    "parse_webhook",
    "provider_key",
    "render_messaging",
    "render_whatsapp",
    "sign",
    "valid_signature",
    "verify_subscription",
]


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
            parse_whatsapp_entry(entry, where, batch)
        else:
            parse_messaging_entry(entry, where, channel, batch)
    return batch
