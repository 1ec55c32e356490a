"""What the Meta channels share: webhook verification, Graph API client and errors, helpers.

WhatsApp Cloud API (connectors/whatsapp_cloud.py), Messenger and Instagram Direct
(connectors/messenger.py) are all Meta apps; connectors/meta.py is their webhook entry point.

Shapes relied on (developers.facebook.com):
- Webhooks: the `GET` verification request (`hub.mode=subscribe`, `hub.verify_token`,
  `hub.challenge`, answer the challenge) and `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
  the raw body keyed with the app secret>` on every `POST`.
- Graph API errors: `{"error": {"code", "error_subcode", ...}}`. Outside its window a Send API
  call fails with error code 10 (subcodes 2018278 on Messenger, 2534022 on Instagram).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from connectors.base import META_MEDIA_HOSTS, Button, ChannelError, InboundMessage, host_allowed, origin_of

GRAPH_API_VERSION = "v21.0"
DEFAULT_GRAPH_API_BASE = "https://graph.facebook.com"

WHATSAPP = "whatsapp_meta"
INSTAGRAM = "instagram"
MESSENGER = "messenger"
CHANNEL_OF_OBJECT = {"whatsapp_business_account": WHATSAPP, "instagram": INSTAGRAM, "page": MESSENGER}

CHOOSE_TEXT = "Escolha uma opção:"

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



# --- payload helpers --------------------------------------------------------------------


def as_list(value: Any, where: str, batch: WebhookBatch) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        batch.errors.append(f"{where}: not a list")
        return []
    return value


def as_obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def json_or_none(resp: httpx.Response) -> Any:
    """The decoded JSON body of a Graph API answer; None when it is not JSON."""
    try:
        return resp.json()
    except ValueError:
        return None


def as_str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None



# --- rendering ------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def numbered_text(text: str, buttons: tuple[Button, ...]) -> str:
    """Options as numbered lines: the fallback when buttons do not fit the platform's limits."""
    options = "\n".join(f"{i}. {b.title}" for i, b in enumerate(buttons, start=1))
    prompt = "Responda com o número da opção."
    return f"{text}\n\n{options}\n{prompt}" if text else f"{options}\n{prompt}"


def all_unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)



# --- Graph API ------------------------------------------------------------------------


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


class GraphClient:
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
        data = json_or_none(resp)
        if resp.status_code == 200 and isinstance(data, dict):
            return data
        err = as_obj(as_obj(data).get("error"))
        code, sub = err.get("code"), err.get("error_subcode")
        return GraphError(resp.status_code, code if isinstance(code, int) else None,
                          sub if isinstance(sub, int) else None)



# --- media ------------------------------------------------------------------------------


def download_allowed(url: str, api_base: str, hosts: Sequence[str] = META_MEDIA_HOSTS) -> bool:
    """Meta's media and CDN hosts over HTTPS (`hosts`, META_MEDIA_HOSTS), or the Graph API base's
    own origin (a local stand-in in tests and the sandbox). Anything else is never fetched."""
    return host_allowed(url, hosts, (origin_of(api_base),))
