"""The real hub app (create_app: start-up listeners, seeding, blueprints) served in-process over ASGI.

sanic-testing is not in the hub environment; httpx's ASGI transport plus a driven ASGI
lifespan runs the exact same app object, with its real database on both backends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sanic import Sanic

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import Patient
from handoff.app import create_app
from handoff.settings import Settings
from tests.conftest import Backend

ADMIN_EMAIL = "admin@clinica.example"
ADMIN_PASSWORD = "senha-de-teste-" + "x" * 8


@dataclass
class Hub:
    """A started app and an HTTP client bound to it."""

    app: Sanic[Any, Any]
    client: httpx.AsyncClient
    service_token: str | None

    @property
    def service(self) -> dict[str, str]:
        """Headers with the service token."""
        assert self.service_token
        return {"Authorization": f"Bearer {self.service_token}"}

    async def staff(self) -> dict[str, str]:
        """Headers with a fresh staff login token."""
        r = await self.client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    async def new_patient(self, name: str = "Paciente do chat") -> int:
        """A patient as the channel pipeline creates one (no CPF, no birth date)."""
        async with self.app.ctx.db.session() as s:
            p = Patient(display_name=name, created_at=utcnow())
            s.add(p)
            await s.flush()
            return p.id


class _Lifespan:
    """Drives the ASGI lifespan protocol so Sanic runs its before/after server start listeners."""

    def __init__(self, app: Sanic[Any, Any]) -> None:
        self.app = app
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[Any] | None = None

    async def _receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def _send(self, message: dict[str, Any]) -> None:
        await self.outgoing.put(message)

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        self.task = asyncio.create_task(self.app(scope, self._receive, self._send))
        await self.incoming.put({"type": "lifespan.startup"})
        msg = await asyncio.wait_for(self.outgoing.get(), 60)
        assert msg["type"] == "lifespan.startup.complete", msg

    async def stop(self) -> None:
        await self.incoming.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self.outgoing.get(), 60)
        if self.task is not None:
            self.task.cancel()


async def start_hub(backend: Backend, **overrides: Any) -> tuple[Hub, _Lifespan]:
    """Create and start the app on a backend; the caller stops it."""
    values: dict[str, Any] = {
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "rasa_url": "http://127.0.0.1:9",  # never called: these tests create no inbound messages
        "clinic_admin_email": ADMIN_EMAIL,
        "clinic_admin_password": ADMIN_PASSWORD,
        "public_base_url": "http://hub.test",
        "clinic_api_token": secrets.token_urlsafe(32),
        "poll_interval_seconds": 5,
        **overrides,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    app = create_app(settings)
    # TouchUp rewrites Sanic's protocol methods on the first start; a second app in the same
    # process fails re-reading them, and it is only a speed optimisation.
    app.config.TOUCHUP = False
    life = _Lifespan(app)
    await life.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test", timeout=60)
    return Hub(app, client, settings.clinic_api_token), life


@pytest.fixture
async def hub(backend: Backend) -> AsyncIterator[Hub]:
    """The hub with the seeded demo clinic and a service token."""
    h, life = await start_hub(backend)
    try:
        yield h
    finally:
        await h.client.aclose()
        await life.stop()
