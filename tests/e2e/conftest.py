"""Browser test fixtures: a real hub process on a SQLite file and Debian chromium via Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect

from tests.support.log_scan import personal_data_in_files
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


@pytest.fixture(scope="session", autouse=True)
def hub_logs_carry_no_personal_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the end-to-end tests of the session: the log files of every hub process the session
    started (`hub*.log` under pytest's base temporary directory) carry no phone number, token,
    session cookie, fixture password or patient e-mail (issue 13)."""
    yield
    logs = sorted(tmp_path_factory.getbasetemp().rglob("hub*.log"))
    leaks = personal_data_in_files(logs)
    assert not leaks, f"personal data or secrets in {len(leaks)} hub log line(s):\n" + "\n".join(leaks[:20])


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


async def new_page(browser: Browser, errors: list[str], expected: re.Pattern[str]) -> tuple[BrowserContext, Page]:
    """A pt-BR page in a fresh context; console errors not matching `expected` and page errors are
    collected in `errors` (a test asserts it stays empty)."""
    context = await browser.new_context(viewport={"width": 1360, "height": 900}, locale="pt-BR",
                                        timezone_id="America/Sao_Paulo")
    page = await context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and not expected.match(msg.text):
            errors.append(f"console: {msg.text}")

    def on_error(exc: Error) -> None:
        errors.append(f"pageerror: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    return context, page


async def sign_in_at(page: Page, base: str, path: str, email: str, password: str, timeout_ms: float = 30_000) -> None:
    """A staff page without a session goes to /login?next=<path>, which comes back once signed in.

    The page may then write its own state into the query string (the dashboard puts its period
    there with history.replaceState), so the path is matched with any query after it.
    """
    await page.goto(base + path)
    await expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(quote(path, safe="")) + "$"))
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Senha").fill(password)
    await page.get_by_role("button", name="Entrar").click()
    await expect(page).to_have_url(re.compile("^" + re.escape(base + path) + r"(\?.*)?$"), timeout=timeout_ms)
