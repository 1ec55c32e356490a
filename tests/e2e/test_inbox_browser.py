"""The attendant inbox in a real browser (Debian chromium driven by Playwright), against a real hub
process on SQLite and the real trained bot: a patient on the website chat asks for a person, the
attendant (signed in through /login in another browser context) sees the conversation arrive live,
reads the bot's context, answers, leaves an internal note the patient never sees and resolves;
the patient receives the reply and then the satisfaction question."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Hub, hub_env
from tests.e2e.test_webchat_browser import CONSENT_CHIP, Chat, handoff_texts, new_page
from tests.support.stack import BotStack, start_hub
from tests.support.wait import eventually

ANIMATIONS_DONE = "document.getAnimations().every(a => a.playState !== 'running')"
UI_MS = 60_000  # generous: two browsers, Rasa and the hub share 2 busy cores
ADMIN = ("admin@clinica.example", "e2e-admin-password-0123")  # hub_env's CLINIC_ADMIN_PASSWORD
PAULA = {"email": "paula@clinica.example", "name": "Paula Ribeiro", "role": "attendant",
         "password": "paula-senha-forte-123"}
REPLY = "Olá, sou a Paula"
NOTE = "Nota interna: paciente prefere retorno à tarde"
PATIENT_AGAIN = "Tudo bem, obrigado <b>Paula</b> <img src=x>"
CSAT_QUESTION = "Como você avalia o atendimento"  # handoff/services/inbox.py CSAT_TEXT
# Records the inbox's browser notifications (headless chromium shows none) and lets the test say
# whether the attendant is looking at the window (the inbox notifies only when they are not).
NOTIFICATION_PROBE = """
window.__notifications = [];
window.__focused = true;
class FakeNotification {
  constructor(title, options) {
    window.__notifications.push({title: title, body: (options && options.body) || ""});
    this.onclick = null;
  }
  close() {}
  static requestPermission() {
    FakeNotification.permission = "granted";
    return Promise.resolve("granted");
  }
}
FakeNotification.permission = "default";
window.Notification = FakeNotification;
document.hasFocus = () => window.__focused;
"""


@pytest.fixture(scope="module")
def hub(bot_stack: BotStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub like conftest's, plus: the reception queue (where "human" handoffs go) is picked by
    hand, so a handoff waits in the queue until the attendant takes it; PUBLIC_BASE_URL is the
    hub's real address (the staff WebSocket accepts cookie sessions from that origin only)."""
    state_dir = tmp_path_factory.mktemp("hub-inbox")
    base = f"http://127.0.0.1:{bot_stack.hub_port}"
    env = {**hub_env(state_dir, bot_stack), "QUEUE_STRATEGIES": "reception=manual", "PUBLIC_BASE_URL": base}
    proc = start_hub(state_dir, env, "hub-inbox")
    yield Hub(proc, env, state_dir)
    proc.kill()


