"""Website chat connector: validates widget frames and renders replies as widget frames.

The protocol is documented in docs/architecture.md ("Website chat protocol").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from connectors.base import InboundMessage, OutboundMessage

CHANNEL = "webchat"
_VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# pt-BR texts shown by the widget when a frame is refused.
ERROR_TEXTS = {
    "too_long": "Sua mensagem é longa demais (máximo de {limit} caracteres). Divida em partes, por favor.",
    "bad_frame": "Não consegui entender o que foi enviado. Tente novamente.",
    "binary": "Arquivos ainda não são aceitos por este chat. Envie sua mensagem em texto.",
    "rate_limited": "Você enviou muitas mensagens seguidas. Aguarde alguns segundos; vamos reenviar automaticamente.",
    "empty": "A mensagem está vazia.",
}


@dataclass(frozen=True)
class FrameError(Exception):
    """A client frame was refused; `code` and `message` go back to the widget."""

    code: str
    message: str
    client_id: str | None = None


def visitor_topic(visitor_id: str) -> str:
    """Bus topic for frames to every open widget of one visitor (on any hub replica)."""
    return f"webchat:{visitor_id}"


def valid_visitor_id(visitor_id: str | None) -> bool:
    """The visitor id is the anonymous visitor's credential: long, random, URL-safe."""
    return bool(visitor_id and _VISITOR_RE.match(visitor_id))


def parse_client_frame(
    raw: str | bytes, *, visitor_id: str, max_text: int, max_frame_bytes: int
) -> tuple[str, InboundMessage | dict[str, Any]]:
    """Parse one frame from the widget.

    Returns ("message", InboundMessage) or ("typing", {"on": bool}); raises FrameError.
    """
    if isinstance(raw, bytes):
        raise FrameError("binary", ERROR_TEXTS["binary"])
    if len(raw.encode("utf-8")) > max_frame_bytes:
        client_id = _peek_client_id(raw)
        raise FrameError("too_long", ERROR_TEXTS["too_long"].format(limit=max_text), client_id)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise FrameError("bad_frame", ERROR_TEXTS["bad_frame"]) from exc
    if not isinstance(data, dict):
        raise FrameError("bad_frame", ERROR_TEXTS["bad_frame"])
    kind = data.get("type")
    if kind == "typing":
        return "typing", {"on": bool(data.get("on"))}
    if kind != "message":
        raise FrameError("bad_frame", ERROR_TEXTS["bad_frame"])
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID_RE.match(client_id):
        raise FrameError("bad_frame", ERROR_TEXTS["bad_frame"])
    text = data.get("text")
    payload = data.get("payload")
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        raise FrameError("bad_frame", ERROR_TEXTS["bad_frame"], client_id)
    text = text.strip()
    if not text and not payload:
        raise FrameError("empty", ERROR_TEXTS["empty"], client_id)
    if len(text) > max_text or (payload is not None and len(payload) > max_text):
        raise FrameError("too_long", ERROR_TEXTS["too_long"].format(limit=max_text), client_id)
    return "message", InboundMessage(
        channel=CHANNEL,
        external_user_id=visitor_id,
        provider_message_id=client_id,
        text=text,
        payload=payload or None,
    )


def _peek_client_id(raw: str) -> str | None:
    match = re.search(r'"client_id"\s*:\s*"([A-Za-z0-9_-]{8,64})"', raw[:512])
    return match.group(1) if match else None


def render_message(
    *,
    message_id: int,
    client_id: str | None,
    direction: str,
    sender: str,
    text: str,
    buttons: list[dict[str, str]] | None,
    created_at: str,
) -> dict[str, Any]:
    """A stored message as the widget's `Msg` object."""
    return {
        "id": message_id,
        "client_id": client_id,
        "direction": direction,
        "sender": sender,
        "text": text,
        "buttons": buttons or [],
        "created_at": created_at,
    }


def render_outbound(message: OutboundMessage) -> dict[str, Any]:
    """A reply as a `message` frame for the widget."""
    return {
        "type": "message",
        **render_message(
            message_id=message.message_id,
            client_id=None,
            direction="out",
            sender=message.sender,
            text=message.text,
            buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
            created_at=message.created_at,
        ),
    }


def error_frame(error: FrameError) -> dict[str, Any]:
    """The `error` frame sent back for a refused client frame."""
    return {"type": "error", "code": error.code, "message": error.message, "client_id": error.client_id}
