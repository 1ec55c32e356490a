"""What the staff and patient WebSocket handlers share: one socket written by several tasks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from sanic.server.websockets.impl import WebsocketImplProtocol


class LockedSocket:
    """Serializes sends: relay tasks and the receive loop share one socket. `default` is
    `json.dumps`'s fallback for values JSON does not know (None: such a value is an error)."""

    def __init__(self, ws: WebsocketImplProtocol, default: Callable[[Any], Any] | None = None) -> None:
        self.ws = ws
        self.lock = asyncio.Lock()
        self.default = default

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send(json.dumps(frame, ensure_ascii=False, default=self.default))