async def create_attendant(base: str) -> None:
    """Paula, an attendant of every queue, created by the admin through the staff API."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as api:
        login = await api.post("/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        r = await api.post("/api/staff", json=PAULA, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code in (201, 409), r.text  # 409: a rerun against the same module hub


async def sign_in(page: Page, base: str) -> None:
    """/inbox without a session goes to /login; a wrong password is refused in pt-BR; the right
    one lands on /inbox, connected live."""
    await page.goto(base + "/inbox")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Finbox$"))
    await expect(page.get_by_role("heading", name="Entrar na equipe")).to_be_visible()
    await page.get_by_label("E-mail").fill(PAULA["email"])
    await page.get_by_label("Senha").fill("senha-errada-123")
    await page.get_by_role("button", name="Entrar").click()
    await expect(page.get_by_test_id("login-error")).to_have_text("E-mail ou senha inválidos.")
    await page.get_by_label("Senha").fill(PAULA["password"])
    await page.get_by_label("Senha").press("Enter")
    await expect(page).to_have_url(base + "/inbox", timeout=UI_MS)
    await expect(page.get_by_test_id("me-name")).to_have_text(PAULA["name"])
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "online", timeout=UI_MS)
    await expect(page.get_by_test_id("presence-select")).to_have_value("online")


async def ask_for_a_person(chat: Chat, handed_off: Locator) -> None:
    """The patient asks for a human and answers the privacy notice ("Aceito") if the bot shows it
    first, until `handed_off` (the conversation in the attendant's queue) is visible."""
    await chat.open()
    await chat.send("quero falar com um atendente")
    await expect(chat.msgs("patient")).to_have_attribute("data-status", "sent")
    consent = chat.page.get_by_test_id("atende-chip").filter(has_text=re.compile(f"^{re.escape(CONSENT_CHIP)}$"))

    async def queued() -> bool:
        if await handed_off.count():
            return True
        chips = consent.and_(chat.page.locator(":enabled"))
        if await chips.count():
            await chips.last.click()
        return False
    with contextlib.suppress(AssertionError):  # reported just below
        await eventually(queued, timeout=UI_MS / 1000, interval=0.5, what="the handoff in the queue")
    await expect(handed_off).to_be_visible()  # fails with Playwright's explanation


async def test_attendant_answers_a_web_chat_handoff_live(hub: Hub, browser: Browser, artifacts: Path) -> None:
    base = hub.url
    await create_attendant(base)
    errors: list[str] = []

    # The attendant signs in and waits on an empty queue.
    staff_ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR",
                                          timezone_id="America/Sao_Paulo")
    await staff_ctx.add_init_script(NOTIFICATION_PROBE)
    inbox = await new_page(staff_ctx, errors)
    await sign_in(inbox, base)
    enable = inbox.get_by_test_id("notify-enable")  # permission is asked on a click, never on load
    await expect(enable).to_be_visible()
    await enable.click()
    await expect(enable).to_be_hidden()
    queue_items = inbox.get_by_test_id("queue-item")
    await expect(queue_items).to_have_count(0)
    await expect(inbox).to_have_title("Caixa de entrada — atende")
    await inbox.evaluate("window.__sameDocument = true")  # gone if the page reloads
    await inbox.evaluate("window.__focused = false")  # the attendant is in another window

    # The patient asks for a person on the web chat; the real bot hands off.
    patient_ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="pt-BR")
    patient = await new_page(patient_ctx, errors)
    await patient.goto(base + "/")
    chat = Chat(patient)
    await ask_for_a_person(chat, queue_items)

    # It appears in the attendant's queue live (no reload), flagged as new, with its reason tag.
    item = queue_items.first
    await expect(item).to_be_visible(timeout=UI_MS)
    await expect(queue_items).to_have_count(1)
    await expect(item.get_by_test_id("reason")).to_have_text("Atendente")
    await expect(item).to_contain_text("Site")
    await expect(item).to_have_attribute("data-unread", "true")
    await expect(item).to_have_attribute("data-sla", re.compile("^(ok|warning|breached)$"))
    await expect(inbox.locator('[data-badge="queue"]')).to_have_text("1")
    await expect(inbox).to_have_title("(1) Caixa de entrada — atende")
    waited = item.get_by_test_id("waiting")
    first_wait = await waited.inner_text()
    await expect(waited).not_to_have_text(first_wait, timeout=5_000)  # the waiting time ticks
    assert await inbox.evaluate("window.__sameDocument === true")
    shown = await inbox.evaluate("window.__notifications")
    assert shown and shown[0] == {"title": "Nova conversa na fila", "body": "Atendente · Site"}, shown
    assert not any("quero" in n["body"] for n in shown)  # reason and channel only, never what the patient wrote
    await inbox.evaluate("window.__focused = true")
    await inbox.screenshot(path=artifacts / "inbox-queue.png")

    # Opening it: the whole history, the bot's context and the patient card.
    await item.get_by_role("button").click()
    conversation = inbox.get_by_test_id("conversation")
    await expect(conversation).to_be_visible()
    timeline = inbox.get_by_test_id("timeline")
    await expect(timeline.locator('[data-testid="msg"][data-sender="patient"]').first).to_contain_text(
        "quero falar com um atendente", timeout=UI_MS)
    await expect(timeline.get_by_test_id("event").filter(has_text="Transferida para a equipe")).to_contain_text(
        "O paciente pediu um atendente")
    await expect(inbox.get_by_test_id("bot-reason")).to_have_text("Atendente")
    await expect(inbox.get_by_test_id("bot-handoff")).to_have_text("O paciente pediu um atendente")
    await expect(inbox.get_by_test_id("bot-confidence")).to_contain_text("%")
    await expect(inbox.get_by_test_id("patient-card")).to_be_visible()
    handoff_answer = re.compile("|".join(re.escape(t) for t in handoff_texts()))
    if not handoff_answer.search(" ".join(await chat.msgs("bot").all_inner_texts())):
        # The bot's words are the bot's business (models/ may be older than bot/domain): noted, not failed.
        print("NOTE: the patient saw no handoff answer from the bot:", await chat.transcript())
    await expect(inbox).to_have_title("Caixa de entrada — atende")  # seen: the counter is gone

    # Take it, answer with Enter: the patient receives the reply on the web chat.
    await inbox.get_by_test_id("claim").click()
    await expect(inbox.get_by_test_id("conv-meta")).to_contain_text("Em atendimento", timeout=UI_MS)
    await expect(queue_items).to_have_count(0, timeout=UI_MS)
    await expect(inbox.get_by_test_id("mine-item")).to_have_count(1, timeout=UI_MS)
    composer = inbox.get_by_test_id("composer-input")
    await composer.fill(REPLY)
    await composer.press("Enter")
    await expect(composer).to_have_value("")
    await expect(timeline.locator('[data-testid="msg"][data-sender="agent"]')).to_contain_text(REPLY)
    await expect(chat.msgs("agent")).to_contain_text(REPLY, timeout=UI_MS)

    # An internal note: shown to the team only, never sent to the patient.
    note_switch = inbox.locator("label.switch")
    await note_switch.click()
    await expect(inbox.get_by_test_id("note-toggle")).to_be_checked()
    await composer.fill(NOTE)
    await composer.press("Enter")
    await expect(timeline.get_by_test_id("note")).to_contain_text(NOTE)
    await expect(timeline.get_by_test_id("note")).to_have_count(1)
    await note_switch.click()
    await expect(inbox.get_by_test_id("note-toggle")).not_to_be_checked()

    # The patient writes again: it arrives live in the open conversation, as plain text.
    await chat.send(PATIENT_AGAIN)
    await expect(timeline.locator('[data-testid="msg"][data-sender="patient"]').last).to_contain_text(
        PATIENT_AGAIN, timeout=UI_MS)
    assert await timeline.locator("img, b").count() == 0  # markup in a message is never parsed
    await inbox.screenshot(path=artifacts / "inbox-conversation.png")

    # Resolve with the outcome "Resolvido": the patient is asked for a 1–5 rating.
    await inbox.get_by_test_id("resolve").click()
    dialog = inbox.get_by_test_id("resolve-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Resolvido", exact=True).check()
    await dialog.get_by_role("button", name="Resolver").click()
    await expect(dialog).to_be_hidden()
    await expect(inbox.get_by_test_id("conv-meta")).to_contain_text("Resolvida · Resolvido", timeout=UI_MS)
    await expect(inbox.get_by_test_id("reopen")).to_be_visible()
    await expect(inbox.get_by_test_id("mine-item")).to_have_count(0, timeout=UI_MS)
    question = chat.msgs("system").filter(has_text=CSAT_QUESTION)
    await expect(question).to_have_count(1, timeout=UI_MS)
    await expect(question.get_by_test_id("atende-chip")).to_have_text(["1", "2", "3", "4", "5"])
    await expect(timeline.locator('[data-testid="msg"][data-sender="system"]').filter(
        has_text=CSAT_QUESTION)).to_be_visible(timeout=UI_MS)

    # The note never reached the patient: not on the page, not in the server's history either.
    assert NOTE not in " ".join(t for _, t in await chat.transcript())
    await patient.reload()
    await chat.wait_online()
    await expect(chat.msgs("agent")).to_contain_text(REPLY)
    assert NOTE not in await patient.locator("body").inner_text()
    with contextlib.suppress(AssertionError):  # only for the screenshot below
        await eventually(lambda: patient.evaluate(ANIMATIONS_DONE), timeout=10, what="the panel's opening animation")
    await patient.screenshot(path=artifacts / "inbox-patient-widget.png")

    # The patient rates 5: the attendant sees it in the conversation.
    await chat.msgs("system").filter(has_text=CSAT_QUESTION).get_by_test_id("atende-chip").filter(
        has_text=re.compile("^5$")).click()
    await expect(timeline.get_by_test_id("event").filter(has_text="Avaliação do paciente: 5/5")).to_be_visible(
        timeout=UI_MS)
    await inbox.screenshot(path=artifacts / "inbox-resolved.png")
    assert await inbox.evaluate("window.__sameDocument === true")

    # Presence: "Ausente" is stored for the attendant (no new conversations for her meanwhile).
    presence = inbox.get_by_test_id("presence-select")
    await presence.select_option("away")
    await expect(inbox.locator(".presence")).to_have_attribute("data-presence", "away", timeout=UI_MS)
    stored = await inbox.request.get(base + "/api/agents/me/presence")
    assert (await stored.json())["status"] == "away"
    await presence.select_option("online")
    await expect(inbox.locator(".presence")).to_have_attribute("data-presence", "online", timeout=UI_MS)

    # Reopen: back to the queue.
    await inbox.get_by_test_id("reopen").click()
    await expect(inbox.get_by_test_id("conv-meta")).to_contain_text("Na fila", timeout=UI_MS)
    await expect(queue_items).to_have_count(1, timeout=UI_MS)
    await expect(inbox.get_by_test_id("claim")).to_be_visible()

    # Tablet: no sideways scrolling; the context cards open as a drawer.
    await inbox.set_viewport_size({"width": 1024, "height": 768})
    assert await inbox.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await expect(inbox.get_by_test_id("bot-context")).not_to_be_in_viewport()
    await inbox.get_by_role("button", name="Contexto").click()
    await expect(inbox.get_by_test_id("bot-context")).to_be_in_viewport()
    # Slid in completely (polled here: the page's CSP forbids wait_for_function's eval); only for the screenshot.
    with contextlib.suppress(AssertionError):
        await eventually(lambda: inbox.evaluate("document.querySelector('#contexto').getBoundingClientRect().right"
                                                " <= window.innerWidth + 1"), timeout=5, what="the drawer slid in")
    await inbox.screenshot(path=artifacts / "inbox-tablet.png")
    await inbox.keyboard.press("Escape")
    await expect(inbox.get_by_test_id("bot-context")).not_to_be_in_viewport()

    await patient_ctx.close()
    await staff_ctx.close()
    # The only console error allowed is the browser's report of the refused wrong password (401).
    assert [e for e in errors if "status of 401" not in e] == []
    assert sum("status of 401" in e for e in errors) <= 1
