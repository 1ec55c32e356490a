"""Handoff tests: real hub processes (`python -m handoff`) over HTTP and WebSockets.

The test keeps its own `HubRuntime` (no workers) on the same database to look into tables;
patients talk to the hub through its real web chat socket, staff through the real staff API
and socket. The bot is a local fake speaking Rasa's HTTP API (tests/support/fake_rasa.py)
unless a test uses the real bot stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect

from handoff.runtime import HubRuntime
from tests.conftest import Backend
from tests.support import wait
from tests.support.fake_rasa import FakeRasa
from tests.support.hub import make_settings
from tests.support.net import free_port
from tests.support.stack import Proc, start_hub

ADMIN_EMAIL = "admin@clinica.example"
ADMIN_PASSWORD = "admin-senha-" + "x" * 10
DEMO_PASSWORD = "equipe-senha-" + "y" * 10
ANA, BRUNO, CARLA, MANAGER = ("ana@clinica.example", "bruno@clinica.example", "carla@clinica.example",
                              "gerente@clinica.example")
TIMEOUT = 90.0  # generous: the machine is shared and slow


@dataclass
class Feed:
    """Frames received on a WebSocket, collected in the background."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[Any] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> Feed:
        async def reader() -> None:
            with contextlib.suppress(Exception):
                async for raw in self.ws:
                    self.frames.append(json.loads(raw))
                    self._arrived.set()
        self.task = asyncio.create_task(reader())
        return self

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT,
                       what: str = "frame") -> dict[str, Any]:
        """The first frame (already received or coming) matching `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kinds = [f.get("type") for f in self.frames][-20:]
                raise AssertionError(f"timed out waiting for {what}; last frames: {kinds}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 1.0))

    async def close(self) -> None:
        await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


@dataclass
class LiveHub:
    """A running hub process plus a database handle on the same database."""

    proc: Proc
    rt: HubRuntime

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.proc.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.proc.port}"

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the hub (with a bearer token when given)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=60, **kwargs)

    async def token(self, email: str, password: str | None = None) -> str:
        """Log in and return the bearer token."""
        pw = password or (ADMIN_PASSWORD if email == ADMIN_EMAIL else DEMO_PASSWORD)
        async with self.client() as c:
            r = await c.post("/api/auth/login", json={"email": email, "password": pw})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    async def staff_socket(self, token: str) -> Feed:
        """Open the staff WebSocket (`?token=`) and wait for its hello."""
        ws = await connect(f"{self.ws_base}/api/staff/ws?token={token}", open_timeout=60)
        feed = Feed(ws).start()
        await feed.wait_for(lambda f: f.get("type") == "hello", what="staff hello")
        return feed

    async def patient(self, visitor: str | None = None) -> tuple[str, Feed]:
        """A web chat visitor connected to the hub; returns (visitor id, feed)."""
        visitor = visitor or uuid.uuid4().hex + uuid.uuid4().hex
        ws = await connect(f"{self.ws_base}/webchat/ws?visitor={visitor}", open_timeout=60)
        feed = Feed(ws).start()
        await feed.wait_for(lambda f: f.get("type") == "history", what="history")
        return visitor, feed

    async def count(self, model: Any, *where: Any) -> int:
        async with self.rt.db.session() as s:
            return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())

    async def rows(self, query: Any) -> list[Any]:
        async with self.rt.db.session() as s:
            return list((await s.execute(query)).scalars().all())


async def say(feed: Feed, text: str, payload: str | None = None) -> dict[str, Any]:
    """Send a patient message on the web chat and wait for its ack."""
    client_id = uuid.uuid4().hex
    frame: dict[str, Any] = {"type": "message", "client_id": client_id, "text": text}
    if payload is not None:
        frame["payload"] = payload
    await feed.ws.send(json.dumps(frame))
    return await feed.wait_for(lambda f: f.get("type") == "ack" and f.get("client_id") == client_id, what="ack")


def hub_env(backend: Backend, rasa_url: str, **extra: str) -> dict[str, str]:
    """Environment of a test hub process."""
    env = {
        "DATABASE_URL": backend.database_url,
        "RASA_URL": rasa_url,
        "ACTIONS_URL": "http://127.0.0.1:9",
        "CLINIC_ADMIN_EMAIL": ADMIN_EMAIL,
        "CLINIC_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DEMO_STAFF_PASSWORD": DEMO_PASSWORD,
        "SEED_DEMO_CLINIC": "true",
        "LEASE_SECONDS": "5",
        "POLL_INTERVAL_SECONDS": "0.3",
        "ASSIGNMENT_INTERVAL_SECONDS": "1",
        "SLA_MONITOR_INTERVAL_SECONDS": "1",
        "PRESENCE_GRACE_SECONDS": "1",
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        **extra,
    }
    if backend.redis_url:
        env["REDIS_URL"] = backend.redis_url
    return env


@asynccontextmanager
async def live_hub(backend: Backend, log_dir: Path, rasa_url: str | None, name: str = "hub",
                   **extra: str) -> AsyncIterator[LiveHub]:
    """Start a hub process (and a database handle) for the duration of the block."""
    port = free_port()
    env = hub_env(backend, rasa_url or "http://127.0.0.1:9", HUB_PORT=str(port), **extra)
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    proc = await asyncio.to_thread(start_hub, log_dir, env, name)
    rt = await HubRuntime.open(make_settings(backend, "http://127.0.0.1:9"))
    try:
        yield LiveHub(proc, rt)
    finally:
        await rt.close()
        await asyncio.to_thread(proc.kill)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    """The fake bot server."""
    server = FakeRasa().start()
    yield server
    server.close()


async def eventually(check: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition",
                     interval: float = 0.3) -> Any:
    """Poll an async check until it returns something truthy (see `tests.support.wait`)."""
    return await wait.eventually(check, timeout=timeout, interval=interval, what=what)
