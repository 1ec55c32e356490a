"""Shared fixtures: real databases (SQLite file, PostgreSQL + Redis), the real bot stack and Debian chromium."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright, async_playwright

from handoff.adapters.sql.migrate import upgrade
from tests.support.net import TcpProxy
from tests.support.stack import BotStack, start_bot_stack

collect_ignore = ["bot"]  # run by the bot environment (make test-bot)

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class Backend:
    """Where a test's hub keeps its state."""

    name: str
    database_url: str
    redis_url: str | None


async def _create_pg_database() -> tuple[str, str]:
    import asyncpg

    name = f"atende_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A freshly migrated database: a SQLite file, or a new PostgreSQL database + Redis."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        await asyncio.to_thread(upgrade, url)
        yield Backend("sqlite", url, None)
        return
    name, url = await _create_pg_database()
    await asyncio.to_thread(upgrade, url)
    try:
        yield Backend("postgres", url, REDIS_URL)
    finally:
        await _drop_pg_database(name)


@pytest.fixture(scope="session")
def bot_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotStack]:
    """The real trained model behind a real Rasa server, and the real action server."""
    stack = start_bot_stack(tmp_path_factory.mktemp("bot"))
    yield stack
    stack.stop()


@pytest.fixture
async def proxy(bot_stack: BotStack) -> AsyncIterator[TcpProxy]:
    """A TCP proxy in front of the real Rasa server."""
    p = TcpProxy(bot_stack.rasa.port).start()
    yield p
    p.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian chromium, headless (never `playwright install`: the machine has no internet)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `make browser`")
    pw: Playwright = await async_playwright().start()
    try:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await asyncio.wait_for(b.close(), 30)
    finally:
        await pw.stop()
