"""Browser test fixtures: a real hub process on a SQLite file and Debian chromium via Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.stack import BotStack, Proc, start_bot_stack, start_hub

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def hub_env(state_dir: Path, bot: BotStack) -> dict[str, str]:
    """Environment of a hub with its own SQLite file, talking to the real bot (whose actions call
    this hub's clinic API back)."""
    return {
        **bot.hub_env(),
        "DATABASE_URL": f"sqlite+aiosqlite:///{state_dir / 'hub.db'}",
        "CLINIC_ADMIN_PASSWORD": "e2e-admin-password-0123",
        "CHANNEL_SANDBOX": "true",
        "POLL_INTERVAL_SECONDS": "0.2",
    }


@dataclass
class Hub:
    """A running hub process."""

    proc: Proc
    env: dict[str, str]
    state_dir: Path

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.proc.port}"


@pytest.fixture
def hub(bot_stack: BotStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A real hub process (`python -m handoff`) per test, on the port the bot's actions call back
    (so it is stopped before a test that starts its own hub there); every test also uses a fresh
    browser context, hence a new visitor and a new conversation."""
    state_dir = tmp_path_factory.mktemp("hub")
    env = hub_env(state_dir, bot_stack)
    proc = start_hub(state_dir, env)
    yield Hub(proc, env, state_dir)
    proc.kill()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (tests/e2e/artifacts, not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def deploy_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotStack]:
    """A Rasa + action server of the module's own: a test that deploys a model (PUT /model) must not
    change the model the session's shared stack serves."""
    stack = start_bot_stack(tmp_path_factory.mktemp("bot-deploy"))
    yield stack
    stack.stop()
