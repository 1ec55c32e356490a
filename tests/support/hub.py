"""Helpers for tests that drive the hub's runtime directly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from connectors.base import InboundMessage
from handoff.adapters.sql.models import Message
from handoff.runtime import HubRuntime
from handoff.settings import Settings
from tests.conftest import Backend
from tests.support.wait import eventually


def make_settings(backend: Backend, rasa_url: str, **overrides: Any) -> Settings:
    """Settings tuned for tests: short leases and polls so recovery is quick."""
    values: dict[str, Any] = {
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "rasa_url": rasa_url,
        "lease_seconds": 3,
        "bot_timeout_seconds": 10,
        "bot_grace_seconds": 60,
        "poll_interval_seconds": 0.2,
        "retry_base_seconds": 0.2,
        "retry_max_seconds": 1.0,
        "clinic_admin_password": "x" * 16,
        **overrides,
    }
    return Settings(**values)


def webchat_msg(visitor: str, text: str, msg_id: str | None = None) -> InboundMessage:
    """A normalized web chat message."""
    return InboundMessage(channel="webchat", external_user_id=visitor, provider_message_id=msg_id or uuid.uuid4().hex,
                          text=text)


async def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll an async predicate until it returns something truthy (see `tests.support.wait`)."""
    return await eventually(predicate, timeout=timeout, interval=0.2, what=what)


async def count(rt: HubRuntime, *where: Any, model: Any = Message) -> int:
    """Rows matching `where`."""
    async with rt.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def tracker_user_texts(rasa_url: str, conversation_id: str) -> list[str]:
    """What the real Rasa server recorded as user messages of a conversation, in order."""
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{rasa_url}/conversations/{conversation_id}/tracker", params={"include_events": "ALL"})
    r.raise_for_status()
    return [e.get("text") for e in r.json()["events"] if e["event"] == "user"]


