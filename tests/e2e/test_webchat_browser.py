"""The website chat widget in a real browser (Debian chromium driven by Playwright), against a
real hub process on SQLite and the real trained bot behind a real Rasa server."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from playwright.async_api import Browser, BrowserContext, Locator, Page, WebSocket, WebSocketRoute, expect

from tests.e2e.conftest import Hub, hub_env
from tests.support.net import free_port
from tests.support.stack import REPO, BotStack, start_hub

BOT_REPLY_MS = 45_000  # first turns of a cold Rasa can take a few seconds
# Stable substrings of the bot's answers (bot/domain): the greeting (utter_greet, or the first-contact
# greeting that carries the privacy notice) and utter_thank.
GREETING = "assistente virtual da Clínica Exemplo"
THANKS = "Por nada!"
TOO_LONG = "longa demais"  # connectors/webchat.py: ERROR_TEXTS["too_long"]
HUMAN_CHIP, HUMAN_PAYLOAD = "Falar com atendente", "/request_human"
CONSENT_CHIP = "Aceito"  # the privacy notice's button; answering it leads to more chips


def bot_responses() -> dict[str, list[dict[str, Any]]]:
    """The bot's responses (name -> variations), from bot/domain.yml or the bot/domain/ folder."""
    single = REPO / "bot" / "domain.yml"
    files = [single] if single.exists() else sorted((REPO / "bot" / "domain").glob("*.yml"))
    responses: dict[str, list[dict[str, Any]]] = {}
    for f in files:
        responses.update((yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


def button_sets() -> list[list[str]]:
    """The button titles of every response that has buttons."""
    return [[b["title"] for b in v["buttons"]] for vs in bot_responses().values() for v in vs if v.get("buttons")]


def handoff_texts() -> list[str]:
    """Fixed openings of every handoff answer (utter_handoff*), up to the first template variable."""
    return [v["text"].split("{")[0][:40] for name, vs in bot_responses().items() if name.startswith("utter_handoff")
            for v in vs if v.get("text")]

# Counts how often the typing indicator became visible (frames can be too quick to poll for).
TYPING_PROBE = """
window.__typingShown = 0;
new MutationObserver(() => {
  const t = document.querySelector('[data-testid="atende-typing"]');
  if (t && !t.hidden && !t.__counted) { t.__counted = true; window.__typingShown += 1; }
  if (t && t.hidden) t.__counted = false;
}).observe(document, {subtree: true, childList: true, attributes: true,
                       attributeFilter: ["hidden"]});
"""


class Chat:
    """The widget on one page, through its data-testid hooks."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.get_by_test_id("atende-launcher")
        self.panel = page.get_by_test_id("atende-panel")
        self.input = page.get_by_test_id("atende-input")
        self.send_button = page.get_by_test_id("atende-send")
        self.status = page.get_by_test_id("atende-status")
        self.typing = page.get_by_test_id("atende-typing")
        self.error = page.get_by_test_id("atende-error")

    def msgs(self, sender: str | None = None) -> Locator:
        """Message bubbles, optionally of one sender."""
        if sender is None:
            return self.page.get_by_test_id("atende-msg")
        return self.page.locator(f'[data-testid="atende-msg"][data-sender="{sender}"]')

    async def open(self) -> None:
        """Click the launcher and wait until the widget is connected."""
        await self.launcher.click()
        await expect(self.panel).to_be_visible()
        await self.wait_online()

    async def wait_online(self, timeout: float = 15_000) -> None:
        """The socket is open and the history arrived."""
        await expect(self.status).to_have_attribute("data-state", "online", timeout=timeout)
        await expect(self.status).to_be_hidden()

    async def send(self, text: str) -> None:
        """Type a message and press Enter."""
        await self.input.fill(text)
        await self.input.press("Enter")

    async def transcript(self) -> list[tuple[str, str]]:
        """(sender, text) of every bubble, in display order."""
        rows = await self.page.evaluate("""() => [...document.querySelectorAll('[data-testid="atende-msg"]')]
            .map(m => [m.dataset.sender, (m.querySelector('.atende-text') || {}).textContent || ''])""")
        return [(s, t) for s, t in rows]

    async def typing_shown(self) -> int:
        """How many times the typing indicator appeared on this page."""
        return int(await self.page.evaluate("window.__typingShown || 0"))


async def new_page(context: BrowserContext, errors: list[str]) -> Page:
    """A page that records uncaught exceptions and console errors into `errors`."""
    page = await context.new_page()
    await page.add_init_script(TYPING_PROBE)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return page


async def test_patient_greets_and_the_real_bot_answers_with_quick_replies(
    hub: Hub, browser: Browser, artifacts: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR")
    errors: list[str] = []
    page = await new_page(context, errors)
    await page.goto(hub.url + "/")
    await expect(page).to_have_title(re.compile("Clínica Exemplo"))
    await expect(page.locator('script[src="/webchat/widget.js"]')).to_have_count(1)  # one tag embeds it
    chat = Chat(page)
    await expect(chat.launcher).to_be_visible()
    await expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    await expect(chat.panel).to_be_hidden()
    await page.screenshot(path=artifacts / "desktop-page.png")

    await chat.open()
    await expect(chat.input).to_be_focused()
    await expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    await expect(chat.msgs()).to_have_count(0)  # a new visitor has no history

    await chat.send("oi, bom dia")
    await expect(chat.input).to_have_value("")
    mine = chat.msgs("patient")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("oi, bom dia")
    await expect(mine).to_have_attribute("data-status", "sent")  # acked by the server
    await expect(mine.locator(".atende-tick")).to_have_text("✓")

    reply = chat.msgs("bot").first
    await expect(reply).to_contain_text(GREETING, timeout=BOT_REPLY_MS)
    await expect(chat.typing).to_be_hidden()
    chips = reply.get_by_test_id("atende-chip")
    titles = await chips.all_inner_texts()
    assert titles in button_sets(), f"chips {titles} are not the buttons of any bot response"
    for i in range(len(titles)):
        await expect(chips.nth(i)).to_be_enabled()
    # Our own message shows once (its echo from the server is matched by client_id). Kept on
    # purpose: a matched echo leaves no trace to wait on; this is the window for a duplicate to appear.
    await asyncio.sleep(0.5)
    await expect(mine).to_have_count(1)
    senders = [s for s, _ in await chat.transcript()]
    assert senders[0] == "patient" and set(senders[1:]) == {"bot"}
    await page.screenshot(path=artifacts / "desktop-chat.png")
    await context.close()
    assert errors == []


async def test_history_is_restored_after_reload_and_shared_by_tabs(hub: Hub, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page = await new_page(context, errors)
    await page.goto(hub.url + "/")
    chat = Chat(page)
    await chat.open()
    await chat.send("oi, bom dia")
    await expect(chat.msgs("bot").first).to_contain_text(GREETING, timeout=BOT_REPLY_MS)
    before = await chat.transcript()
    assert before[0] == ("patient", "oi, bom dia") and len(before) >= 2

    await page.reload()
    await expect(chat.panel).to_be_visible()  # the tab remembers the panel was open
    await chat.wait_online()
    await expect(chat.msgs()).to_have_count(len(before))
    assert await chat.transcript() == before
    await expect(chat.msgs("patient")).to_have_attribute("data-status", "sent")
    await expect(chat.msgs("bot").last.get_by_test_id("atende-chip").first).to_be_enabled()

    # A second tab of the same visitor gets the same history from the server (the widget keeps
    # no copy of the conversation, only unsent messages) and sees the other tab's messages once.
    page2 = await new_page(context, errors)
    await page2.goto(hub.url + "/")
    chat2 = Chat(page2)
    await expect(chat2.panel).to_be_hidden()  # "open" is per tab
    await chat2.open()
    await expect(chat2.msgs()).to_have_count(len(before))
    assert await chat2.transcript() == before

    await chat2.send("obrigado")
    for c in (chat, chat2):
        await expect(c.msgs("bot").last).to_contain_text(THANKS, timeout=BOT_REPLY_MS)
        await expect(c.msgs("patient").filter(has_text="obrigado")).to_have_count(1)
        await expect(c.msgs("patient").last).to_have_attribute("data-status", "sent")
    await context.close()
    assert errors == []


async def test_phone_viewport_gets_a_full_screen_usable_chat(hub: Hub, browser: Browser, artifacts: Path) -> None:
    width, height = 390, 844
    context = await browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="pt-BR")
    errors: list[str] = []
    page = await new_page(context, errors)
    await page.goto(hub.url + "/")
    chat = Chat(page)
    box = await chat.launcher.bounding_box()
    assert box and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    assert box["width"] >= 44 and box["height"] >= 44  # comfortable touch target
    await page.screenshot(path=artifacts / "phone-page.png")

    await chat.launcher.tap()
    await expect(chat.panel).to_be_visible()
    await chat.wait_online()
    panel = await chat.panel.bounding_box()
    assert panel is not None
    assert (round(panel["x"]), round(panel["y"]), round(panel["width"]), round(panel["height"])) == (0, 0, width,
                                                                                                      height)
    await expect(chat.launcher).to_be_hidden()  # the full-screen panel has its own close button
    field = await chat.input.bounding_box()
    assert field and field["y"] + field["height"] <= height and field["width"] >= width * 0.6
    font_px = await chat.input.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font_px >= 16  # smaller fonts make phones zoom into the field

    await chat.input.tap()
    await chat.input.fill("oi")
    await chat.send_button.tap()
    await expect(chat.msgs("patient")).to_have_attribute("data-status", "sent")
    reply = chat.msgs("bot").first
    await expect(reply).to_contain_text(GREETING, timeout=BOT_REPLY_MS)
    await expect(reply).to_be_in_viewport()
    reply_box = await reply.bounding_box()
    assert reply_box and reply_box["x"] >= 0 and reply_box["x"] + reply_box["width"] <= width
    overflow = await chat.panel.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0  # no sideways scrolling inside the panel
    await page.screenshot(path=artifacts / "phone-chat.png")

    await page.get_by_role("button", name="Fechar chat").tap()
    await expect(chat.panel).to_be_hidden()
    await expect(chat.launcher).to_be_visible()
    await expect(chat.launcher).to_be_focused()
    await context.close()
    assert errors == []


async def test_too_long_messages_are_refused_with_a_visible_error_and_the_chat_keeps_working(
    hub: Hub, browser: Browser, artifacts: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page = await new_page(context, errors)

    # Simulates a client that skips the widget's own check (an old or tampered widget): one marked
    # frame is lengthened in transit, so the server's limit and its error frame are exercised too.
    marker = "mensagem que fica longa no caminho"
    sockets: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        sockets.append(ws.url)
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str):
                frame = json.loads(message)
                if frame.get("text") == marker:
                    frame["text"] = "x" * 2100
                    message = json.dumps(frame)
            server.send(message)

        ws.on_message(from_page)

    await page.route_web_socket(re.compile(r"/webchat/ws\?visitor="), route)
    await page.goto(hub.url + "/")
    chat = Chat(page)
    await chat.open()

    # 1. The widget refuses it itself: visible pt-BR error, the text stays in the field, nothing sent.
    long_text = ("Tenho uma dúvida sobre o preparo do exame de sangue.\n" * 60)[:2500]
    await chat.input.fill(long_text)
    counter = page.locator(".atende-counter")
    await expect(counter).to_be_visible()
    await expect(counter).to_have_text("2500/2000")
    await chat.input.press("Enter")
    await expect(chat.error).to_be_visible()
    await expect(chat.error).to_contain_text(TOO_LONG)
    await expect(chat.error).to_contain_text("2000 caracteres")
    await expect(chat.msgs()).to_have_count(0)
    assert await chat.input.input_value() == long_text
    await page.screenshot(path=artifacts / "desktop-too-long.png")

    # 2. The server refuses it: the bubble is marked failed, with the server's pt-BR message.
    await chat.send(marker)
    failed = chat.msgs("patient").filter(has_text=marker)
    await expect(failed).to_have_attribute("data-status", "failed")
    await expect(chat.error).to_contain_text(TOO_LONG)
    await expect(chat.status).to_have_attribute("data-state", "online")

    # 3. Still connected, on the same socket: the next message is answered by the bot.
    await chat.send("obrigado")
    await expect(chat.error).to_be_hidden()
    await expect(chat.msgs("patient").last).to_have_attribute("data-status", "sent")
    await expect(chat.msgs("bot").last).to_contain_text(THANKS, timeout=BOT_REPLY_MS)
    assert len(sockets) == 1
    await expect(failed).to_have_attribute("data-status", "failed")

    # The refused message was never stored: after a reload only "obrigado" is in the history.
    await page.reload()
    await chat.wait_online()
    await expect(chat.msgs("bot").last).to_contain_text(THANKS)
    assert [t for s, t in await chat.transcript() if s == "patient"] == ["obrigado"]
    await context.close()
    assert errors == []


async def test_quick_reply_chips_send_their_payload_and_lead_to_a_person(
    hub: Hub, browser: Browser, artifacts: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page = await new_page(context, errors)
    sent: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)) if isinstance(payload, str) else None)

    page.on("websocket", watch)
    await page.goto(hub.url + "/")
    chat = Chat(page)
    await chat.open()
    await chat.send("oi")
    await expect(chat.msgs("bot").first).to_contain_text(GREETING, timeout=BOT_REPLY_MS)

    # Follow the bot's quick replies to a person: "Falar com atendente" where offered; before it,
    # the privacy notice's "Aceito" when the bot asks for consent first.
    clicked: list[str] = []
    handed_off = re.compile("|".join(re.escape(t) for t in handoff_texts()))
    for _ in range(3):
        bots_before = await chat.msgs("bot").count()
        latest = chat.msgs("bot").nth(bots_before - 1)  # pinned: `.last` would move on to the reply
        chips = latest.get_by_test_id("atende-chip")
        titles = await chips.all_inner_texts()
        choice = HUMAN_CHIP if HUMAN_CHIP in titles else CONSENT_CHIP if CONSENT_CHIP in titles else None
        assert choice, f"no known quick reply in {titles}"
        typing_before = await chat.typing_shown()
        chip = chips.filter(has_text=re.compile(f"^{re.escape(choice)}$"))
        await chip.click()
        clicked.append(choice)
        mine = chat.msgs("patient").last
        await expect(mine).to_have_text(re.compile(re.escape(choice)))
        await expect(mine).to_have_attribute("data-status", "sent")
        for i in range(len(titles)):  # used chips cannot be clicked again
            await expect(chips.nth(i)).to_be_disabled()
        await expect(chip).to_have_attribute("aria-pressed", "true")
        await expect(chat.input).to_be_focused()
        await expect(chat.msgs("bot")).not_to_have_count(bots_before, timeout=BOT_REPLY_MS)
        await expect(chat.typing).to_be_hidden(timeout=BOT_REPLY_MS)
        assert await chat.typing_shown() > typing_before  # "digitando…" showed while the bot worked
        if choice == HUMAN_CHIP or handed_off.search(await chat.msgs("bot").last.inner_text()):
            break
    answer = chat.msgs("bot").last
    await expect(answer).to_contain_text(handed_off, timeout=BOT_REPLY_MS)
    # Every older chip is disabled once newer messages arrived.
    await expect(page.locator('[data-testid="atende-chip"]:enabled')).to_have_count(
        await answer.get_by_test_id("atende-chip").count())

    # Each chip went out as {"text": <title>, "payload": <the button's payload in bot/domain>}.
    payloads = {b["title"]: b["payload"] for vs in bot_responses().values() for v in vs
                for b in v.get("buttons") or []}
    frames = [f for f in sent if f.get("type") == "message"]
    assert frames[0]["text"] == "oi" and frames[0]["payload"] is None
    assert [(f["text"], f["payload"]) for f in frames[1:]] == [(c, payloads[c]) for c in clicked]
    if HUMAN_CHIP in clicked:
        assert payloads[HUMAN_CHIP] == HUMAN_PAYLOAD
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{8,64}", f["client_id"]) for f in frames)
    assert len({f["client_id"] for f in frames}) == len(frames) == 1 + len(clicked)
    await page.screenshot(path=artifacts / "desktop-handoff.png")
    await context.close()
    assert errors == []


async def test_messages_written_while_the_hub_is_down_are_sent_after_it_comes_back(
    bot_stack: BotStack, browser: Browser, tmp_path: Path
) -> None:
    env = hub_env(tmp_path, bot_stack)
    hub = await asyncio.to_thread(start_hub, tmp_path, env)
    restarted = None
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        errors: list[str] = []
        page = await new_page(context, errors)
        await page.goto(f"http://127.0.0.1:{hub.port}/")
        chat = Chat(page)
        await chat.open()
        await chat.send("oi, bom dia")
        await expect(chat.msgs("bot").first).to_contain_text(GREETING, timeout=BOT_REPLY_MS)

        hub.kill(signal.SIGKILL)  # crash
        await expect(chat.status).to_be_visible(timeout=10_000)
        await expect(chat.status).to_have_attribute("data-state", "reconnecting")
        await expect(chat.status).to_contain_text("Reconectando")

        await chat.send("obrigado")
        pending = chat.msgs("patient").last
        await expect(pending).to_contain_text("obrigado")
        # Kept on purpose: with the hub down nothing may mark it sent; staying pending is an absence,
        # this is the window in which it must not change.
        await asyncio.sleep(1.0)
        await expect(pending).to_have_attribute("data-status", "pending")
        # Kept in this browser until the server acknowledges it (survives a reload or a crash).
        stored = await page.evaluate("() => Object.keys(localStorage).filter(k => k.endsWith(':outbox'))"
                                     ".map(k => localStorage.getItem(k)).join('')")
        assert "obrigado" in stored

        restarted = await asyncio.to_thread(start_hub, tmp_path, {**env, "HUB_PORT": str(hub.port)},
                                            "hub-restarted")
        await chat.wait_online(timeout=60_000)  # backoff (capped at 30 s) grew while it was down
        await expect(pending).to_have_attribute("data-status", "sent")
        await expect(chat.msgs("bot").last).to_contain_text(THANKS, timeout=BOT_REPLY_MS)
        stored = await page.evaluate("() => Object.keys(localStorage).filter(k => k.endsWith(':outbox'))"
                                     ".map(k => localStorage.getItem(k)).join('')")
        assert stored == ""

        await page.reload()
        await chat.wait_online()
        await expect(chat.msgs("bot").last).to_contain_text(THANKS)
        patient = [t for s, t in await chat.transcript() if s == "patient"]
        assert patient == ["oi, bom dia", "obrigado"]  # stored exactly once
        # The only console errors allowed are the browser's own reports of refused connections.
        assert [e for e in errors if "WebSocket connection" not in e and "ERR_CONNECTION" not in e] == []
    finally:
        await context.close()
        hub.kill()
        if restarted is not None:
            restarted.kill()


async def test_rate_limited_messages_stay_pending_and_are_resent_in_order(
    bot_stack: BotStack, browser: Browser, tmp_path: Path
) -> None:
    # A hub with a small limit (4 messages / 3 s) so the widget's pause-and-resend path runs quickly.
    env = {**hub_env(tmp_path, bot_stack), "WEBCHAT_RATE_COUNT": "4", "WEBCHAT_RATE_WINDOW_SECONDS": "3"}
    hub = await asyncio.to_thread(start_hub, tmp_path, env)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        errors: list[str] = []
        page = await new_page(context, errors)
        limited: list[str] = []
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda p: limited.append(p) if isinstance(p, str) and "rate_limited" in p else None))
        await page.goto(f"http://127.0.0.1:{hub.port}/")
        chat = Chat(page)
        await chat.open()
        texts = [f"obrigado {i}" for i in range(1, 7)]
        for text in texts:
            await chat.send(text)
        await expect(chat.error).to_contain_text("muitas mensagens", timeout=10_000)
        assert limited, "the server never refused a message"
        await expect(chat.msgs("patient").filter(has_text="obrigado 6")).to_have_attribute("data-status", "pending")
        # Resent after the pause: every message ends up stored, once, in the order written.
        for text in texts:
            await expect(chat.msgs("patient").filter(has_text=text)).to_have_attribute("data-status", "sent",
                                                                                      timeout=30_000)
        await expect(chat.error).to_be_hidden()
        await expect(chat.msgs("bot").filter(has_text=THANKS)).to_have_count(len(texts), timeout=BOT_REPLY_MS)
        await page.reload()
        await chat.wait_online()
        assert [t for s, t in await chat.transcript() if s == "patient"] == texts
        assert errors == []
    finally:
        await context.close()
        hub.kill()


async def test_widget_embeds_on_another_site_with_one_script_tag(hub: Hub, browser: Browser) -> None:
    # A partner's site on another origin (its own server, another host name and port): the widget
    # must find the hub from its own script URL.
    html = (f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            '<title>Parceira</title></head>'
            f'<body><h1>Outro site</h1><script src="{hub.url}/webchat/widget.js" defer></script></body></html>')

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode() if self.path == "/" else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://localhost:{server.server_address[1]}/"
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        errors: list[str] = []
        page = await new_page(context, errors)
        await page.goto(site)
        assert await page.evaluate("location.origin") != hub.url
        css = page.locator("link[data-atende-css]")
        await expect(css).to_have_attribute("href", f"{hub.url}/webchat/widget.css")
        chat = Chat(page)
        await chat.open()
        await chat.send("oi")
        await expect(chat.msgs("patient")).to_have_attribute("data-status", "sent")
        await expect(chat.msgs("bot").first).to_contain_text(GREETING, timeout=BOT_REPLY_MS)
        # The host page's own styles are untouched by the widget's stylesheet.
        assert await page.locator("h1").evaluate("el => getComputedStyle(el).fontSize") == "32px"
        assert errors == []
    finally:
        await context.close()
        server.shutdown()
        server.server_close()
