"""Website chat: the widget's WebSocket (protocol in docs/architecture.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from sanic import Blueprint, Request
from sanic.server.websockets.impl import WebsocketImplProtocol

from connectors import webchat
from connectors.base import InboundMessage
from handoff.adapters.sql import store
from handoff.adapters.tasks import cancel_and_wait
from handoff.api.sockets import LockedSocket
from handoff.services.ingest import accept_inbound
from handoff.services.unit_of_work import conversation_topic, message_view

bp = Blueprint("webchat", url_prefix="/webchat")
log = logging.getLogger(__name__)


class _RateLimiter:
    """Sliding window per connection: `count` messages per `window` seconds."""

    def __init__(self, count: int, window: float) -> None:
        self.count, self.window = count, window
        self.stamps: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self.stamps and now - self.stamps[0] > self.window:
            self.stamps.popleft()
        if len(self.stamps) >= self.count:
            return False
        self.stamps.append(now)
        return True


async def _pump(sub: Any, sock: LockedSocket) -> None:
    async for event in sub:
        event.pop("topic", None)
        if event.get("type") == "message" and "message" in event:
            continue  # inbox-shaped events on the conversation topic; the widget gets its own
        if event.get("type") in ("typing", "message"):
            await sock.send(event)


async def _relay(stack: contextlib.AsyncExitStack, bus: Any, sock: LockedSocket, topic: str) -> asyncio.Task[Any]:
    """Subscribe now (before anything is read from the database), pump in the background."""
    sub = await stack.enter_async_context(bus.subscribe(topic))
    return asyncio.create_task(_pump(sub, sock))


@bp.websocket("/ws")  # type: ignore[untyped-decorator]  # sanic types websocket routes loosely
async def webchat_socket(request: Request, ws: WebsocketImplProtocol) -> None:
    """One widget connection: history first, then live frames both ways."""
    ctx = request.app.ctx
    settings = ctx.settings
    sock = LockedSocket(ws)
    visitor = request.args.get("visitor")
    if not webchat.valid_visitor_id(visitor):
        await sock.send({"type": "error", "code": "bad_visitor", "message": "Sessão inválida. Recarregue a página.",
                         "client_id": None})
        await ws.close(code=4400, reason="bad visitor id")
        return
    assert visitor is not None
    stack = contextlib.AsyncExitStack()
    relays: list[asyncio.Task[Any]] = []
    conv_relay_for: str | None = None
    try:
        # Subscribe before reading history: a reply committed in between arrives twice at
        # worst, and the widget drops ids it already shows.
        relays.append(await _relay(stack, ctx.bus, sock, webchat.visitor_topic(visitor)))
        async with ctx.uow() as (session, _):
            conv = await store.conversation_for_identity(session, webchat.CHANNEL, visitor)
            history = await store.conversation_history(session, conv.id) if conv else []
            conv_id = conv.id if conv else None
        if conv_id:
            relays.append(await _relay(stack, ctx.bus, sock, conversation_topic(conv_id)))
            conv_relay_for = conv_id
        await sock.send({"type": "history", "conversation_id": conv_id,
                         "messages": [message_view(m) for m in history]})
        limiter = _RateLimiter(settings.webchat_rate_count, settings.webchat_rate_window_seconds)
        while True:
            raw = await ws.recv()
            if raw is None:
                break
            try:
                kind, parsed = webchat.parse_client_frame(
                    raw, visitor_id=visitor, max_text=settings.webchat_max_text,
                    max_frame_bytes=settings.webchat_max_frame_bytes,
                )
            except webchat.FrameError as exc:
                await sock.send(webchat.error_frame(exc))
                continue
            if kind != "message":
                continue
            assert isinstance(parsed, InboundMessage)
            if not limiter.allow():
                # Not stored and not acked: the widget keeps it and resends after the pause.
                await sock.send(webchat.error_frame(webchat.FrameError(
                    "rate_limited", webchat.ERROR_TEXTS["rate_limited"], parsed.provider_message_id)))
                continue
            result = await accept_inbound(ctx.uow, parsed)
            await sock.send({"type": "ack", "client_id": parsed.provider_message_id, "id": result.message.id})
            if not result.duplicate:
                echo = {"type": "message", **message_view(result.message)}
                await ctx.bus.publish(webchat.visitor_topic(visitor), echo)
            if conv_relay_for != result.conversation_id:
                relays.append(await _relay(stack, ctx.bus, sock, conversation_topic(result.conversation_id)))
                conv_relay_for = result.conversation_id
    finally:
        await cancel_and_wait(relays)
        await stack.aclose()
